"""`python -m ops catalog refresh` and `check`, against a stand-in `aws` CLI and a real local registry.

The stand-in (tests/support/aws_cli_stand_in.py) answers as AWS CLI v2 does, unkind answers
included; the Cluster Autoscaler's registry is Debian's docker-registry on 127.0.0.1, holding
multi-arch indexes pushed through the distribution API, so the digests are the registry's own.
Each test runs in a copy of the project's catalog and stack files: the repository is never written.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import http.server
import json
import os
import shutil
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

import eks_versions
from ops import EXIT_FAILED, EXIT_OK, catalog
from ops.__main__ import main
from tools.container.buildenv import LocalRegistry

STAND_IN = Path(__file__).resolve().parents[1] / "support" / "aws_cli_stand_in.py"
PROJECT = Path(__file__).resolve().parents[2]
ADDON_TYPES = {"vpc-cni": "networking", "kube-proxy": "networking", "coredns": "networking",
               "metrics-server": "observability", "eks-pod-identity-agent": "security",
               "amazon-cloudwatch-observability": "observability"}
TODAY = datetime.date(2027, 1, 15)
CHART_TAGS = ["v1.30.6", "v1.31.3", "v1.31.4", "v1.32.2", "v1.33.1", "v1.34.5", "v1.35.2", "v1.36.0", "v1.36.1"]


def _epoch(day: datetime.date) -> float:
    # AWS's dates are the start of a UTC day; the CLI prints them in the machine's zone.
    return datetime.datetime.combine(day, datetime.time(), datetime.timezone.utc).timestamp()


def cluster_version(version: str, released: str, end_standard: str, end_extended: str, status: str) -> dict:
    """One entry of DescribeClusterVersions, every key the EKS model has."""
    return {
        "clusterVersion": version, "clusterType": "eks", "defaultPlatformVersion": "eks.7",
        "defaultVersion": False, "releaseDate": _epoch(datetime.date.fromisoformat(released)),
        "endOfStandardSupportDate": _epoch(datetime.date.fromisoformat(end_standard)),
        "endOfExtendedSupportDate": _epoch(datetime.date.fromisoformat(end_extended)),
        "kubernetesPatchVersion": f"{version}.4", "status": status, "versionStatus": status,
    }


def addon(name: str, versions: list[tuple[str, dict[str, bool]]]) -> dict:
    """One entry of DescribeAddonVersions: `versions` is [(addonVersion, {clusterVersion: default})]."""
    return {
        "addonName": name, "type": ADDON_TYPES[name],
        "addonVersions": [{
            "addonVersion": addon_version, "architecture": ["amd64", "arm64"],
            "computeTypes": ["ec2", "auto", "hybrid"],
            "compatibilities": [{"clusterVersion": cv, "platformVersions": ["*"], "defaultVersion": default}
                                for cv, default in compat.items()],
            "requiresConfiguration": False, "requiresIamPermissions": name == "vpc-cni",
        } for addon_version, compat in versions],
        "publisher": "eks", "owner": "aws", "marketplaceInformation": None, "defaultNamespace": "kube-system",
    }


def aws_answers(rows=None, pins=None) -> dict:
    """What AWS would answer for the catalog's own rows (1.29 aged out), every add-on with a default."""
    rows = [row for row in (rows or eks_versions.VERSIONS) if row.version != "1.29"]
    pins = pins or {}
    versions = [cluster_version(row.version, str(row.released), str(row.end_of_standard_support),
                                str(row.end_of_extended_support), "STANDARD_SUPPORT") for row in rows]
    addons = []
    for name in eks_versions.CATALOG_ADDONS:
        defaults = {}
        for row in rows:
            pin = pins.get((row.version, name), f"v{row.version}.1-eksbuild.3" if name == "kube-proxy"
                           else {"vpc-cni": "v1.21.1-eksbuild.1", "coredns": "v1.12.4-eksbuild.1",
                                 "metrics-server": "v0.8.0-eksbuild.2",
                                 "eks-pod-identity-agent": "v1.3.8-eksbuild.2",
                                 "amazon-cloudwatch-observability": "v4.4.0-eksbuild.1"}[name])
            if pin is not None:
                defaults.setdefault(pin, {})[row.version] = True
        # Older builds compatible but not the default, as AWS lists them.
        addons.append(addon(name, [*defaults.items(), ("v0.0.1-eksbuild.1", {row.version: False for row in rows})]))
    return {"clusterVersions": versions, "addons": addons, "utcOffsetHours": -8}


# --- the registry ------------------------------------------------------------------------------

def _push(registry: str, name: str, reference: str, body: bytes, media_type: str) -> str:
    request = urllib.request.Request(f"http://{registry}/v2/{name}/manifests/{reference}", data=body,
                                     method="PUT", headers={"Content-Type": media_type})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.headers["Docker-Content-Digest"]


def _blob(registry: str, name: str, data: bytes) -> dict:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with urllib.request.urlopen(urllib.request.Request(
            f"http://{registry}/v2/{name}/blobs/uploads/", data=b"", method="POST"), timeout=10) as response:
        location = response.headers["Location"]
    location = location if location.startswith("http") else f"http://{registry}{location}"
    separator = "&" if "?" in location else "?"
    urllib.request.urlopen(urllib.request.Request(f"{location}{separator}digest={digest}", data=data, method="PUT",
                                                  headers={"Content-Type": "application/octet-stream"}), timeout=10)
    return {"digest": digest, "size": len(data)}


def push_autoscaler(registry: str, tag: str, multi_arch: bool = True) -> str:
    """Pushes a tag of autoscaling/cluster-autoscaler; returns the digest the registry serves for it."""
    name = catalog.AUTOSCALER_NAME
    children = []
    for arch in ("amd64", "arm64"):
        config = _blob(registry, name, json.dumps({"architecture": arch, "os": "linux", "tag": tag,
                                                   "rootfs": {"type": "layers", "diff_ids": []}}).encode())
        manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                               "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
                               "layers": []}).encode()
        if not multi_arch:
            return _push(registry, name, tag, manifest, "application/vnd.oci.image.manifest.v1+json")
        digest = _push(registry, name, "sha256:" + hashlib.sha256(manifest).hexdigest(), manifest,
                       "application/vnd.oci.image.manifest.v1+json")
        children.append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest,
                         "size": len(manifest), "platform": {"architecture": arch, "os": "linux"}})
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": children}).encode()
    return _push(registry, name, tag, index, "application/vnd.oci.image.index.v1+json")


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    if shutil.which("docker-registry") is None:
        if os.environ.get("CI"):
            pytest.fail("docker-registry is not installed; .ci/run installs it")
        pytest.skip("docker-registry is not installed")
    with LocalRegistry(tmp_path_factory.mktemp("registry")) as running:
        digests = {tag: push_autoscaler(running.host, tag) for tag in
                   ["v1.30.6", "v1.31.3", "v1.31.4", "v1.32.2", "v1.33.1", "v1.34.5", "v1.35.2", "v1.36.1",
                    "v1.36.0", "v1.37.0-alpha.1", "v1.9.99"]}
        yield running, digests


# --- kubernetes/autoscaler's tagged trees, served raw ------------------------------------------------

def chart_template(tag: str) -> str:
    """A ClusterRole template in the chart's dialect (written for these tests): a DRA rule from 1.35,
    a rule for another provider, and the `extensions` group."""
    dra = ('  - apiGroups: [resource.k8s.io]\n    resources: [resourceslices, deviceclasses, resourceclaims]\n'
           '    verbs: [watch, list, get]\n') if int(tag.split(".")[1]) >= 35 else ""
    return ('{{- if and .Values.rbac.create .Values.rbac.clusterScoped -}}\n'
            'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n'
            '  name: {{ template "cluster-autoscaler.fullname" . }}\nrules:\n'
            '  - apiGroups: [""]\n    resources: [pods, nodes]\n    verbs: [watch, list, get]\n'
            '{{- if (eq .Values.cloudProvider "kwok") }}\n'
            '  - apiGroups: [""]\n    resources: [nodes]\n    verbs: [create]\n{{- end }}\n'
            f'{dra}'
            '  - apiGroups: [batch, extensions]\n    resources: [jobs]\n    verbs: [get, patch]\n'
            '{{- end -}}\n')


def serve_charts(root: Path, templates: dict[str, str]):
    """An HTTP server on 127.0.0.1 laying the templates out as raw.githubusercontent.com does:
    <base>/cluster-autoscaler-<version>/<path in that tag's tree>."""
    for tag, text in templates.items():
        # The chart sits under cluster-autoscaler/ from the 1.35 tags, at the top before.
        path = catalog.CHART_PATHS[0] if int(tag.split(".")[1]) >= 35 else catalog.CHART_PATHS[1]
        target = root / f"cluster-autoscaler-{tag.removeprefix('v')}" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module", autouse=True)
def charts(tmp_path_factory):
    server = serve_charts(tmp_path_factory.mktemp("charts"), {tag: chart_template(tag) for tag in CHART_TAGS})
    global CHART_SOURCE
    CHART_SOURCE = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


CHART_SOURCE = ""


# --- the project copy and the stand-in CLI ---------------------------------------------------------

@pytest.fixture
def project(tmp_path, monkeypatch):
    copy = tmp_path / "project"
    (copy / "catalog").mkdir(parents=True)
    for name in ["Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml", "catalog/eks-versions.json",
                 "catalog/cluster-autoscaler.json"]:
        shutil.copy(PROJECT / name, copy / name)
    monkeypatch.setattr(catalog, "PROJECT_DIR", copy)
    return copy


def snapshot(project: Path) -> dict[str, bytes]:
    return {str(path.relative_to(project)): path.read_bytes() for path in sorted(project.rglob("*")) if path.is_file()}


class StandIn:
    def __init__(self, tmp_path: Path, monkeypatch) -> None:
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        self.scenario_file = tmp_path / "scenario.json"
        self.log_file = tmp_path / "aws-calls.log"
        self.log_file.write_text("")
        script = self.bin / "aws"
        script.write_text(f"#!{sys.executable}\nimport runpy\nrunpy.run_path({str(STAND_IN)!r}, run_name='__main__')\n")
        script.chmod(0o755)
        monkeypatch.setenv("PATH", f"{self.bin}{os.pathsep}{os.environ['PATH']}")
        monkeypatch.setenv("AWS_STAND_IN_SCENARIO", str(self.scenario_file))
        monkeypatch.setenv("AWS_STAND_IN_LOG", str(self.log_file))
        monkeypatch.delenv("AWS_REGION", raising=False)
        self.answer(aws_answers())

    def answer(self, scenario: dict) -> None:
        self.scenario_file.write_text(json.dumps(scenario))

    @property
    def calls(self) -> list[list[str]]:
        return [json.loads(line) for line in self.log_file.read_text().splitlines()]


@pytest.fixture
def aws(tmp_path, monkeypatch):
    return StandIn(tmp_path, monkeypatch)


def refresh(registry, *extra: str) -> int:
    running, _ = registry
    return main(["catalog", "refresh", "--region", "us-east-1", "--registry", f"http://{running.host}",
                 "--chart-source", CHART_SOURCE, "--today", str(TODAY), *extra])


def rows(project: Path) -> dict[str, eks_versions.EksVersion]:
    return {row.version: row for row in eks_versions.load(project / "catalog" / "eks-versions.json")}


def releases(project: Path):
    import autoscaler_releases
    return autoscaler_releases.load(project / "catalog" / "cluster-autoscaler.json")


# --- refresh: what it writes ---------------------------------------------------------------------

def test_refresh_writes_awss_default_add_on_versions_into_the_catalog(project, aws, registry):
    assert refresh(registry) == EXIT_OK
    row = rows(project)["1.35"]
    assert row.addons.vpc_cni == "v1.21.1-eksbuild.1"
    assert row.addons.kube_proxy == "v1.35.1-eksbuild.3"
    assert row.addons.metrics_server == "v0.8.0-eksbuild.2"
    assert row.addons.eks_pod_identity_agent == "v1.3.8-eksbuild.2"
    assert dict(row.sources) == {"calendar": catalog.AWS_SOURCE, **{name: catalog.ADDON_SOURCE
                                                                    for name in eks_versions.CATALOG_ADDONS}}


def test_refresh_reads_the_dates_as_utc_days_whatever_zone_the_cli_prints_them_in(project, aws, registry):
    for offset in (-8, 0, 9):
        aws.answer(aws_answers() | {"utcOffsetHours": offset})
        assert refresh(registry) == EXIT_OK
        assert rows(project)["1.34"].end_of_standard_support == datetime.date(2026, 12, 2), offset


def test_refresh_keeps_a_version_aws_no_longer_lists_that_is_older_than_every_one_it_lists(project, aws, registry):
    assert refresh(registry) == EXIT_OK
    assert dict(rows(project)["1.29"].sources)["calendar"] != catalog.AWS_SOURCE


def test_refresh_pins_each_minors_newest_release_tag_by_the_digest_the_registry_serves(project, aws, registry):
    _, digests = registry
    assert refresh(registry) == EXIT_OK
    pinned = releases(project)
    assert pinned["1.31"].tag == "v1.31.4" and pinned["1.31"].digest == digests["v1.31.4"]
    assert pinned["1.34"].tag == "v1.34.5" and pinned["1.34"].digest == digests["v1.34.5"]
    assert pinned["1.36"].tag == "v1.36.1"  # not v1.36.0, and never a pre-release


def test_refresh_writes_each_releases_cluster_role_rules_from_its_chart_at_its_own_tag(project, aws, registry):
    assert refresh(registry) == EXIT_OK
    pinned = releases(project)
    assert pinned["1.36"].rules_source == f"{CHART_SOURCE}/cluster-autoscaler-1.36.1/{catalog.CHART_PATHS[0]}"
    assert pinned["1.34"].rules_source == f"{CHART_SOURCE}/cluster-autoscaler-1.34.5/{catalog.CHART_PATHS[1]}"
    assert list(pinned["1.34"].cluster_rules) == [
        {"apiGroups": [""], "resources": ["pods", "nodes"], "verbs": ["watch", "list", "get"]},
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "patch"]},
    ]


def test_refresh_grants_the_dynamic_resource_allocation_kinds_to_the_releases_whose_chart_does(project, aws, registry):
    assert refresh(registry) == EXIT_OK
    dra = {"apiGroups": ["resource.k8s.io"], "resources": ["resourceslices", "deviceclasses", "resourceclaims"],
           "verbs": ["watch", "list", "get"]}
    assert {minor: dra in release.cluster_rules for minor, release in releases(project).items()} == {
        "1.31": False, "1.32": False, "1.33": False, "1.34": False, "1.35": True, "1.36": True}


def test_a_chart_change_at_a_pinned_tag_is_said_in_the_summary(project, aws, registry, capsys, tmp_path):
    assert refresh(registry) == EXIT_OK
    capsys.readouterr()
    templates = {tag: chart_template(tag) for tag in CHART_TAGS}
    templates["v1.35.2"] = templates["v1.35.2"].replace("verbs: [get, patch]", "verbs: [get, patch, watch]")
    server = serve_charts(tmp_path / "changed", templates)
    try:
        running, _ = registry
        assert main(["catalog", "refresh", "--region", "us-east-1", "--registry", f"http://{running.host}",
                     "--chart-source", f"http://127.0.0.1:{server.server_address[1]}",
                     "--today", str(TODAY)]) == EXIT_OK
    finally:
        server.shutdown()
        server.server_close()
    assert "Cluster Autoscaler for 1.35: its chart's ClusterRole changed" in capsys.readouterr().out


def _refused_by_charts(project, registry, capsys, tmp_path, templates, *expected: str) -> None:
    before = snapshot(project)
    server = serve_charts(tmp_path / "charts", templates)
    try:
        running, _ = registry
        status = main(["catalog", "refresh", "--region", "us-east-1", "--registry", f"http://{running.host}",
                       "--chart-source", f"http://127.0.0.1:{server.server_address[1]}", "--today", str(TODAY)])
    finally:
        server.shutdown()
        server.server_close()
    assert status == EXIT_FAILED
    error = capsys.readouterr().err
    assert snapshot(project) == before
    for text in expected:
        assert text in error


def test_a_release_whose_tag_has_no_chart_template_changes_no_file(project, aws, registry, capsys, tmp_path):
    templates = {tag: chart_template(tag) for tag in CHART_TAGS if tag != "v1.36.1"}
    _refused_by_charts(project, registry, capsys, tmp_path, templates,
                       "no ClusterRole template for CA v1.36.1", "cluster-autoscaler-1.36.1/")


def test_a_chart_that_reads_a_value_the_renderer_does_not_know_changes_no_file(project, aws, registry, capsys, tmp_path):
    templates = {tag: chart_template(tag) for tag in CHART_TAGS}
    templates["v1.35.2"] = templates["v1.35.2"].replace(
        "{{- if (eq .Values.cloudProvider", "{{- if (eq .Values.rbac.newMode")
    _refused_by_charts(project, registry, capsys, tmp_path, templates,
                       "cluster-autoscaler-1.35.2", "reads .Values.rbac.newMode, a value this renderer does not know")


def test_the_catalogs_own_rules_are_each_releases_chart_at_its_tag_read_from_github():
    import autoscaler_releases
    for minor, release in autoscaler_releases.RELEASES.items():
        version = release.tag.removeprefix("v")
        assert release.rules_source in {f"{catalog.CHART_SOURCE}/cluster-autoscaler-{version}/{path}"
                                        for path in catalog.CHART_PATHS}, minor


def test_refresh_moves_pulumi_yamls_default_to_the_rules_choice(project, aws, registry):
    assert refresh(registry) == EXIT_OK
    assert catalog.declared_default((project / "Pulumi.yaml").read_text()) == "1.36"
    assert eks_versions.default_version(TODAY, tuple(rows(project).values())) == "1.36"


def test_refresh_changes_only_the_default_line_of_pulumi_yaml(project, aws, registry):
    before = (project / "Pulumi.yaml").read_text()
    assert refresh(registry) == EXIT_OK
    after = (project / "Pulumi.yaml").read_text()
    assert after == before.replace('    default: "1.35"', '    default: "1.36"', 1) != before


def test_refresh_moves_the_default_one_minor_at_a_time(project, aws, registry):
    text = (project / "Pulumi.yaml").read_text().replace('default: "1.35"', 'default: "1.34"', 1)
    (project / "Pulumi.yaml").write_text(text)
    assert refresh(registry) == EXIT_OK
    assert catalog.declared_default((project / "Pulumi.yaml").read_text()) == "1.35"


def test_refresh_with_the_same_answers_gives_byte_identical_files(project, aws, registry):
    assert refresh(registry) == EXIT_OK
    first = snapshot(project)
    assert refresh(registry) == EXIT_OK
    assert snapshot(project) == first


def test_refresh_summary_lists_new_pins_new_versions_dates_and_the_default(project, aws, registry, capsys, tmp_path):
    new = eks_versions.EksVersion("1.37", datetime.date(2026, 10, 20), datetime.date(2027, 12, 20),
                                  datetime.date(2028, 12, 20), eks_versions.AddonPins(None, None, None))
    answers = aws_answers(rows=[*eks_versions.VERSIONS, new])
    for entry in answers["clusterVersions"]:
        if entry["clusterVersion"] == "1.36":
            entry["endOfStandardSupportDate"] = _epoch(datetime.date(2027, 8, 3))
    aws.answer(answers)
    summary = tmp_path / "summary.md"
    assert refresh(registry, "--summary", str(summary)) == EXIT_OK
    text = summary.read_text()
    assert text == capsys.readouterr().out
    assert "- Kubernetes 1.37 added: on EKS since 2026-10-20, standard support until 2027-12-20" in text
    assert "- Kubernetes 1.36 end of standard support: 2027-08-02 -> 2027-08-03" in text
    assert "- Kubernetes 1.35 vpc-cni: no pin -> v1.21.1-eksbuild.1" in text
    assert "- Default Kubernetes version (Pulumi.yaml): 1.35 -> 1.36" in text  # one minor, not 1.37
    assert "- Cluster Autoscaler for 1.34: v1.34.5 (no digest) -> v1.34.5@sha256:" in text


def test_refresh_with_nothing_new_says_so(project, aws, registry, capsys):
    assert refresh(registry) == EXIT_OK
    capsys.readouterr()
    assert refresh(registry) == EXIT_OK
    assert "No change" in capsys.readouterr().out


def test_refresh_follows_the_clis_pagination(project, aws, registry, monkeypatch):
    monkeypatch.setattr(catalog, "PAGE_ITEMS", 3)
    assert refresh(registry) == EXIT_OK
    pages = [call for call in aws.calls if call[1] == "describe-cluster-versions"]
    assert len(pages) == 3  # 7 versions, 3 a page
    assert "--starting-token" not in pages[0] and all("--starting-token" in page for page in pages[1:])
    assert set(rows(project)) == {f"1.{minor}" for minor in range(29, 37)}


def test_a_version_without_a_default_add_on_version_is_left_unpinned_and_not_made_the_default(project, aws, registry):
    aws.answer(aws_answers(pins={("1.36", "vpc-cni"): None}))
    assert refresh(registry) == EXIT_OK
    assert rows(project)["1.36"].addons.vpc_cni is None
    assert catalog.declared_default((project / "Pulumi.yaml").read_text()) == "1.35"


def test_a_pin_aws_no_longer_marks_default_is_said_in_the_summary(project, aws, registry, capsys):
    aws.answer(aws_answers(pins={("1.34", "vpc-cni"): None}))
    assert refresh(registry) == EXIT_OK
    assert "- Kubernetes 1.34 vpc-cni: v1.20.4-eksbuild.1 -> no default version from AWS" in capsys.readouterr().out


# --- refresh: unkind answers change no file ------------------------------------------------------

def _refused(project, registry, capsys, *expected: str) -> None:
    before = snapshot(project)
    assert refresh(registry) == EXIT_FAILED
    error = capsys.readouterr().err
    for text in expected:
        assert text in error
    assert "no file was changed" in error
    assert snapshot(project) == before


def test_a_throttled_call_changes_no_file_and_names_the_call(project, aws, registry, capsys):
    aws.answer(aws_answers() | {"failures": [{"call": "describe-addon-versions:metrics-server", "kind": "throttle"}]})
    _refused(project, registry, capsys, "`aws eks describe-addon-versions --addon-name metrics-server` failed (exit 254)",
             "ThrottlingException")


def test_a_page_throttled_after_the_first_changes_no_file(project, aws, registry, capsys, monkeypatch):
    monkeypatch.setattr(catalog, "PAGE_ITEMS", 3)
    aws.answer(aws_answers() | {"failures": [{"call": "describe-cluster-versions", "page": 1, "kind": "throttle"}]})
    _refused(project, registry, capsys, "`aws eks describe-cluster-versions` failed (exit 254)")


def test_an_add_on_eks_does_not_know_changes_no_file(project, aws, registry, capsys):
    answers = aws_answers()
    answers["addons"] = [a for a in answers["addons"] if a["addonName"] != "eks-pod-identity-agent"]
    aws.answer(answers)
    _refused(project, registry, capsys, "--addon-name eks-pod-identity-agent` answered no add-on named")


def test_an_answer_that_is_not_json_changes_no_file(project, aws, registry, capsys):
    aws.answer(aws_answers() | {"failures": [{"call": "describe-cluster-versions", "kind": "not-json"}]})
    _refused(project, registry, capsys, "`aws eks describe-cluster-versions` answered something that is not JSON")


def test_an_answer_without_its_result_list_changes_no_file(project, aws, registry, capsys):
    aws.answer(aws_answers() | {"failures": [{"call": "describe-addon-versions:vpc-cni", "kind": "drop-key"}]})
    _refused(project, registry, capsys, "without a 'addons' list")


def test_a_version_without_a_support_date_changes_no_file(project, aws, registry, capsys):
    answers = aws_answers()
    del answers["clusterVersions"][2]["endOfStandardSupportDate"]
    aws.answer(answers)
    _refused(project, registry, capsys, "1.32 has no endOfStandardSupportDate")


def test_dates_out_of_order_in_awss_answer_change_no_file(project, aws, registry, capsys):
    answers = aws_answers()
    answers["clusterVersions"][3]["endOfExtendedSupportDate"] = answers["clusterVersions"][3]["releaseDate"]
    aws.answer(answers)
    _refused(project, registry, capsys, "1.33: dates out of order")


def test_a_version_missing_from_the_middle_of_the_answer_changes_no_file(project, aws, registry, capsys):
    answers = aws_answers()
    answers["clusterVersions"] = [v for v in answers["clusterVersions"] if v["clusterVersion"] != "1.33"]
    aws.answer(answers)
    _refused(project, registry, capsys, "the answer lacks 1.33", "a partial answer")


def test_two_default_versions_for_one_kubernetes_version_change_no_file(project, aws, registry, capsys):
    answers = aws_answers()
    vpc_cni = next(a for a in answers["addons"] if a["addonName"] == "vpc-cni")
    vpc_cni["addonVersions"][1]["compatibilities"][0]["defaultVersion"] = True
    aws.answer(answers)
    _refused(project, registry, capsys, "two default versions for Kubernetes 1.30")


def test_missing_credentials_change_no_file_and_say_so(project, aws, registry, capsys):
    aws.answer(aws_answers() | {"credentials": False})
    _refused(project, registry, capsys, "(exit 253)", "Unable to locate credentials")


def test_no_aws_cli_changes_no_file(project, aws, registry, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(aws.bin.parent / "empty"))
    _refused(project, registry, capsys, "no `aws` CLI on PATH")


def test_an_unreachable_registry_changes_no_file_and_names_the_url(project, aws, capsys):
    from tools.container.buildenv import free_port
    unreachable = (type("R", (), {"host": f"127.0.0.1:{free_port()}"})(), {})
    _refused(project, unreachable, capsys, f"GET http://{unreachable[0].host}/v2/autoscaling/cluster-autoscaler/tags/list")


def test_a_tag_that_serves_a_single_image_instead_of_an_index_changes_no_file(project, aws, capsys, tmp_path):
    with LocalRegistry(tmp_path / "single") as running:
        for tag in ["v1.31.4", "v1.32.2", "v1.33.1", "v1.34.5", "v1.35.2", "v1.36.1"]:
            push_autoscaler(running.host, tag, multi_arch=tag != "v1.35.2")
        _refused(project, (running, {}), capsys, "manifests/v1.35.2: a application/vnd.oci.image.manifest.v1+json answer")


def test_a_minor_the_catalog_pins_that_the_registry_has_no_tag_of_changes_no_file(project, aws, capsys, tmp_path):
    with LocalRegistry(tmp_path / "partial") as running:
        for tag in ["v1.31.4", "v1.32.2", "v1.33.1", "v1.35.2", "v1.36.1"]:
            push_autoscaler(running.host, tag)
        _refused(project, (running, {}), capsys, "no tag of 1.34, which the catalog pins as v1.34.5")


def test_a_registry_digest_header_that_does_not_match_the_body_is_refused():
    body = b'{"schemaVersion": 2}'
    headers = {"content-type": catalog.INDEX_MEDIA_TYPES[0], "docker-content-digest": "sha256:" + "0" * 64}
    with pytest.raises(catalog.CallFailed, match="is not the digest of the body"):
        catalog._index_digest("https://registry.example", "v1.35.2", lambda url, h: (body, headers))


def test_the_registry_tags_are_followed_across_link_pages():
    pages = {
        "https://r.example/v2/autoscaling/cluster-autoscaler/tags/list":
            (b'{"tags": ["v1.35.1"]}', {"link": '</v2/autoscaling/cluster-autoscaler/tags/list?n=1&last=v1.35.1>; rel="next"'}),
        "https://r.example/v2/autoscaling/cluster-autoscaler/tags/list?n=1&last=v1.35.1": (b'{"tags": ["v1.35.2"]}', {}),
    }
    assert catalog._tags("https://r.example", lambda url, headers: pages[url]) == ["v1.35.1", "v1.35.2"]


@pytest.mark.parametrize("value,day", [
    ("2025-11-25T16:00:00-08:00", datetime.date(2025, 11, 26)),
    ("2026-03-21T00:00:00+00:00", datetime.date(2026, 3, 21)),
    ("2026-03-21T00:00:00.123000+00:00", datetime.date(2026, 3, 21)),
    (1774051200, datetime.date(2026, 3, 21)),
    (1774051200.0, datetime.date(2026, 3, 21)),
])
def test_cli_timestamps_are_read_as_their_utc_day(value, day):
    assert catalog._utc_date(value, "t") == day


@pytest.mark.parametrize("value", ["2026-03-21", "2026-03-21T00:00:00", "soon", None, True, [1]])
def test_a_timestamp_without_a_zone_or_not_a_timestamp_is_refused(value):
    with pytest.raises(catalog.CallFailed, match="is not a timestamp"):
        catalog._utc_date(value, "t")


@pytest.mark.parametrize("registry", ["registry.k8s.io", "ftp://registry.k8s.io", "https://r.example/v2/x", ""])
def test_a_registry_that_is_not_a_url_is_refused_before_any_call(registry, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["catalog", "refresh", "--registry", registry])
    assert caught.value.code == 2
    assert "is not a registry URL" in capsys.readouterr().err


# --- check ---------------------------------------------------------------------------------------

def check(project_dir, day) -> tuple[list[str], list[str]]:
    return catalog.check(day, project_dir)


def test_check_passes_when_the_default_is_the_rules_choice_in_standard_support_with_its_pins(project, aws, registry):
    assert refresh(registry) == EXIT_OK
    assert check(project, TODAY)[0] == []
    assert main(["catalog", "check", "--today", str(TODAY)]) == EXIT_OK


def test_check_fails_from_the_day_the_default_leaves_standard_support(project, aws, registry, capsys):
    assert refresh(registry) == EXIT_OK
    last_standard_day = rows(project)["1.36"].end_of_standard_support - datetime.timedelta(days=1)
    assert check(project, last_standard_day)[0] == []
    problems, _ = check(project, last_standard_day + datetime.timedelta(days=1))
    assert "Pulumi.yaml's default Kubernetes 1.36 is not in standard support on 2027-08-02: extended" in problems
    assert main(["catalog", "check", "--today", "2027-08-02"]) == EXIT_FAILED
    assert "problem: Pulumi.yaml's default Kubernetes 1.36" in capsys.readouterr().out


def test_check_warns_while_the_default_nears_the_end_of_standard_support(project, aws, registry):
    assert refresh(registry) == EXIT_OK
    problems, warnings = check(project, datetime.date(2027, 7, 20))
    assert problems == []
    assert any("leaves EKS standard support on 2027-08-02" in warning for warning in warnings)


def test_check_fails_when_the_default_lacks_a_pin(project):
    problems, _ = check(project, datetime.date(2026, 12, 3))
    assert "Pulumi.yaml's default Kubernetes 1.35 has no pinned vpc-cni: the program installs whatever AWS marks default, which moves when AWS moves it" in problems


def test_check_fails_when_a_newer_version_is_the_rules_choice(project, aws, registry):
    assert refresh(registry) == EXIT_OK
    text = (project / "Pulumi.yaml").read_text().replace('default: "1.36"', 'default: "1.35"', 1)
    (project / "Pulumi.yaml").write_text(text)
    problems, _ = check(project, TODAY)
    assert problems == ["Pulumi.yaml declares 1.35 but the rule chooses 1.36 on 2027-01-15: run `python -m ops catalog refresh`"]


def test_check_names_a_stack_file_whose_version_eks_no_longer_accepts(project, aws, registry):
    assert refresh(registry) == EXIT_OK
    with (project / "Pulumi.dev.yaml").open("a") as stack:
        stack.write('  backend-on-eks:kubernetesVersion: "1.30"\n')
    problems, _ = check(project, TODAY)
    assert any(p.startswith("Pulumi.dev.yaml: Kubernetes 1.30 reached the end of EKS extended support") for p in problems)


def test_check_refuses_a_day_that_is_not_a_date(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["catalog", "check", "--today", "tomorrow"])
    assert caught.value.code == 2
    assert "--today 'tomorrow' is not a date YYYY-MM-DD" in capsys.readouterr().err


def test_the_stand_in_answers_an_unknown_option_as_the_cli_does(aws):
    import subprocess
    result = subprocess.run(["aws", "eks", "describe-cluster-versions", "--bogus"], capture_output=True, text=True)
    assert result.returncode == 252 and "Unknown options: --bogus" in result.stderr



def test_the_real_aws_cli_accepts_every_argument_list_the_refresh_passes(project, aws, registry, tmp_path, monkeypatch):
    # Where a real AWS CLI is installed, it parses each command line the refresh ran against the
    # stand-in: without credentials it stops at "Unable to locate credentials", after parsing.
    real = shutil.which("aws", path=os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                                                     if p != str(aws.bin)))
    if real is None:
        pytest.skip("no real AWS CLI on PATH")
    monkeypatch.setattr(catalog, "PAGE_ITEMS", 3)  # --starting-token calls too
    assert refresh(registry) == EXIT_OK
    assert any("--starting-token" in call for call in aws.calls)
    no_credentials = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "AWS_CONFIG_FILE": os.devnull,
                      "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_EC2_METADATA_DISABLED": "true"}
    import subprocess
    for call in {tuple(call) for call in aws.calls}:
        result = subprocess.run([real, *call], capture_output=True, text=True, timeout=60, env=no_credentials)
        assert "Unable to locate credentials" in result.stderr, (call, result.stderr)
