"""The real gunicorn server, started from app/gunicorn.conf.py on 127.0.0.1 against a fake upstream."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support.fake_upstream import FakeUpstream

from .gunicorn_server import APP_DIR, GunicornServer


def server_env(upstream, **overrides):
    return {
        "UPSTREAM_URL": upstream.url,
        "UPSTREAM_CONNECT_TIMEOUT_SECONDS": "0.5",
        "UPSTREAM_READ_TIMEOUT_SECONDS": "1",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "4",
        **overrides,
    }


@pytest.fixture(scope="module")
def module_upstream():
    with FakeUpstream() as fake:
        yield fake


@pytest.fixture(scope="module")
def server(module_upstream, tmp_path_factory):
    with GunicornServer(tmp_path_factory.mktemp("gunicorn"), server_env(module_upstream)) as running:
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


def counter_total(server, name, **labels):
    text = requests.get(f"{server.url}/metrics", timeout=5).text
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


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


def test_a_request_line_over_gunicorn_limit_gets_a_json_414(server):
    response = requests.get(f"{server.url}/contents/" + "x" * 5000, timeout=5)

    assert response.status_code == 414
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["message"] == "URI Too Long"


def test_a_malformed_http_request_gets_a_json_400(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
        raw.sendall(b"GET /healthz HTTP/1.1\r\nBad Header Without Colon\r\n\r\n")
        answer = raw.makefile("rb").read()

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert b"Content-Type: application/json" in head
    assert json.loads(body)["message"] == "Bad Request"


def test_writes_one_json_access_log_line_per_request_on_stdout(server):
    requests.get(f"{server.url}/contents/logged-t%C3%B6pic?page=2", timeout=5)

    assert wait_for(lambda: any(line.get("path") == "/contents/logged-töpic" for line in access_lines(server)))
    (line,) = [line for line in access_lines(server) if line.get("path") == "/contents/logged-töpic"]
    assert line["type"] == "access"
    assert (line["method"], line["status"], line["query"], line["cache"]) == ("GET", 200, "page=2", "miss")
    assert line["duration_ms"] >= 0


def test_metrics_count_the_requests_of_every_worker(server):
    before = counter_total(server, "http_requests_total", route="/healthz")

    # Fresh connections for every request, so both workers' accept loops get some.
    def probe(_):
        requests.get(f"{server.url}/healthz", headers={"Connection": "close"}, timeout=5)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(probe, range(60)))
    wait_for(lambda: len([l for l in access_lines(server) if l.get("path") == "/healthz"]) >= 60)
    serving_pids = {l["pid"] for l in access_lines(server) if l.get("path") == "/healthz"}

    assert len(serving_pids) == 2, "both workers should have answered some requests"
    assert counter_total(server, "http_requests_total", route="/healthz") - before == 60


def test_a_hanging_upstream_is_answered_504_within_the_read_timeout(server, module_upstream):
    module_upstream.queue_modes("hang")

    started = time.monotonic()
    response = requests.get(f"{server.url}/contents/hangs", timeout=10)

    assert response.status_code == 504
    assert time.monotonic() - started < 3


GRACE = 8  # seconds; generous, so a loaded CI machine does not make the test flaky


def test_sigterm_lets_an_in_flight_request_finish_then_exits_within_the_grace_period(tmp_path):
    with FakeUpstream(delay_seconds=1.5) as upstream, GunicornServer(
        tmp_path, server_env(upstream, GUNICORN_GRACEFUL_TIMEOUT=str(GRACE), UPSTREAM_READ_TIMEOUT_SECONDS="5")
    ) as server:
        result = {}
        in_flight = threading.Thread(
            target=lambda: result.update(response=requests.get(f"{server.url}/contents/slow", timeout=10))
        )
        in_flight.start()
        assert wait_for(lambda: upstream.call_count == 1), "the request never reached the upstream"

        sent = time.monotonic()
        server.terminate()
        exit_code = server.process.wait(timeout=GRACE + 5)
        stopped_after = time.monotonic() - sent
        in_flight.join(timeout=5)

    assert result["response"].status_code == 200
    assert result["response"].json()["outcome"]
    assert exit_code == 0
    assert stopped_after < GRACE, stopped_after


def test_stale_metric_files_of_a_previous_run_are_removed_at_start(tmp_path):
    leftover = tmp_path / "prometheus" / "counter_999999.db"
    leftover.parent.mkdir()
    leftover.write_bytes(b"old samples")

    with FakeUpstream() as upstream, GunicornServer(tmp_path, server_env(upstream)):
        assert not leftover.exists()


def run_gunicorn_with(env_overrides, tmp_path):
    return subprocess.run(
        [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "backend.wsgi:app"],
        cwd=APP_DIR, capture_output=True, text=True, timeout=30,
        env={"PATH": "/usr/bin:/bin", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), **env_overrides},
    )


def test_refuses_to_start_with_a_bad_variable_and_says_which(tmp_path):
    result = run_gunicorn_with({"CACHE_TTL_SECONDS": "never"}, tmp_path)

    assert result.returncode != 0
    assert "CACHE_TTL_SECONDS='never' is invalid: expected a number of seconds" in result.stderr
    assert "Traceback" not in result.stderr


def test_refuses_a_worker_timeout_shorter_than_the_slowest_upstream_fetch(tmp_path):
    result = run_gunicorn_with({"GUNICORN_TIMEOUT": "5", "UPSTREAM_READ_TIMEOUT_SECONDS": "10"}, tmp_path)

    assert result.returncode != 0
    assert "GUNICORN_TIMEOUT=5 must exceed the slowest upstream fetch" in result.stderr
