"""Reports generated in the background over a date range, downloadable as CSV and JSON."""
