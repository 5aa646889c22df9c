"""gunicorn's own error answers (malformed HTTP, request line or headers over its limits) in
JSON, like every other error of the service.

These requests never reach Flask: gunicorn answers them itself, with an HTML page written by
`gunicorn.util.write_error`. Its workers look that function up on the module at each error,
so replacing it there, in the master before workers fork, is enough; the status, reason and
message gunicorn chose are kept.
"""

from __future__ import annotations

import json

from gunicorn import util


def write_json_error(sock, status_int: int, reason: str, mesg: str) -> None:
    body = json.dumps({"detail": {"error": mesg}, "message": reason}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    ).encode("latin-1")
    util.write_nonblock(sock, head + body)


def answer_in_json() -> None:
    util.write_error = write_json_error
