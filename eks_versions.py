"""Which EKS Kubernetes versions a stack may use, what they cost, and the add-on versions pinned to each.

The facts live in `catalog/eks-versions.json`, which `python -m ops catalog refresh` rewrites from
AWS's own answers (`aws eks describe-cluster-versions`, `aws eks describe-addon-versions`); this
module loads it into `VERSIONS` and only reads it. Standard library only: `settings.py` imports
this module, and so may tests and tools without Pulumi.

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

The program never reads the date itself: `utc_today()` is the one place the wall clock is read,
and every function here takes `today`, so a test (or `ops catalog check --today`) can ask what any
day would bring.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
# Every add-on the catalog records AWS's default version of, in `describe-addon-versions` spelling.
CATALOG_ADDONS = ("amazon-cloudwatch-observability", "coredns", "eks-pod-identity-agent", "kube-proxy", "metrics-server",
                  "vpc-cni")

# A version leaving standard support this soon is announced at every preview and up.
STANDARD_SUPPORT_NOTICE_DAYS = 30

CATALOG_FILE = Path(__file__).resolve().parent / "catalog" / "eks-versions.json"

STANDARD = "standard"
EXTENDED = "extended"
ENDED = "ended"
UNKNOWN = "unknown"

# v<semver>-eksbuild.<n>, the form of every EKS add-on version ("Versions are specified as
# major-version.minor-version.patch-version-eksbuild.build-number", managing-vpc-cni).
ADDON_VERSION = re.compile(r"^v(\d+)\.(\d+)\.(\d+)-eksbuild\.(\d+)$")


@dataclass(frozen=True)
class AddonPins:
    """EKS add-on versions for one Kubernetes version (AWS's default for it); None where none is known."""

    vpc_cni: str | None
    kube_proxy: str | None
    coredns: str | None
    metrics_server: str | None = None
    eks_pod_identity_agent: str | None = None
    amazon_cloudwatch_observability: str | None = None

    def missing(self, addons: tuple[str, ...] = ()) -> tuple[str, ...]:
        """The add-ons of `addons` (every catalog add-on when empty) that have no pin."""
        return tuple(name for name, value in self.by_addon_name().items()
                     if value is None and (not addons or name in addons))

    def by_addon_name(self) -> dict[str, str | None]:
        """Keyed by the EKS add-on names, as `aws eks describe-addon-versions` spells them."""
        return {"vpc-cni": self.vpc_cni, "kube-proxy": self.kube_proxy, "coredns": self.coredns,
                "metrics-server": self.metrics_server, "eks-pod-identity-agent": self.eks_pod_identity_agent,
                "amazon-cloudwatch-observability": self.amazon_cloudwatch_observability}

    @classmethod
    def from_addon_names(cls, pins: dict[str, str | None]) -> "AddonPins":
        return cls(vpc_cni=pins.get("vpc-cni"), kube_proxy=pins.get("kube-proxy"), coredns=pins.get("coredns"),
                   metrics_server=pins.get("metrics-server"),
                   eks_pod_identity_agent=pins.get("eks-pod-identity-agent"),
                   amazon_cloudwatch_observability=pins.get("amazon-cloudwatch-observability"))


DATE_FIELDS = ("released", "endOfStandardSupport", "endOfExtendedSupport")


@dataclass(frozen=True)
class EksVersion:
    version: str
    released: _dt.date  # Amazon EKS release (not the upstream Kubernetes release)
    end_of_standard_support: _dt.date
    end_of_extended_support: _dt.date
    addons: AddonPins
    # Date fields (catalog spelling) not read from AWS but computed from AWS's rule (14 months of
    # standard support, then 12 of extended, from the EKS release) or taken from a secondary source.
    derived: tuple[str, ...] = ()
    # Where each fact came from ("calendar" for the dates, an add-on name for its pin).
    sources: tuple[tuple[str, str], ...] = ()


class CatalogError(ValueError):
    """The catalog file does not hold a table this module can trust; the message names the entry."""


def rows_from_document(document: Any) -> tuple[EksVersion, ...]:
    """The rows of a catalog document (the parsed JSON), oldest first; CatalogError naming the entry."""
    if not isinstance(document, dict) or not isinstance(document.get("versions"), list):
        raise CatalogError("the catalog must be an object with a list under \"versions\"")
    rows = []
    for index, entry in enumerate(document["versions"]):
        name = entry.get("version") if isinstance(entry, dict) else None
        where = f"versions[{index}] ({name})" if name else f"versions[{index}]"
        try:
            addons = entry["addons"]
            if not isinstance(addons, dict) or set(addons) - set(CATALOG_ADDONS):
                raise CatalogError(f"{where}: addons must map only {', '.join(CATALOG_ADDONS)} to versions")
            rows.append(EksVersion(
                version=str(entry["version"]),
                released=_dt.date.fromisoformat(entry["released"]),
                end_of_standard_support=_dt.date.fromisoformat(entry["endOfStandardSupport"]),
                end_of_extended_support=_dt.date.fromisoformat(entry["endOfExtendedSupport"]),
                addons=AddonPins.from_addon_names(addons),
                derived=tuple(entry.get("derived", ())),
                sources=tuple(sorted(entry.get("sources", {}).items())),
            ))
        except CatalogError:
            raise
        except (KeyError, TypeError, ValueError) as error:
            raise CatalogError(f"{where}: {type(error).__name__}: {error}") from None
    problems = table_problems(rows)
    if problems:
        raise CatalogError("; ".join(problems))
    return tuple(rows)


def document_from_rows(rows: tuple[EksVersion, ...], comment: str) -> dict[str, Any]:
    return {"comment": comment, "versions": [{
        "version": row.version,
        "released": row.released.isoformat(),
        "endOfStandardSupport": row.end_of_standard_support.isoformat(),
        "endOfExtendedSupport": row.end_of_extended_support.isoformat(),
        "addons": {name: row.addons.by_addon_name()[name] for name in CATALOG_ADDONS},
        "derived": list(row.derived),
        "sources": dict(row.sources),
    } for row in rows]}


def render(document: dict[str, Any]) -> str:
    """The catalog file's text: the same document always gives the same bytes."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def minor(version: str) -> int | None:
    """The minor of "1.<minor>", or None for anything else."""
    match = re.fullmatch(r"1\.(\d+)", version)
    return int(match[1]) if match else None


def table_problems(rows: list[EksVersion] | tuple[EksVersion, ...]) -> list[str]:
    """What is wrong with a table, each problem naming its entry: versions that are not 1.<minor>,
    out of order or repeated, support dates out of order, and pins that are not EKS add-on versions
    or (kube-proxy, built per Kubernetes minor) not of the row's minor."""
    problems = []
    previous: EksVersion | None = None
    for row in rows:
        row_minor = minor(row.version)
        if row_minor is None:
            problems.append(f"{row.version!r}: not a Kubernetes version of the form 1.<minor>")
            continue
        # `previous` is only ever a row whose version read as 1.<minor>.
        if previous is not None and row_minor <= (minor(previous.version) or 0):
            problems.append(f"{row.version}: comes after {previous.version}; rows must be oldest first, once each")
        if not row.released < row.end_of_standard_support < row.end_of_extended_support:
            problems.append(
                f"{row.version}: dates out of order: released {row.released}, end of standard support "
                f"{row.end_of_standard_support}, end of extended support {row.end_of_extended_support}")
        if set(row.derived) - set(DATE_FIELDS):
            problems.append(f"{row.version}: derived names {sorted(set(row.derived) - set(DATE_FIELDS))}, "
                            f"not date fields ({', '.join(DATE_FIELDS)})")
        for addon, pin in row.addons.by_addon_name().items():
            if pin is None:
                continue
            match = ADDON_VERSION.fullmatch(pin)
            if not match:
                problems.append(f"{row.version}: {addon} pin {pin!r} is not an EKS add-on version (v1.2.3-eksbuild.4)")
            elif addon == "kube-proxy" and f"{match[1]}.{match[2]}" != row.version:
                problems.append(f"{row.version}: kube-proxy pin {pin} is built for Kubernetes "
                                f"{match[1]}.{match[2]}, not {row.version}")
        previous = row
    return problems


def read_document(path: Path) -> Any:
    """A catalog file's parsed JSON; CatalogError naming the file when it cannot be read."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CatalogError(f"{path.name}: {error}") from None


def load(path: Path = CATALOG_FILE) -> tuple[EksVersion, ...]:
    return rows_from_document(read_document(path))


VERSIONS: tuple[EksVersion, ...] = load()
BY_VERSION: dict[str, EksVersion] = {row.version: row for row in VERSIONS}


def utc_today() -> _dt.date:
    """Today in UTC, the time zone of AWS's calendar (what the program should pass as `today`)."""
    return _dt.datetime.now(_dt.timezone.utc).date()


def support_status(version: str, today: _dt.date) -> str:
    """"standard", "extended", "ended", or "unknown" (not in the table, or not yet on EKS)."""
    return row_status(BY_VERSION.get(version), today)


def row_status(row: EksVersion | None, today: _dt.date) -> str:
    if row is None or today < row.released:
        return UNKNOWN
    if today < row.end_of_standard_support:
        return STANDARD
    if today < row.end_of_extended_support:
        return EXTENDED
    return ENDED


def accepted_versions(today: _dt.date, rows: tuple[EksVersion, ...] | None = None) -> tuple[str, ...]:
    """Versions a cluster can be created on today: in standard or extended support."""
    return tuple(row.version for row in (VERSIONS if rows is None else rows)
                 if row_status(row, today) in (STANDARD, EXTENDED))


def addon_versions(version: str) -> AddonPins:
    """The pinned add-on versions of `version`; KeyError for a version not in the table."""
    return BY_VERSION[version].addons


def default_version(today: _dt.date, rows: tuple[EksVersion, ...] | None = None) -> str:
    """The rule for the default version, the one `ops catalog refresh` writes into Pulumi.yaml and
    `ops catalog check` holds it to: the newest version in standard support on `today` whose
    installed add-ons are all pinned. `rows` defaults to the catalog; LookupError when none is."""
    candidates = [
        row.version for row in (VERSIONS if rows is None else rows)
        if row_status(row, today) == STANDARD and not row.addons.missing(INSTALLED_ADDONS)
    ]
    if not candidates:
        raise LookupError(
            f"no EKS version is in standard support with {' and '.join(INSTALLED_ADDONS)} pinned on "
            f"{today.isoformat()}: catalog/eks-versions.json needs `python -m ops catalog refresh`"
        )
    return candidates[-1]


def check(
    version: str, today: _dt.date, support_type: str | None = None, rows: tuple[EksVersion, ...] | None = None,
) -> tuple[list[str], list[str]]:
    """(problems, warnings) for running a cluster on `version` on `today`.

    Problems: a version not in the table or not yet on EKS, one past extended support, an
    unknown `support_type`, or STANDARD on a version already in extended support (EKS: "You
    cannot disable extended support once your cluster has entered it").
    Warnings: a version past standard support (what it costs from which date), one leaving it
    within STANDARD_SUPPORT_NOTICE_DAYS, add-ons this table has no pin for (the program then asks
    AWS for its default version: addon_versions.py).
    `support_type` is the cluster's upgrade policy; None skips the checks that need it.
    `rows` defaults to the catalog (`ops catalog check` passes another checkout's).
    """
    rows = VERSIONS if rows is None else rows
    problems: list[str] = []
    warnings: list[str] = []
    row = {row.version: row for row in rows}.get(version)
    status = row_status(row, today)
    if support_type is not None and support_type not in SUPPORT_TYPES:
        problems.append(
            f"upgrade policy {support_type!r} is not an EKS support type: use one of {', '.join(SUPPORT_TYPES)}"
        )
    refusal = _not_runnable(version, row, status, today, rows)
    if refusal is not None or row is None:
        return problems + ([refusal] if refusal else []), warnings
    if status == EXTENDED:
        warnings.append(_extended_support_warning(version, row, today, rows))
        if support_type == "STANDARD":
            problems.append(
                f"upgrade policy STANDARD with Kubernetes {version}: the version is already in "
                "extended support, and EKS cannot disable extended support once a cluster has "
                "entered it; upgrade the version or use EXTENDED"
            )
    if status == STANDARD and (row.end_of_standard_support - today).days <= STANDARD_SUPPORT_NOTICE_DAYS:
        warnings.append(_leaving_standard_support_warning(version, row, today, rows))
    missing = row.addons.missing(INSTALLED_ADDONS)
    if missing:
        warnings.append(
            f"no pinned {', '.join(missing)} add-on version for Kubernetes {version} in the catalog: the "
            "program installs the version AWS marks default for it, asked on every run, so it moves when "
            "AWS moves its default; `python -m ops catalog refresh` pins it"
        )
    return problems, warnings


def _not_runnable(version: str, row: EksVersion | None, status: str, today: _dt.date,
                  rows: tuple[EksVersion, ...]) -> str | None:
    """Why EKS runs no cluster on `version` on `today`, if it does not: unknown, not yet, or ended."""
    if status not in (UNKNOWN, ENDED):
        return None
    accepted = ", ".join(accepted_versions(today, rows)) or "none"
    if row is None:
        return (f"Kubernetes {version} is not an EKS version this program knows; "
                f"accepted on {today.isoformat()}: {accepted}")
    if status == UNKNOWN:
        return (f"Kubernetes {version} is not offered by EKS before {row.released.isoformat()}; "
                f"accepted on {today.isoformat()}: {accepted}")
    return (f"Kubernetes {version} reached the end of EKS extended support on "
            f"{row.end_of_extended_support.isoformat()}: EKS no longer creates clusters on it and "
            f"upgrades existing ones at any time; accepted on {today.isoformat()}: {accepted}")


def _extended_support_warning(version: str, row: EksVersion, today: _dt.date, rows: tuple[EksVersion, ...]) -> str:
    extra = (EXTENDED_USD_PER_CLUSTER_HOUR - STANDARD_USD_PER_CLUSTER_HOUR) * _HOURS_PER_MONTH
    standard = [r for r in rows if row_status(r, today) == STANDARD]
    advice = f"; {standard[-1].version} is in standard support until " \
             f"{standard[-1].end_of_standard_support.isoformat()}" if standard else ""
    return (
        f"Kubernetes {version} left EKS standard support on "
        f"{row.end_of_standard_support.isoformat()}: since then its control plane is billed "
        f"extended support, ${EXTENDED_USD_PER_CLUSTER_HOUR:.2f} per cluster-hour instead of "
        f"${STANDARD_USD_PER_CLUSTER_HOUR:.2f} (about ${extra:.0f} a month more), until EKS "
        f"upgrades it after {row.end_of_extended_support.isoformat()}{advice}"
    )


def _leaving_standard_support_warning(version: str, row: EksVersion, today: _dt.date,
                                      rows: tuple[EksVersion, ...]) -> str:
    days_left = (row.end_of_standard_support - today).days
    newer = [r.version for r in rows if (minor(r.version) or 0) > (minor(version) or 0)
             and row_status(r, today) == STANDARD]
    advice = f"; upgrade to {newer[0]} before then" if newer else ""
    return (
        f"Kubernetes {version} leaves EKS standard support on {row.end_of_standard_support.isoformat()}, "
        f"in {days_left} day{'s' if days_left != 1 else ''}: from then its control plane is billed "
        f"${EXTENDED_USD_PER_CLUSTER_HOUR:.2f} per cluster-hour, or EKS upgrades it under the STANDARD "
        f"upgrade policy{advice}"
    )

