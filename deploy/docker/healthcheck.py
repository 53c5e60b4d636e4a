"""Container health check with the standard library (slim images have no curl or wget).

    python /usr/local/bin/healthcheck.py [URL or PATH]

A PATH (default `/health/ready`) is checked on 127.0.0.1 at the service's PORT. Exit 0 on HTTP 2xx,
1 otherwise (connection refused, timeout, 503 not ready).
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main(argv: list[str]) -> int:
    target = argv[1] if len(argv) > 1 else "/health/ready"
    if target.startswith("/"):
        target = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}{target}"
    if not target.startswith("http://127.0.0.1:"):
        sys.stderr.write("healthcheck: only http://127.0.0.1 URLs are checked\n")
        return 2
    try:
        with urllib.request.urlopen(target, timeout=4) as response:  # noqa: S310 - loopback http only
            return 0 if 200 <= response.status < 300 else 1
    except (urllib.error.URLError, OSError) as exc:
        sys.stderr.write(f"healthcheck: {target} failed: {exc}\n")
        return 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
