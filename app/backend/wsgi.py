"""The WSGI entry point for gunicorn: `gunicorn --config gunicorn.conf.py backend.wsgi:app`."""

from . import create_app

app = create_app()
