"""The backend service: Hacker News stories for a topic, over HTTP.

`GET /contents/<topic>` answers `{"outcome": [{"id", "title", "url"}, ...]}` from the Hacker
News Algolia search API, with probes (`/healthz`, `/readyz`) and the OpenAPI document
(`/openapi.json`). Probes and Prometheus metrics are also served on a port of their own
(backend/admin.py).

Run it locally, from `app/`:

    python -m backend.serve

Configuration (environment variables), endpoints, errors, cache and metrics are described
in app/README.md.
"""

from __future__ import annotations

__all__ = ["create_app"]


def __getattr__(name: str):
    # Lazily: the server's main process imports backend.serve and backend.config without
    # loading Flask or creating any metric (prometheus_client must first be told where the
    # multiprocess files go).
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
