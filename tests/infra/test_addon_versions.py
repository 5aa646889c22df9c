"""pulumi-eks never picks the add-on versions itself: left without one, it asks for the newest
(`mostRecent: true`) on every run, and each new release of vpc-cni or kube-proxy would show in
every preview, restart aws-node and fail the drift check."""

from __future__ import annotations

import pytest

import eks_versions
from ops import catalog
from ops.offline import fakes, harness
from ops.offline.stacks import evaluate_stack
from tests.support.clock import SUITE_TODAY

PREFIX = "backend-on-eks:"
ADDON_VERSION = "aws:eks/getAddonVersion:getAddonVersion"


def _versions(evaluation: harness.Evaluation) -> dict[str, object]:
    cluster = evaluation.one("eks:index:Cluster").inputs
    return {"vpc-cni": cluster["vpcCniOptions"].get("addonVersion"),
            "kube-proxy": cluster["kubeProxyAddonOptions"].get("version")}


def _asked(evaluation: harness.Evaluation) -> list[dict]:
    return [invoke.args for invoke in evaluation.invokes if invoke.token == ADDON_VERSION]


@pytest.fixture(scope="module", params=list(eks_versions.accepted_versions(SUITE_TODAY)))
def on_each_accepted_version(request) -> harness.Evaluation:
    return evaluate_stack("dev", {PREFIX + "kubernetesVersion": request.param,
                                  PREFIX + "kubernetesUpgradePolicy": "EXTENDED"})


def test_every_accepted_version_gets_both_installed_add_ons_with_a_version(on_each_accepted_version):
    assert all(_versions(on_each_accepted_version).values()), _versions(on_each_accepted_version)


def test_a_catalog_pin_is_installed_as_pinned_without_asking_aws(on_each_accepted_version):
    version = on_each_accepted_version.config[PREFIX + "kubernetesVersion"]
    pins = eks_versions.addon_versions(version).by_addon_name()
    asked = {args["addonName"] for args in _asked(on_each_accepted_version)}
    for addon, installed in _versions(on_each_accepted_version).items():
        if pins[addon]:
            assert installed == pins[addon] and addon not in asked, addon


def test_without_a_catalog_pin_the_version_aws_marks_default_is_installed_never_the_newest(on_each_accepted_version):
    version = on_each_accepted_version.config[PREFIX + "kubernetesVersion"]
    pins = eks_versions.addon_versions(version).by_addon_name()
    for args in _asked(on_each_accepted_version):
        assert args["mostRecent"] is False, args
        assert args["kubernetesVersion"] == version
    unpinned = [addon for addon in ("vpc-cni", "kube-proxy") if not pins[addon]]
    assert sorted(args["addonName"] for args in _asked(on_each_accepted_version)) == sorted(unpinned)


def test_the_default_versions_missing_vpc_cni_pin_is_filled_from_aws_in_preview_too():
    # The default (1.35 as this is written) has no vpc-cni pin in the catalog: a preview shows the
    # version the up would install, not an unknown.
    version = catalog.declared_default((harness.PROJECT_DIR / "Pulumi.yaml").read_text())
    if eks_versions.addon_versions(version).vpc_cni is not None:
        pytest.skip(f"the catalog pins vpc-cni for the default {version} now")
    evaluation = evaluate_stack("dev", preview=True)
    [asked] = [args for args in _asked(evaluation) if args["addonName"] == "vpc-cni"]
    assert asked == {"addonName": "vpc-cni", "kubernetesVersion": version, "mostRecent": False}
    assert _versions(evaluation)["vpc-cni"] == fakes._addon_version(asked)["version"]
