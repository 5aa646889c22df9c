"""Time is an input: the program reads the date in one place, and the suite never reads the real one.

`eks_versions.utc_today()` is the program's only clock; `settings.load(today=...)` and
`harness.evaluate(today=...)` set the day, and the suite's conftest answers every other read
with the suite's day (tests/support/clock.py). The last tests run the calendar's tests again
under libfaketime with the machine's clock moved years ahead: they pass the same.
"""

from __future__ import annotations

import ast
import datetime
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import eks_versions
from ops.offline import harness
from ops.offline.stacks import evaluate_stack
from tests.support.clock import DAY, SUITE_TODAY

PREFIX = "backend-on-eks:"
DEFAULT = eks_versions.BY_VERSION[harness.project_config_schema()["kubernetesVersion"]["default"]]

# Calls that read the wall clock's date or time of day (not a duration: perf_counter, monotonic).
CLOCK_READS = {("date", "today"), ("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"),
               ("time", "time"), ("time", "localtime"), ("time", "gmtime"), ("time", "strftime")}
# Where reading it is the point: the calendar's one clock, the backend's access-log timestamps,
# a benchmark's wall-clock marks, and the proof below that faketime moved the machine's clock.
ALLOWED = {("eks_versions.py", "utc_today"), ("app/backend/logs.py", None), ("bench/bench_image.py", None),
           ("tests/infra/test_clock.py", "test_in_the_run_under_faketime_the_machines_clock_reads_the_faked_day")}


def _clock_reads(path: Path) -> list[tuple[str | None, int, str]]:
    """(innermost enclosing function or None, line, call) for each clock read in a file."""
    reads = []

    def visit(node: ast.AST, function: str | None) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            function = node.name
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", None)
            if (name, node.func.attr) in CLOCK_READS:
                reads.append((function, node.lineno, f"{name}.{node.func.attr}"))
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(ast.parse(path.read_text(encoding="utf-8")), None)
    return reads


def test_only_the_calendars_clock_reads_the_date_in_the_program_ops_and_tests():
    tracked = subprocess.run(["git", "ls-files", "*.py"], cwd=harness.PROJECT_DIR, capture_output=True,
                             text=True, check=True).stdout.split()
    assert "eks_versions.py" in tracked
    found = set()
    for name in tracked:
        for function, line, call in _clock_reads(harness.PROJECT_DIR / name):
            if (name, function) not in ALLOWED and (name, None) not in ALLOWED:
                found.add(f"{name}:{line} {call} in {function}")
    assert found == set()


def test_the_clock_read_finder_finds_a_date_read(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("import datetime\ndef f():\n    return datetime.date.today()\n", encoding="utf-8")
    assert _clock_reads(probe) == [("f", 3, "date.today")]


def test_the_suite_answers_the_programs_clock_with_its_own_day():
    assert eks_versions.utc_today() == SUITE_TODAY


def test_the_suites_day_is_one_on_which_the_declared_default_is_in_standard_support():
    assert eks_versions.support_status(DEFAULT.version, SUITE_TODAY) == eks_versions.STANDARD


def test_the_harness_hands_the_program_the_day_it_is_given_on_the_last_day_of_standard_support():
    evaluate_stack("dev", today=DEFAULT.end_of_standard_support - DAY)


def test_the_harness_hands_the_program_the_day_it_is_given_on_the_first_day_of_extended_support():
    # dev keeps the STANDARD upgrade policy, which EKS cannot hold on a version in extended support.
    with pytest.raises(harness.ProgramFailed, match="upgrade policy STANDARD with Kubernetes " + DEFAULT.version):
        evaluate_stack("dev", today=DEFAULT.end_of_standard_support)


def test_the_program_refuses_the_default_once_its_extended_support_has_ended():
    overrides = {PREFIX + "kubernetesUpgradePolicy": "EXTENDED"}
    evaluate_stack("dev", overrides, today=DEFAULT.end_of_extended_support - DAY)
    with pytest.raises(harness.ProgramFailed, match="reached the end of EKS extended support"):
        evaluate_stack("dev", overrides, today=DEFAULT.end_of_extended_support)


def test_a_refused_day_registers_no_resource():
    with pytest.raises(harness.ProgramFailed) as caught:
        evaluate_stack("dev", today=DEFAULT.end_of_extended_support)
    assert [r.type for r in caught.value.registrations if r.type != "pulumi:pulumi:Stack"] == []


def test_without_a_day_the_harness_reads_the_clock_the_suite_answers(monkeypatch):
    # Moving the (suite's) clock past the default's standard support fails dev as the given day does.
    monkeypatch.setattr(eks_versions, "utc_today", lambda: DEFAULT.end_of_standard_support)
    with pytest.raises(harness.ProgramFailed, match="upgrade policy STANDARD"):
        evaluate_stack("dev")


# --- the same tests with the machine's clock moved ---------------------------------------------

FAKETIME = shutil.which("faketime")
CALENDAR_TESTS = ["tests/infra/test_eks_versions.py", "tests/infra/test_settings.py", "tests/infra/test_clock.py",
                  "tests/infra/test_node_autoscaler.py", "tests/infra/test_graph.py", "tests/ops/test_catalog.py"]


def _under_faketime(day: str, *command: str) -> subprocess.CompletedProcess:
    if FAKETIME is None:
        if os.environ.get("CI"):
            pytest.fail("faketime is not installed; .ci/run installs it (apt package faketime)")
        pytest.skip("faketime is not installed (apt package faketime)")
    return subprocess.run([FAKETIME, f"{day} 12:00:00", *command], cwd=harness.PROJECT_DIR,
                          capture_output=True, text=True, timeout=900,
                          env={**os.environ, "BACKEND_ON_EKS_UNDER_FAKETIME": day})


UNDER_FAKETIME = os.environ.get("BACKEND_ON_EKS_UNDER_FAKETIME")


@pytest.mark.skipif(not UNDER_FAKETIME, reason="only in the run under faketime")
def test_in_the_run_under_faketime_the_machines_clock_reads_the_faked_day():
    assert datetime.date.today().isoformat() == UNDER_FAKETIME


@pytest.mark.skipif(bool(UNDER_FAKETIME), reason="faketime does not nest")
@pytest.mark.parametrize("day", ["2027-06-01", "2028-09-01"])
def test_faketime_really_moves_the_clock_python_reads(day):
    result = _under_faketime(day, sys.executable, "-c", "import datetime; print(datetime.date.today())")
    assert result.stdout.strip() == day, result.stderr


@pytest.mark.skipif(bool(UNDER_FAKETIME), reason="already the faked run")
@pytest.mark.parametrize("day", ["2027-06-01", "2028-09-01"])
def test_the_calendars_tests_pass_with_the_machines_clock_moved(day):
    result = _under_faketime(day, sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider",
                             "-p", "no:randomly", *CALENDAR_TESTS)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
    assert "PASSED tests/infra/test_clock.py::test_in_the_run_under_faketime_the_machines_clock_reads_the_faked_day" in result.stdout
