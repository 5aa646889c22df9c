"""A worker's stop signals, in real processes: acted on whichever thread they land on, once."""

from __future__ import annotations

import subprocess
import sys
import threading

from .app_server import APP_DIR

# A process shaped like a granian worker: StopOnce installed from the main thread, which then
# sleeps in an untimed wait; the "stop" prints a line, and the process exits once told to.
WORKER = """
import signal, sys, threading, time
from backend.stop_signals import StopOnce

stopped = threading.Event()
stops = []
def stop():
    stops.append(time.monotonic())
    print("stopped", flush=True)
    stopped.set()

StopOnce(stop).install()
signal.signal(signal.SIGUSR1, lambda signum, frame: print("usr1", flush=True))
elsewhere = threading.Thread(target=lambda: time.sleep(60), daemon=True)
elsewhere.start()
print(elsewhere.ident, flush=True)
for line in sys.stdin:
    command = line.split()
    if command[0] == "signal-thread":
        signal.pthread_kill(elsewhere.ident, int(command[1]))
    elif command[0] == "exit":
        print("stops", len(stops), flush=True)
        sys.exit(0)
"""


class Worker:
    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", WORKER], cwd=APP_DIR, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.process.stdout.readline()  # the other thread's ident: it is running

    def tell(self, command: str) -> None:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def next_line(self, timeout: float = 3) -> str:
        lines = []
        reader = threading.Thread(target=lambda: lines.append(self.process.stdout.readline()))
        reader.start()
        reader.join(timeout)
        return lines[0].strip() if lines else "(nothing)"

    def stops_counted(self) -> str:
        self.tell("exit")
        return self.next_line()

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


def test_a_sigterm_that_lands_on_another_thread_stops_the_worker_at_once():
    worker = Worker()
    try:
        worker.tell("signal-thread 15")

        assert worker.next_line(timeout=2) == "stopped"
    finally:
        worker.close()


def test_a_sigint_that_lands_on_another_thread_stops_the_worker_at_once():
    worker = Worker()
    try:
        worker.tell("signal-thread 2")

        assert worker.next_line(timeout=2) == "stopped"
    finally:
        worker.close()


def test_a_sigterm_sent_to_the_process_stops_the_worker():
    worker = Worker()
    try:
        worker.process.send_signal(15)

        assert worker.next_line(timeout=2) == "stopped"
    finally:
        worker.close()


def test_many_stop_signals_stop_the_worker_once():
    worker = Worker()
    try:
        for _ in range(3):
            worker.process.send_signal(15)
        worker.tell("signal-thread 15")
        worker.tell("signal-thread 2")
        assert worker.next_line() == "stopped"

        assert worker.stops_counted() == "stops 1"
    finally:
        worker.close()


def test_other_signals_do_not_stop_the_worker():
    worker = Worker()
    try:
        worker.process.send_signal(10)  # SIGUSR1: handled, and not a stop signal
        assert worker.next_line() == "usr1"

        assert worker.stops_counted() == "stops 0"
    finally:
        worker.close()


EARLY_SIGNAL = """
import os, signal, sys, time
from backend.stop_signals import StopOnce

stop_once = StopOnce().install()
os.kill(os.getpid(), signal.SIGTERM)  # while the worker is still loading its app
time.sleep(0.2)
print("before bind:", "alive", flush=True)
stop_once.bind(lambda: print("stopped", flush=True))
stop_once.bind(lambda: print("stopped again", flush=True))
"""


def test_a_stop_signal_before_the_stop_event_exists_stops_the_worker_once_it_does():
    result = subprocess.run([sys.executable, "-c", EARLY_SIGNAL], cwd=APP_DIR, capture_output=True,
                            text=True, timeout=10)

    assert result.stdout.splitlines() == ["before bind: alive", "stopped"], result.stderr


OUTSIDE_GRANIAN = """
import signal, sys
before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT), signal.set_wakeup_fd(-1)
import granian._signals
granian_setup = granian._signals.set_sync_signals
import backend.wsgi
after = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT), signal.set_wakeup_fd(-1)
print(before == after, granian._signals.set_sync_signals is granian_setup)
"""


def test_loading_the_app_outside_a_granian_worker_leaves_signal_handling_alone():
    # gunicorn (bench/) and the tests load backend.wsgi too: their own signal handling stays.
    result = subprocess.run([sys.executable, "-c", OUTSIDE_GRANIAN], cwd=APP_DIR, capture_output=True,
                            text=True, timeout=30, env={"PATH": "/usr/bin:/bin", "PROMETHEUS_MULTIPROC_DIR": "/tmp"})

    assert result.stdout.split() == ["True", "True"], result.stderr
