"""EKS version policy: which Kubernetes versions a stack may run, at what cost, with which add-ons.

Every test but one uses a fixed date, so the suite means the same thing next year; the one that
reads the clock is the alarm that the table needs its next row.
"""

from __future__ import annotations

import datetime as dt

import pytest

import eks_versions
from eks_versions import AddonPins, EksVersion

# The day this table was last brought up to date.
TODAY = dt.date(2026, 11, 27)
DAY = dt.timedelta(days=1)


def minor(version: str) -> int:
    major, minor_ = version.split(".")
    assert major == "1"
    return int(minor_)


# --- the table itself -------------------------------------------------------------------------

def test_table_runs_from_1_29_without_gaps_oldest_first():
    minors = [minor(row.version) for row in eks_versions.VERSIONS]
    assert minors == list(range(29, 29 + len(minors)))


def test_table_is_indexed_by_version_once_per_row():
    assert list(eks_versions.BY_VERSION) == [row.version for row in eks_versions.VERSIONS]


@pytest.mark.parametrize("row", eks_versions.VERSIONS, ids=lambda row: row.version)
def test_release_comes_before_end_of_standard_support_which_comes_before_end_of_extended(row):
    assert row.released < row.end_of_standard_support < row.end_of_extended_support


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
def test_derived_marks_name_date_fields(row):
    assert set(row.derived) <= {"released", "end_of_standard_support", "end_of_extended_support"}


PINS = [
    (row.version, addon, pin)
    for row in eks_versions.VERSIONS
    for addon, pin in row.addons.by_addon_name().items()
    if pin is not None
]


@pytest.mark.parametrize("version,addon,pin", PINS, ids=[f"{v}-{a}" for v, a, _ in PINS])
def test_every_pin_is_an_eks_add_on_version_string(version, addon, pin):
    assert eks_versions.ADDON_VERSION.fullmatch(pin), f"{addon} for {version}: {pin!r}"


@pytest.mark.parametrize("row", eks_versions.VERSIONS, ids=lambda row: row.version)
def test_kube_proxy_pin_has_the_minor_version_of_its_kubernetes(row):
    # kube-proxy is built per Kubernetes minor; a pin from the wrong row would not install.
    if row.addons.kube_proxy is None:
        pytest.skip(f"no kube-proxy pin for {row.version}")
    major, minor_, *_ = eks_versions.ADDON_VERSION.fullmatch(row.addons.kube_proxy).groups()
    assert f"{major}.{minor_}" == row.version


@pytest.mark.parametrize("pattern", ["v1.19.2-eksbuild.1", "v1.36.0-eksbuild.14"])
def test_add_on_version_pattern_accepts_real_eks_builds(pattern):
    assert eks_versions.ADDON_VERSION.fullmatch(pattern)


@pytest.mark.parametrize("pattern", ["1.19.2-eksbuild.1", "v1.19.2", "v1.19-eksbuild.1",
                                     "v1.19.2-eksbuild.1 ", "v1.35.3-minimal-eksbuild.13", "latest"])
def test_add_on_version_pattern_refuses_anything_else(pattern):
    assert not eks_versions.ADDON_VERSION.fullmatch(pattern)


# --- support status at the calendar's boundaries ---------------------------------------------

ROW_1_33 = eks_versions.BY_VERSION["1.33"]  # EKS 2025-05-29, standard to 2026-07-29, extended to 2027-07-29


@pytest.mark.parametrize("day,status", [
    (ROW_1_33.released - DAY, "unknown"),
    (ROW_1_33.released, "standard"),
    (ROW_1_33.end_of_standard_support - DAY, "standard"),
    (ROW_1_33.end_of_standard_support, "extended"),  # billing starts at the start of that UTC day
    (ROW_1_33.end_of_extended_support - DAY, "extended"),
    (ROW_1_33.end_of_extended_support, "ended"),  # no new clusters from that day
], ids=["day-before-release", "release-day", "last-standard-day", "first-extended-day",
        "last-extended-day", "end-of-extended-day"])
def test_support_status_changes_on_the_calendar_dates(day, status):
    assert eks_versions.support_status("1.33", day) == status


@pytest.mark.parametrize("version,status", [
    ("1.29", "ended"), ("1.30", "ended"), ("1.31", "ended"),
    ("1.32", "extended"), ("1.33", "extended"),
    ("1.34", "standard"), ("1.35", "standard"), ("1.36", "standard"),
])
def test_support_status_of_each_version_on_the_day_the_table_was_written(version, status):
    assert eks_versions.support_status(version, TODAY) == status


@pytest.mark.parametrize("version", ["1.28", "1.99", "1.3", "", "latest"])
def test_a_version_not_in_the_table_has_unknown_status(version):
    assert eks_versions.support_status(version, TODAY) == "unknown"


def test_accepted_versions_are_those_in_standard_or_extended_support():
    assert eks_versions.accepted_versions(TODAY) == ("1.32", "1.33", "1.34", "1.35", "1.36")


# --- the default version ----------------------------------------------------------------------

def test_default_version_is_in_standard_support_with_every_add_on_pinned():
    default = eks_versions.default_version(TODAY)
    assert eks_versions.support_status(default, TODAY) == "standard"
    assert eks_versions.addon_versions(default).missing() == ()


def test_no_newer_version_in_standard_support_has_every_add_on_pinned_than_the_default():
    default = eks_versions.default_version(TODAY)
    newer = [row for row in eks_versions.VERSIONS if minor(row.version) > minor(default)]
    assert all(eks_versions.support_status(row.version, TODAY) != "standard" or row.addons.missing()
               for row in newer)


def _row(version, released, pins):
    released = dt.date.fromisoformat(released)
    return EksVersion(version, released, released + dt.timedelta(days=426),
                      released + dt.timedelta(days=791), pins)


FULL = AddonPins("v1.20.4-eksbuild.1", "v1.40.0-eksbuild.1", "v1.12.4-eksbuild.1")


def _use_table(monkeypatch, rows):
    monkeypatch.setattr(eks_versions, "VERSIONS", tuple(rows))
    monkeypatch.setattr(eks_versions, "BY_VERSION", {row.version: row for row in rows})


def test_default_version_passes_over_a_newer_version_with_an_add_on_unpinned(monkeypatch):
    _use_table(monkeypatch, [
        _row("1.40", "2030-01-01", FULL),
        _row("1.41", "2030-05-01", AddonPins(None, "v1.41.0-eksbuild.1", "v1.12.4-eksbuild.1")),
    ])
    assert eks_versions.default_version(dt.date(2030, 6, 1)) == "1.40"


def test_default_version_is_an_error_once_no_version_is_in_standard_support(monkeypatch):
    _use_table(monkeypatch, [_row("1.40", "2030-01-01", FULL)])
    with pytest.raises(LookupError, match="out of date"):
        eks_versions.default_version(dt.date(2031, 6, 1))


def test_default_version_takes_the_newest_complete_version_in_standard_support(monkeypatch):
    _use_table(monkeypatch, [
        _row("1.40", "2030-01-01", FULL),
        _row("1.41", "2030-05-01", AddonPins("v1.20.4-eksbuild.1", "v1.41.0-eksbuild.1", "v1.12.4-eksbuild.1")),
    ])
    assert eks_versions.default_version(dt.date(2030, 6, 1)) == "1.41"


# --- check: what a stack's version is refused or warned for ---------------------------------

def test_current_pulumi_yaml_default_1_33_is_accepted_with_an_extended_support_cost_warning():
    problems, warnings = eks_versions.check("1.33", TODAY)
    assert problems == []
    assert len(warnings) == 1
    assert "1.33" in warnings[0] and "2026-07-29" in warnings[0]
    assert "$0.60 per cluster-hour instead of $0.10" in warnings[0]


def test_extended_support_warning_names_a_version_to_move_to():
    _, warnings = eks_versions.check("1.32", TODAY)
    assert "1.36 is in standard support until 2027-08-02" in warnings[0]


def test_1_30_is_refused_with_its_end_date_and_the_accepted_versions():
    problems, _ = eks_versions.check("1.30", TODAY)
    assert len(problems) == 1
    assert "1.30" in problems[0]
    assert "2026-07-23" in problems[0]
    assert "1.32, 1.33, 1.34, 1.35, 1.36" in problems[0]


def test_1_31_is_refused_from_the_day_its_extended_support_ended():
    problems, _ = eks_versions.check("1.31", dt.date(2026, 11, 26))
    assert problems and "2026-11-26" in problems[0]
    assert eks_versions.check("1.31", dt.date(2026, 11, 25))[0] == []


@pytest.mark.parametrize("version", ["1.28", "1.99", "1.33.1", "latest"])
def test_an_unknown_version_is_refused_with_the_accepted_versions(version):
    problems, warnings = eks_versions.check(version, TODAY)
    assert len(problems) == 1
    assert version in problems[0]
    assert "1.32, 1.33, 1.34, 1.35, 1.36" in problems[0]
    assert warnings == []


def test_a_version_before_its_eks_release_is_refused_with_the_release_date():
    problems, _ = eks_versions.check("1.36", dt.date(2026, 6, 1))
    assert problems and "2026-06-02" in problems[0]


def test_a_version_in_standard_support_with_every_add_on_pinned_passes_silently():
    assert eks_versions.check("1.34", TODAY) == ([], [])


def test_a_version_with_add_ons_unpinned_warns_that_they_will_float():
    problems, warnings = eks_versions.check("1.36", TODAY)
    assert problems == []
    assert len(warnings) == 1
    # CoreDNS is EKS's self-managed copy here, not an add-on the cluster installs: no warning.
    assert "vpc-cni" in warnings[0] and "coredns" not in warnings[0] and "kube-proxy" not in warnings[0]


def test_standard_upgrade_policy_is_refused_for_a_version_already_in_extended_support():
    problems, _ = eks_versions.check("1.33", TODAY, support_type="STANDARD")
    assert len(problems) == 1 and "STANDARD" in problems[0] and "1.33" in problems[0]


@pytest.mark.parametrize("support_type", ["STANDARD", "EXTENDED"])
def test_either_upgrade_policy_is_accepted_for_a_version_in_standard_support(support_type):
    assert eks_versions.check("1.34", TODAY, support_type=support_type)[0] == []


@pytest.mark.parametrize("support_type", ["standard", "NONE", ""])
def test_an_upgrade_policy_eks_does_not_know_is_refused(support_type):
    problems, _ = eks_versions.check("1.34", TODAY, support_type=support_type)
    assert len(problems) == 1 and "STANDARD, EXTENDED" in problems[0]


# --- add-on pins ------------------------------------------------------------------------------

def test_addon_versions_returns_the_pins_of_the_version():
    assert eks_versions.addon_versions("1.34") == AddonPins(
        vpc_cni="v1.20.4-eksbuild.1", kube_proxy="v1.34.6-eksbuild.13", coredns="v1.12.4-eksbuild.1")


def test_addon_versions_of_an_unknown_version_raises_key_error():
    with pytest.raises(KeyError):
        eks_versions.addon_versions("1.99")


# --- the one test that reads the clock --------------------------------------------------------

def test_table_still_offers_a_default_version_on_the_real_today():
    # Fails once every complete row has left standard support: time to add AWS's next version.
    today = eks_versions.utc_today()
    default = eks_versions.default_version(today)
    assert eks_versions.support_status(default, today) == "standard"
