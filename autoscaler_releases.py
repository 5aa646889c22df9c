"""The Cluster Autoscaler release that matches each Kubernetes minor, pinned by digest.

A per-version pin like eks_versions.py's add-on pins, kept out of components/node_autoscaler.py so
that settings.py can refuse a version without a pinned release before any resource is declared
(components never import settings, and settings imports no component). Standard library only.

The facts live in `catalog/cluster-autoscaler.json`: `python -m ops catalog refresh` rewrites it
from the registry itself (the newest vMAJOR.MINOR.PATCH tag of each minor the EKS catalog has, and
the digest the registry serves for it). CA's minor follows the cluster's: "We recommend using
Cluster Autoscaler with the Kubernetes control plane (previously referred to as master) version
for which it was meant" (cluster-autoscaler/README.md, Releases).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The catalog's shared reading and writing: the same error, the same minors, the same bytes.
from eks_versions import CatalogError, minor, read_document, render  # noqa: F401 (render: ops/catalog.py writes with it)

IMAGE_REPOSITORY = "registry.k8s.io/autoscaling/cluster-autoscaler"
CATALOG_FILE = Path(__file__).resolve().parent / "catalog" / "cluster-autoscaler.json"

RULE_KEYS = frozenset({"apiGroups", "resources", "verbs", "resourceNames"})
TAG = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class AutoscalerRelease:
    tag: str
    digest: str | None
    """The image index (multi-arch manifest list) digest, or None where no source gave one."""
    source: str = ""
    cluster_rules: tuple[dict[str, list[str]], ...] = ()
    """The ClusterRole's rules this release needs: its Helm chart's, for the AWS provider
    (ops/chart_rbac.py). An informer CA may not list never syncs, and CA never starts scaling."""
    rules_source: str = ""

    @property
    def image(self) -> str:
        pinned = f"@{self.digest}" if self.digest else ""
        return f"{IMAGE_REPOSITORY}:{self.tag}{pinned}"


def release_problems(releases: dict[str, AutoscalerRelease]) -> list[str]:
    """Each problem names its entry: a key that is not 1.<minor>, a tag of another minor or not
    vMAJOR.MINOR.PATCH, a digest that is not sha256:<64 hex>."""
    problems = []
    for kubernetes, release in releases.items():
        if minor(kubernetes) is None:
            problems.append(f"{kubernetes!r}: not a Kubernetes minor of the form 1.<minor>")
            continue
        match = TAG.fullmatch(release.tag)
        if not match:
            problems.append(f"{kubernetes}: tag {release.tag!r} is not a release tag vMAJOR.MINOR.PATCH")
        elif f"{match[1]}.{match[2]}" != kubernetes:
            problems.append(f"{kubernetes}: tag {release.tag} is of Kubernetes {match[1]}.{match[2]}, not {kubernetes}")
        if release.digest is not None and not DIGEST.fullmatch(release.digest):
            problems.append(f"{kubernetes}: digest {release.digest!r} is not sha256:<64 hex digits>")
        problems += [f"{kubernetes}: {problem}" for problem in rule_problems(release.cluster_rules)]
    return problems


def rule_problems(rules: tuple[dict[str, list[str]], ...]) -> list[str]:
    if not rules:
        return ["no ClusterRole rules (cluster_rules): CA would be granted nothing"]
    problems = []
    for index, rule in enumerate(rules):
        where = f"cluster_rules[{index}]"
        if not isinstance(rule, dict) or not {"apiGroups", "resources", "verbs"} <= set(rule) or set(rule) - RULE_KEYS:
            problems.append(f"{where}: a rule has apiGroups, resources, verbs and optionally resourceNames")
            continue
        for key, names in rule.items():
            if (not isinstance(names, list) or not names or not all(isinstance(name, str) for name in names)
                    or key != "apiGroups" and "" in names):
                problems.append(f"{where}.{key}: {names!r} is not a list of names")
    return problems


def releases_from_document(document: Any) -> dict[str, AutoscalerRelease]:
    if not isinstance(document, dict) or not isinstance(document.get("releases"), dict):
        raise CatalogError("the catalog must be an object with a map under \"releases\"")
    if document.get("repository") != IMAGE_REPOSITORY:
        raise CatalogError(f"repository {document.get('repository')!r} is not {IMAGE_REPOSITORY}")
    releases = {}
    for kubernetes, entry in sorted(document["releases"].items(), key=lambda item: (minor(item[0]) or -1, item[0])):
        if not isinstance(entry, dict) or not isinstance(entry.get("tag"), str):
            raise CatalogError(f"releases[{kubernetes}]: must be an object with a tag")
        rules = entry.get("cluster_rules", [])
        if not isinstance(rules, list):
            raise CatalogError(f"releases[{kubernetes}].cluster_rules: must be a list of rules")
        releases[kubernetes] = AutoscalerRelease(entry["tag"], entry.get("digest"), entry.get("source", ""),
                                                 tuple(rules), entry.get("rules_source", ""))
    problems = release_problems(releases)
    if problems:
        raise CatalogError("; ".join(problems))
    return releases


def document_from_releases(releases: dict[str, AutoscalerRelease], comment: str) -> dict[str, Any]:
    return {"comment": comment, "repository": IMAGE_REPOSITORY, "releases": {
        kubernetes: {"tag": release.tag, "digest": release.digest, "source": release.source,
                     "cluster_rules": list(release.cluster_rules), "rules_source": release.rules_source}
        for kubernetes, release in releases.items()}}


def load(path: Path = CATALOG_FILE) -> dict[str, AutoscalerRelease]:
    return releases_from_document(read_document(path))


RELEASES: dict[str, AutoscalerRelease] = load()


def release_for(kubernetes_version: str) -> AutoscalerRelease:
    """The CA release for a cluster on `kubernetes_version` ("1.35"); ValueError if none is known."""
    try:
        return RELEASES[kubernetes_version]
    except KeyError:
        raise ValueError(
            f"no Cluster Autoscaler release is pinned for Kubernetes {kubernetes_version}: CA's minor must "
            f"match the cluster's; known: {', '.join(RELEASES)} (catalog/cluster-autoscaler.json)"
        ) from None
