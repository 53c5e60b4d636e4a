"""Run every workspace member's tests plus the cross-service `tests/`, two pytest processes at a
time (this machine has two cores), and print one combined summary line.

Each member runs with its own folder as pytest's rootdir, so its `tests/` never shadows a service
package of the same name. Extra arguments are passed to every pytest run (e.g. `-k refund`).

    python scripts/test_all.py [--only user-service,shared] [pytest args…]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MEMBERS = [
    "shared",
    "gateway",
    "user-service",
    "payment-service",
    "transaction-service",
    "notification-service",
    "audit-service",
    "exchange-rate-service",
    "admin-service",
    "provider-sandbox",
]
# The cross-service suite starts real processes; it runs last, alone.
CROSS = "tests"
COUNT_RE = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)")


def run(target: str, extra: list[str]) -> tuple[str, int, str, float]:
    folder = ROOT / target
    tests = folder / "tests" if target != CROSS else folder
    if not tests.exists():
        return target, 5, "no tests folder\n", 0.0
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-c",
        str(ROOT / "pyproject.toml"),
        f"--rootdir={folder}",
        str(tests),
        "-q",
        "-p",
        "no:cacheprovider",
        *extra,
    ]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S603
    return target, proc.returncode, proc.stdout + proc.stderr, time.monotonic() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="", help="comma-separated members (and/or 'tests')")
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("TEST_JOBS", "2")))
    args, extra = parser.parse_known_args()
    targets = [*MEMBERS, CROSS]
    if args.only:
        wanted = {t.strip() for t in args.only.split(",") if t.strip()}
        targets = [t for t in targets if t in wanted]
    parallel = [t for t in targets if t != CROSS]
    totals: dict[str, int] = {}
    failed: list[str] = []
    started = time.monotonic()

    def report(result: tuple[str, int, str, float]) -> None:
        target, code, output, seconds = result
        print(f"\n===== {target} ({seconds:.1f}s, exit {code}) =====", flush=True)
        print(output.rstrip(), flush=True)
        summary_lines = [
            ln for ln in output.splitlines() if COUNT_RE.search(ln) and re.search(r" in [\d.]+s", ln)
        ]
        tail = summary_lines[-1] if summary_lines else ""
        for n, kind in COUNT_RE.findall(tail):
            kind = "errors" if kind.startswith("error") else kind
            totals[kind] = totals.get(kind, 0) + int(n)
        if code not in (0, 5):
            failed.append(target)

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for result in pool.map(lambda t: run(t, extra), parallel):
            report(result)
    if CROSS in targets:
        report(run(CROSS, extra))
    elapsed = time.monotonic() - started
    print(f"\nTest run finished in {elapsed:.0f}s over {len(targets)} suites.")
    if failed:
        print("Failing suites: " + ", ".join(failed))
    summary = f"{totals.get('passed', 0)} passed, {totals.get('failed', 0) + totals.get('errors', 0)} failed"
    if totals.get("skipped"):
        summary += f", {totals['skipped']} skipped"
    print(summary)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
