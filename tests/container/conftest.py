"""Fixtures that build the real image once per session and run it like the cluster will.

The build is shared by every test that needs it; containers, the registry and the private
container storage are removed at the end even when a test fails.
"""

from __future__ import annotations

import os

import pytest

from tests.support.fake_upstream import FakeUpstream
from tools.container import buildenv

IMAGE = "localhost/backend:under-test"


def _unavailable(reason: str):
    # On CI the tools are installed by .ci/run: not being able to build there is a failure,
    # never a quiet skip.
    if os.environ.get("CI"):
        pytest.fail(f"buildah/podman cannot build and run the image on CI: {reason}")
    pytest.skip(f"buildah/podman cannot build and run the image here: {reason}")


@pytest.fixture(scope="session")
def container_tools():
    missing = buildenv.missing_tools()
    if missing:
        _unavailable(f"not installed: {', '.join(missing)}")
    tools = buildenv.ContainerTools()
    try:
        buildenv.probe(tools)
    except buildenv.ToolsUnavailable as exc:
        tools.close()
        _unavailable(str(exc))
    yield tools
    tools.close()


@pytest.fixture(scope="session")
def base_image(container_tools):
    """The Debian-built stand-in for python:3.11-slim, loaded into the private storage."""
    try:
        tarball = buildenv.debian_rootfs_tarball()
    except buildenv.ToolsUnavailable as exc:
        _unavailable(str(exc))
    return container_tools.load_base(tarball)


@pytest.fixture(scope="session")
def image(container_tools, base_image):
    seconds = buildenv.build_image(container_tools, IMAGE, base=base_image)
    print(f"\nbuilt {IMAGE} on {base_image} in {seconds:.1f} s")
    return IMAGE


@pytest.fixture(scope="module")
def upstream():
    with FakeUpstream() as fake:
        yield fake


def container_env(upstream) -> dict[str, str]:
    """The environment a test container runs with: on the host network, so both listeners
    bind 127.0.0.1 only, and the admin listener gets a free port of its own (several
    containers may run at once)."""
    return {
        "UPSTREAM_URL": upstream.url,
        "LISTEN_ADDRESS": "127.0.0.1",
        "ADMIN_PORT": str(buildenv.free_port()),
    }


@pytest.fixture(scope="module")
def running(container_tools, image, upstream):
    """One container shared by the tests that only look at it; it is ready when handed out."""
    env = container_env(upstream)
    with buildenv.run_container(container_tools, image, env) as ctr:
        ctr.admin_url = f"http://127.0.0.1:{env['ADMIN_PORT']}"
        try:
            ctr.ready_after = ctr.wait_ready()
        except (TimeoutError, RuntimeError) as exc:
            pytest.fail(f"{exc}; container log:\n{ctr.logs()[-4000:]}")
        yield ctr
