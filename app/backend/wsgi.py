"""The WSGI entry point the server loads (`backend.wsgi:app`, see serve.py): the app, with its
JSON access log on stdout."""

from .stop_signals import install_in_granian

# First: a stop signal that comes while the app below is still loading must not be lost.
install_in_granian()

from . import create_app  # noqa: E402
from .logs import AccessLog  # noqa: E402

app = AccessLog(create_app())
