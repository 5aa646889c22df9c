"""The admin listener: probes and Prometheus metrics on a port of their own.

It runs in the server's main process (serve.py), not in a worker, on its own socket and
threads, so it answers whatever the public port is doing: saturated by clients, held by slow
ones, or every worker thread waiting on the upstream. The Service does not expose it: only
the kubelet (probes) and Prometheus (scrapes) reach it.

- `GET /healthz`: the server process is alive. granian respawns a worker that dies.
- `GET /readyz`: the server is not shutting down and its public port accepts connections.
  The upstream is never asked: an upstream outage is served from cache or answered 502/504,
  never by taking every pod out of service at once.
- `GET /metrics`: every worker's samples, aggregated from PROMETHEUS_MULTIPROC_DIR.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

# A probe or a scrape that has not sent its request in this long is dropped.
CLIENT_TIMEOUT_SECONDS = 5
# How long /readyz waits for the public port to accept a connection.
READY_CONNECT_TIMEOUT_SECONDS = 1.0


def _scrape() -> bytes:
    """Every worker's samples (this process records none of its own)."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry)


def _loopback_for(address: str) -> str:
    """Where this process reaches a listener bound to `address`."""
    if address == "0.0.0.0":
        return "127.0.0.1"
    if address == "::":
        return "::1"
    return address


class AdminServer:
    def __init__(self, address: str, port: int, public_address: str, public_port: int) -> None:
        self._public = (_loopback_for(public_address), public_port)
        self.stopping = False
        admin = self

        class Handler(BaseHTTPRequestHandler):
            timeout = CLIENT_TIMEOUT_SECONDS
            server_version = "admin"
            sys_version = ""

            def log_message(self, *args) -> None:  # probes every few seconds: not worth a line
                pass

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/healthz":
                    self._json(200, {"status": "alive"})
                elif path == "/readyz":
                    reason = admin.not_ready_reason()
                    if reason is None:
                        self._json(200, {"status": "ready"})
                    else:
                        self._json(503, {"status": "not ready", "reason": reason})
                elif path == "/metrics":
                    self._send(200, CONTENT_TYPE_LATEST, _scrape())
                else:
                    self._json(404, {"message": "Not Found"})

            def _json(self, status: int, body: dict) -> None:
                self._send(status, "application/json", json.dumps(body).encode())

            def _send(self, status: int, content_type: str, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("X-Content-Type-Options", "nosniff")
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(payload)

        class Server(ThreadingHTTPServer):
            address_family = socket.AF_INET6 if ":" in address else socket.AF_INET
            daemon_threads = True

        self._httpd = Server((address, port), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="admin", daemon=True)

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def not_ready_reason(self) -> str | None:
        if self.stopping:
            return "shutting down"
        try:
            with socket.create_connection(self._public, timeout=READY_CONNECT_TIMEOUT_SECONDS):
                return None
        except OSError as exc:
            return f"the public port does not accept connections: {exc.strerror or exc}"
