"""The image built from app/Dockerfile, run the way the Kubernetes workload runs it.

Read-only root filesystem with a tmpfs on /tmp, all capabilities dropped, the image's own
user, host network bound to 127.0.0.1, the upstream faked on 127.0.0.1.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from tools.container import buildenv

from .conftest import container_env

pytestmark = pytest.mark.container

APP_UID = APP_GID = 10001


def test_substitute_base_has_the_python_minor_of_the_default_base(container_tools, base_image):
    default = re.search(r"^ARG PYTHON_IMAGE=python:(\d+\.\d+)\.",
                        buildenv.DOCKERFILE.read_text(), re.MULTILINE)
    version = container_tools("podman", "run", "--rm", *buildenv.PODMAN_RUN_FLAGS,
                              "--network", "none", base_image, "python3", "-c",
                              "import sys; print('%d.%d' % sys.version_info[:2])").stdout.strip()
    assert version == default.group(1)


def test_image_declares_a_numeric_non_root_user(container_tools, image):
    # Kubernetes runAsNonRoot can only verify a numeric UID without reading /etc/passwd.
    user = container_tools("podman", "image", "inspect", "--format", "{{.Config.User}}",
                           image).stdout.strip()
    assert user == f"{APP_UID}:{APP_GID}"


def test_image_exposes_the_api_port_8080_and_the_admin_port_8081(container_tools, image):
    ports = json.loads(container_tools("podman", "image", "inspect", "--format",
                                       "{{json .Config.ExposedPorts}}", image).stdout)
    assert sorted(ports) == ["8080/tcp", "8081/tcp"]


def test_image_app_directory_holds_only_backend_code_compiled_at_build_time(
        container_tools, image):
    mountpoint = Path(container_tools("podman", "image", "mount", image).stdout.strip())
    try:
        files = [p for p in (mountpoint / "app").rglob("*") if p.is_file()]
        sources = sorted(str(p.relative_to(mountpoint / "app")) for p in files
                         if p.suffix == ".py")
        others = [p.name for p in files if p.suffix not in (".py", ".pyc")]
        # Hash-checked bytecode comes from the build's compileall; a timestamp .pyc would
        # be one leaked from the build context.
        timestamp_pycs = [p.name for p in files
                          if p.suffix == ".pyc" and p.read_bytes()[4] & 0b1 == 0]
    finally:
        container_tools("podman", "image", "unmount", image, check=False)
    expected = sorted(
        str(p.relative_to(buildenv.APP_DIR)) for p in (buildenv.APP_DIR / "backend").rglob("*.py")
        if "__pycache__" not in p.parts)
    assert (sources, others, timestamp_pycs) == (expected, [], [])


def test_image_adds_at_most_50_mb_over_its_base(container_tools, base_image, image):
    # 40 MB until issue 12: the server's compiled core (granian's Rust extension, already
    # stripped) is 21.6 MB of the 46.8 MB measured then; gunicorn and requests left the image.
    added = buildenv.image_size(container_tools, image) - buildenv.image_size(
        container_tools, base_image)
    assert added <= 50 * 1000 * 1000, f"the Dockerfile adds {added / 1e6:.1f} MB"


def test_container_is_ready_within_10_seconds_of_podman_run(running):
    # The 3 s target is measured by bench/bench_image.py; this bound only catches a start
    # that is broken, not one slowed by a busy shared machine.
    assert running.ready_after <= 10


def test_contents_are_fetched_from_the_configured_upstream(running, upstream):
    calls_before = upstream.call_count
    status, body = buildenv.http_get(f"{running.base_url}/contents/containers", timeout=10)
    assert status == 200
    assert "containers one" in body.decode()
    assert upstream.requests[calls_before:][0]["query"]["query"] == ["containers"]


def test_every_process_runs_as_the_image_user(running):
    pids = running.host_pids()
    ids = set()
    for pid in pids:
        status = Path(f"/proc/{pid}/status").read_text()
        uid = re.search(r"^Uid:\s+(.*)$", status, re.MULTILINE).group(1).split()
        gid = re.search(r"^Gid:\s+(.*)$", status, re.MULTILINE).group(1).split()
        ids.update(("uid", int(v)) for v in uid)
        ids.update(("gid", int(v)) for v in gid)
    assert len(pids) >= 3, "expected the server's main process and its two workers"
    assert ids == {("uid", APP_UID), ("gid", APP_GID)}


def test_probes_and_metrics_answer_on_the_admin_port(running):
    assert buildenv.http_get(f"{running.admin_url}/healthz", timeout=5) == (200, b'{"status": "alive"}')
    assert buildenv.http_get(f"{running.admin_url}/readyz", timeout=5) == (200, b'{"status": "ready"}')
    status, scrape = buildenv.http_get(f"{running.admin_url}/metrics", timeout=5)
    assert status == 200
    assert b"# TYPE http_requests_total counter" in scrape


def test_the_server_logs_json_lines_only(running):
    buildenv.http_get(f"{running.base_url}/contents/logged", timeout=10)
    time.sleep(0.5)  # the access log is written in batches
    lines = [line for line in running.logs().splitlines() if line.strip()]
    assert lines
    assert [line for line in lines if not line.startswith("{")] == []
    assert any(json.loads(line).get("type") == "access" for line in lines)


def _wait_until_every_worker_started(ctr, workers: int, deadline_s: float = 30) -> None:
    """The first worker answers /readyz while the others may still be starting; a SIGTERM in that
    window is a different case (granian kills a worker that missed it after
    GRACEFUL_TIMEOUT_SECONDS, still inside the pod's grace period; app/README.md, limits)."""
    deadline = time.monotonic() + deadline_s
    while ctr.logs().count('"message": "Started worker-') < workers:
        if time.monotonic() > deadline:
            pytest.fail(f"fewer than {workers} workers started in {deadline_s} s; log:\n{ctr.logs()[-4000:]}")
        time.sleep(0.1)


def test_sigterm_stops_the_container_with_exit_code_0_within_10_seconds(
        container_tools, image, upstream):
    with buildenv.run_container(container_tools, image, container_env(upstream)) as ctr:
        ctr.wait_ready()
        # The backend's default, two workers: the server is fully up, as a pod in service is.
        _wait_until_every_worker_started(ctr, workers=2)
        signalled = time.monotonic()
        container_tools("podman", "kill", "--signal", "TERM", ctr.id)
        try:
            exit_code = container_tools("podman", "wait", ctr.id, timeout=10).stdout.strip()
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running 10 s after SIGTERM; log:\n{ctr.logs()[-4000:]}")
        elapsed = time.monotonic() - signalled
    assert (exit_code, elapsed <= 10) == ("0", True), f"exit {exit_code} after {elapsed:.1f} s"


def test_pushed_image_digest_is_the_one_the_registry_serves(container_tools, image, tmp_path):
    with buildenv.LocalRegistry(tmp_path / "registry") as registry:
        reference = f"{registry.host}/backend:under-test"
        digest_file = tmp_path / "digest"
        container_tools("buildah", "push", "--tls-verify=false", "--digestfile",
                        str(digest_file), image, f"docker://{reference}")
        served = json.loads(container_tools(
            "skopeo", "inspect", "--tls-verify=false", f"docker://{reference}").stdout)
    pushed = digest_file.read_text().strip()
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", pushed)
    assert served["Digest"] == pushed
