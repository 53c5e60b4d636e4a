"""HTTP API of the notifications themselves: history, devices, admin, internal direct sends."""
