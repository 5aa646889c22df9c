"""Benchmark of the backend under a realistic topic mix, on 127.0.0.1, bounded in time.

Starts the fake upstream (50 ms added to every call) and the real gunicorn server with the
production configuration, drives it with wrk in two phases, prints requests/s, p50 and p99
latency and upstream calls per 1,000 requests for each, and stops everything it started.

    .venv/bin/python bench/bench_app.py [--warmup 10] [--duration 30] [--connections 64]

Topic mix (per request): 94.5 % one of 25 hot topics, 5 % one of 100 warm topics, 0.5 % a
topic never asked before (about a dozen new topics a second at the target rate).

Phases, on the same server:
- cold start (`--warmup` seconds): the caches start empty, as right after a deployment.
  Caches are per worker process, so each of the 125 hot and warm topics costs each worker one
  50 ms upstream wait (up to 250), and the requests for the same topic wait with it: over 1 %
  of a short phase, which is where its p99 comes from.
- steady state (`--duration` seconds, the figures the targets are about): the service as it
  runs most of its life; new topics are still misses, and are never ones the cold phase saw.

The machine is usually shared, so requests/s and latency move with whatever else runs. The
CPU time the server and wrk spent per request does not, and is printed too, with the rate two
dedicated cores would sustain at that cost.

Target on a 2-core machine, wrk included: >= 2,000 requests/s, p99 <= 60 ms, fewer than 20
upstream calls per 1,000 requests.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.app.gunicorn_server import GunicornServer  # noqa: E402
from tests.support.fake_upstream import FakeUpstream  # noqa: E402

TARGET_RPS = 2000
TARGET_P99_MS = 60
TARGET_UPSTREAM_PER_1000 = 20

HOT_TOPICS = [
    "python", "rust", "go", "kubernetes", "aws", "linux", "ai", "llm", "security", "postgres",
    "startup", "apple", "google", "javascript", "typescript", "react", "docker", "sqlite",
    "privacy", "openai", "nvidia", "climate", "space", "economics", "hiring",
]

# wrk's Lua: each wrk thread draws its own topics; `done` prints the figures as one JSON line.
WRK_SCRIPT = """
local hot = {%(hot)s}
local warm = {}
for i = 1, 100 do warm[i] = hot[(i %% #hot) + 1] .. "%%20part" .. i end
local counter = 0
local thread_id = 0
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("thread_id", next_id)
end

function init(args)
  math.randomseed(thread_id * 7919)
end

function request()
  local r = math.random()
  local topic
  if r < 0.945 then
    topic = hot[math.random(#hot)]
  elseif r < 0.995 then
    topic = warm[math.random(#warm)]
  else
    counter = counter + 1
    topic = "new-%(phase)s-" .. thread_id .. "-" .. counter
  end
  return wrk.format("GET", "/contents/" .. topic)
end

%(pacing)s
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p90_us": %%d, "p99_us": %%d, ' ..
    '"max_us": %%d, "errors": {"connect": %%d, "read": %%d, "write": %%d, "status": %%d, "timeout": %%d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


@dataclass
class Phase:
    name: str
    seconds: int
    wrk: dict
    upstream_calls: int
    cache_lookups: dict[str, float]
    server_cpu: float
    wrk_cpu: float


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=30, help="seconds of steady-state load (default 30)")
    parser.add_argument("--warmup", type=int, default=10,
                        help="seconds of cold-start load before it, reported separately (default 10; 0 skips it)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--workers", default="2", help="WEB_CONCURRENCY for gunicorn")
    parser.add_argument("--threads", default="8", help="GUNICORN_THREADS")
    parser.add_argument("--upstream-delay", type=float, default=0.05, help="seconds per upstream call")
    parser.add_argument(
        "--rate", type=float, default=None,
        help="offer about this many requests/s in all (each connection pauses between requests) "
             "instead of as many as the server can take; latency at the target rate, not at saturation",
    )
    args = parser.parse_args()

    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2

    phases = []
    with tempfile.TemporaryDirectory(prefix="bench-app-") as tmp, \
            FakeUpstream(delay_seconds=args.upstream_delay) as upstream, \
            GunicornServer(Path(tmp), {
                "UPSTREAM_URL": upstream.url,
                "WEB_CONCURRENCY": args.workers,
                "GUNICORN_THREADS": args.threads,
            }) as server:
        plan = [("cold start", "cold", args.warmup), ("steady state", "steady", args.duration)]
        for name, tag, seconds in plan:
            if seconds <= 0:
                continue
            phase = _run_phase(args, Path(tmp), server, upstream, name, tag, seconds)
            if phase is None:
                return 1
            phases.append(phase)

    print(f"load: wrk {args.wrk_threads} threads, {args.connections} connections, "
          f"{_pacing_description(args.rate)}; gunicorn {args.workers} workers x {args.threads} threads; "
          f"upstream +{args.upstream_delay * 1000:g} ms")
    for phase in phases:
        report(phase)
    return 0


def _run_phase(args, tmp: Path, server: GunicornServer, upstream: FakeUpstream,
               name: str, tag: str, seconds: int) -> Phase | None:
    script = tmp / f"mix-{tag}.lua"
    script.write_text(WRK_SCRIPT % {
        "hot": ", ".join(f'"{t}"' for t in HOT_TOPICS),
        # New topics are new in each phase: the steady state never finds the cold phase's.
        "phase": tag,
        "pacing": _pacing(args.rate, args.connections),
    })
    calls_before, lookups_before = upstream.call_count, _cache_lookups(server.url)
    server_cpu_before, wrk_cpu_before = _process_tree_cpu_seconds(server.process.pid), _children_cpu_seconds()
    wrk = subprocess.run(
        ["wrk", f"-t{args.wrk_threads}", f"-c{args.connections}", f"-d{seconds}s",
         "--timeout", "5s", "-s", str(script), server.url],
        capture_output=True, text=True, timeout=seconds + 60,
    )
    server_cpu = _process_tree_cpu_seconds(server.process.pid) - server_cpu_before
    wrk_cpu = _children_cpu_seconds() - wrk_cpu_before
    calls, lookups = upstream.call_count - calls_before, _cache_lookups(server.url)

    result_line = next((l for l in wrk.stdout.splitlines() if l.startswith("WRK_RESULT ")), None)
    if wrk.returncode != 0 or result_line is None:
        print(f"wrk failed in the {name} phase ({wrk.returncode}):\n{wrk.stdout}\n{wrk.stderr}", file=sys.stderr)
        return None
    return Phase(
        name=name,
        seconds=seconds,
        wrk=json.loads(result_line.removeprefix("WRK_RESULT ")),
        upstream_calls=calls,
        cache_lookups={k: v - lookups_before.get(k, 0) for k, v in lookups.items()},
        server_cpu=server_cpu,
        wrk_cpu=wrk_cpu,
    )


def _pacing(rate: float | None, connections: int) -> str:
    """wrk's `delay()` hook: each connection waits this long before its next request, so the
    connections together offer about `rate` requests/s (a little less, by the response time)."""
    if rate is None:
        return ""
    return f"function delay() return {connections * 1000 / rate:.3f} end"


def _pacing_description(rate: float | None) -> str:
    return f"paced at ~{rate:g} requests/s" if rate else "unpaced (saturation)"


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # waited-for children: wrk
    return usage.ru_utime + usage.ru_stime


def _process_tree_cpu_seconds(master_pid: int) -> float:
    """CPU seconds of gunicorn's master and its workers (its direct children)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        pid, ppid = int(entry.name), int(fields[1])
        if master_pid in (pid, ppid):
            total += (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    return total


def _cache_lookups(url: str) -> dict[str, float]:
    from prometheus_client.parser import text_string_to_metric_families

    text = requests.get(f"{url}/metrics", timeout=5).text
    return {
        s.labels["result"]: s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "cache_lookups_total"
    }


def report(phase: Phase) -> None:
    result = phase.wrk
    total = result["requests"]
    rps = total / (result["duration_us"] / 1e6)
    p50, p90, p99 = (result[k] / 1000 for k in ("p50_us", "p90_us", "p99_us"))
    per_1000 = phase.upstream_calls / total * 1000 if total else float("inf")
    errors = sum(result["errors"].values())

    def verdict(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    print(f"\n{phase.name}, {phase.seconds} s:")
    print(f"  requests:        {total} ({errors} errors: {result['errors']})")
    print(f"  requests/s:      {rps:8.0f}   target >= {TARGET_RPS}: {verdict(rps >= TARGET_RPS)}")
    print(f"  latency p50:     {p50:8.1f} ms")
    print(f"  latency p90:     {p90:8.1f} ms")
    print(f"  latency p99:     {p99:8.1f} ms   target <= {TARGET_P99_MS}: {verdict(p99 <= TARGET_P99_MS)}")
    print(f"  latency max:     {result['max_us'] / 1000:8.1f} ms")
    print(f"  upstream calls:  {phase.upstream_calls} = {per_1000:.1f} per 1,000 requests   "
          f"target < {TARGET_UPSTREAM_PER_1000}: {verdict(per_1000 < TARGET_UPSTREAM_PER_1000)}")
    print("  cache lookups:   " + ", ".join(f"{k} {v:.0f}" for k, v in sorted(phase.cache_lookups.items())))
    if total:
        server_us, wrk_us = phase.server_cpu / total * 1e6, phase.wrk_cpu / total * 1e6
        print(f"  CPU per request: server {server_us:.0f} us + wrk {wrk_us:.0f} us "
              f"= {2e6 / (server_us + wrk_us):.0f} requests/s on 2 dedicated cores")


if __name__ == "__main__":
    sys.exit(main())
