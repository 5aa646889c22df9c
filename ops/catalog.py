"""`python -m ops catalog refresh` and `check`: the tables of AWS facts, asked of AWS instead of copied.

`refresh` asks, with read-only credentials:
  - `aws eks describe-cluster-versions`: each EKS version, its release, end of standard and of
    extended support;
  - `aws eks describe-addon-versions --addon-name <name>`: for each Kubernetes version, the add-on
    version AWS marks `defaultVersion` (vpc-cni, kube-proxy, coredns, metrics-server,
    eks-pod-identity-agent);
  - registry.k8s.io: the newest vMAJOR.MINOR.PATCH tag of the Cluster Autoscaler for each minor
    the EKS catalog has, and the digest of the image index that tag serves;
then rewrites catalog/eks-versions.json, catalog/cluster-autoscaler.json and Pulumi.yaml's default
Kubernetes version (eks_versions.default_version's rule, never more than one minor at a time: EKS
upgrades a control plane one minor per update). The same answers give byte-identical files. Every
answer is read and checked before any file is written: a failed, throttled, partial or malformed
answer changes nothing and the error names the call.

`check` holds the repository to the rule on a day (today by default): the declared default is in
standard support with every installed add-on pinned and is the rule's choice, and every stack's
version is one EKS accepts. The scheduled workflow (.github/workflows/catalog.yml) runs both.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import yaml

import autoscaler_releases
import eks_versions
from ops import EXIT_FAILED, EXIT_OK, chart_rbac, prices

PROJECT_DIR = Path(__file__).resolve().parent.parent
REGISTRY = "https://registry.k8s.io"
CHART_SOURCE = "https://raw.githubusercontent.com/kubernetes/autoscaler"
# Where each tag's tree holds the chart's ClusterRole template: under cluster-autoscaler/ from the
# 1.35 releases' tags, at the top before.
CHART_PATHS = ("cluster-autoscaler/charts/cluster-autoscaler/templates/clusterrole.yaml",
               "charts/cluster-autoscaler/templates/clusterrole.yaml")
AUTOSCALER_NAME = "autoscaling/cluster-autoscaler"
# Items per CLI page (`--max-items`): a page boundary every few answers, so a paginated answer is
# followed the way the CLI documents it, with the top-level NextToken it prints.
PAGE_ITEMS = 50
MAX_PAGES = 100
AWS_TIMEOUT_SECONDS = 120
HTTP_TIMEOUT_SECONDS = 30
INDEX_MEDIA_TYPES = ("application/vnd.oci.image.index.v1+json",
                     "application/vnd.docker.distribution.manifest.list.v2+json")
SINGLE_IMAGE_MEDIA_TYPES = ("application/vnd.oci.image.manifest.v1+json",
                            "application/vnd.docker.distribution.manifest.v2+json")
AWS_SOURCE = "aws eks describe-cluster-versions"
ADDON_SOURCE = "aws eks describe-addon-versions (defaultVersion)"
REGISTRY_SOURCE = "registry.k8s.io: newest tag of the minor, digest of the index it serves"
EKS_COMMENT = ("Written by `python -m ops catalog refresh` from `aws eks describe-cluster-versions` and "
               "`aws eks describe-addon-versions`; rows whose sources name documents were copied by hand "
               "before the refresh existed. Change it by running the refresh, not by hand.")
AUTOSCALER_COMMENT = ("Written by `python -m ops catalog refresh` from the registry's tags and manifests "
                      "and, for the ClusterRole rules, each release's Helm chart at its tag; change it by "
                      "running the refresh, not by hand.")
_DEFAULT_LINE = re.compile(r"(?m)^(  kubernetesVersion:\n(?:    .*\n)*?    default: )\"([^\"\n]*)\"$")


class CallFailed(Exception):
    """A call to AWS or the registry failed or answered what the catalog cannot trust."""


class NotFound(CallFailed):
    """HTTP 404: the one answer that means "look elsewhere" rather than "stop"."""


# --- asking AWS --------------------------------------------------------------------------------

def aws_json(arguments: list[str], region: str | None, timeout: float = AWS_TIMEOUT_SECONDS,
             paging: Sequence[str] = ()) -> Any:
    """What one `aws` command printed, as JSON; CallFailed (naming the command, its `paging` flags
    left out) for anything else."""
    command = ["aws", *arguments, "--output", "json", *paging] + (["--region", region] if region else [])
    shown = " ".join(["aws", *arguments])
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        raise CallFailed(f"`{shown}`: no `aws` CLI on PATH") from None
    except subprocess.TimeoutExpired:
        raise CallFailed(f"`{shown}`: no answer within {timeout:g} s") from None
    if result.returncode != 0:
        reason = " ".join(result.stderr.split()) or "no message"
        raise CallFailed(f"`{shown}` failed (exit {result.returncode}): {reason}")
    try:
        return json.loads(result.stdout)
    except ValueError:
        raise CallFailed(f"`{shown}` answered something that is not JSON: {result.stdout[:200]!r}") from None


def aws(arguments: list[str], result_key: str, region: str | None) -> list[Any]:
    """Every item of `result_key` across the pages of a paginated `aws` command, as the CLI pages
    them with --max-items and --starting-token (its top-level "NextToken")."""
    items: list[Any] = []
    token = None
    seen_tokens = set()
    shown = " ".join(["aws", *arguments])
    for _ in range(MAX_PAGES):
        paging = ["--max-items", str(PAGE_ITEMS)] + (["--starting-token", token] if token else [])
        page = aws_json(arguments, region, paging=paging)
        if not isinstance(page, dict) or not isinstance(page.get(result_key), list):
            raise CallFailed(f"`{shown}` answered without a {result_key!r} list: {str(page)[:200]!r}")
        items += page[result_key]
        token = page.get("NextToken")
        if not token:
            return items
        if token in seen_tokens:
            raise CallFailed(f"`{shown}` answered the same NextToken twice: a pagination loop")
        seen_tokens.add(token)
    raise CallFailed(f"`aws {' '.join(arguments)}` still had pages after {MAX_PAGES}")


def _utc_date(value: Any, where: str) -> datetime.date:
    """A timestamp as the CLI prints it (ISO 8601 in the machine's zone, or the wire's epoch
    seconds with cli_timestamp_format=wire) as its UTC date: AWS's calendar is kept in UTC."""
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            moment = datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
        else:
            moment = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            if moment.tzinfo is None:
                raise ValueError("no time zone")
    except (TypeError, ValueError, OverflowError, OSError):
        raise CallFailed(f"{where}: {value!r} is not a timestamp") from None
    return moment.astimezone(datetime.timezone.utc).date()


def eks_rows(cluster_versions: list[Any], addon_answers: dict[str, list[Any]],
             previous: tuple[eks_versions.EksVersion, ...]) -> tuple[eks_versions.EksVersion, ...]:
    """The catalog's rows from AWS's answers. A version AWS no longer lists is kept only when it is
    older than every version it lists (it has aged out); one missing among them is a partial answer."""
    call = "`aws eks describe-cluster-versions`"
    answered: dict[str, dict] = {}
    for index, entry in enumerate(cluster_versions):
        if not isinstance(entry, dict) or not isinstance(entry.get("clusterVersion"), str):
            raise CallFailed(f"{call}: clusterVersions[{index}] has no clusterVersion")
        if entry.get("clusterType", "eks") != "eks":
            continue
        version = entry["clusterVersion"]
        if version in answered:
            raise CallFailed(f"{call}: {version} answered twice")
        answered[version] = entry
    if not answered:
        raise CallFailed(f"{call} answered no EKS version")
    minors = {version: _minor(version, call) for version in answered}
    oldest = min(minors.values())
    kept = []
    for row in previous:
        if row.version not in answered:
            if _minor(row.version, "catalog") >= oldest:
                raise CallFailed(f"{call}: the answer lacks {row.version}, which AWS lists until "
                                 f"{row.end_of_extended_support}: a partial answer")
            kept.append(row)
    defaults = {name: _addon_defaults(name, answer) for name, answer in addon_answers.items()}
    rows = list(kept)
    for version in sorted(answered, key=lambda answered_version: minors[answered_version]):
        entry = answered[version]
        dates = {}
        for field in ("releaseDate", "endOfStandardSupportDate", "endOfExtendedSupportDate"):
            if field not in entry:
                raise CallFailed(f"{call}: {version} has no {field}")
            dates[field] = _utc_date(entry[field], f"{call}: {version} {field}")
        pins = {name: defaults[name].get(version) for name in eks_versions.CATALOG_ADDONS}
        sources = {"calendar": AWS_SOURCE} | {name: ADDON_SOURCE for name, pin in pins.items() if pin}
        rows.append(eks_versions.EksVersion(
            version, dates["releaseDate"], dates["endOfStandardSupportDate"], dates["endOfExtendedSupportDate"],
            eks_versions.AddonPins.from_addon_names(pins), (), tuple(sorted(sources.items()))))
    problems = eks_versions.table_problems(rows)
    if problems:
        raise CallFailed(f"AWS's answers make a table the catalog refuses: {'; '.join(problems)}")
    return tuple(rows)


def _addon_defaults(name: str, addons: list[Any]) -> dict[str, str]:
    """Kubernetes version -> the add-on version AWS marks default for it."""
    call = f"`aws eks describe-addon-versions --addon-name {name}`"
    matching = [addon for addon in addons if isinstance(addon, dict) and addon.get("addonName") == name]
    if not matching:
        raise CallFailed(f"{call} answered no add-on named {name}: EKS does not know it (or the answer is partial)")
    defaults: dict[str, str] = {}
    for addon in matching:
        for version in addon.get("addonVersions") or []:
            if not isinstance(version, dict) or not isinstance(version.get("addonVersion"), str):
                raise CallFailed(f"{call}: an addonVersions entry has no addonVersion")
            for compatibility in version.get("compatibilities") or []:
                if not isinstance(compatibility, dict) or not compatibility.get("defaultVersion"):
                    continue
                cluster_version = str(compatibility.get("clusterVersion"))
                earlier = defaults.setdefault(cluster_version, version["addonVersion"])
                if earlier != version["addonVersion"]:
                    raise CallFailed(f"{call}: two default versions for Kubernetes {cluster_version}: "
                                     f"{earlier} and {version['addonVersion']}")
    return defaults


def _minor(version: str, where: str) -> int:
    found = eks_versions.minor(version)
    if found is None:
        raise CallFailed(f"{where}: {version!r} is not a Kubernetes version 1.<minor>")
    return found


# --- asking the registry -------------------------------------------------------------------------

Fetch = Callable[[str, dict[str, str]], tuple[bytes, dict[str, str]]]


def http_get(url: str, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:
            return response.read(), {key.lower(): value for key, value in response.headers.items()}
    except urllib.error.HTTPError as error:
        failure = NotFound if error.code == 404 else CallFailed
        raise failure(f"GET {url}: HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError) as error:
        raise CallFailed(f"GET {url}: {getattr(error, 'reason', error)}") from None


def autoscaler_releases_from_registry(
    registry: str, minors: list[str], previous: dict[str, autoscaler_releases.AutoscalerRelease],
    fetch: Fetch = http_get, chart_source: str = CHART_SOURCE,
) -> dict[str, autoscaler_releases.AutoscalerRelease]:
    tags = _tags(registry, fetch)
    newest: dict[str, tuple[int, str]] = {}
    for tag in tags:
        match = autoscaler_releases.TAG.fullmatch(tag)
        if match and match[1] == "1":
            minor = f"1.{match[2]}"
            newest[minor] = max(newest.get(minor, (-1, "")), (int(match[3]), tag))
    releases = {}
    for minor in minors:
        if minor not in newest:
            if minor in previous:
                raise CallFailed(f"GET {registry}/v2/{AUTOSCALER_NAME}/tags/list: no tag of {minor}, "
                                 f"which the catalog pins as {previous[minor].tag}: a partial answer")
            continue
        tag = newest[minor][1]
        rules, rules_source = chart_cluster_rules(tag, chart_source, fetch)
        releases[minor] = autoscaler_releases.AutoscalerRelease(tag, _index_digest(registry, tag, fetch),
                                                                REGISTRY_SOURCE, rules, rules_source)
    problems = autoscaler_releases.release_problems(releases)
    if problems:
        raise CallFailed(f"the registry's answers make a table the catalog refuses: {'; '.join(problems)}")
    return releases


def chart_cluster_rules(tag: str, chart_source: str, fetch: Fetch) -> tuple[tuple[dict, ...], str]:
    """The ClusterRole rules CA's Helm chart grants at the release's own tag, and where they were
    read. A template the renderer will not guess at fails the refresh: a person reads it."""
    tried = []
    for path in CHART_PATHS:
        url = f"{chart_source}/cluster-autoscaler-{tag.removeprefix('v')}/{path}"
        try:
            body, _ = fetch(url, {})
        except NotFound:
            tried.append(url)
            continue
        try:
            return tuple(chart_rbac.cluster_rules(body.decode("utf-8"))), url
        except (chart_rbac.ChartError, UnicodeDecodeError, yaml.YAMLError) as error:
            raise CallFailed(f"GET {url}: the chart's ClusterRole cannot be read as granted: {error}") from None
    raise CallFailed(f"no ClusterRole template for CA {tag} at {' or '.join(tried)}")


def _tags(registry: str, fetch: Fetch) -> list[str]:
    url = f"{registry}/v2/{AUTOSCALER_NAME}/tags/list"
    tags: list[str] = []
    for _ in range(MAX_PAGES):
        body, headers = fetch(url, {"Accept": "application/json"})
        try:
            page = json.loads(body)
        except ValueError:
            raise CallFailed(f"GET {url}: not JSON: {body[:200]!r}") from None
        if not isinstance(page, dict) or not isinstance(page.get("tags"), list):
            raise CallFailed(f"GET {url}: no tags list: {body[:200]!r}")
        tags += [tag for tag in page["tags"] if isinstance(tag, str)]
        # The distribution spec's pagination: a Link header, rel="next", relative to the registry.
        link = re.search(r'<([^>]+)>\s*;\s*rel="?next"?', headers.get("link", ""))
        if not link:
            return tags
        url = urllib.parse.urljoin(url, link[1])
    raise CallFailed(f"GET {registry}/v2/{AUTOSCALER_NAME}/tags/list: still had pages after {MAX_PAGES}")


def _index_digest(registry: str, tag: str, fetch: Fetch) -> str:
    url = f"{registry}/v2/{AUTOSCALER_NAME}/manifests/{tag}"
    # Single-image types accepted too: a registry answers 404 to a manifest whose type the Accept
    # header leaves out (docker-registry does), and "not multi-arch" is the error worth reading.
    body, headers = fetch(url, {"Accept": ", ".join([*INDEX_MEDIA_TYPES, *SINGLE_IMAGE_MEDIA_TYPES])})
    media_type = headers.get("content-type", "").split(";")[0].strip()
    if media_type not in INDEX_MEDIA_TYPES:
        raise CallFailed(f"GET {url}: a {media_type or 'untyped'} answer, not a multi-arch image index")
    # The digest of the bytes received, not only the header's word for it.
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    announced = headers.get("docker-content-digest")
    if announced and announced != digest:
        raise CallFailed(f"GET {url}: Docker-Content-Digest {announced} is not the digest of the body, {digest}")
    return digest


# --- the default -----------------------------------------------------------------------------------

def declared_default(pulumi_yaml: str) -> str:
    match = _DEFAULT_LINE.search(pulumi_yaml)
    if not match:
        raise CallFailed("Pulumi.yaml: no quoted default under config.kubernetesVersion")
    return match[2]


def next_default(rows: tuple[eks_versions.EksVersion, ...], today: datetime.date, current: str) -> str:
    """The rule's choice on `today` among versions at most one minor above `current` (EKS upgrades
    a control plane one minor per update, so a default two ahead could not be applied to a stack
    on the old one); `current` when the rule has no choice."""
    reachable = tuple(row for row in rows if _minor(row.version, "catalog") <= _minor(current, "Pulumi.yaml") + 1)
    try:
        return eks_versions.default_version(today, reachable)
    except LookupError:
        return current


# --- refresh ---------------------------------------------------------------------------------------

@dataclass
class Refresh:
    files: dict[Path, str]  # every file the refresh owns -> its new text
    changed: list[Path]
    summary: list[str]


def refresh(today: datetime.date, region: str | None, registry: str = REGISTRY,
            project_dir: Path = PROJECT_DIR, fetch: Fetch = http_get, chart_source: str = CHART_SOURCE) -> Refresh:
    """Asks every source, checks every answer, and returns the files' new texts (writes nothing)."""
    eks_file = project_dir / "catalog" / "eks-versions.json"
    autoscaler_file = project_dir / "catalog" / "cluster-autoscaler.json"
    pulumi_file = project_dir / "Pulumi.yaml"
    previous_rows = eks_versions.load(eks_file)
    previous_releases = autoscaler_releases.load(autoscaler_file)
    pulumi_text = pulumi_file.read_text(encoding="utf-8")
    current_default = declared_default(pulumi_text)

    cluster_versions = aws(["eks", "describe-cluster-versions"], "clusterVersions", region)
    addon_answers = {name: aws(["eks", "describe-addon-versions", "--addon-name", name], "addons", region)
                     for name in eks_versions.CATALOG_ADDONS}
    rows = eks_rows(cluster_versions, addon_answers, previous_rows)
    releases = autoscaler_releases_from_registry(
        registry, [row.version for row in rows if row.end_of_extended_support > today or row.version in
                   previous_releases], previous_releases, fetch, chart_source)
    new_default = next_default(rows, today, current_default)

    texts = {
        eks_file: eks_versions.render(eks_versions.document_from_rows(rows, EKS_COMMENT)),
        autoscaler_file: autoscaler_releases.render(
            autoscaler_releases.document_from_releases(releases, AUTOSCALER_COMMENT)),
        pulumi_file: _DEFAULT_LINE.sub(lambda m: f'{m[1]}"{new_default}"', pulumi_text, count=1),
    }
    changed = [path for path, text in texts.items() if path.read_text(encoding="utf-8") != text]
    summary = (_row_changes(previous_rows, rows) + _release_changes(previous_releases, releases)
               + _default_change(current_default, new_default, rows, today))
    return Refresh(texts, changed, summary)


def _row_changes(before: tuple, after: tuple) -> list[str]:
    old = {row.version: row for row in before}
    new = {row.version: row for row in after}
    lines = []
    for version, row in new.items():
        if version not in old:
            lines.append(f"Kubernetes {version} added: on EKS since {row.released}, standard support until "
                         f"{row.end_of_standard_support}, extended support until {row.end_of_extended_support}")
            continue
        was = old[version]
        lines_before = len(lines)
        for label, a, b in [("EKS release", was.released, row.released),
                            ("end of standard support", was.end_of_standard_support, row.end_of_standard_support),
                            ("end of extended support", was.end_of_extended_support, row.end_of_extended_support)]:
            if a != b:
                lines.append(f"Kubernetes {version} {label}: {a} -> {b}")
        for name in eks_versions.CATALOG_ADDONS:
            a, b = was.addons.by_addon_name()[name], row.addons.by_addon_name()[name]
            if a != b:
                lines.append(f"Kubernetes {version} {name}: {a or 'no pin'} -> {b or 'no default version from AWS'}")
        if was.sources != row.sources and len(lines) == lines_before:
            lines.append(f"Kubernetes {version}: facts unchanged, now sourced from AWS")
    lines += [f"Kubernetes {version} removed" for version in old if version not in new]
    return lines


def _release_shown(release) -> str:
    if release is None:
        return "none"
    return f"{release.tag}@{release.digest}" if release.digest else f"{release.tag} (no digest)"


def _release_changes(before: dict, after: dict) -> list[str]:
    lines = []
    for minor in sorted(set(before) | set(after), key=lambda m: _minor(m, "catalog")):
        a, b = before.get(minor), after.get(minor)
        if (a and (a.tag, a.digest)) != (b and (b.tag, b.digest)):
            lines.append(f"Cluster Autoscaler for {minor}: {_release_shown(a)} -> {_release_shown(b)}")
        if a and b and a.cluster_rules != b.cluster_rules:
            lines.append(f"Cluster Autoscaler for {minor}: its chart's ClusterRole changed ({b.rules_source})")
    return lines


def _default_change(current: str, new: str, rows: tuple, today: datetime.date) -> list[str]:
    lines = [f"Default Kubernetes version (Pulumi.yaml): {current} -> {new}"] if new != current else []
    try:
        eks_versions.default_version(today, rows)
    except LookupError as error:
        lines.append(f"No default can be chosen: {error}")
    return lines


def write(result: Refresh) -> None:
    """Writes every changed file, each through a temporary file, so none is left half-written."""
    for path in result.changed:
        temporary = path.with_name(f".{path.name}.refresh")
        temporary.write_text(result.files[path], encoding="utf-8")
        os.replace(temporary, path)


# --- check -----------------------------------------------------------------------------------------

def check(today: datetime.date, project_dir: Path = PROJECT_DIR) -> tuple[list[str], list[str]]:
    """(problems, warnings) of the repository on `today`."""
    rows = eks_versions.load(project_dir / "catalog" / "eks-versions.json")
    by_version = {row.version: row for row in rows}
    pulumi_text = (project_dir / "Pulumi.yaml").read_text(encoding="utf-8")
    default = declared_default(pulumi_text)
    policy = yaml.safe_load(pulumi_text)["config"]["kubernetesUpgradePolicy"]["default"]
    problems, warnings = [], []
    row = by_version.get(default)
    status = eks_versions.row_status(row, today)
    if status != eks_versions.STANDARD:
        problems.append(f"Pulumi.yaml's default Kubernetes {default} is not in standard support on {today}: {status}")
    if row is not None:
        missing = row.addons.missing(eks_versions.INSTALLED_ADDONS)
        if missing:
            problems.append(f"Pulumi.yaml's default Kubernetes {default} has no pinned {', '.join(missing)}: "
                            "the program installs whatever AWS marks default, which moves when AWS moves it")
    try:
        chosen = eks_versions.default_version(today, rows)
        if chosen != default:
            problems.append(f"Pulumi.yaml declares {default} but the rule chooses {chosen} on {today}: "
                            "run `python -m ops catalog refresh`")
    except LookupError as error:
        problems.append(str(error))
    for stack_file in sorted(project_dir.glob("Pulumi.*.yaml")):
        config = (yaml.safe_load(stack_file.read_text(encoding="utf-8")) or {}).get("config") or {}
        version = str(config.get("backend-on-eks:kubernetesVersion", default))
        stack_policy = str(config.get("backend-on-eks:kubernetesUpgradePolicy", policy))
        stack_problems, stack_warnings = eks_versions.check(version, today, stack_policy, rows)
        problems += [f"{stack_file.name}: {problem}" for problem in stack_problems]
        warnings += [f"{stack_file.name}: {warning}" for warning in stack_warnings]
    return problems, warnings


# --- command line ----------------------------------------------------------------------------------

def register_catalog(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "catalog", help="refresh the tables of AWS facts from AWS, or check the repository against them",
        description="Keep catalog/*.json and Pulumi.yaml's default Kubernetes version true to AWS.")
    actions = parser.add_subparsers(dest="catalog_command", required=True, metavar="ACTION")
    refresh_parser = actions.add_parser(
        "refresh", help="ask AWS and the registry, rewrite the tables, print what moved",
        description="Ask `aws eks describe-cluster-versions`, `aws eks describe-addon-versions` and the "
                    "Cluster Autoscaler's registry (read-only credentials suffice) and rewrite "
                    "catalog/eks-versions.json, catalog/cluster-autoscaler.json and Pulumi.yaml's default "
                    "Kubernetes version. Nothing is written unless every answer was read and checked.")
    refresh_parser.add_argument("--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
                                help="AWS region to ask (default: $AWS_REGION, else the CLI's own)")
    refresh_parser.add_argument("--registry", default=REGISTRY, type=_registry,
                                help=f"registry serving {AUTOSCALER_NAME} (default: {REGISTRY})")
    refresh_parser.add_argument("--chart-source", default=CHART_SOURCE, type=_chart_source,
                                help="where kubernetes/autoscaler's tagged trees are served raw, for the "
                                     f"Helm chart's ClusterRole of each release (default: {CHART_SOURCE})")
    refresh_parser.add_argument("--summary", type=Path, metavar="PATH", help="also write the summary here (Markdown)")
    refresh_parser.add_argument("--today", type=_day, default=None, metavar="YYYY-MM-DD",
                                help="the day the default is chosen on (default: today, UTC)")
    refresh_parser.set_defaults(handler=run_refresh)
    check_parser = actions.add_parser(
        "check", help="fail when the default version left standard support or lacks a pin",
        description="Exit 1, one line per problem, when Pulumi.yaml's default Kubernetes version is not in "
                    "standard support on the day, lacks a pin of an installed add-on, or is not the one the "
                    "rule chooses, or when a stack's version is one EKS refuses.")
    check_parser.add_argument("--today", type=_day, default=None, metavar="YYYY-MM-DD",
                              help="the day to check (default: today, UTC)")
    check_parser.set_defaults(handler=run_check)
    prices.register_refresh(actions)


def run_refresh(args: argparse.Namespace) -> int:
    today = args.today or eks_versions.utc_today()
    try:
        result = refresh(today, args.region, args.registry, PROJECT_DIR, chart_source=args.chart_source)
    except (CallFailed, eks_versions.CatalogError) as error:
        print(f"catalog refresh: {error}; no file was changed", file=sys.stderr)
        return EXIT_FAILED
    write(result)
    lines = result.summary or ["No change: the catalog matches AWS's and the registry's answers."]
    text = "\n".join([f"Catalog refresh on {today}", "", *[f"- {line}" for line in lines]]) + "\n"
    sys.stdout.write(text)
    if args.summary is not None:
        args.summary.write_text(text, encoding="utf-8")
    return EXIT_OK


def run_check(args: argparse.Namespace) -> int:
    today = args.today or eks_versions.utc_today()
    try:
        problems, warnings = check(today, PROJECT_DIR)
    except (CallFailed, eks_versions.CatalogError) as error:
        print(f"catalog check: {error}", file=sys.stderr)
        return EXIT_FAILED
    for warning in warnings:
        print(f"warning: {warning}")
    for problem in problems:
        print(f"problem: {problem}")
    if not problems:
        print(f"catalog check: the default Kubernetes version and every stack's are fine on {today}")
    return EXIT_FAILED if problems else EXIT_OK


def _day(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--today {value!r} is not a date YYYY-MM-DD") from None


def _chart_source(value: str) -> str:
    parsed = urllib.parse.urlsplit(value)
    if parsed.scheme not in ("https", "http") or not parsed.netloc or parsed.query or parsed.fragment:
        raise argparse.ArgumentTypeError(f"--chart-source {value!r} is not a base URL such as {CHART_SOURCE}")
    return value.rstrip("/")


def _registry(value: str) -> str:
    parsed = urllib.parse.urlsplit(value)
    if parsed.scheme not in ("https", "http") or not parsed.netloc or parsed.path not in ("", "/"):
        raise argparse.ArgumentTypeError(f"--registry {value!r} is not a registry URL such as {REGISTRY}")
    return value.rstrip("/")

