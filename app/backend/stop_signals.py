"""A granian worker acts on its stop signal once, whichever of its threads the signal lands on.

granian's worker (granian._signals.set_sync_signals, 2.8.9) handles SIGTERM and SIGINT with a
Python handler that sets the worker's stop event, and its main thread then sleeps in an untimed
`threading.Event.wait()`. Two faults follow, both seen here:

- The kernel may deliver the master's SIGTERM to any thread of the worker. CPython runs Python
  handlers only in the main thread, and only once it wakes; landing elsewhere, the signal is
  noted and nothing runs, so the worker goes on accepting connections until granian kills it at
  GRACEFUL_TIMEOUT_SECONDS, dropping the requests it was serving.
- The stop event is a one-slot channel that is read once: the third stop signal blocks its
  handler forever with the GIL held, and the worker's in-flight requests never finish.

So each worker's stop signals go through `StopOnce`: the C-level handler also writes the signal
to a wakeup pipe (CPython does this from whichever thread the signal lands on), a thread reading
the pipe stops the worker, and however many signals come, the stop event is set once. It is
installed as the worker starts loading the app, so a signal that comes while the worker is still
starting is kept and acted on as soon as granian has made the stop event; before, such a signal
went to the handler the worker inherited from the main process and was lost.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Callable

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopOnce:
    """Calls its stop callable once, on the first SIGINT or SIGTERM, from a thread of its own.

    A signal that comes before the callable is bound (`bind`) is kept, and the callable is then
    called at once. Install it from the main thread: `signal.signal` and `signal.set_wakeup_fd`
    are only allowed there."""

    def __init__(self, stop: Callable[[], object] | None = None) -> None:
        self._stop = stop
        self._lock = threading.Lock()
        self._requested = False
        self._stopped = False
        self._read_end, write_end = os.pipe()
        os.set_blocking(write_end, False)  # CPython's handler must never block on a full pipe
        self._write_end = write_end

    def install(self) -> StopOnce:
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._on_signal)
        signal.set_wakeup_fd(self._write_end, warn_on_full_buffer=False)
        threading.Thread(target=self._watch, name="stop-signals", daemon=True).start()
        return self

    def bind(self, stop: Callable[[], object]) -> None:
        with self._lock:
            self._stop = stop
        self._stop_if_requested()

    def stop(self) -> None:
        with self._lock:
            self._requested = True
        self._stop_if_requested()

    def _stop_if_requested(self) -> None:
        with self._lock:
            if self._stopped or not self._requested or self._stop is None:
                return
            self._stopped = True
            stop = self._stop
        stop()

    def _on_signal(self, signum, frame) -> None:
        # Runs when the signal reached the main thread; the watcher sees it too, harmlessly.
        self.stop()

    def _watch(self) -> None:
        while True:
            received = os.read(self._read_end, 64)
            if not received:
                return
            if any(signum in STOP_SIGNALS for signum in received):
                self.stop()


GRANIAN_WORKER_PROCESS = "granian-worker"  # the name granian's server/mp.py gives its workers


def install_in_granian() -> None:
    """In a granian worker process: catches stop signals from now on, and makes granian's own
    handler setup (granian._signals.set_sync_signals, called once the app is loaded) hand its
    stop event to them instead. Anywhere else (gunicorn in bench/, tests): does nothing, since
    that server's own signal handling must stay as it is.

    granian's worker imports set_sync_signals from granian._signals when it starts serving,
    after loading the app (backend.wsgi, which calls this first), so replacing the module's
    attribute here reaches it; tests/app/test_server.py proves it on the pinned granian."""
    if multiprocessing.current_process().name != GRANIAN_WORKER_PROCESS:
        return
    import granian._signals
    from granian._granian import WorkerSignal

    stop_once = StopOnce().install()

    def worker_signals():
        stop_event = WorkerSignal()
        stop_once.bind(stop_event.set)
        return stop_event

    granian._signals.set_sync_signals = worker_signals
