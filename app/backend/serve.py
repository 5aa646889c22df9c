"""The server: `python -m backend.serve` (from app/), the container's command.

In the main process, before any worker starts: the settings are read and checked (a bad value
stops the process with a message naming the variable, exit status 2), the metrics directory is
emptied, and the admin listener (probes, metrics) starts. Then granian serves backend.wsgi:app
with WEB_CONCURRENCY worker processes of WORKER_THREADS Python threads each.

Why granian: its HTTP handling is Rust (hyper on tokio), so parsing requests, keep-alive and
slow clients cost no Python thread and no GIL time; a Python thread is taken only to run the
app for a complete request. Measured on 2 cores (bench/bench_app.py) it serves cached topics
at about 6x gunicorn gthread's rate with a tenth of its p99; see app/README.md.

On SIGTERM: /readyz turns 503, every worker stops accepting (new connections are refused),
closes idle keep-alive connections and finishes its in-flight requests, for at most
GRACEFUL_TIMEOUT_SECONDS, then the process exits 0.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# HTTP/1 only: with HTTP/2 (h2c) a client could send 16 MiB of headers past the limits below.
# Request line and headers: at most this many bytes, or granian answers 431 itself; below it,
# edge.py applies the service's own limits and answers in JSON.
MAX_REQUEST_HEAD_BYTES = 64 * 1024
APP_TARGET = "backend.wsgi:app"


def main() -> int:
    # prometheus_client picks its multiprocess storage when first imported: the directory must
    # be known, and exist, before that. Only /tmp is writable in the container.
    metrics_dir = Path(os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", "/tmp/prometheus"))

    from .config import ConfigError, read_service_settings

    try:
        server_settings, _ = read_service_settings()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2

    metrics_dir.mkdir(parents=True, exist_ok=True)
    # Samples left by a previous run would be added to this one's.
    for stale in metrics_dir.glob("*.db"):
        stale.unlink(missing_ok=True)

    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings
    from granian.log import LogLevels
    from granian.server import Server

    from .admin import AdminServer
    from .logs import configure_app_logging, json_logging_config

    level = server_settings.log_level
    configure_app_logging(level)
    admin = AdminServer(server_settings.listen_address, server_settings.admin_port,
                        server_settings.listen_address, server_settings.port)
    server = Server(
        APP_TARGET,
        address=server_settings.listen_address,
        port=server_settings.port,
        interface=Interfaces.WSGI,
        http=HTTPModes.http1,
        workers=server_settings.workers,
        blocking_threads=server_settings.threads,
        http1_settings=HTTP1Settings(
            header_read_timeout=int(server_settings.header_read_timeout * 1000),
            keep_alive=True,
            max_buffer_size=MAX_REQUEST_HEAD_BYTES,
        ),
        workers_kill_timeout=server_settings.graceful_timeout,
        respawn_failed_workers=True,
        log_level=LogLevels(level.lower()),
        log_dictconfig=json_logging_config(level),
        # The app writes its own access log (logs.AccessLog), with the cache outcome in it.
        log_access=False,
    )

    interrupt = server.signal_handler_interrupt

    def on_interrupt(*args, **kwargs):
        admin.stopping = True  # readiness fails at once while requests drain
        interrupt(*args, **kwargs)

    # granian installs its signal handlers from this attribute when it starts.
    server.signal_handler_interrupt = on_interrupt  # type: ignore[method-assign]
    admin.start()
    try:
        server.serve()
    finally:
        admin.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
