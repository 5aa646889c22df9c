"""Helpers that build, run and push the backend image without a Docker daemon."""
