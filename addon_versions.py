"""Which version of each add-on pulumi-eks installs (vpc-cni, kube-proxy): never "the newest".

Left without a version, pulumi-eks asks `eks:getAddonVersion` with `mostRecent: true` on every
run (nodejs/eks/addons/cni-addon.ts and cluster/cluster.ts at v4.4.0), so each new add-on release
shows in every pull request's preview, restarts aws-node on the next `up`, and fails the drift
check. The catalog's pin (catalog/eks-versions.json, AWS's default version when `ops catalog
refresh` last asked) is used when there is one; otherwise the program asks AWS for the version it
marks default for the cluster's Kubernetes version (`mostRecent: false`), which moves only when AWS
changes its default, and says so at preview.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws


def installed_version(addon_name: str, kubernetes_version: str, pinned: str | None) -> pulumi.Input[str]:
    if pinned:
        return pinned
    return aws.eks.get_addon_version_output(
        addon_name=addon_name, kubernetes_version=kubernetes_version, most_recent=False,
    ).version
