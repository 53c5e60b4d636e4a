"""Gateway benchmark (`make bench-gateway`): loopback only, bounded in time.

Rows: direct (bare FastAPI endpoint, one uvicorn worker), nginx → service, gateway → service and
nginx → gateway → service (the full path: RS256 verification + Redis rate limit + breaker + proxy).
Saturation throughput with wrk (64 connections; `bench/loadgen.py` when wrk is missing), then the
latency the full path adds at half of its saturation rate (paced requests from `bench/loadgen.py`).

    python bench/bench_gateway.py [--duration 5] [--connections 64] [--no-redis]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import loadgen

from shared.devstack import free_port
from shared.nginx_runner import NginxProcess
from shared.testing.tokens import TokenFactory
from shared.topology import SERVICES

HERE = Path(__file__).resolve().parent
PATH = "/api/v1/history/tx-1"  # authenticated, default rate-limit policy


def wait_up(url: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(url)


def _pids(*, parent: int | None = None, name: str | None = None) -> list[int]:
    """Processes (Linux /proc) with this parent pid and/or this command name."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm, rest = stat.split("(", 1)[1].rsplit(")", 1)
        if (parent is None or int(rest.split()[1]) == parent) and (name is None or comm == name):
            out.append(int(entry.name))
    return out


def cpu_seconds(pids: list[int]) -> float:
    """user + system CPU of the processes (Linux /proc), to see where each request's CPU goes."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def run_wrk(url: str, token: str, duration: float, connections: int) -> tuple[float, float, float, int]:
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{int(duration)}s",
            "--latency",
            "-H",
            f"Authorization: Bearer {token}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 30,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def pct(label: str) -> float:
        m = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", out)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        print(f"  warning: {non2xx.group(1)} non-2xx responses for {url}", file=sys.stderr)
    count = int(re.search(r"(\d+) requests in", out).group(1))
    return rps, pct("50"), pct("99"), count


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per row and round")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3, help="rows are interleaved this many times (noise)")
    parser.add_argument("--no-redis", action="store_true", help="embedded mode (in-process limiter)")
    args = parser.parse_args()
    use_wrk = shutil.which("wrk") is not None
    redis_url = "" if args.no_redis else os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")

    tokens = TokenFactory()
    token = tokens.token("bench-user", ttl=3600)
    auth = {"Authorization": f"Bearer {token}"}
    tmp = Path(tempfile.mkdtemp(prefix="bench-gw-"))
    (tmp / "jwks.json").write_text(json.dumps(tokens.jwks()))
    procs: list[subprocess.Popen[bytes]] = []
    nginxes: list[NginxProcess] = []
    try:
        svc_port = free_port()
        procs.append(
            subprocess.Popen(
                [sys.executable, str(HERE / "bench_app.py"), str(svc_port), str(tmp / "jwks.json")]
            )
        )
        svc = f"http://127.0.0.1:{svc_port}"
        gw_port = free_port()
        env = {
            **os.environ,
            "ENVIRONMENT": "test",
            "HOST": "127.0.0.1",
            "PORT": str(gw_port),
            "LOG_LEVEL": "WARNING",
            "REDIS_URL": redis_url,
            "RATE_LIMIT_KEY_PREFIX": f"bench:{os.getpid()}:",
            "RATE_LIMIT_POLICIES": "default=100000000/60",
            "JWKS_URL": f"{svc}/.well-known/jwks.json",
            "DATA_DIR": str(tmp),
        }
        for s in SERVICES:
            env[f"{s.env_prefix}_URL"] = svc
        procs.append(subprocess.Popen([sys.executable, "-m", "gateway"], env=env, stderr=subprocess.DEVNULL))
        gw = f"http://127.0.0.1:{gw_port}"
        wait_up(f"{svc}/health", procs[0])
        wait_up(f"{gw}/health", procs[1])
        nginxes.append(NginxProcess(gateway_upstream=f"127.0.0.1:{svc_port}").start())
        nginxes.append(NginxProcess(gateway_port=gw_port).start())
        rows = [
            ("direct", svc),
            ("nginx -> service", nginxes[0].url),
            ("gateway -> service", gw),
            ("nginx -> gateway -> service", nginxes[1].url),
        ]
        # Warm up every path (JWKS fetch, verified-token cache, pools).
        for _, base in rows:
            for _ in range(50):
                r = httpx.get(base + PATH, headers={"Authorization": f"Bearer {token}"})
                assert r.status_code == 200, (base, r.status_code, r.text)
        tool = "wrk" if use_wrk else "python"
        print(
            f"gateway benchmark: {tool}, {args.connections} connections, {args.duration:.0f} s per row, "
            f"rate limit in {'Redis' if redis_url else 'process memory'}, GET {PATH} with an RS256 token"
        )
        print(
            f"{'path':<30} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'vs direct':>10} "
            f"{'CPU µs/req: service':>20} {'gateway':>8} {'nginx':>6} {'redis':>6}"
        )
        nginx_pids = {
            "nginx -> service": [nginxes[0].proc.pid, *_pids(parent=nginxes[0].proc.pid)],
            "nginx -> gateway -> service": [nginxes[1].proc.pid, *_pids(parent=nginxes[1].proc.pid)],
        }
        # A local Redis server's CPU too (it is on the same two cores); none when it runs elsewhere.
        redis_pids = _pids(name="redis-server") if redis_url else []
        samples: dict[str, list[tuple[float, ...]]] = {n: [] for n, _ in rows}
        for _ in range(args.rounds):  # interleaved: a load spike from elsewhere hits every row alike
            for name, base in rows:
                before = [
                    cpu_seconds([procs[0].pid]),
                    cpu_seconds([procs[1].pid]),
                    cpu_seconds(nginx_pids.get(name, [])),
                    cpu_seconds(redis_pids),
                ]
                if use_wrk:
                    rps, p50, p99, count = run_wrk(base + PATH, token, args.duration, args.connections)
                else:
                    res = loadgen.measure(
                        base + PATH, auth, duration=args.duration, connections=args.connections
                    )
                    rps, p50, p99, count = res.rate, res.p50_ms, res.p99_ms, res.requests
                after = [
                    cpu_seconds([procs[0].pid]),
                    cpu_seconds([procs[1].pid]),
                    cpu_seconds(nginx_pids.get(name, [])),
                    cpu_seconds(redis_pids),
                ]
                per = [(a - b) / max(count, 1) * 1e6 for a, b in zip(after, before, strict=True)]
                samples[name].append((rps, p50, p99, *per))
        results = {}
        for name, _ in rows:
            med = [statistics.median(col) for col in zip(*samples[name], strict=True)]
            results[name] = med[0]
            # The ratio of each round (rows of one round run back to back), then the median: the
            # machine's speed drifts between rounds far more than within one.
            ratio = statistics.median(
                s[0] / d[0] for s, d in zip(samples[name], samples["direct"], strict=True)
            )
            print(
                f"{name:<30} {med[0]:>9.0f} {med[1]:>8.2f} {med[2]:>8.2f} {ratio:>9.0%} "
                f"{med[3]:>20.0f} {med[4]:>8.0f} {med[5]:>6.0f} {med[6]:>6.0f}",
                flush=True,
            )
        # Added latency at half of the full path's saturation (paced, 16 connections), interleaved
        # over the rounds like the rows above; medians.
        rate = results["nginx -> gateway -> service"] / 2
        paced: dict[str, list[loadgen.Result]] = {"direct": [], "full": []}
        for _ in range(args.rounds):
            for name, base in (("direct", svc), ("full", nginxes[1].url)):
                paced[name].append(
                    loadgen.measure(base + PATH, auth, duration=args.duration, connections=16, rate=rate)
                )
        d50, f50 = (statistics.median(r.p50_ms for r in paced[n]) for n in ("direct", "full"))
        d99, f99 = (statistics.median(r.p99_ms for r in paced[n]) for n in ("direct", "full"))
        print(
            f"at {rate:.0f} req/s (half of the full path's saturation): p50 direct {d50:.2f} ms, "
            f"full path {f50:.2f} ms → adds {f50 - d50:.2f} ms (p99 {d99:.2f} → {f99:.2f} ms)"
        )
    finally:
        for n in nginxes:
            n.stop()
        for p in procs:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
