"""Which EKS Kubernetes versions a stack may use, what they cost, and the add-on versions pinned to each.

One table, `VERSIONS`, holds every fact; the functions below only read it. Standard library
only: `settings.py` imports this module, and so may tests and tools without Pulumi.

The dates follow AWS's release calendar, which is kept in UTC: "Billing for extended support
starts at the beginning of the day that the version reaches end of standard support, in the
UTC+0 timezone", and on the end of extended support date "you can no longer create new Amazon
EKS clusters with the unsupported version" (Amazon EKS User Guide, "Understand the Kubernetes
version lifecycle on EKS", kubernetes-versions). So a version is
  - in standard support from its EKS release date up to the day before end of standard support,
  - in extended support from the end of standard support date up to the day before end of
    extended support,
  - ended from the end of extended support date on.
`aws eks describe-cluster-versions` agrees: it gives 1.31's endOfStandardSupportDate as
2025-11-25T16:00:00-08:00, i.e. 2025-11-26T00:00Z, the calendar's "November 26, 2025".

The add-on pins are the "latest version of the Amazon EKS add-on type for each Kubernetes
version" from AWS's tables. pulumi-eks resolves vpc-cni, kube-proxy and (when it installs it)
coredns with `getAddonVersion(mostRecent: true)` unless a version is given, so without a pin an
unrelated `pulumi up` can upgrade an add-on. A pin this table does not have is None: a made-up
version would make `pulumi up` fail, so a missing one is left out and reported by `check`.

To add a version: append a row with its sources; run tests/infra/test_eks_versions.py.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass

# EKS control-plane price per cluster-hour (Amazon EKS pricing; the extended rate is the one AWS's
# notices quote: "will be charged at $0.60 per cluster hour").
STANDARD_USD_PER_CLUSTER_HOUR = 0.10
EXTENDED_USD_PER_CLUSTER_HOUR = 0.60
_HOURS_PER_MONTH = 730

# The values of the cluster's upgrade policy (EKS API UpgradePolicyRequest.supportType; pulumi-aws
# ClusterUpgradePolicyArgs.support_type: "Valid values are `EXTENDED`, `STANDARD`"). EKS defaults
# to EXTENDED; STANDARD makes EKS upgrade the control plane at the end of standard support.
SUPPORT_TYPES = ("STANDARD", "EXTENDED")

# The add-ons the cluster installs as EKS add-ons, and so pins. CoreDNS is not one of them: with
# its default node group skipped, pulumi-eks installs the coredns add-on only for Fargate or Auto
# Mode, and EKS's own self-managed CoreDNS runs instead (its pin stays in the table for when).
INSTALLED_ADDONS = ("vpc-cni", "kube-proxy")

STANDARD = "standard"
EXTENDED = "extended"
ENDED = "ended"
UNKNOWN = "unknown"

# v<semver>-eksbuild.<n>, the form of every EKS add-on version ("Versions are specified as
# major-version.minor-version.patch-version-eksbuild.build-number", managing-vpc-cni).
ADDON_VERSION = re.compile(r"^v(\d+)\.(\d+)\.(\d+)-eksbuild\.(\d+)$")


@dataclass(frozen=True)
class AddonPins:
    """EKS add-on versions for one Kubernetes version; None where no AWS source had one."""

    vpc_cni: str | None
    kube_proxy: str | None
    coredns: str | None

    def missing(self, addons: tuple[str, ...] = ()) -> tuple[str, ...]:
        """The add-ons of `addons` (all three when empty) that have no pin."""
        return tuple(name for name, value in self.by_addon_name().items()
                     if value is None and (not addons or name in addons))

    def by_addon_name(self) -> dict[str, str | None]:
        """Keyed by the EKS add-on names, as `aws eks describe-addon-versions` spells them."""
        return {"vpc-cni": self.vpc_cni, "kube-proxy": self.kube_proxy, "coredns": self.coredns}


@dataclass(frozen=True)
class EksVersion:
    version: str
    released: _dt.date  # Amazon EKS release (not the upstream Kubernetes release)
    end_of_standard_support: _dt.date
    end_of_extended_support: _dt.date
    addons: AddonPins
    # Dates not read from an AWS page but computed from AWS's rule (14 months of standard support,
    # then 12 of extended, from the EKS release) or taken from a secondary source; see the row.
    derived: tuple[str, ...] = ()


def _d(text: str) -> _dt.date:
    return _dt.date.fromisoformat(text)


# Sources, cited per row below:
#   [CAL]  Amazon EKS User Guide, "Understand the Kubernetes version lifecycle on EKS",
#          section "Amazon EKS Kubernetes release calendar" (awsdocs/amazon-eks-user-guide,
#          latest/ug/versioning/kubernetes-versions.adoc; the stored copy lists 1.29-1.34).
#   [KP]   "Manage kube-proxy in Amazon EKS clusters", table "kube-proxy versions", as published
#          at docs.aws.amazon.com/ja_jp/eks/latest/userguide/managing-kube-proxy.md (lists
#          1.31-1.36; 1.29 and 1.30 had already left it).
#   [KP-OLD] the same table, older copies (docs.aws.amazon.com/ja_jp/.../managing-kube-proxy.html
#          and docs.amazonaws.cn/eks/latest/userguide/managing-kube-proxy.html), rows 1.29-1.30.
#   [CNI]  "Assign IPs to Pods with the Amazon VPC CNI", table "Amazon VPC CNI versions"
#          (docs.aws.amazon.com/eks/latest/userguide/managing-vpc-cni.md, stored copy listing
#          1.28-1.34, all v1.20.4-eksbuild.1). No AWS copy available here lists 1.35 or 1.36.
#   [DNS]  "Manage CoreDNS for DNS in Amazon EKS clusters", table "CoreDNS versions"
#          (docs.aws.amazon.com/eks/latest/userguide/managing-coredns.html, listing 1.28-1.34).
#   [DNS-CN] the same table in the China-regions copy
#          (docs.amazonaws.cn/en_us/eks/latest/userguide/managing-coredns.md), row 1.35.
#   [STD]  "Review release notes for Kubernetes versions on standard support"
#          (docs.aws.amazon.com/.../kubernetes-versions-standard): "Kubernetes 1.36 is now
#          available in Amazon EKS" - confirms 1.36 exists on EKS, gives no dates.
# Newest version: 1.36. Upstream Kubernetes 1.37 was released 2026-08-26, but no AWS source here
# says EKS offers it (aws/containers-roadmap#2864, "Support for Kubernetes 1.37", still open in
# the stored copy); add its row when AWS's calendar lists it.
VERSIONS: tuple[EksVersion, ...] = (
    EksVersion(
        "1.29", _d("2024-01-23"), _d("2025-03-23"), _d("2026-03-23"),  # [CAL]
        AddonPins(
            vpc_cni="v1.20.4-eksbuild.1",  # [CNI]
            kube_proxy="v1.29.15-eksbuild.16",  # [KP-OLD]
            coredns="v1.11.4-eksbuild.24",  # [DNS]
        ),
    ),
    EksVersion(
        "1.30", _d("2024-05-23"), _d("2025-07-23"), _d("2026-07-23"),  # [CAL]
        AddonPins(
            vpc_cni="v1.20.4-eksbuild.1",  # [CNI]
            kube_proxy="v1.30.14-eksbuild.8",  # [KP-OLD]
            coredns="v1.11.4-eksbuild.24",  # [DNS]
        ),
    ),
    EksVersion(
        "1.31", _d("2024-09-26"), _d("2025-11-26"), _d("2026-11-26"),  # [CAL]
        AddonPins(
            vpc_cni="v1.20.4-eksbuild.1",  # [CNI]
            kube_proxy="v1.31.14-eksbuild.20",  # [KP]
            coredns="v1.11.4-eksbuild.24",  # [DNS]
        ),
    ),
    EksVersion(
        "1.32", _d("2025-01-23"), _d("2026-03-23"), _d("2027-03-23"),  # [CAL]
        AddonPins(
            vpc_cni="v1.20.4-eksbuild.1",  # [CNI]
            kube_proxy="v1.32.13-eksbuild.16",  # [KP]
            coredns="v1.11.4-eksbuild.24",  # [DNS]
        ),
    ),
    EksVersion(
        "1.33", _d("2025-05-29"), _d("2026-07-29"), _d("2027-07-29"),  # [CAL]
        AddonPins(
            vpc_cni="v1.20.4-eksbuild.1",  # [CNI]
            kube_proxy="v1.33.10-eksbuild.13",  # [KP]
            coredns="v1.12.4-eksbuild.1",  # [DNS]
        ),
    ),
    EksVersion(
        "1.34", _d("2025-10-02"), _d("2026-12-02"), _d("2027-12-02"),  # [CAL]
        AddonPins(
            vpc_cni="v1.20.4-eksbuild.1",  # [CNI]
            kube_proxy="v1.34.6-eksbuild.13",  # [KP]
            coredns="v1.12.4-eksbuild.1",  # [DNS]
        ),
    ),
    # 1.35: the two end dates are AWS's calendar as reproduced by endoflife.date (which reads
    # the calendar table) and by aws-samples' EKS operation-review skill ("1.35 | March 27, 2027
    # | March 27, 2028"); the stored AWS copy ends at 1.34. The EKS release date is derived:
    # end of standard support minus 14 months.
    EksVersion(
        "1.35", _d("2026-01-27"), _d("2027-03-27"), _d("2028-03-27"),
        AddonPins(
            vpc_cni=None,  # not in any AWS table available here
            kube_proxy="v1.35.3-eksbuild.13",  # [KP]
            coredns="v1.14.2-eksbuild.4",  # [DNS-CN]
        ),
        derived=("released",),
    ),
    # 1.36: on EKS per [STD]. The EKS release date (2026-06-02) and end of standard support
    # (2027-08-02) are from a secondary source (devopsdreams, "Kubernetes 1.36 on Amazon EKS",
    # 2026-08-16) and match AWS's 14-month rule; end of extended support is derived (+12 months).
    EksVersion(
        "1.36", _d("2026-06-02"), _d("2027-08-02"), _d("2028-08-02"),
        AddonPins(
            vpc_cni=None,  # not in any AWS table available here
            kube_proxy="v1.36.0-eksbuild.14",  # [KP]
            coredns=None,  # not in any AWS table available here
        ),
        derived=("released", "end_of_standard_support", "end_of_extended_support"),
    ),
)

BY_VERSION: dict[str, EksVersion] = {row.version: row for row in VERSIONS}


def utc_today() -> _dt.date:
    """Today in UTC, the time zone of AWS's calendar (what the program should pass as `today`)."""
    return _dt.datetime.now(_dt.timezone.utc).date()


def support_status(version: str, today: _dt.date) -> str:
    """"standard", "extended", "ended", or "unknown" (not in the table, or not yet on EKS)."""
    row = BY_VERSION.get(version)
    if row is None or today < row.released:
        return UNKNOWN
    if today < row.end_of_standard_support:
        return STANDARD
    if today < row.end_of_extended_support:
        return EXTENDED
    return ENDED


def accepted_versions(today: _dt.date) -> tuple[str, ...]:
    """Versions a cluster can be created on today: in standard or extended support."""
    return tuple(row.version for row in VERSIONS if support_status(row.version, today) in (STANDARD, EXTENDED))


def addon_versions(version: str) -> AddonPins:
    """The pinned add-on versions of `version`; KeyError for a version not in the table."""
    return BY_VERSION[version].addons


def default_version(today: _dt.date) -> str:
    """The newest version in standard support whose installed add-ons are all pinned."""
    candidates = [
        row.version for row in VERSIONS
        if support_status(row.version, today) == STANDARD and not row.addons.missing(INSTALLED_ADDONS)
    ]
    if not candidates:
        raise LookupError(
            f"no EKS version is in standard support with all add-ons pinned on {today.isoformat()}: "
            "eks_versions.VERSIONS is out of date"
        )
    return candidates[-1]


def check(
    version: str, today: _dt.date, support_type: str | None = None
) -> tuple[list[str], list[str]]:
    """(problems, warnings) for running a cluster on `version` on `today`.

    Problems: a version not in the table or not yet on EKS, one past extended support, an
    unknown `support_type`, or STANDARD on a version already in extended support (EKS: "You
    cannot disable extended support once your cluster has entered it").
    Warnings: a version past standard support (what it costs from which date), add-ons this
    table has no pin for (pulumi-eks will pick the most recent one).
    `support_type` is the cluster's upgrade policy; None skips the checks that need it.
    """
    problems: list[str] = []
    warnings: list[str] = []
    accepted = ", ".join(accepted_versions(today)) or "none"
    status = support_status(version, today)
    row = BY_VERSION.get(version)

    if support_type is not None and support_type not in SUPPORT_TYPES:
        problems.append(
            f"upgrade policy {support_type!r} is not an EKS support type: use one of {', '.join(SUPPORT_TYPES)}"
        )

    if status == UNKNOWN:
        if row is None:
            problems.append(
                f"Kubernetes {version} is not an EKS version this program knows; "
                f"accepted on {today.isoformat()}: {accepted}"
            )
        else:
            problems.append(
                f"Kubernetes {version} is not offered by EKS before {row.released.isoformat()}; "
                f"accepted on {today.isoformat()}: {accepted}"
            )
        return problems, warnings

    if status == ENDED:
        problems.append(
            f"Kubernetes {version} reached the end of EKS extended support on "
            f"{row.end_of_extended_support.isoformat()}: EKS no longer creates clusters on it and "
            f"upgrades existing ones at any time; accepted on {today.isoformat()}: {accepted}"
        )
        return problems, warnings

    if status == EXTENDED:
        extra = (EXTENDED_USD_PER_CLUSTER_HOUR - STANDARD_USD_PER_CLUSTER_HOUR) * _HOURS_PER_MONTH
        newest = _newest_in_standard_support(today)
        advice = f"; {newest} is in standard support until " \
                 f"{BY_VERSION[newest].end_of_standard_support.isoformat()}" if newest else ""
        warnings.append(
            f"Kubernetes {version} left EKS standard support on "
            f"{row.end_of_standard_support.isoformat()}: since then its control plane is billed "
            f"extended support, ${EXTENDED_USD_PER_CLUSTER_HOUR:.2f} per cluster-hour instead of "
            f"${STANDARD_USD_PER_CLUSTER_HOUR:.2f} (about ${extra:.0f} a month more), until EKS "
            f"upgrades it after {row.end_of_extended_support.isoformat()}{advice}"
        )
        if support_type == "STANDARD":
            problems.append(
                f"upgrade policy STANDARD with Kubernetes {version}: the version is already in "
                "extended support, and EKS cannot disable extended support once a cluster has "
                "entered it; upgrade the version or use EXTENDED"
            )

    missing = row.addons.missing(INSTALLED_ADDONS)
    if missing:
        warnings.append(
            f"no pinned {', '.join(missing)} add-on version for Kubernetes {version}: pulumi-eks "
            "will install the most recent one, so a later `pulumi up` can upgrade it unasked"
        )
    return problems, warnings


def _newest_in_standard_support(today: _dt.date) -> str | None:
    standard = [row.version for row in VERSIONS if support_status(row.version, today) == STANDARD]
    return standard[-1] if standard else None
