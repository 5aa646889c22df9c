"""An HTTP gate in front of a Prometheus API that answers as AMP's front end does: a request must be
signed with SigV4 for service `aps` in the workspace's region by a known key, or it gets AMP's 403.

The signature is recomputed here from AWS's published algorithm (the canonical request, the string
to sign and the derived key of "Create a signed AWS API request", AWS IAM User Guide), not with the
library the program signs with, so a request signed for the wrong service, region, key, path or
query fails here as it would at AWS. What passes is forwarded to `upstream` unchanged.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ALGORITHM = "AWS4-HMAC-SHA256"


def _sign(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def _uri_encode(value: str) -> str:
    return urllib.parse.quote(value, safe="-_.~")


def expected_signature(secret: str, method: str, path: str, query: str, headers: dict[str, str],
                       signed_headers: list[str], amz_date: str, scope: str) -> str:
    pairs = sorted((_uri_encode(urllib.parse.unquote_plus(k)), _uri_encode(urllib.parse.unquote_plus(v)))
                   for k, _, v in (part.partition("=") for part in query.split("&") if part))
    canonical_query = "&".join(f"{k}={v}" for k, v in pairs)
    canonical_headers = "".join(f"{name}:{' '.join(headers[name].split())}\n" for name in signed_headers)
    payload = headers.get("x-amz-content-sha256") or hashlib.sha256(b"").hexdigest()
    canonical = "\n".join([method, urllib.parse.quote(path, safe="/-_.~"), canonical_query, canonical_headers,
                           ";".join(signed_headers), payload])
    to_sign = "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    date, region, service, _ = scope.split("/")
    key = _sign(_sign(_sign(_sign(f"AWS4{secret}".encode(), date), region), service), "aws4_request")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


class SigV4Gate:
    def __init__(self, upstream: str, region: str, access_key: str, secret: str, session_token: str) -> None:
        self.upstream, self.region = upstream.rstrip("/"), region
        self.access_key, self.secret, self.session_token = access_key, secret, session_token
        self.refused: list[str] = []
        self.passed: list[str] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def problem(self, method: str, raw_path: str, headers: dict[str, str]) -> str | None:
        authorization = headers.get("authorization", "")
        if not authorization.startswith(ALGORITHM + " "):
            return "Missing Authentication Token"
        fields = dict(part.strip().split("=", 1) for part in authorization[len(ALGORITHM) + 1:].split(","))
        key, _, scope = fields.get("Credential", "").partition("/")
        if key != self.access_key:
            return "The security token included in the request is invalid."
        date = headers.get("x-amz-date", "")
        if scope != f"{date[:8]}/{self.region}/aps/aws4_request":
            return f"Credential should be scoped to a valid region and service aps, not {scope!r}."
        if headers.get("x-amz-security-token") != self.session_token:
            return "The security token included in the request is invalid."
        signed = fields.get("SignedHeaders", "").split(";")
        if "host" not in signed or "x-amz-date" not in signed or any(name not in headers for name in signed):
            return "The request signature does not cover host and x-amz-date."
        path, _, query = raw_path.partition("?")
        if not hmac.compare_digest(fields.get("Signature", ""), expected_signature(
                self.secret, method, path, query, headers, signed, date, scope)):
            return "The request signature we calculated does not match the signature you provided."
        return None

    def __enter__(self) -> "SigV4Gate":
        gate = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                headers = {name.lower(): value for name, value in self.headers.items()}
                problem = gate.problem("GET", self.path, headers)
                if problem is not None:
                    gate.refused.append(problem)
                    body = ('{"message":"%s"}' % problem).encode()
                    self.send_response(403)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                gate.passed.append(self.path)
                with urllib.request.urlopen(gate.upstream + self.path, timeout=10) as answer:
                    body = answer.read()
                    self.send_response(answer.status)
                    self.send_header("Content-Type", answer.headers.get("Content-Type", "application/json"))
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
