"""The stack's CloudWatch dashboard: laid out as CloudWatch's dashboard body allows, reading only
metrics AWS publishes under the stack's own dimensions, and log fields a real backend writes."""

from __future__ import annotations

import json
import re

import pytest
import requests

from components.dashboard import UPSTREAM_LOGGER
from ops.offline.stacks import evaluate_stack
from tests.app.app_server import AppServer
from tests.infra.test_settings_hostile import PREFIX
from tests.support.aws_metrics import is_published
from tests.support.fake_upstream import FakeUpstream

DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
# The dashboard body reference (CloudWatch API reference, "Dashboard Body Structure and Syntax").
WIDGET_TYPES = {"metric", "text", "log", "alarm", "explorer"}
GRID_COLUMNS = 24
DASHBOARD_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")


def body(evaluation) -> dict:
    return json.loads(evaluation.one(DASHBOARD).inputs["dashboardBody"])


def widgets(evaluation, widget_type: str | None = None) -> list[dict]:
    return [w for w in body(evaluation)["widgets"] if widget_type is None or w["type"] == widget_type]


def expanded_metrics(widget: dict) -> list[tuple[str, str, dict[str, str]]]:
    """(namespace, metric, dimensions) of each row, with "." taken from the row above as CloudWatch does."""
    rows, previous = [], None
    for row in widget["properties"]["metrics"]:
        fields = [field for field in row if not isinstance(field, dict)]
        if previous is not None:
            fields = [previous[i] if value == "." else value for i, value in enumerate(fields)]
        assert "." not in fields, row
        previous = fields
        namespace, metric, *pairs = fields
        assert len(pairs) % 2 == 0, row
        rows.append((namespace, metric, dict(zip(pairs[::2], pairs[1::2]))))
    return rows


def test_prod_has_a_dashboard_and_dev_none_by_default(prod):
    assert prod.one(DASHBOARD) and not evaluate_stack("dev").of_type(DASHBOARD)


def test_the_dashboard_is_named_after_the_cluster_and_region_since_dashboards_are_global(prod):
    name = prod.one(DASHBOARD).inputs["dashboardName"]
    assert name == "backend-on-eks-prod-us-east-1" and DASHBOARD_NAME.fullmatch(name)
    elsewhere = evaluate_stack("prod", {"aws:region": "eu-west-1"})
    assert elsewhere.one(DASHBOARD).inputs["dashboardName"] != name


def test_every_widget_is_a_type_cloudwatch_knows_and_fits_the_24_column_grid(prod):
    for widget in widgets(prod):
        assert widget["type"] in WIDGET_TYPES
        assert 0 <= widget["x"] and 1 <= widget["width"] and widget["x"] + widget["width"] <= GRID_COLUMNS, widget
        assert 0 <= widget["y"] and 1 <= widget["height"] <= 1000


def test_no_two_widgets_overlap(prod):
    cells = {}
    for index, widget in enumerate(widgets(prod)):
        for x in range(widget["x"], widget["x"] + widget["width"]):
            for y in range(widget["y"], widget["y"] + widget["height"]):
                assert (x, y) not in cells, (index, cells.get((x, y)))
                cells[x, y] = index


def test_every_metric_and_log_widget_reads_the_stacks_region(prod):
    assert {w["properties"]["region"] for w in widgets(prod) if w["type"] in ("metric", "log")} == {"us-east-1"}


def test_every_period_is_a_whole_number_of_minutes(prod):
    assert all(w["properties"]["period"] % 60 == 0 for w in widgets(prod, "metric"))


def test_every_metric_is_one_aws_publishes_under_those_dimensions(prod):
    rows = [row for widget in widgets(prod, "metric") for row in expanded_metrics(widget)]
    assert len(rows) == 11
    unpublished = [row for row in rows if not is_published(row[0], row[1], frozenset(row[2]))]
    assert unpublished == []


def test_every_metric_is_the_stacks_own(prod):
    own = {
        "ClusterName": "backend-on-eks-prod",
        "Namespace": prod.exports["namespace"],
        "PodName": prod.exports["deploymentName"],
        "LoadBalancer": prod.one("aws:lb/loadBalancer:LoadBalancer").outputs["arnSuffix"],
        "TargetGroup": prod.one("aws:lb/targetGroup:TargetGroup").outputs["arnSuffix"],
    }
    for widget in widgets(prod, "metric"):
        for _, _, dimensions in expanded_metrics(widget):
            assert dimensions == {name: own[name] for name in dimensions}


def test_pods_are_watched_by_their_deployments_name_as_container_insights_reports_them(prod):
    restarts = [row for w in widgets(prod, "metric") for row in expanded_metrics(w)
                if row[1] == "pod_number_of_container_restarts"]
    assert [row[2]["PodName"] for row in restarts] == [prod.exports["deploymentName"]]


def test_without_a_load_balancer_there_is_no_load_balancer_widget(prod_node_port):
    namespaces = {row[0] for w in widgets(prod_node_port, "metric") for row in expanded_metrics(w)}
    assert namespaces == {"ContainerInsights"}


def test_the_alarm_widget_shows_every_alarm_of_the_stack(prod):
    [widget] = widgets(prod, "alarm")
    alarms = sorted(r.outputs["arn"] for r in prod.of_type("aws:cloudwatch/metricAlarm:MetricAlarm"))
    assert len(alarms) == 2 and widget["properties"]["alarms"] == alarms


# --- the log widgets, against what a real backend writes ---------------------------------------------

CONDITION = re.compile(r"([a-z_.]+) (=|!=|>=) ('[^']*'|\d+)")


def queries(evaluation) -> list[str]:
    return [w["properties"]["query"] for w in widgets(evaluation, "log")]


def clauses(query: str) -> list[str]:
    return query.split("\n| ")


def conditions(query: str) -> list[tuple[str, str, str | int]]:
    [filter_clause] = [c for c in clauses(query) if c.startswith("filter ")]
    parts = filter_clause.removeprefix("filter ").split(" and ")
    parsed = [CONDITION.fullmatch(part) for part in parts]
    assert all(parsed), filter_clause
    return [(m[1], m[2], m[3].strip("'") if m[3].startswith("'") else int(m[3])) for m in parsed]


def value_at(event: dict, path: str):
    for key in path.split("."):
        if not isinstance(event, dict) or key not in event:
            return None
        event = event[key]
    return event


def matches(event: dict, query: str) -> bool:
    for path, operator, literal in conditions(query):
        value = value_at(event, path)
        if value is None or (operator == "=" and value != literal) or (operator == "!=" and value == literal) or (
                operator == ">=" and not (isinstance(value, int) and value >= literal)):
            return False
    return True


def test_every_log_widget_reads_the_stacks_application_group_and_its_namespace(prod):
    group = prod.exports["applicationLogGroup"]
    for query in queries(prod):
        assert clauses(query)[0] == f"SOURCE '{group}'"
        assert ("kubernetes.namespace_name", "=", prod.exports["namespace"]) in conditions(query)


@pytest.fixture(scope="module")
def shipped_events(tmp_path_factory, prod) -> list[dict]:
    """A real backend's stdout and stderr lines as Fluent Bit ships them: the raw line under `log`, its
    JSON under `log_processed` (Merge_Log_Key), the pod's metadata under `kubernetes`."""
    workdir = tmp_path_factory.mktemp("dashboard-backend")
    with FakeUpstream() as upstream, AppServer(workdir, {"UPSTREAM_URL": upstream.url}) as backend:
        # One request per topic: each worker keeps its own cache, so a repeat may be a hit or a miss.
        requests.get(f"{backend.url}/contents/python", timeout=5)  # fetched: a miss
        upstream.set_mode("error")
        requests.get(f"{backend.url}/contents/rust", timeout=10)  # the upstream fails: 502
        requests.get(f"{backend.url}/nothing-here", timeout=5)
    metadata = {"namespace_name": prod.exports["namespace"], "pod_name": "backend-5d9c7f-abcde",
                "container_name": "backend"}
    events = []
    for stream, path in (("stdout", backend.stdout_path), ("stderr", backend.stderr_path)):
        for line in path.read_text().splitlines():
            try:
                parsed = json.loads(line)
            except ValueError:
                continue
            events.append({"log": line, "stream": stream, "log_processed": parsed, "kubernetes": metadata})
    return events


def test_every_log_widget_finds_lines_a_real_backend_writes(prod, shipped_events):
    empty = [query for query in queries(prod) if not any(matches(event, query) for event in shipped_events)]
    assert empty == []


def test_the_error_widget_counts_the_5xx_answer_and_nothing_else(prod, shipped_events):
    [errors] = [q for q in queries(prod) if "status >= 500" in q]
    assert [e["log_processed"]["status"] for e in shipped_events if matches(e, errors)] == [502]


def test_the_latency_widget_reads_a_number_of_milliseconds_every_access_line_has(prod, shipped_events):
    [latency] = [q for q in queries(prod) if "pct(" in q]
    assert set(re.findall(r"pct\(([a-z_.]+), \d+\)", latency)) == {"log_processed.duration_ms"}
    access = [e for e in shipped_events if matches(e, latency)]
    assert len(access) == 3 and all(isinstance(value_at(e, "log_processed.duration_ms"), float) for e in access)


def test_the_upstream_failure_widget_counts_the_one_failed_search(prod, shipped_events):
    [failures] = [q for q in queries(prod) if UPSTREAM_LOGGER in q]
    assert len([e for e in shipped_events if matches(e, failures)]) == 1


def test_the_fetched_widget_counts_the_one_answer_fetched_from_the_upstream(prod, shipped_events):
    [fetched] = [q for q in queries(prod) if "cache = 'miss'" in q]
    assert [e["log_processed"]["path"] for e in shipped_events if matches(e, fetched)] == ["/contents/python"]


def test_the_load_balancers_health_checks_are_not_counted_as_requests(prod, shipped_events):
    # The server's readiness wait asked /readyz on the public port, as the load balancer does.
    checks = [e for e in shipped_events if value_at(e, "log_processed.path") == "/readyz"]
    assert checks and not any(matches(e, query) for query in queries(prod) for e in checks)


def test_another_namespaces_lines_are_not_counted(prod, shipped_events):
    elsewhere = [{**e, "kubernetes": {**e["kubernetes"], "namespace_name": "kube-system"}} for e in shipped_events]
    assert not any(matches(event, query) for query in queries(prod) for event in elsewhere)


def test_container_insights_off_means_no_dashboard():
    assert not evaluate_stack("prod", {PREFIX + "containerInsights": False}).of_type(DASHBOARD)
