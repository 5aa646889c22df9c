"""The ceiling: a WSGI app that does nothing, served by the same server with the same settings."""

BODY = b'{"outcome": []}'
HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]


def app(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]
