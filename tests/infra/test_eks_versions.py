"""EKS version policy: which Kubernetes versions a stack may run, at what cost, with which add-ons.

No test reads the clock. The rules are tested on a made-up table (versions 1.40-1.42 in 2030) so
that they mean the same whatever `ops catalog refresh` writes into catalog/eks-versions.json; the
real catalog is held to the invariants every AWS answer must keep, on the days its own rows name.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

import eks_versions
from eks_versions import AddonPins, CatalogError, EksVersion

DAY = dt.timedelta(days=1)


def minor(version: str) -> int:
    major, minor_ = version.split(".")
    assert major == "1"
    return int(minor_)


def _row(version, released, pins, standard_days=426, extended_days=365):
    released = dt.date.fromisoformat(released)
    end_of_standard = released + dt.timedelta(days=standard_days)
    return EksVersion(version, released, end_of_standard, end_of_standard + dt.timedelta(days=extended_days), pins)


def _full(version):
    return AddonPins("v1.20.4-eksbuild.1", f"v{version}.0-eksbuild.1", "v1.12.4-eksbuild.1")


# End of standard support, end of extended support (each the first day of the next status):
# 1.40: released 2030-01-01, 2031-03-03, 2032-03-02
# 1.41: released 2030-05-01, 2031-07-01, 2032-06-30
# 1.42: released 2030-09-01, 2031-11-01, 2032-10-31; vpc-cni has no pin
MADE_UP = (
    _row("1.40", "2030-01-01", _full("1.40")),
    _row("1.41", "2030-05-01", _full("1.41")),
    _row("1.42", "2030-09-01", AddonPins(None, "v1.42.0-eksbuild.1", None)),
)
ON_A_DAY_ALL_ARE_STANDARD = dt.date(2030, 10, 1)


def _use_table(monkeypatch, rows):
    monkeypatch.setattr(eks_versions, "VERSIONS", tuple(rows))
    monkeypatch.setattr(eks_versions, "BY_VERSION", {row.version: row for row in rows})


@pytest.fixture
def made_up(monkeypatch):
    _use_table(monkeypatch, MADE_UP)


# --- the catalog file -------------------------------------------------------------------------

def test_catalog_versions_are_consecutive_minors_oldest_first():
    minors = [minor(row.version) for row in eks_versions.VERSIONS]
    assert minors == list(range(minors[0], minors[0] + len(minors)))


def test_catalog_is_indexed_by_version_once_per_row():
    assert list(eks_versions.BY_VERSION) == [row.version for row in eks_versions.VERSIONS]


@pytest.mark.parametrize("row", eks_versions.VERSIONS, ids=lambda row: row.version)
def test_catalog_entry_has_no_problem(row):
    assert eks_versions.table_problems([row]) == []


@pytest.mark.parametrize("row", eks_versions.VERSIONS, ids=lambda row: row.version)
def test_extended_support_ends_about_twelve_months_after_standard_support(row):
    assert 360 <= (row.end_of_extended_support - row.end_of_standard_support).days <= 370


@pytest.mark.parametrize("row", eks_versions.VERSIONS, ids=lambda row: row.version)
def test_standard_support_lasts_about_fourteen_months_from_the_eks_release(row):
    assert 420 <= (row.end_of_standard_support - row.released).days <= 430


@pytest.mark.parametrize("earlier,later", list(zip(eks_versions.VERSIONS, eks_versions.VERSIONS[1:])),
                         ids=lambda row: row.version)
def test_each_version_reaches_eks_after_the_one_before(earlier, later):
    assert earlier.released < later.released


@pytest.mark.parametrize("row", eks_versions.VERSIONS, ids=lambda row: row.version)
def test_every_pin_of_a_catalog_entry_names_its_source(row):
    sources = dict(row.sources)
    assert "calendar" in sources
    assert all(addon in sources for addon, pin in row.addons.by_addon_name().items() if pin is not None)


def test_catalog_file_is_exactly_what_rendering_its_rows_gives():
    # The refresh writes through the same functions: a file it wrote is byte-identical to its rows.
    text = eks_versions.CATALOG_FILE.read_text(encoding="utf-8")
    comment = json.loads(text)["comment"]
    assert eks_versions.render(eks_versions.document_from_rows(eks_versions.VERSIONS, comment)) == text


# --- a table with a bad entry is refused, the entry named --------------------------------------

def test_dates_out_of_order_are_a_problem_naming_the_entry():
    row = EksVersion("1.41", dt.date(2030, 5, 1), dt.date(2030, 4, 1), dt.date(2031, 4, 1), _full("1.41"))
    [problem] = eks_versions.table_problems([row])
    assert problem.startswith("1.41: dates out of order")


def test_end_of_extended_support_before_end_of_standard_support_is_a_problem():
    row = EksVersion("1.41", dt.date(2030, 5, 1), dt.date(2031, 7, 1), dt.date(2031, 6, 1), _full("1.41"))
    assert eks_versions.table_problems([row])[0].startswith("1.41: dates out of order")


def test_a_kube_proxy_pin_of_another_minor_is_a_problem_naming_the_entry():
    row = _row("1.41", "2030-05-01", AddonPins(None, "v1.40.3-eksbuild.2", None))
    assert eks_versions.table_problems([row]) == [
        "1.41: kube-proxy pin v1.40.3-eksbuild.2 is built for Kubernetes 1.40, not 1.41"]


@pytest.mark.parametrize("pin", ["1.19.2-eksbuild.1", "v1.19.2", "v1.19-eksbuild.1", "v1.19.2-eksbuild.1 ",
                                 "v1.35.3-minimal-eksbuild.13", "latest"])
def test_a_pin_that_is_not_an_eks_add_on_version_is_a_problem(pin):
    row = _row("1.41", "2030-05-01", AddonPins(pin, None, None))
    assert eks_versions.table_problems([row]) == [
        f"1.41: vpc-cni pin {pin!r} is not an EKS add-on version (v1.2.3-eksbuild.4)"]


@pytest.mark.parametrize("pin", ["v1.19.2-eksbuild.1", "v1.36.0-eksbuild.14"])
def test_add_on_version_pattern_accepts_real_eks_builds(pin):
    assert eks_versions.ADDON_VERSION.fullmatch(pin)


def test_rows_out_of_order_are_a_problem():
    problems = eks_versions.table_problems([MADE_UP[1], MADE_UP[0]])
    assert problems == ["1.40: comes after 1.41; rows must be oldest first, once each"]


def test_a_version_that_is_not_one_dot_minor_is_a_problem():
    row = _row("1.41.2", "2030-05-01", AddonPins(None, None, None))
    assert eks_versions.table_problems([row]) == ["'1.41.2': not a Kubernetes version of the form 1.<minor>"]


def _document(**changes):
    entry = eks_versions.document_from_rows((MADE_UP[0],), "c")["versions"][0] | changes
    return {"comment": "c", "versions": [entry]}


def test_loading_a_document_with_a_missing_date_names_the_entry():
    entry = _document()["versions"][0]
    del entry["endOfStandardSupport"]
    with pytest.raises(CatalogError, match=r"versions\[0\] \(1\.40\): KeyError"):
        eks_versions.rows_from_document({"versions": [entry]})


def test_loading_a_document_with_a_malformed_date_names_the_entry():
    with pytest.raises(CatalogError, match=r"versions\[0\] \(1\.40\): ValueError"):
        eks_versions.rows_from_document(_document(released="30 January 2030"))


def test_loading_a_document_with_an_add_on_the_catalog_does_not_track_is_refused():
    addons = {"vpc-cni": None, "aws-ebs-csi-driver": "v1.31.0-eksbuild.1"}
    with pytest.raises(CatalogError, match=r"versions\[0\] \(1\.40\): addons must map only"):
        eks_versions.rows_from_document(_document(addons=addons))


def test_loading_a_document_whose_rows_have_problems_raises_them():
    with pytest.raises(CatalogError, match="1.40: dates out of order"):
        eks_versions.rows_from_document(_document(released="2031-06-01"))


def test_loading_a_catalog_that_is_not_json_names_the_file(tmp_path):
    path = tmp_path / "eks-versions.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(CatalogError, match="eks-versions.json"):
        eks_versions.load(path)


def test_rendering_is_deterministic_and_ends_with_a_newline():
    document = eks_versions.document_from_rows(MADE_UP, "c")
    assert eks_versions.render(document) == eks_versions.render(json.loads(eks_versions.render(document)))
    assert eks_versions.render(document).endswith("}\n")


# --- support status on both sides of every boundary --------------------------------------------

BOUNDARIES = [
    (lambda row: row.released - DAY, "unknown"),
    (lambda row: row.released, "standard"),
    (lambda row: row.end_of_standard_support - DAY, "standard"),
    (lambda row: row.end_of_standard_support, "extended"),  # billing starts at the start of that UTC day
    (lambda row: row.end_of_extended_support - DAY, "extended"),
    (lambda row: row.end_of_extended_support, "ended"),  # no new clusters from that day
]
BOUNDARY_IDS = ["day-before-release", "release-day", "last-standard-day", "first-extended-day",
                "last-extended-day", "end-of-extended-day"]


@pytest.mark.parametrize("row", eks_versions.VERSIONS, ids=lambda row: row.version)
@pytest.mark.parametrize("day_of,status", BOUNDARIES, ids=BOUNDARY_IDS)
def test_support_status_changes_on_the_calendar_dates_of_each_catalog_entry(row, day_of, status):
    assert eks_versions.support_status(row.version, day_of(row)) == status


@pytest.mark.parametrize("version", ["1.28", "1.99", "1.3", "", "latest"])
def test_a_version_not_in_the_table_has_unknown_status(made_up, version):
    assert eks_versions.support_status(version, ON_A_DAY_ALL_ARE_STANDARD) == "unknown"


@pytest.mark.parametrize("day,accepted", [
    (dt.date(2029, 12, 31), ()),
    (dt.date(2030, 1, 1), ("1.40",)),
    (ON_A_DAY_ALL_ARE_STANDARD, ("1.40", "1.41", "1.42")),
    (dt.date(2032, 3, 2), ("1.41", "1.42")),  # 1.40's extended support has ended
    (dt.date(2032, 10, 31), ()),
])
def test_accepted_versions_are_those_in_standard_or_extended_support(made_up, day, accepted):
    assert eks_versions.accepted_versions(day) == accepted


# --- the default version ----------------------------------------------------------------------

def test_default_version_passes_over_a_newer_version_with_an_installed_add_on_unpinned(made_up):
    assert eks_versions.default_version(ON_A_DAY_ALL_ARE_STANDARD) == "1.41"


def test_default_version_ignores_a_missing_pin_of_an_add_on_the_cluster_does_not_install(monkeypatch):
    _use_table(monkeypatch, [_row("1.40", "2030-01-01", AddonPins("v1.20.4-eksbuild.1", "v1.40.0-eksbuild.1", None))])
    assert eks_versions.default_version(dt.date(2030, 6, 1)) == "1.40"


def test_default_version_moves_on_when_the_newest_complete_version_leaves_standard_support(made_up):
    assert eks_versions.default_version(dt.date(2031, 6, 30)) == "1.41"
    with pytest.raises(LookupError, match="on 2031-07-01: catalog/eks-versions.json needs"):
        eks_versions.default_version(dt.date(2031, 7, 1))


def test_default_version_is_an_error_before_any_version_is_released(made_up):
    with pytest.raises(LookupError):
        eks_versions.default_version(dt.date(2029, 12, 31))


# --- check: what a stack's version is refused or warned for ---------------------------------

def test_a_version_in_standard_support_with_every_add_on_pinned_passes_silently(made_up):
    assert eks_versions.check("1.41", ON_A_DAY_ALL_ARE_STANDARD) == ([], [])


def test_a_version_in_extended_support_is_accepted_with_a_cost_warning(made_up):
    problems, warnings = eks_versions.check("1.40", dt.date(2031, 3, 3))
    assert problems == []
    assert len(warnings) == 1
    assert warnings[0].startswith("Kubernetes 1.40 left EKS standard support on 2031-03-03")
    assert "$0.60 per cluster-hour instead of $0.10" in warnings[0]


def test_extended_support_warning_names_a_version_to_move_to(made_up):
    _, warnings = eks_versions.check("1.40", dt.date(2031, 3, 3))
    assert "1.42 is in standard support until 2031-11-01" in warnings[0]


@pytest.mark.parametrize("days_before,warned", [(31, False), (30, True), (1, True)])
def test_a_version_leaving_standard_support_within_thirty_days_is_announced(made_up, days_before, warned):
    day = MADE_UP[1].end_of_standard_support - dt.timedelta(days=days_before)
    problems, warnings = eks_versions.check("1.41", day)
    assert problems == []
    assert bool(warnings) is warned
    if warned:
        assert warnings[0].startswith(f"Kubernetes 1.41 leaves EKS standard support on 2031-07-01, "
                                      f"in {days_before} day")
        assert "upgrade to 1.42 before then" in warnings[0]


def test_a_version_past_extended_support_is_refused_with_its_end_date_and_the_accepted_versions(made_up):
    problems, _ = eks_versions.check("1.40", dt.date(2032, 3, 2))
    assert len(problems) == 1
    assert "1.40 reached the end of EKS extended support on 2032-03-02" in problems[0]
    assert "accepted on 2032-03-02: 1.41, 1.42" in problems[0]
    assert eks_versions.check("1.40", dt.date(2032, 3, 1))[0] == []


@pytest.mark.parametrize("version", ["1.28", "1.99", "1.41.1", "latest"])
def test_an_unknown_version_is_refused_with_the_accepted_versions(made_up, version):
    problems, warnings = eks_versions.check(version, ON_A_DAY_ALL_ARE_STANDARD)
    assert len(problems) == 1
    assert version in problems[0]
    assert "1.40, 1.41, 1.42" in problems[0]
    assert warnings == []


def test_a_version_before_its_eks_release_is_refused_with_the_release_date(made_up):
    problems, _ = eks_versions.check("1.42", dt.date(2030, 8, 31))
    assert problems and "not offered by EKS before 2030-09-01" in problems[0]
    assert eks_versions.check("1.42", dt.date(2030, 9, 1))[0] == []


def test_a_version_with_an_installed_add_on_unpinned_warns_that_it_will_float(made_up):
    problems, warnings = eks_versions.check("1.42", ON_A_DAY_ALL_ARE_STANDARD)
    assert problems == []
    assert len(warnings) == 1
    # CoreDNS is EKS's self-managed copy here, not an add-on the cluster installs: no warning.
    assert "vpc-cni" in warnings[0] and "coredns" not in warnings[0] and "kube-proxy" not in warnings[0]


def test_standard_upgrade_policy_is_refused_for_a_version_already_in_extended_support(made_up):
    problems, _ = eks_versions.check("1.40", dt.date(2031, 3, 3), support_type="STANDARD")
    assert len(problems) == 1 and "STANDARD" in problems[0] and "1.40" in problems[0]
    assert eks_versions.check("1.40", dt.date(2031, 3, 2), support_type="STANDARD")[0] == []


@pytest.mark.parametrize("support_type", ["STANDARD", "EXTENDED"])
def test_either_upgrade_policy_is_accepted_for_a_version_in_standard_support(made_up, support_type):
    assert eks_versions.check("1.41", ON_A_DAY_ALL_ARE_STANDARD, support_type=support_type)[0] == []


@pytest.mark.parametrize("support_type", ["standard", "NONE", ""])
def test_an_upgrade_policy_eks_does_not_know_is_refused(made_up, support_type):
    problems, _ = eks_versions.check("1.41", ON_A_DAY_ALL_ARE_STANDARD, support_type=support_type)
    assert len(problems) == 1 and "STANDARD, EXTENDED" in problems[0]


# --- add-on pins ------------------------------------------------------------------------------

def test_addon_versions_returns_the_pins_of_the_version(made_up):
    assert eks_versions.addon_versions("1.41") == _full("1.41")


def test_addon_versions_of_an_unknown_version_raises_key_error(made_up):
    with pytest.raises(KeyError):
        eks_versions.addon_versions("1.99")


def test_missing_lists_every_catalog_add_on_without_a_pin_unless_asked_for_some():
    pins = AddonPins(None, "v1.41.0-eksbuild.1", None)
    assert pins.missing() == ("vpc-cni", "coredns", "metrics-server", "eks-pod-identity-agent",
                              "amazon-cloudwatch-observability")
    assert pins.missing(eks_versions.INSTALLED_ADDONS) == ("vpc-cni",)
