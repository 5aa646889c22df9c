"""The WSGI entry point the server loads (`backend.wsgi:app`, see serve.py): the app, with its
JSON access log on stdout."""

from . import create_app
from .logs import AccessLog

app = AccessLog(create_app())
