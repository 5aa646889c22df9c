"""The previous production server, for bench/bench_app.py's comparison: gunicorn gthread with
2 workers x 8 threads, 40 connections per worker, 5 s keep-alive, 30 s worker timeout.

The app is the same backend.wsgi:app (with its own JSON access log), so the comparison is of
the servers alone. Run from app/: `gunicorn --config ../bench/gunicorn_gthread.conf.py backend.wsgi:app`.
"""

import os
from pathlib import Path

_metrics_dir = Path(os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", "/tmp/prometheus"))
_metrics_dir.mkdir(parents=True, exist_ok=True)

bind = f"{os.environ.get('LISTEN_ADDRESS', '127.0.0.1')}:{os.environ.get('PORT', '8080')}"
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GTHREAD_THREADS", "8"))
worker_connections = 5 * threads
timeout = 30
graceful_timeout = 20
keepalive = 5
worker_tmp_dir = "/tmp"
control_socket_disable = True
accesslog = None  # the app writes its own
errorlog = "-"
