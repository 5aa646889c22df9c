"""A progress indicator for waits, on stderr so stdout stays a clean report.

On a terminal it redraws one line with a spinner; in a log or pipe it prints a line only when the
status changes, so a five-minute wait does not flood CI output with carriage returns.
"""

from __future__ import annotations

import itertools
import time
from typing import TextIO

_SPINNER = "|/-\\"


class Progress:
    def __init__(self, stream: TextIO, label: str, timeout: float):
        self._stream = stream
        self._label = label
        self._timeout = timeout
        self._started = time.monotonic()
        self._tty = stream.isatty()
        self._spinner = itertools.cycle(_SPINNER)
        self._last_status: str | None = None
        self._drawn = False

    def update(self, status: str) -> None:
        elapsed = time.monotonic() - self._started
        text = f"{self._label}: {status} ({elapsed:.0f}s of {self._timeout:.0f}s)"
        if self._tty:
            self._stream.write(f"\r\033[K{next(self._spinner)} {text}")
            self._drawn = True
        elif status != self._last_status:
            self._stream.write(f"{text}\n")
        self._last_status = status
        self._stream.flush()

    def finish(self, outcome: str) -> None:
        elapsed = time.monotonic() - self._started
        prefix = "\r\033[K" if self._drawn else ""
        self._stream.write(f"{prefix}{self._label}: {outcome} after {elapsed:.0f}s\n")
        self._stream.flush()
