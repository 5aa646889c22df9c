"""Build, run and push the backend image without a Docker daemon: buildah, podman, skopeo.

Shared by tests/container and bench/bench_image.py. Everything lives in a private temporary
storage (its own storage.conf and containers.conf), so nothing touches the machine's own
container state and all of it is removed by `ContainerTools.close()`.

Official base images cannot be pulled here, so the Dockerfile's `PYTHON_IMAGE` is replaced by
a base built from Debian bookworm packages with debootstrap. Bookworm ships Python 3.11, the
minor version of the Dockerfile's default `python:3.11.x-slim-bookworm`; the rootfs is cached
between runs, keyed by the recipe that produced it.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

REPO_ROOT = Path(__file__).resolve().parents[2]
APP_DIR = REPO_ROOT / "app"
DOCKERFILE = APP_DIR / "Dockerfile"
BASE_BUILD_ARG = "PYTHON_IMAGE"

# What the substitute base is made of. Changing any of it changes the cache key.
BASE_RECIPE = {
    "suite": "bookworm",
    "variant": "minbase",
    # python3-venv for `python3 -m venv`; passwd (groupadd/useradd) is already in minbase.
    "include": ["python3", "python3-venv"],
    # Not needed to build or run the app, and a third of the rootfs.
    "prune": ["var/cache/apt/archives/*.deb", "var/cache/apt/*.bin", "var/lib/apt/lists/*",
              "usr/share/doc/*", "usr/share/man/*", "usr/share/locale/*"],
    "format": 1,
}
BASE_IMAGE_NAME = "localhost/debian-python:3.11-bookworm"
REQUIRED_BINARIES = ("buildah", "podman", "skopeo", "runc")

# crun fails on these machines (setrlimit, cgroup hybrid mode); runc works with explicit limits.
PODMAN_RUN_FLAGS = ("--runtime", "runc", "--ulimit", "nofile=20000:20000",
                    "--ulimit", "nproc=4096:4096")


class ToolsUnavailable(RuntimeError):
    """buildah/podman cannot run on this machine; the message says why."""


def cache_dir() -> Path:
    """Outside the repository's tracked files and surviving a fresh clone of it."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    path = Path(root) / "backend-on-eks" / "container"
    path.mkdir(parents=True, exist_ok=True)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def missing_tools() -> list[str]:
    return [name for name in REQUIRED_BINARIES if shutil.which(name) is None]


def debian_mirror() -> str:
    """The bookworm mirror this machine's apt already uses (debootstrap needs one)."""
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        for stanza in Path(path).read_text().split("\n\n"):
            fields = dict(line.split(":", 1) for line in stanza.splitlines()
                          if ":" in line and not line.startswith(("#", " ")))
            suites = fields.get("Suites", "").split()
            if "bookworm" in suites and fields.get("URIs"):
                return fields["URIs"].split()[0].strip()
    for path in ["/etc/apt/sources.list", *sorted(glob.glob("/etc/apt/sources.list.d/*.list"))]:
        if os.path.exists(path):
            for line in Path(path).read_text().splitlines():
                words = line.split()
                if len(words) >= 3 and words[0] == "deb" and words[2] == "bookworm":
                    return words[1]
    return "http://deb.debian.org/debian"


def run(cmd: list[str], env: dict | None = None, timeout: float = 600,
        check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, cmd, proc.stdout, proc.stderr)
    return proc


def cached_rootfs_path(mirror: str) -> Path:
    """Where the rootfs made by BASE_RECIPE from `mirror` is cached: keyed by both."""
    key = hashlib.sha256(json.dumps([BASE_RECIPE, mirror], sort_keys=True).encode()).hexdigest()
    return cache_dir() / f"debian-python-rootfs-{key[:16]}.tar"


def debian_rootfs_tarball(log=print) -> Path:
    """A tarball of a bookworm rootfs with Python 3.11; built once per recipe, then cached."""
    mirror = debian_mirror()
    tarball = cached_rootfs_path(mirror)
    if tarball.exists():
        return tarball
    if os.geteuid() != 0:
        raise ToolsUnavailable("debootstrap must run as root to build the substitute base "
                               f"image, and no cached one exists at {tarball}")
    if shutil.which("debootstrap") is None:
        raise ToolsUnavailable("debootstrap is not installed and no cached base exists")
    log(f"building the Debian base rootfs (cold cache) from {mirror}")
    with tempfile.TemporaryDirectory(prefix="debian-rootfs-", dir=cache_dir()) as work:
        rootfs = Path(work) / "rootfs"
        run(["debootstrap", f"--variant={BASE_RECIPE['variant']}",
             f"--include={','.join(BASE_RECIPE['include'])}",
             BASE_RECIPE["suite"], str(rootfs), mirror], timeout=900)
        for pattern in BASE_RECIPE["prune"]:
            for path in glob.glob(str(rootfs / pattern)):
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path)
                else:
                    os.unlink(path)
        partial = Path(work) / "rootfs.tar"
        run(["tar", "--numeric-owner", "--xattrs", "-C", str(rootfs), "-cf", str(partial), "."])
        # Rename last, so a concurrent or interrupted run never sees half a tarball.
        os.replace(partial, tarball)
    return tarball


@dataclass
class ContainerTools:
    """buildah/podman/skopeo bound to a private storage under a temporary directory."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="containers-")))
    driver: str = "overlay"

    def __post_init__(self) -> None:
        self._write_config()

    def _write_config(self) -> None:
        (self.root / "storage.conf").write_text(
            "[storage]\n"
            f'driver = "{self.driver}"\n'
            f'graphroot = "{self.root / "graph"}"\n'
            f'runroot = "{self.root / "run"}"\n'
        )
        # No systemd and no journald where this runs.
        (self.root / "containers.conf").write_text(
            "[engine]\n"
            'cgroup_manager = "cgroupfs"\n'
            'events_logger = "file"\n'
            f'tmp_dir = "{self.root / "tmp"}"\n'
        )

    @property
    def env(self) -> dict:
        return {
            **os.environ,
            "CONTAINERS_STORAGE_CONF": str(self.root / "storage.conf"),
            "CONTAINERS_CONF": str(self.root / "containers.conf"),
            "TMPDIR": str(self.root / "tmp"),
        }

    def __call__(self, *cmd: str, timeout: float = 600, check: bool = True):
        (self.root / "tmp").mkdir(exist_ok=True)
        return run(list(cmd), env=self.env, timeout=timeout, check=check)

    def load_base(self, tarball: Path) -> str:
        """Import the Debian rootfs as the substitute base; fall back to vfs storage where
        overlay cannot be mounted (e.g. when this directory is itself on overlayfs)."""
        try:
            self("podman", "import", str(tarball), BASE_IMAGE_NAME)
        except subprocess.CalledProcessError as exc:
            if self.driver != "overlay":
                raise
            print(f"overlay storage failed ({exc.stderr.strip()[-300:]}); using vfs")
            self.reset("vfs")
            self("podman", "import", str(tarball), BASE_IMAGE_NAME)
        return BASE_IMAGE_NAME

    def reset(self, driver: str) -> None:
        self.close(remove_root=False)
        self.driver = driver
        self._write_config()

    def close(self, remove_root: bool = True) -> None:
        if (self.root / "graph").exists():
            # Everything here is private to this storage, but its layers can still be mounted
            # (running containers, build containers, `podman image mount`): release them
            # before deleting the directory. Not `podman system reset`: it also deletes the
            # machine's podman networks, which are not ours.
            self("podman", "rm", "--all", "--force", "--time", "0", check=False, timeout=120)
            self("buildah", "rm", "--all", check=False, timeout=120)
            self("podman", "image", "unmount", "--all", "--force", check=False, timeout=120)
            # The overlay driver bind-mounts its own home; a crash can leave more under it.
            run(["umount", "--recursive", str(self.root / "graph" / "overlay")], check=False)
        if remove_root:
            shutil.rmtree(self.root, ignore_errors=True)
        else:
            for sub in ("graph", "run", "tmp"):
                shutil.rmtree(self.root / sub, ignore_errors=True)


def probe(tools: ContainerTools) -> None:
    """Raise ToolsUnavailable with the tools' own words if they cannot work here."""
    missing = missing_tools()
    if missing:
        raise ToolsUnavailable(f"not installed: {', '.join(missing)}")
    for tool in ("buildah", "podman"):
        proc = tools(tool, "info", check=False, timeout=120)
        if proc.returncode != 0:
            raise ToolsUnavailable(f"`{tool} info` failed: {proc.stderr.strip()[-500:]}")


def pip_injection(root: Path) -> list[str]:
    """`buildah bud` volumes that let pip in a RUN step reach the package index.

    HTTPS here goes through a re-signing proxy that only the host's CA bundle trusts. The
    bundle and a pip config naming it are mounted read-only for the build only: they never
    land in a layer and the Dockerfile stays free of anything machine-specific.
    """
    host_ca = Path("/etc/ssl/certs/ca-certificates.crt")
    if not host_ca.exists():
        return []
    pip_conf = root / "pip.conf"
    pip_conf.write_text("[global]\ncert = /run/host-ca/ca-certificates.crt\n")
    return ["-v", f"{host_ca}:/run/host-ca/ca-certificates.crt:ro",
            "-v", f"{pip_conf}:/etc/pip.conf:ro"]


def build_image(tools: ContainerTools, tag: str, base: str | None,
                context: Path = APP_DIR, layers: bool = True) -> float:
    """Build app/Dockerfile; return the seconds it took."""
    cmd = ["buildah", "bud", "--isolation", "chroot", "--layers" if layers else "--layers=false",
           "--pull=never" if base else "--pull=true", "-f", str(context / "Dockerfile"), "-t", tag,
           *pip_injection(tools.root)]
    if base:
        cmd += ["--build-arg", f"{BASE_BUILD_ARG}={base}"]
    cmd.append(str(context))
    started = time.monotonic()
    tools(*cmd, timeout=900)
    return time.monotonic() - started


def image_size(tools: ContainerTools, image: str) -> int:
    """Uncompressed bytes of all the image's layers."""
    return int(tools("podman", "image", "inspect", "--format", "{{.Size}}", image).stdout)


def http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_until_ready(url: str, deadline_s: float, alive=lambda: True) -> float:
    """Poll `url` until it answers 200; return seconds waited, raise TimeoutError otherwise."""
    started = time.monotonic()
    while time.monotonic() - started < deadline_s:
        if not alive():
            raise RuntimeError("the container exited before it became ready")
        try:
            if http_get(url, timeout=0.5)[0] == 200:
                return time.monotonic() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} not ready within {deadline_s} s")


@dataclass
class RunningContainer:
    tools: ContainerTools
    id: str
    port: int
    # time.monotonic() just before `podman run`: start-to-ready is measured from here.
    launched_at: float

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def inspect(self, template: str) -> str:
        return self.tools("podman", "inspect", "--format", template, self.id).stdout.strip()

    def is_running(self) -> bool:
        return self.inspect("{{.State.Running}}") == "true"

    def wait_ready(self, deadline_s: float = 30) -> float:
        """Seconds from `podman run` to a 200 on /readyz."""
        wait_until_ready(f"{self.base_url}/readyz", deadline_s, alive=self.is_running)
        return time.monotonic() - self.launched_at

    def host_pids(self) -> list[int]:
        """The container's processes as the host sees them: PID 1 and its descendants."""
        pids, todo = [], [int(self.inspect("{{.State.Pid}}"))]
        while todo:
            pid = todo.pop()
            pids.append(pid)
            for task in glob.glob(f"/proc/{pid}/task/*/children"):
                todo += [int(child) for child in Path(task).read_text().split()]
        return pids

    def logs(self) -> str:
        proc = self.tools("podman", "logs", self.id, check=False)
        return proc.stdout + proc.stderr


@contextmanager
def run_container(tools: ContainerTools, image: str, env: dict[str, str],
                  port: int | None = None) -> Iterator[RunningContainer]:
    """Run the image the way the Kubernetes workload does: read-only root, tmpfs /tmp,
    the image's own non-root user; host network, bound to 127.0.0.1 only."""
    port = port or free_port()
    env = {
        "PORT": str(port),
        # gunicorn.conf.py binds 0.0.0.0 (right in a pod); on the host network that would be
        # every interface of this machine. GUNICORN_CMD_ARGS is applied after the config file.
        "GUNICORN_CMD_ARGS": f"--bind=127.0.0.1:{port}",
        **env,
    }
    cmd = ["podman", "run", "--detach", *PODMAN_RUN_FLAGS, "--network", "host",
           "--read-only", "--tmpfs", "/tmp:rw,nosuid,nodev,size=64m",
           "--cap-drop", "ALL", "--security-opt", "no-new-privileges"]
    for name, value in env.items():
        cmd += ["--env", f"{name}={value}"]
    launched_at = time.monotonic()
    container_id = tools(*cmd, image, timeout=120).stdout.strip()
    try:
        yield RunningContainer(tools, container_id, port, launched_at)
    finally:
        tools("podman", "rm", "--force", "--time", "0", container_id, check=False, timeout=120)


@dataclass
class LocalRegistry:
    """Debian's docker-registry on 127.0.0.1 with filesystem storage: the ECR stand-in."""

    root: Path
    port: int = field(default_factory=free_port)

    def __post_init__(self) -> None:
        self._proc: subprocess.Popen | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> "LocalRegistry":
        storage = self.root / "storage"
        storage.mkdir(parents=True, exist_ok=True)
        config = self.root / "config.yml"
        config.write_text(
            "version: 0.1\n"
            "log:\n  level: warn\n"
            f"storage:\n  filesystem:\n    rootdirectory: {storage}\n"
            f"http:\n  addr: {self.host}\n"
        )
        self._log = open(self.root / "registry.log", "wb")
        self._proc = subprocess.Popen(["docker-registry", "serve", str(config)],
                                      stdout=self._log, stderr=subprocess.STDOUT)
        try:
            wait_until_ready(f"http://{self.host}/v2/", 15, alive=lambda: self._proc.poll() is None)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._log.close()
