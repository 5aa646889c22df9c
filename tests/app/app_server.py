"""Runs the real server (`python -m backend.serve`) on 127.0.0.1 for tests and the benchmark,
and always stops it, workers included."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

APP_DIR = Path(__file__).resolve().parents[2] / "app"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class AppServer:
    """`with AppServer(workdir, env) as server: server.url` — started, ready, then stopped.

    `command` replaces the server's command line (the benchmark runs gunicorn with it);
    `stdout` replaces the file its standard output goes to (the benchmark discards it)."""

    def __init__(self, workdir: Path, env: dict[str, str] | None = None, ready_timeout: float = 20,
                 command: list[str] | None = None, name: str = "server", stdout=None,
                 ready_path: str = "/readyz") -> None:
        self.workdir = Path(workdir)
        self.port = free_port()
        self.admin_port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_url = f"http://127.0.0.1:{self.admin_port}"
        self.stdout_path = self.workdir / f"{name}.stdout"
        self.stderr_path = self.workdir / f"{name}.stderr"
        self.metrics_dir = self.workdir / f"{name}-prometheus"
        self._command = command or [sys.executable, "-m", "backend.serve"]
        self._stdout = stdout
        self._ready_path = ready_path
        self._env = {
            **os.environ,
            "PROMETHEUS_MULTIPROC_DIR": str(self.metrics_dir),
            "PYTHONDONTWRITEBYTECODE": "1",
            "LISTEN_ADDRESS": "127.0.0.1",
            "PORT": str(self.port),
            "ADMIN_PORT": str(self.admin_port),
            **(env or {}),
        }
        self._ready_timeout = ready_timeout
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "AppServer":
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.process = subprocess.Popen(
                self._command,
                cwd=APP_DIR, env=self._env, stdout=out if self._stdout is None else self._stdout, stderr=err,
                # Its own process group, so stop() reaches the workers even if the master dies.
                start_new_session=True,
            )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + self._ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}:\n{self.stderr()}")
            try:
                if requests.get(f"{self.url}{self._ready_path}", timeout=1).status_code == 200:
                    return
            except requests.RequestException:  # not listening yet, or too busy booting
                pass
            time.sleep(0.1)
        raise TimeoutError(f"the server was not ready within {self._ready_timeout}s:\n{self.stderr()}")

    def terminate(self) -> None:
        os.kill(self.process.pid, signal.SIGTERM)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        # Whatever is left of the group (a master that would not stop, orphaned workers).
        self._signal_group(signal.SIGKILL)
        self.process.wait()

    def _signal_group(self, signum: int) -> None:
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            pass

    def stdout(self) -> str:
        return self.stdout_path.read_text()

    def stderr(self) -> str:
        return self.stderr_path.read_text()
