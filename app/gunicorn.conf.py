"""gunicorn settings, from environment variables validated at start-up.

Run from this directory: `gunicorn --config gunicorn.conf.py backend.wsgi:app`.
Variables and defaults are described in README.md.
"""

import os
import sys
from pathlib import Path

# prometheus_client picks its multiprocess storage when first imported, and importing the
# backend package below imports it: the directory must be known and exist before that.
# Only /tmp is writable in the container.
_metrics_dir = Path(os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", "/tmp/prometheus"))
_metrics_dir.mkdir(parents=True, exist_ok=True)

sys.path.insert(0, str(Path(__file__).resolve().parent))

from backend import protocol_errors  # noqa: E402
from backend.config import ConfigError, read_service_settings  # noqa: E402

try:
    _server, _ = read_service_settings()
except ConfigError as exc:
    sys.exit(f"configuration error: {exc}")

# Malformed requests, which gunicorn answers itself, get JSON errors too.
protocol_errors.answer_in_json()

bind = f"0.0.0.0:{_server.port}"
# Threads, not processes, absorb the upstream wait: a request blocked on the upstream holds
# a thread and no CPU, and the per-process topic cache is shared by all of a worker's threads.
worker_class = "gthread"
workers = _server.workers
threads = _server.threads
worker_connections = _server.worker_connections
timeout = _server.timeout
graceful_timeout = _server.graceful_timeout
keepalive = _server.keepalive
# The heartbeat file lives on the writable /tmp (the root filesystem is read-only).
worker_tmp_dir = "/tmp"
# gunicorn's runtime control socket defaults to a path under $HOME, which is read-only in
# the container, and nothing here uses it.
control_socket_disable = True

loglevel = _server.log_level.lower()
logger_class = "backend.logs.JsonLogger"
accesslog = "-"
errorlog = "-"


def on_starting(server):
    # Samples left by a previous run would be added to this one's.
    for stale in _metrics_dir.glob("*.db"):
        stale.unlink(missing_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
