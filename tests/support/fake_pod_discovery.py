"""A stand-in for the two Kubernetes API calls Prometheus's pod discovery makes, on 127.0.0.1.

client-go's reflector first lists a namespace's pods (`GET /api/v1/namespaces/<ns>/pods`), then
watches from the list's resourceVersion (`...?watch=true`; VictoriaMetrics sends `watch=1`). The list answers the pods the test
gives; the watch stays open without events (nothing changes) until the server stops, as a real
API server's watch does until its timeout. Any other path answers 404, so a configuration that
asks for more (another namespace, another role) finds nothing rather than something made up.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

_PODS = re.compile(r"^/api/v1/namespaces/([a-z0-9-]+)/pods$")
RESOURCE_VERSION = "4711"


def pod(name: str, namespace: str, labels: dict[str, str], ports: dict[str, int], ip: str = "127.0.0.1") -> dict:
    """A running, ready pod whose one container has `ports` (name -> number)."""
    return {
        "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{namespace}-{name}",
                     "resourceVersion": RESOURCE_VERSION, "labels": labels},
        "spec": {"nodeName": "ip-10-0-1-10.ec2.internal", "containers": [{
            "name": "main", "image": "example.invalid/app@sha256:" + "0" * 64,
            "ports": [{"name": port_name, "containerPort": port, "protocol": "TCP"}
                      for port_name, port in ports.items()],
        }]},
        "status": {"phase": "Running", "podIP": ip, "hostIP": ip,
                   "conditions": [{"type": "Ready", "status": "True"}],
                   "containerStatuses": [{"name": "main", "ready": True, "restartCount": 0, "image": "",
                                          "imageID": "", "state": {"running": {}}}]},
    }


class FakePodDiscovery:
    """`with FakePodDiscovery([pod(...), ...]) as api: api.url` — the namespaces asked for are in `api.paths`."""

    def __init__(self, pods: list[dict]):
        self.pods = pods
        self.paths: list[str] = []
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> "FakePodDiscovery":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                fake.paths.append(self.path)
                match = _PODS.match(parts.path)
                if match is None:
                    self._send(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404,
                                     "reason": "NotFound", "message": f"no {parts.path} here"})
                    return
                if parse_qs(parts.query).get("watch", ["false"])[0] in ("true", "1"):
                    self._watch()
                    return
                namespace = match.group(1)
                self._send(200, {
                    "kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": RESOURCE_VERSION},
                    "items": [p for p in fake.pods if p["metadata"]["namespace"] == namespace],
                })

            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _watch(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.wfile.flush()
                fake._stopping.wait()
                self.close_connection = True

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
