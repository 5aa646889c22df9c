"""app/gunicorn.conf.py turns the environment into gunicorn settings fit for the pod."""

from __future__ import annotations

import runpy

import pytest

from .gunicorn_server import APP_DIR

CONF = APP_DIR / "gunicorn.conf.py"


@pytest.fixture
def load(monkeypatch, tmp_path):
    def run(**env):
        for name in ("PORT", "WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_GRACEFUL_TIMEOUT",
                     "GUNICORN_WORKER_CONNECTIONS"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "prometheus"))
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(CONF))

    return run


def test_binds_all_interfaces_on_port_8080_by_default(load):
    assert load()["bind"] == "0.0.0.0:8080"


def test_binds_the_port_from_the_environment(load):
    assert load(PORT="9000")["bind"] == "0.0.0.0:9000"


def test_runs_threaded_workers_sized_from_the_environment(load):
    conf = load(WEB_CONCURRENCY="3", GUNICORN_THREADS="16")

    assert (conf["worker_class"], conf["workers"], conf["threads"]) == ("gthread", 3, 16)


def test_a_worker_takes_five_connections_per_thread_so_a_burst_spreads_over_workers(load):
    assert load(GUNICORN_THREADS="4")["worker_connections"] == 20


def test_the_connection_cap_can_be_set_but_must_leave_room_for_keep_alive(load):
    assert load(GUNICORN_WORKER_CONNECTIONS="100")["worker_connections"] == 100
    with pytest.raises(SystemExit, match=r"GUNICORN_WORKER_CONNECTIONS='8' is invalid: expected an integer from 9 to"):
        load(GUNICORN_THREADS="8", GUNICORN_WORKER_CONNECTIONS="8")


def test_in_flight_requests_get_less_than_the_kubernetes_grace_period_by_default(load):
    assert load()["graceful_timeout"] < 30


def test_writes_only_under_tmp(load, tmp_path):
    conf = load()

    assert conf["worker_tmp_dir"] == "/tmp"
    assert conf["control_socket_disable"] is True
    assert (tmp_path / "prometheus").is_dir()


def test_logs_json_access_lines_to_stdout(load):
    conf = load()

    assert (conf["accesslog"], conf["logger_class"]) == ("-", "backend.logs.JsonLogger")


def test_a_bad_variable_stops_the_process_with_its_name(load):
    with pytest.raises(SystemExit, match="GUNICORN_THREADS='many' is invalid"):
        load(GUNICORN_THREADS="many")
