"""Benchmark of the backend's server against issue 12's targets, on 127.0.0.1, bounded in time.

    .venv/bin/pip install -r bench/requirements.txt   # gunicorn, for the comparison only
    .venv/bin/python bench/bench_app.py [--seconds 8] [--connections 64] [--no-gthread]

Starts the fake upstream (+50 ms per call; 2 s for topics named `slow-...`) and, one after the
other, three servers with the same settings: the production server (granian WSGI, 2 workers x
32 threads: `python -m backend.serve`), a trivial WSGI app on the same server (the ceiling),
and the previous server (gunicorn gthread 2 x 8, bench/gunicorn_gthread.conf.py) on the same
app. wrk (2 threads, 64 connections) shares the machine's cores with the server, as it would
with nothing but a 2-core box. Each server gets the same phases, `--seconds` each:

- hot: only the 25 hot topics (cached after a short warm-up), at saturation.
- hot while 16 wait: the same, while 16 other requests each wait 2 s on the upstream
  (a client loop keeps 16 in flight, each on a topic never asked before).
- mixed: per request 94.5 % one of 25 hot topics, 5 % one of 100 warm topics, 0.5 % a topic
  never asked before (each costs a 50 ms upstream call).

Targets (issue 22): hot >= 0.6x the trivial app in the same run and p99 <= 15 ms; hot p99 <=
20 ms while 16 wait; mixed p99 <= upstream latency + 15 ms; < 20 upstream calls per 1,000
requests; no errors. Everything started is stopped, whatever happens.

What production runs: the backend gets the stack's defaults from Pulumi.yaml (workers, threads,
log level, cache...), and its stdout, the access log, goes to a pipe a reader drains line by line,
as the container runtime reads a pod's stdout (never /dev/null). Each server's resident memory
(its processes together) is read after its last phase.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import settings  # noqa: E402
from ops.offline import harness  # noqa: E402
from tests.app.app_server import AppServer  # noqa: E402
from tests.support.fake_upstream import FakeUpstream  # noqa: E402

UPSTREAM_DELAY = 0.05
SLOW_DELAY = 2.0
SLOW_IN_FLIGHT = 16

TARGET_HOT_P99_MS = 15
TARGET_VS_TRIVIAL = 0.6
TARGET_SLOW_P99_MS = 20
TARGET_MIXED_P99_MS = UPSTREAM_DELAY * 1000 + 15
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
  if r < %(hot_share)s then
    topic = hot[math.random(#hot)]
  elseif r < %(warm_share)s then
    topic = warm[math.random(#warm)]
  else
    counter = counter + 1
    topic = "new-%(tag)s-" .. thread_id .. "-" .. counter
  end
  return wrk.format("GET", "/contents/" .. topic)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p99_us": %%d, "max_us": %%d, ' ..
    '"errors": {"connect": %%d, "read": %%d, "write": %%d, "status": %%d, "timeout": %%d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""

MIXES = {"hot": (1.0, 1.0), "mixed": (0.945, 0.995)}


@dataclass
class Phase:
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    upstream_calls: int
    server_cpu_us: float  # per request


@dataclass
class Result:
    name: str
    phases: dict[str, Phase] = field(default_factory=dict)
    rss_mb: float = 0.0
    log_lines: int = 0


def stack_default_environment() -> dict[str, str]:
    """The backend's environment as a stack with Pulumi.yaml's defaults gives it (the upstream aside)."""
    schema = harness.project_config_schema()
    return {variable: str(schema[key]["default"]) for key, variable in settings.BACKEND_ENVIRONMENT.items()
            if key != "upstreamUrl" and "default" in schema.get(key, {})}


class _LogReader:
    """Drains a server's stdout pipe line by line, as the container runtime reads a pod's."""

    def __init__(self, pipe) -> None:
        self.lines = 0
        self._pipe = pipe
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        for _ in self._pipe:
            self.lines += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=8, help="seconds per measured phase (default 8)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--no-gthread", action="store_true", help="skip the gunicorn gthread comparison")
    args = parser.parse_args()

    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    gthread = not args.no_gthread
    if gthread and subprocess.run([sys.executable, "-c", "import gunicorn"], capture_output=True).returncode:
        print("gunicorn is not installed (pip install -r bench/requirements.txt); "
              "the gthread comparison is skipped", file=sys.stderr)
        gthread = False

    results = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-app-") as tmp, FakeUpstream(
        delay_seconds=UPSTREAM_DELAY,
        topic_delay=lambda topic: SLOW_DELAY if topic.startswith("slow-") else UPSTREAM_DELAY,
    ) as upstream:
        base_env = {**stack_default_environment(), "UPSTREAM_URL": upstream.url}
        print("backend environment (the stack's defaults): "
              + ", ".join(f"{k}={v}" for k, v in sorted(base_env.items()) if k != "UPSTREAM_URL"))
        results.append(_measure_server(args, Path(tmp), upstream, "granian", base_env, None))
        results.append(_measure_trivial(args, Path(tmp), base_env))
        if gthread:
            command = [sys.executable, "-m", "gunicorn", "--config",
                       str(ROOT / "bench" / "gunicorn_gthread.conf.py"), "backend.wsgi:app"]
            results.append(_measure_server(args, Path(tmp), upstream, "gthread", base_env, command))

    report(args, results)
    print(f"machine load (1-minute average) before: {load_before:.1f}, after: {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores; above the core count, other work shares them and the figures drop")
    return 0


def _measure_server(args, tmp: Path, upstream: FakeUpstream, name: str, env: dict,
                    command: list[str] | None) -> Result:
    result = Result(name)
    with AppServer(tmp / name, env, command=command, name=name, stdout=subprocess.PIPE) as server:
        log = _LogReader(server.process.stdout)
        # Every worker caches every hot topic before anything is measured.
        _wrk(args, server, "hot", "warm", 2)
        result.phases["hot"] = _phase(args, server, upstream, "hot", "hot")
        with _SlowClients(server.port, SLOW_IN_FLIGHT):
            result.phases["hot while 16 wait"] = _phase(args, server, upstream, "hot", "slow")
        result.phases["mixed"] = _phase(args, server, upstream, "mixed", "mixed")
        result.rss_mb = _process_tree_rss_mb(server.process.pid)
        result.log_lines = log.lines
    return result


def _measure_trivial(args, tmp: Path, env: dict) -> Result:
    # The production server's command, serving the trivial app instead of the backend.
    command = [sys.executable, "-c",
               "import sys; sys.path.insert(0, %r); import backend.serve as s; "
               "s.APP_TARGET = 'trivial_wsgi:app'; sys.exit(s.main())" % str(ROOT / "bench")]
    result = Result("trivial app on granian")
    with AppServer(tmp / "trivial", {**env, "PYTHONPATH": str(ROOT / "bench")}, command=command,
                   name="trivial", stdout=subprocess.PIPE, ready_path="/") as server:
        log = _LogReader(server.process.stdout)
        _wrk(args, server, "hot", "warm", 1)
        result.phases["hot"] = _phase(args, server, None, "hot", "trivial")
        result.rss_mb = _process_tree_rss_mb(server.process.pid)
        result.log_lines = log.lines
    return result


def _phase(args, server, upstream, mix: str, tag: str) -> Phase:
    calls_before = upstream.call_count if upstream else 0
    cpu_before = _process_tree_cpu_seconds(server.process.pid)
    wrk = _wrk(args, server, mix, tag, args.seconds)
    cpu = _process_tree_cpu_seconds(server.process.pid) - cpu_before
    total = max(wrk["requests"], 1)
    return Phase(
        requests=wrk["requests"],
        rps=wrk["requests"] / (wrk["duration_us"] / 1e6),
        p50_ms=wrk["p50_us"] / 1000,
        p99_ms=wrk["p99_us"] / 1000,
        errors=sum(wrk["errors"].values()),
        upstream_calls=(upstream.call_count - calls_before) if upstream else 0,
        server_cpu_us=cpu / total * 1e6,
    )


def _wrk(args, server, mix: str, tag: str, seconds: int) -> dict:
    hot_share, warm_share = MIXES[mix]
    script = server.workdir / f"{tag}.lua"
    script.write_text(WRK_SCRIPT % {
        "hot": ", ".join(f'"{t}"' for t in HOT_TOPICS),
        "hot_share": hot_share, "warm_share": warm_share,
        # New topics are new in each phase and each server.
        "tag": f"{server.port}-{tag}",
    })
    proc = subprocess.run(
        ["wrk", f"-t{args.wrk_threads}", f"-c{args.connections}", f"-d{seconds}s",
         "--timeout", "5s", "-s", str(script), server.url],
        capture_output=True, text=True, timeout=seconds + 60,
    )
    line = next((text for text in proc.stdout.splitlines() if text.startswith("WRK_RESULT ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return json.loads(line.removeprefix("WRK_RESULT "))


class _SlowClients:
    """Keeps `count` requests in flight, each for a new `slow-...` topic (2 s upstream wait)."""

    def __init__(self, port: int, count: int) -> None:
        self._port = port
        self._stop = threading.Event()
        self._ids = itertools.count()
        self._threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(count)]

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        self._stop.wait(0.5)  # all of them waiting before the measurement starts
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for thread in self._threads:
            thread.join(SLOW_DELAY + 10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            conn = http.client.HTTPConnection("127.0.0.1", self._port, timeout=SLOW_DELAY + 10)
            try:
                conn.request("GET", f"/contents/slow-{next(self._ids)}", headers={"Connection": "close"})
                conn.getresponse().read()
            except OSError:
                self._stop.wait(0.1)
            finally:
                conn.close()


def _process_tree_rss_mb(main_pid: int) -> float:
    """Resident memory of the server's main process and its workers, in MB."""
    total_kb = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = dict(line.split(":", 1) for line in (entry / "status").read_text().splitlines() if ":" in line)
        except (FileNotFoundError, ProcessLookupError):
            continue
        if main_pid in (int(entry.name), int(status.get("PPid", "0").strip() or 0)):
            total_kb += int(status.get("VmRSS", "0 kB").split()[0])
    return total_kb / 1000


def _process_tree_cpu_seconds(main_pid: int) -> float:
    """CPU seconds of the server's main process and its workers (its direct children)."""
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
        if main_pid in (pid, ppid):
            total += (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    return total


def report(args, results: list[Result]) -> None:
    by_name = {r.name: r for r in results}
    granian, trivial = by_name["granian"], by_name["trivial app on granian"]
    gthread = by_name.get("gthread")
    hot, slow, mixed = (granian.phases[k] for k in ("hot", "hot while 16 wait", "mixed"))
    ceiling = trivial.phases["hot"].rps

    def per_1000(phase: Phase) -> float:
        return phase.upstream_calls / max(phase.requests, 1) * 1000

    rows = [
        ("hot: requests/s", "", lambda r: r.phases["hot"].rps, "{:,.0f}", None),
        ("hot: p99 ms", f"<= {TARGET_HOT_P99_MS}", lambda r: r.phases["hot"].p99_ms, "{:.1f}",
         lambda v: v <= TARGET_HOT_P99_MS),
        ("hot: x trivial app's requests/s", f">= {TARGET_VS_TRIVIAL}", lambda r: r.phases["hot"].rps / ceiling,
         "{:.2f}", lambda v: v >= TARGET_VS_TRIVIAL),
        ("hot while 16 wait 2 s: p99 ms", f"<= {TARGET_SLOW_P99_MS}",
         lambda r: r.phases["hot while 16 wait"].p99_ms, "{:.1f}", lambda v: v <= TARGET_SLOW_P99_MS),
        ("mixed: p99 ms", f"<= {TARGET_MIXED_P99_MS:g}", lambda r: r.phases["mixed"].p99_ms, "{:.1f}",
         lambda v: v <= TARGET_MIXED_P99_MS),
        ("mixed: upstream calls / 1,000", f"< {TARGET_UPSTREAM_PER_1000}",
         lambda r: per_1000(r.phases["mixed"]), "{:.1f}", lambda v: v < TARGET_UPSTREAM_PER_1000),
        ("hot: server CPU us / request", "", lambda r: r.phases["hot"].server_cpu_us, "{:.0f}", None),
        ("hot: p50 ms", "", lambda r: r.phases["hot"].p50_ms, "{:.2f}", None),
        ("mixed: requests/s", "", lambda r: r.phases["mixed"].rps, "{:,.0f}", None),
        ("errors, all phases", "0", lambda r: sum(p.errors for p in r.phases.values()), "{:,.0f}",
         lambda v: v == 0),
        ("resident memory MB (all processes)", "", lambda r: r.rss_mb, "{:.0f}", None),
        ("access log lines read", "", lambda r: r.log_lines, "{:,.0f}", None),
    ]
    print(f"\nload: wrk {args.wrk_threads} threads x {args.connections} connections, {args.seconds} s per "
          f"phase, on {os.cpu_count()} cores shared with the servers; upstream +{UPSTREAM_DELAY * 1000:g} ms "
          f"({SLOW_DELAY:g} s for slow topics)")
    print(f"trivial WSGI app on granian (same settings): {ceiling:,.0f} requests/s, "
          f"p99 {trivial.phases['hot'].p99_ms:.1f} ms, {trivial.phases['hot'].server_cpu_us:.0f} us CPU/request, "
          f"{trivial.rss_mb:.0f} MB resident\n")
    header = f"{'':34} {'target':>10} {'granian':>16}"
    if gthread:
        header += f" {'gthread 2x8':>16}"
    print(header)
    missed = 0
    for label, target, value, fmt, check in rows:
        line = f"{label:34} {target:>10}"
        for result in [granian] + ([gthread] if gthread else []):
            figure = value(result)
            verdict = "" if check is None else (" ok" if check(figure) else " MISSED")
            if check is not None and result is granian and not check(figure):
                missed += 1
            line += f" {fmt.format(figure) + verdict:>16}"
        print(line)
    errors = {r.name: sum(p.errors for p in r.phases.values()) for r in results}
    print(f"\nwrk errors (connect/read/write/status/timeout, all phases): {errors}")
    print(f"granian: {'all targets met' if not missed else f'{missed} target(s) missed'}")


if __name__ == "__main__":
    sys.exit(main())
