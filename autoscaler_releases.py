"""The Cluster Autoscaler release that matches each Kubernetes minor, pinned by digest.

A per-version pin like eks_versions.py's add-on pins, kept out of components/node_autoscaler.py so
that settings.py can refuse a version without a pinned release before any resource is declared
(components never import settings, and settings imports no component). Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass

IMAGE_REPOSITORY = "registry.k8s.io/autoscaling/cluster-autoscaler"


@dataclass(frozen=True)
class AutoscalerRelease:
    tag: str
    digest: str | None
    """The image index (multi-arch manifest list) digest, or None where no public source gave one."""

    @property
    def image(self) -> str:
        pinned = f"@{self.digest}" if self.digest else ""
        return f"{IMAGE_REPOSITORY}:{self.tag}{pinned}"


# One row per Kubernetes minor: "We recommend using Cluster Autoscaler with the Kubernetes control
# plane (previously referred to as master) version for which it was meant" (cluster-autoscaler/
# README.md, Releases): CA's minor equals the cluster's.
# Sources:
#   [PROMO] kubernetes/k8s.io registry.k8s.io/images/k8s-staging-autoscaling/images.yaml, entry
#           `cluster-autoscaler` (the image promoter's manifest: the digest registry.k8s.io serves
#           for the tag). The stored copy ends at v1.33.1; later patches may exist.
#   [PUB]   not in a stored copy of the promoter manifest; the digest as re-resolved from the
#           registry and recorded in several independent public repositories (e.g. "official CA
#           1.35.2 image index aac369dc..."; "1.35.2 manifest-list digest ... Linux amd64 child
#           8c8cc9d7..."). Check with `crane digest IMAGE:TAG` before relying on it.
#   [ONE]   a single public repository records it; weaker than [PUB].
# 1.34: no digest for any 1.34 patch in any source available here; the tag alone (v1.34.5 is
# named in the release notes) makes the policy pack refuse the Deployment, which is the point.
RELEASES: dict[str, AutoscalerRelease] = {
    "1.31": AutoscalerRelease("v1.31.3", "sha256:b5ac5d93d0e43c6f4f14b0a3994ff905ed169aa0d614d7af702eca0a254cb8a8"),  # [PROMO]
    "1.32": AutoscalerRelease("v1.32.2", "sha256:c627d8d159a8cd6705a2612afd8a9ffc499e2fc37bad3525364427439b9224c0"),  # [PROMO]
    "1.33": AutoscalerRelease("v1.33.1", "sha256:0d53371b73eae57dbed927a72b71d4fe756ce4dbfe528b4217a1078cb13445f0"),  # [PROMO]
    "1.34": AutoscalerRelease("v1.34.5", None),
    "1.35": AutoscalerRelease("v1.35.2", "sha256:aac369dc283927a623deb1af54696efcc722ae79255aa07788422e495bab887d"),  # [PUB]
    "1.36": AutoscalerRelease("v1.36.1", "sha256:461388d03eb5b55db58941ee7a81d9a619dd15302b01cbab9f5a9946715994b4"),  # [ONE]
}


def release_for(kubernetes_version: str) -> AutoscalerRelease:
    """The CA release for a cluster on `kubernetes_version` ("1.35"); ValueError if none is known."""
    try:
        return RELEASES[kubernetes_version]
    except KeyError:
        raise ValueError(
            f"no Cluster Autoscaler release is pinned for Kubernetes {kubernetes_version}: CA's minor must "
            f"match the cluster's; known: {', '.join(RELEASES)} (autoscaler_releases.py RELEASES)"
        ) from None
