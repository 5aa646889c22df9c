"""The access log's writer: every line, in order, without holding request threads up.

Its formatting runs under the GIL in a thread of the worker. The interpreter takes the GIL back
from a busy thread only every 5 ms, so a flush that formats a thousand lines in one go holds
every request thread of the worker that long: that was the hot p99 of bench/bench_app.py
(15-20 ms before, 9-11 ms after batching).
"""

from __future__ import annotations

import json
import os

import pytest

from backend import logs
from backend.logs import AccessLog

ENVIRON = {"REQUEST_METHOD": "GET", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1"}


def answer_200(environ, start_response):
    start_response("200 OK", [("Content-Length", "2"), ("X-Cache", "hit")])
    return [b"{}"]


@pytest.fixture
def log(monkeypatch):
    """An AccessLog whose writer thread never runs: the test calls flush() itself."""
    monkeypatch.setattr(AccessLog, "_start_writer", lambda self: setattr(self, "_writer_pid", os.getpid()))
    return AccessLog(answer_200, fd=-1)


@pytest.fixture
def writes(monkeypatch):
    chunks: list[bytes] = []
    monkeypatch.setattr(logs, "_write_all", lambda fd, data: chunks.append(data))
    return chunks


def request(log, path):
    log({**ENVIRON, "PATH_INFO": path}, lambda *args: None)


def test_a_flush_writes_every_queued_line_once_in_the_order_requests_ended(log, writes):
    for n in range(1000):
        request(log, f"/contents/t{n}")

    log.flush()

    lines = [json.loads(line) for chunk in writes for line in chunk.decode().splitlines()]
    assert [line["path"] for line in lines] == [f"/contents/t{n}" for n in range(1000)]


def test_a_flush_formats_and_writes_at_most_64_lines_at_a_time(log, writes):
    for n in range(1000):
        request(log, f"/contents/t{n}")

    log.flush()

    assert max(chunk.count(b"\n") for chunk in writes) == 64
    assert len(writes) == 16  # 15 full batches and the 40 lines left


def test_a_flush_hands_the_gil_over_after_every_batch(log, writes, monkeypatch):
    events: list[str] = []
    monkeypatch.setattr(logs, "_write_all", lambda fd, data: events.append("write"))
    monkeypatch.setattr(logs.time, "sleep", lambda seconds: events.append(f"sleep({seconds})"))
    for n in range(130):
        request(log, f"/contents/t{n}")

    log.flush()

    assert events == ["write", "sleep(0)"] * 3


def test_a_flush_with_nothing_queued_writes_nothing(log, writes):
    log.flush()

    assert writes == []


def test_a_line_with_text_that_has_no_utf_8_is_written_escaped_and_so_are_the_lines_after_it(log, writes):
    # A lone surrogate is what a server decoding header bytes with surrogateescape would hand over.
    log({**ENVIRON, "PATH_INFO": "/contents/a", "HTTP_USER_AGENT": "agent-\udcff"}, lambda *args: None)
    request(log, "/contents/b")

    log.flush()

    lines = [json.loads(line) for chunk in writes for line in chunk.decode().splitlines()]
    assert [(line["path"], line.get("user_agent")) for line in lines] == [
        ("/contents/a", "agent-\udcff"), ("/contents/b", None)]
