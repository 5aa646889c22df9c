"""The real server (`python -m backend.serve`: granian) on 127.0.0.1 against a fake upstream."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support.fake_upstream import FakeUpstream

from .app_server import APP_DIR, AppServer

HEADER_READ_TIMEOUT = 1  # seconds, for the module's server: slow clients are dropped quickly


def server_env(upstream, **overrides):
    return {
        "UPSTREAM_URL": upstream.url,
        "UPSTREAM_CONNECT_TIMEOUT_SECONDS": "0.5",
        "UPSTREAM_READ_TIMEOUT_SECONDS": "1",
        "WEB_CONCURRENCY": "2",
        "WORKER_THREADS": "4",
        "HEADER_READ_TIMEOUT_SECONDS": str(HEADER_READ_TIMEOUT),
        **overrides,
    }


@pytest.fixture(scope="module")
def module_upstream():
    with FakeUpstream() as fake:
        yield fake


@pytest.fixture(scope="module")
def server(module_upstream, tmp_path_factory):
    with AppServer(tmp_path_factory.mktemp("server"), server_env(module_upstream)) as running:
        yield running


def access_lines(server):
    return [json.loads(line) for line in server.stdout().splitlines() if line.strip()]


def wait_for(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def samples(server, name):
    text = requests.get(f"{server.admin_url}/metrics", timeout=5).text
    return [s for family in text_string_to_metric_families(text) for s in family.samples if s.name == name]


def counter_total(server, name, **labels):
    return sum(s.value for s in samples(server, name) if all(s.labels.get(k) == v for k, v in labels.items()))


def raw_exchange(port, data: bytes, timeout=5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
        raw.sendall(data)
        return raw.makefile("rb").read()


def test_serves_the_contract_over_http(server):
    response = requests.get(f"{server.url}/contents/rust", timeout=5)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert [s["id"] for s in response.json()["outcome"]] == ["1", "4"]


def test_errors_are_json_over_http(server):
    response = requests.get(f"{server.url}/contents/" + "x" * 201, timeout=5)

    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json"


def test_a_request_target_over_8_kib_gets_a_json_414_with_cors(server):
    response = requests.get(f"{server.url}/contents/" + "x" * 9000, timeout=5)

    assert response.status_code == 414
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.json()["message"] == "URI Too Long"


def test_request_headers_over_16_kib_get_a_json_431_with_cors(server):
    response = requests.get(f"{server.url}/healthz", headers={"X-Padding": "p" * 17_000}, timeout=5)

    assert response.status_code == 431
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.json()["message"] == "Request Header Fields Too Large"


def test_a_request_head_over_the_server_buffer_is_refused_431_and_closed(server):
    # Beyond 64 KiB granian answers itself: an empty 431 (no JSON, no CORS), and hangs up.
    answer = raw_exchange(server.port, b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-Big: " + b"y" * 70_000 + b"\r\n\r\n")

    assert answer.startswith(b"HTTP/1.1 431 ")


def test_a_malformed_http_request_is_refused_400_and_closed(server):
    # Answered by granian's HTTP parser before any Python runs: an empty 400, then the
    # connection is closed (no browser sends such a request, so no CORS is lost on it).
    answer = raw_exchange(server.port, b"GET /healthz HTTP/1.1\r\nBad Header Without Colon\r\n\r\n")

    assert answer.startswith(b"HTTP/1.1 400 ")


def test_a_request_with_a_body_is_refused_413_before_the_body_arrives(server):
    # The body is never read: a client sending it slowly holds no thread.
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
        raw.sendall(b"GET /contents/rust HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\nfirst bytes")
        head = raw.recv(65536)

    assert head.startswith(b"HTTP/1.1 413 ")
    assert time.monotonic() - started < 2


def test_writes_one_json_access_log_line_per_request_on_stdout(server):
    requests.get(f"{server.url}/contents/logged-t%C3%B6pic?page=2", timeout=5)

    assert wait_for(lambda: any(line.get("path") == "/contents/logged-töpic" for line in access_lines(server)))
    (line,) = [line for line in access_lines(server) if line.get("path") == "/contents/logged-töpic"]
    assert line["type"] == "access"
    assert (line["method"], line["status"], line["query"], line["cache"]) == ("GET", 200, "page=2", "miss")
    assert line["duration_ms"] >= 0


def test_the_access_log_names_a_cache_hit_answered_in_front_of_flask(server):
    # One kept-alive connection: both requests reach the same worker, and so its cache.
    with requests.Session() as session:
        session.get(f"{server.url}/contents/logged-hit", timeout=5)
        session.get(f"{server.url}/contents/logged-hit", timeout=5)

    assert wait_for(lambda: len([e for e in access_lines(server) if e.get("path") == "/contents/logged-hit"]) == 2)
    assert [e["cache"] for e in access_lines(server) if e.get("path") == "/contents/logged-hit"] == ["miss", "hit"]


def test_metrics_count_the_requests_of_every_worker(server):
    before = counter_total(server, "http_requests_total", route="/healthz")

    # Fresh connections for every request, so both workers' listeners get some.
    def probe(_):
        requests.get(f"{server.url}/healthz", headers={"Connection": "close"}, timeout=5)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(probe, range(60)))
    wait_for(lambda: len([e for e in access_lines(server) if e.get("path") == "/healthz"]) >= 60)
    serving_pids = {e["pid"] for e in access_lines(server) if e.get("path") == "/healthz"}

    assert len(serving_pids) == 2, "both workers should have answered some requests"
    assert counter_total(server, "http_requests_total", route="/healthz") - before == 60


def test_probes_and_metrics_answer_on_the_admin_port(server):
    assert requests.get(f"{server.admin_url}/healthz", timeout=5).json() == {"status": "alive"}
    assert requests.get(f"{server.admin_url}/readyz", timeout=5).json() == {"status": "ready"}
    scrape = requests.get(f"{server.admin_url}/metrics", timeout=5)
    assert scrape.status_code == 200
    assert "# TYPE upstream_requests_total counter" in scrape.text


def test_metrics_are_not_served_on_the_public_port(server):
    assert requests.get(f"{server.url}/metrics", timeout=5).status_code == 404


def test_arbitrary_methods_add_no_metric_series(server):
    for i in range(40):
        requests.request(f"X{i}CUSTOM", f"{server.url}/contents/rust", timeout=5)

    methods = {s.labels["method"] for s in samples(server, "http_requests_total")}
    assert methods <= {"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE", "other"}, methods
    assert "other" in methods


def test_a_client_trickling_its_headers_is_disconnected_after_the_header_timeout(server):
    started = time.monotonic()
    request = b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-Slow: " + b"s" * 200
    closed = False
    with socket.create_connection(("127.0.0.1", server.port), timeout=0.2) as raw:
        for byte in request:
            try:
                raw.sendall(bytes([byte]))
                if raw.recv(100) == b"":
                    closed = True
                    break
            except socket.timeout:
                pass
            except OSError:  # reset by the server
                closed = True
                break
            if time.monotonic() - started > HEADER_READ_TIMEOUT + 4:
                break

    assert closed
    assert time.monotonic() - started < HEADER_READ_TIMEOUT + 2


def test_probes_answer_at_once_while_slow_clients_hold_connections(server):
    slow = []
    try:
        for _ in range(64):
            conn = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHo")  # and never the rest
            slow.append(conn)
        time.sleep(0.3)
        timings = []
        for url in (f"{server.admin_url}/healthz", f"{server.admin_url}/readyz", f"{server.url}/healthz"):
            started = time.monotonic()
            assert requests.get(url, timeout=2).status_code == 200
            timings.append(time.monotonic() - started)
    finally:
        for conn in slow:
            conn.close()

    assert max(timings) < 0.5, timings


def test_a_hanging_upstream_is_answered_504_within_the_read_timeout(server, module_upstream):
    module_upstream.queue_modes("hang")

    started = time.monotonic()
    response = requests.get(f"{server.url}/contents/hangs", timeout=10)

    assert response.status_code == 504
    assert time.monotonic() - started < 3


GRACE = 10  # seconds; generous, so a loaded CI machine does not make the test flaky
IN_FLIGHT_SECONDS = 4  # how long the upstream takes to answer the request that is in flight at SIGTERM


def refuses_connections(url: str) -> bool:
    try:
        requests.get(url, timeout=1)
    except requests.ConnectionError:
        return True
    return False


def draining_env(upstream):
    return server_env(upstream, GRACEFUL_TIMEOUT_SECONDS=str(GRACE),
                      UPSTREAM_READ_TIMEOUT_SECONDS=str(IN_FLIGHT_SECONDS + 2), UPSTREAM_RETRIES="0")


def start_slow_request(server, upstream):
    """A request that is in flight (at the upstream) for IN_FLIGHT_SECONDS: its response lands in
    the returned dict under "response" once the thread ends."""
    result = {}
    in_flight = threading.Thread(
        target=lambda: result.update(response=requests.get(f"{server.url}/contents/slow", timeout=GRACE + 5))
    )
    in_flight.start()
    assert wait_for(lambda: upstream.call_count == 1), "the request never reached the upstream"
    return result, in_flight


def test_sigterm_lets_an_in_flight_request_finish_then_exits_within_the_grace_period(tmp_path):
    with FakeUpstream(delay_seconds=IN_FLIGHT_SECONDS) as upstream, AppServer(
        tmp_path, draining_env(upstream)
    ) as server:
        result, in_flight = start_slow_request(server, upstream)

        sent = time.monotonic()
        server.terminate()
        # The signal is handled when the machine gets to it: a loaded one may still answer for a
        # moment, so the listener only has to close while the in-flight request is still running.
        assert wait_for(lambda: refuses_connections(f"{server.url}/healthz"), timeout=IN_FLIGHT_SECONDS - 1), (
            "the public port still accepted connections after SIGTERM")
        assert result == {}, "the in-flight request ended before the port closed: the test proved nothing"
        readiness = requests.get(f"{server.admin_url}/readyz", timeout=2)
        exit_code = server.process.wait(timeout=GRACE + 5)
        stopped_after = time.monotonic() - sent
        in_flight.join(timeout=5)

    assert result["response"].status_code == 200
    assert result["response"].json()["outcome"]
    assert readiness.status_code == 503
    assert exit_code == 0
    assert stopped_after < GRACE, stopped_after


def worker_pids(server) -> list[int]:
    pid = server.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children]


def test_workers_sent_sigterm_again_and_again_still_finish_the_in_flight_request_and_exit(tmp_path):
    with FakeUpstream(delay_seconds=IN_FLIGHT_SECONDS) as upstream, AppServer(
        tmp_path, draining_env(upstream)
    ) as server:
        result, in_flight = start_slow_request(server, upstream)
        workers = worker_pids(server)
        assert len(workers) == 2

        sent = time.monotonic()
        server.terminate()
        for _ in range(3):  # an operator's `kill`, a process manager's, a second pod deletion
            time.sleep(0.2)
            for pid in workers:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        exit_code = server.process.wait(timeout=GRACE + 5)
        stopped_after = time.monotonic() - sent
        in_flight.join(timeout=5)

    assert result["response"].status_code == 200
    assert exit_code == 0
    assert stopped_after < GRACE, stopped_after
    assert "refused to gracefully stop" not in server.stderr_path.read_text()


def test_the_real_server_hands_undecodable_path_bytes_to_the_app_which_answers_400(server):
    # granian passes the percent-decoded bytes as PEP 3333 says (latin-1 text), so edge.py sees them.
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn:
        conn.sendall(b"GET /contents/%FF HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert json.loads(body)["detail"] == {"error": "the request path is not UTF-8 once percent-decoded"}


def test_stale_metric_files_of_a_previous_run_are_removed_at_start(tmp_path):
    with FakeUpstream() as upstream:
        server = AppServer(tmp_path, server_env(upstream))
        leftover = server.metrics_dir / "counter_999999.db"
        leftover.parent.mkdir()
        leftover.write_bytes(b"old samples")
        with server:
            assert not leftover.exists()


def run_server_with(env_overrides, tmp_path):
    return subprocess.run(
        [sys.executable, "-m", "backend.serve"],
        cwd=APP_DIR, capture_output=True, text=True, timeout=30,
        env={"PATH": "/usr/bin:/bin", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
             "LISTEN_ADDRESS": "127.0.0.1", **env_overrides},
    )


def test_refuses_to_start_with_a_bad_variable_and_says_which_before_any_worker(tmp_path):
    result = run_server_with({"CACHE_TTL_SECONDS": "never"}, tmp_path)

    assert result.returncode == 2
    assert "CACHE_TTL_SECONDS='never' is invalid: expected a number of seconds" in result.stderr
    assert "Traceback" not in result.stderr
    assert "worker" not in result.stderr


def test_refuses_a_graceful_timeout_shorter_than_the_slowest_upstream_fetch(tmp_path):
    result = run_server_with({"GRACEFUL_TIMEOUT_SECONDS": "5", "UPSTREAM_READ_TIMEOUT_SECONDS": "10"}, tmp_path)

    assert result.returncode == 2
    assert "GRACEFUL_TIMEOUT_SECONDS=5 must exceed the slowest upstream fetch" in result.stderr
