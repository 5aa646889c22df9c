"""Reads what `verify` inspects from the Kubernetes API, and only that.

The client is built from the stack's own kubeconfig, never from ~/.kube/config or $KUBECONFIG,
so verification always talks to the cluster the stack describes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException


class ClusterError(RuntimeError):
    """The Kubernetes API could not be reached or refused a read `verify` needs."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        """The API's HTTP status, None when nothing answered."""


@dataclass(frozen=True)
class PodEvent:
    time: datetime | None
    type: str
    reason: str
    message: str
    count: int


class Cluster:
    """Thin, typed access to the objects of one deployed stack."""

    def __init__(self, api_client: client.ApiClient, namespace: str, *, request_timeout: float):
        self._api_client = api_client
        self.core = client.CoreV1Api(api_client)
        self.apps = client.AppsV1Api(api_client)
        self.namespace = namespace
        self.request_timeout = request_timeout

    @classmethod
    def from_kubeconfig(
        cls, kubeconfig: dict[str, Any], namespace: str, *, request_timeout: float = 10.0
    ) -> "Cluster":
        try:
            # persist_config=False: an exec plugin's refreshed token must not be written anywhere.
            api_client = config.new_client_from_config_dict(kubeconfig, persist_config=False)
        except (config.ConfigException, KeyError, TypeError, ValueError) as error:
            raise ClusterError(f"the stack's kubeconfig cannot be loaded: {error}") from None
        # Send a proxied path's '/' literally, as kubectl does, instead of as %2F: the backend
        # must see `/contents/<topic>`, whatever a proxy in front of the API server decodes.
        api_client.configuration.safe_chars_for_path_param = "/"
        return cls(api_client, namespace, request_timeout=request_timeout)

    def close(self) -> None:
        self._api_client.close()

    def __enter__(self) -> "Cluster":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def server(self) -> str:
        return self._api_client.configuration.host

    def nodes(self) -> list[client.V1Node]:
        return self._call("list nodes", self.core.list_node).items

    def deployment(self, name: str) -> client.V1Deployment:
        return self._call(
            f"read deployment {self.namespace}/{name}",
            self.apps.read_namespaced_deployment,
            name,
            self.namespace,
        )

    def service(self, name: str) -> client.V1Service:
        return self._call(
            f"read service {self.namespace}/{name}",
            self.core.read_namespaced_service,
            name,
            self.namespace,
        )

    def pods(self, label_selector: str) -> list[client.V1Pod]:
        pods = self._call(
            f"list pods in {self.namespace} matching {label_selector!r}",
            self.core.list_namespaced_pod,
            self.namespace,
            label_selector=label_selector,
        ).items
        return sorted(pods, key=lambda pod: pod.metadata.name)

    def pod_events(self, pod_name: str, limit: int) -> list[PodEvent]:
        """The pod's most recent events, oldest first, like the console's Events tab."""
        items = self._call(
            f"list events of pod {self.namespace}/{pod_name}",
            self.core.list_namespaced_event,
            self.namespace,
            field_selector=f"involvedObject.kind=Pod,involvedObject.name={pod_name}",
        ).items
        events = [_pod_event(item) for item in items]
        events.sort(key=lambda event: (event.time is not None, event.time or datetime.min))
        return events[-limit:] if limit > 0 else []

    def service_proxy_get(self, service_port: str, path: str, timeout: float) -> tuple[int, bytes]:
        """GET `path` on the service through the API server's proxy: no kubectl, no port-forward.

        Returns the status and body the backend answered; API-level failures (no endpoints,
        unauthorised) come back as their HTTP status too, since to the caller both mean
        "the endpoint did not answer 200".
        """
        try:
            # With _preload_content=False the client returns the urllib3 response, not the str its
            # signature declares.
            response: Any = self.core.connect_get_namespaced_service_proxy_with_path(
                service_port,
                self.namespace,
                path,
                _preload_content=False,
                _request_timeout=timeout,
            )
        except ApiException as error:
            return error.status or 0, _body_bytes(error)
        except Exception as error:  # urllib3 connection/timeout errors carry no HTTP status
            raise ClusterError(f"service proxy request for {path!r} failed: {error}") from None
        return response.status, response.data

    def _call(self, what: str, method, *args, **kwargs):
        try:
            return method(*args, _request_timeout=self.request_timeout, **kwargs)
        except ApiException as error:
            raise ClusterError(f"cannot {what}: HTTP {error.status} {_api_message(error)}", error.status) from None
        except Exception as error:  # connection refused, TLS, DNS: urllib3 raises many types
            raise ClusterError(f"cannot {what} at {self.server}: {error}") from None


def selector_string(selector: client.V1LabelSelector) -> str:
    """Turn a Deployment's `spec.selector` into the `labelSelector` query the API accepts."""
    terms = [f"{key}={value}" for key, value in sorted((selector.match_labels or {}).items())]
    for expression in selector.match_expressions or []:
        values = ",".join(expression.values or [])
        operator = expression.operator
        if operator == "In":
            terms.append(f"{expression.key} in ({values})")
        elif operator == "NotIn":
            terms.append(f"{expression.key} notin ({values})")
        elif operator == "Exists":
            terms.append(expression.key)
        elif operator == "DoesNotExist":
            terms.append(f"!{expression.key}")
        else:
            raise ClusterError(f"unsupported label selector operator {operator!r}")
    if not terms:
        raise ClusterError("the deployment's spec.selector is empty; refusing to list every pod")
    return ",".join(terms)


def _pod_event(event: Any) -> PodEvent:
    # Events from the events.k8s.io era fill eventTime/series instead of lastTimestamp.
    time = (
        event.last_timestamp
        or event.event_time
        or event.first_timestamp
        or (event.metadata.creation_timestamp if event.metadata else None)
    )
    return PodEvent(
        time=time,
        type=event.type or "",
        reason=event.reason or "",
        message=" ".join((event.message or "").split()),
        count=event.count or 1,
    )


def _body_bytes(error: ApiException) -> bytes:
    body = error.body or b""
    return body if isinstance(body, bytes) else body.encode()


def _api_message(error: ApiException) -> str:
    # The API server explains refusals in a Status object's `message`; prefer it to the reason.
    try:
        return json.loads(_body_bytes(error)).get("message") or error.reason or ""
    except (ValueError, AttributeError):
        return error.reason or ""
