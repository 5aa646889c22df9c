"""Calls the backend's HTTP endpoints and checks their answers against the API contract.

Two routes reach the service: its public URL when the stack exports `serviceUrl`, otherwise the
API server's service proxy, which needs only the kubeconfig (no kubectl, no port-forward).
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Protocol

from ops.cluster import Cluster, ClusterError

TOPIC = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
CONTENT_FIELDS = ("id", "title", "url")


class Endpoint(Protocol):
    @property
    def description(self) -> str:
        """What was asked, for the report: the URL, or the proxy path."""

    def get(self, path: str) -> tuple[int, bytes]:
        """GET `path` (no leading '/'); (status, body), status 0 when nothing answered."""


@dataclass
class DirectEndpoint:
    base_url: str
    timeout: float

    @property
    def description(self) -> str:
        return self.base_url

    def get(self, path: str) -> tuple[int, bytes]:
        request = urllib.request.Request(f"{self.base_url}/{path}", headers={"Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            return 0, f"no answer from {self.base_url}: {reason}".encode()


@dataclass
class ProxyEndpoint:
    cluster: Cluster
    service: str
    port: int
    timeout: float

    @property
    def description(self) -> str:
        return f"API server proxy to service {self.cluster.namespace}/{self.service}:{self.port}"

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            return self.cluster.service_proxy_get(f"{self.service}:{self.port}", path, self.timeout)
        except ClusterError as error:
            return 0, str(error).encode()


@dataclass(frozen=True)
class HttpCheck:
    path: str
    status: int
    ok: bool
    detail: str


def check_readiness(endpoint: Endpoint) -> HttpCheck:
    status, body = endpoint.get("readyz")
    if status == 200:
        return HttpCheck("readyz", status, True, "ready")
    return HttpCheck("readyz", status, False, _unexpected(status, body))


def check_contents(endpoint: Endpoint, topic: str) -> HttpCheck:
    path = f"contents/{topic}"
    status, body = endpoint.get(path)
    if status != 200:
        return HttpCheck(path, status, False, _unexpected(status, body))
    problem = contents_contract_violation(body)
    if problem:
        return HttpCheck(path, status, False, f"answered 200 but {problem}")
    count = len(json.loads(body)["outcome"])
    return HttpCheck(path, status, True, f"{count} item(s)")


def contents_contract_violation(body: bytes) -> str | None:
    """Why `body` is not `{"outcome": [{"id", "title", "url"}, ...]}`, or None when it is."""
    try:
        document = json.loads(body)
    except ValueError:
        return f"the body is not JSON: {_excerpt(body)}"
    if not isinstance(document, dict) or not isinstance(document.get("outcome"), list):
        return f"the body has no 'outcome' list: {_excerpt(body)}"
    for index, item in enumerate(document["outcome"]):
        missing = [field for field in CONTENT_FIELDS if not isinstance(item, dict) or field not in item]
        if missing:
            return f"outcome[{index}] lacks {', '.join(missing)}"
    return None


def _unexpected(status: int, body: bytes) -> str:
    if status == 0:
        return body.decode(errors="replace")
    return f"answered HTTP {status}, expected 200: {_excerpt(body)}"


def _excerpt(body: bytes, limit: int = 120) -> str:
    text = " ".join(body.decode(errors="replace").split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
