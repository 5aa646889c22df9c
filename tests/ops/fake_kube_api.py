"""A stand-in Kubernetes API server on 127.0.0.1 answering exactly the reads `verify` makes.

No API server can run on the build machines, so this serves the paths the official client
calls (nodes, a Deployment, pods by label selector, events by field selector, a Service and the
service proxy) with JSON serialised from the client's own models. The same server also answers
`/readyz` and `/contents/<topic>` at its root, standing in for a public `serviceUrl`.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from kubernetes import client

from tests.ops import cluster_state
from tests.ops.cluster_state import Scenario

# The API server writes times as RFC 3339 in UTC with a 'Z'; Python's isoformat writes '+00:00'.
_UTC_SUFFIX = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)\+00:00$")


def to_wire(model: object) -> bytes:
    """JSON exactly as the API sends it: camelCase keys, no nulls, RFC 3339 times."""
    return json.dumps(_rfc3339(client.ApiClient().sanitize_for_serialization(model))).encode()


def _rfc3339(value: object) -> object:
    if isinstance(value, dict):
        return {key: _rfc3339(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_rfc3339(item) for item in value]
    if isinstance(value, str):
        return _UTC_SUFFIX.sub(r"\1Z", value)
    return value


def _matches(labels: dict[str, str], selector: str) -> bool:
    """Equality-based label selectors (`a=b,c==d`), the form a matchLabels selector becomes."""
    for term in filter(None, selector.split(",")):
        key, _, value = term.replace("==", "=").partition("=")
        if labels.get(key.strip()) != value.strip():
            return False
    return True


class FakeKubeApi:
    """Context manager: `with FakeKubeApi(Scenario(...)) as api: api.url`."""

    def __init__(self, scenario: Scenario | None = None):
        self.scenario = scenario or Scenario()
        self.requests: list[str] = []
        self.deployment_reads = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def kubeconfig(self) -> dict:
        """A kubeconfig pointing at this server, without credentials, as the tests' stack output."""
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "fake", "user": {}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
            "current-context": "fake",
        }

    def paths(self) -> list[str]:
        """Request paths, decoded as the API server routes them, without query strings."""
        with self._lock:
            return [unquote(request.split("?", 1)[0]) for request in self.requests]

    def __enter__(self) -> "FakeKubeApi":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; with Nagle on, each answer waits ~40 ms.
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                with api._lock:
                    api.requests.append(self.path)
                status, body = api.answer(self.path)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def answer(self, raw_path: str) -> tuple[int, bytes]:
        scenario = self.scenario
        parts = urlsplit(raw_path)
        # Like the API server, route on the decoded path: the client percent-encodes ':' and '/'.
        path = unquote(parts.path)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        ns = scenario.namespace
        if path == "/api/v1/nodes":
            return 200, to_wire(cluster_state.nodes(scenario))
        if path == f"/apis/apps/v1/namespaces/{ns}/deployments/{scenario.deployment_name}":
            return 200, to_wire(cluster_state.deployment(scenario, complete=self._next_read_complete()))
        if path == f"/api/v1/namespaces/{ns}/pods":
            selector = query.get("labelSelector", "")
            items = [pod for pod in cluster_state.pods(scenario) if _matches(pod.metadata.labels, selector)]
            return 200, to_wire(
                client.V1PodList(api_version="v1", kind="PodList", metadata=client.V1ListMeta(), items=items)
            )
        if path == f"/api/v1/namespaces/{ns}/events":
            return 200, to_wire(self._events(query.get("fieldSelector", "")))
        if path == f"/api/v1/namespaces/{ns}/services/{scenario.service_name}":
            return 200, to_wire(cluster_state.service(scenario))
        proxy = f"/api/v1/namespaces/{ns}/services/{scenario.service_name}:{scenario.service_port}/proxy/"
        if path.startswith(proxy):
            return self._backend(path[len(proxy):])
        if path in ("/readyz",) or path.startswith("/contents/"):
            return self._backend(path[1:])
        return 404, to_wire(cluster_state.not_found("resource", path))

    def _next_read_complete(self) -> bool:
        with self._lock:
            self.deployment_reads += 1
            reads = self.deployment_reads
        pending = self.scenario.rollout_pending_reads
        return pending is not None and reads > pending

    def _events(self, field_selector: str) -> client.CoreV1EventList:
        wanted = dict(term.split("=", 1) for term in filter(None, field_selector.split(",")))
        pod_names = [pod.metadata.name for pod in cluster_state.pods(self.scenario)]
        items = [
            event
            for name in pod_names
            for event in cluster_state.events(self.scenario, name)
            if wanted.get("involvedObject.name", name) == name
            and wanted.get("involvedObject.kind", "Pod") == "Pod"
        ]
        return client.CoreV1EventList(
            api_version="v1", kind="EventList", metadata=client.V1ListMeta(), items=items
        )

    def _backend(self, path: str) -> tuple[int, bytes]:
        if path == "readyz":
            ready = self.scenario.readyz_status == 200
            return self.scenario.readyz_status, json.dumps({"status": "ready" if ready else "not ready"}).encode()
        if path.startswith("contents/"):
            status = self.scenario.contents_status
            if status != 200 and self.scenario.contents_body is None:
                return status, b'{"message": "upstream search failed"}'
            return status, self.scenario.contents(path[len("contents/"):])
        return 404, b'{"message": "not found"}'
