"""The delivery queue: enqueueing (in the caller's transaction) and the worker that sends."""
