"""Alerting: AMP alerting rules over the backend's own series, its alert manager, the SNS topic."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

from ops.offline import harness
from ops.offline.fakes import ACCOUNT
from ops.offline.stacks import evaluate_stack
from tests.app.app_server import AppServer
from tests.infra.test_settings_hostile import PREFIX, as_list, parsed_with, problems_for
from tests.support.fake_upstream import FakeUpstream
from tests.support.aws_metrics import is_published
from tests.support.tools import find_tool

TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
RULES = "aws:amp/ruleGroupNamespace:RuleGroupNamespace"
ALERT_MANAGER = "aws:amp/alertManagerDefinition:AlertManagerDefinition"
WORKSPACE = "aws:amp/workspace:Workspace"




def alerts(evaluation) -> list[dict]:
    [group] = yaml.safe_load(evaluation.one(RULES).inputs["data"])["groups"]
    return group["rules"]


def alert_manager_config(evaluation) -> dict:
    return yaml.safe_load(yaml.safe_load(evaluation.one(ALERT_MANAGER).inputs["definition"])["alertmanager_config"])


def test_dev_has_no_alerting_without_metrics():
    dev = evaluate_stack("dev")
    assert not dev.of_type(TOPIC) and not dev.of_type(RULES) and not dev.of_type(ALERT_MANAGER)


def test_rules_and_alert_manager_belong_to_the_stacks_workspace(prod):
    workspace_id = prod.one(WORKSPACE).urn
    for type_ in (RULES, ALERT_MANAGER):
        assert prod.one(type_).property_dependencies["workspaceId"] == [workspace_id]


def test_the_alerts_are_the_error_rate_the_p99_latency_and_a_backend_nobody_scrapes(prod):
    assert [(a["alert"], a["for"]) for a in alerts(prod)] == [
        ("BackendErrorRate", "5m"), ("BackendSlow", "10m"), ("BackendNotScraped", "5m")]


def test_thresholds_come_from_the_stack(prod):
    tuned = evaluate_stack("prod", {PREFIX + "alarmErrorRatePercent": 2, PREFIX + "alarmLatencyP99Ms": 250})
    exprs = {a["alert"]: a["expr"] for a in alerts(tuned)}
    assert exprs["BackendErrorRate"].endswith("> 0.02") and exprs["BackendSlow"].endswith("> 0.25")
    defaults = {a["alert"]: a["expr"] for a in alerts(prod)}
    assert defaults["BackendErrorRate"].endswith("> 0.05") and defaults["BackendSlow"].endswith("> 1")


def test_every_alert_selects_the_backends_scrape_job(prod):
    job = yaml.safe_load(prod.one("aws:amp/scraper:Scraper").inputs["scrapeConfiguration"])["scrape_configs"][0]["job_name"]
    for alert in alerts(prod):
        selectors = re.findall(r"\{([^}]*)\}", alert["expr"])
        assert selectors and all(f'job="{job}"' in selector for selector in selectors), alert


def test_the_rule_file_passes_a_real_rule_checker(prod, tmp_path):
    path = tmp_path / "rules.yml"
    path.write_text(prod.one(RULES).inputs["data"])
    checked = subprocess.run([find_tool("vmalert", ".venv"), f"-rule={path}", "-dryRun", "-loggerLevel=ERROR"],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_rule_checker_refuses_a_broken_expression(tmp_path):
    path = tmp_path / "rules.yml"
    path.write_text("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: sum(rate(x[5m])\n")
    checked = subprocess.run([find_tool("vmalert", ".venv"), f"-rule={path}", "-dryRun", "-loggerLevel=ERROR"],
                             capture_output=True, text=True)
    assert checked.returncode != 0


def test_the_alert_manager_configuration_passes_amtool(prod, tmp_path):
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_load(prod.one(ALERT_MANAGER).inputs["definition"])["alertmanager_config"])
    checked = subprocess.run([find_tool("amtool", ".venv"), "check-config", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_alerts_go_to_the_stacks_topic_signed_for_its_region(prod):
    [receiver] = alert_manager_config(prod)["receivers"]
    assert receiver["sns_configs"] == [{
        "topic_arn": prod.one(TOPIC).outputs["arn"], "sigv4": {"region": "us-east-1"},
        "subject": "backend-on-eks: {{ .CommonLabels.alertname }}"}]
    assert alert_manager_config(prod)["route"]["receiver"] == receiver["name"]


def test_only_this_workspace_of_this_account_may_publish_to_the_topic(prod):
    policy = json.loads(prod.one(TOPIC_POLICY).inputs["policy"])
    statement = policy["Statement"][0]
    assert statement["Principal"] == {"Service": "aps.amazonaws.com"}
    assert statement["Action"] == ["sns:Publish", "sns:GetTopicAttributes"]
    assert statement["Resource"] == prod.one(TOPIC).outputs["arn"]
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": prod.one(WORKSPACE).outputs["arn"]},
                                      "StringEquals": {"AWS:SourceAccount": ACCOUNT}}


def test_no_one_is_subscribed_by_default(prod):
    assert not prod.of_type(SUBSCRIPTION)


def test_each_alarm_email_is_an_email_subscription_of_the_topic():
    evaluation = evaluate_stack("prod", {PREFIX + "alarmEmails": ["oncall@example.com", "lead@example.org"]})
    subscriptions = sorted((s.inputs["protocol"], s.inputs["endpoint"]) for s in evaluation.of_type(SUBSCRIPTION))
    assert subscriptions == [("email", "lead@example.org"), ("email", "oncall@example.com")]
    topic_urn = evaluation.one(TOPIC).urn
    assert all(s.property_dependencies["topic"] == [topic_urn] for s in evaluation.of_type(SUBSCRIPTION))


def test_every_series_an_alert_reads_is_one_a_running_backend_exports(prod, tmp_path):
    names = {name for alert in alerts(prod) for name in re.findall(r"([a-z_:][a-z0-9_:]*)\{", alert["expr"])}
    assert names == {"http_requests_total", "http_request_duration_seconds_bucket", "up"}
    with FakeUpstream() as upstream, AppServer(tmp_path, {"UPSTREAM_URL": upstream.url}) as backend:
        requests.get(f"{backend.url}/contents/python", timeout=5)
        exposition = requests.get(f"{backend.admin_url}/metrics", timeout=5).text
    exported = {sample.name for family in text_string_to_metric_families(exposition) for sample in family.samples}
    # `up` is the scraper's own series for every target it scrapes, not the backend's.
    assert names - {"up"} <= exported, sorted(exported)



# --- bad input: refused before any resource, naming the key, the value and what is accepted ---------

@pytest.mark.parametrize("address", ["oncall", "oncall@", "@example.com", "on call@example.com", "oncall@example..com",
                                     "oncall@localhost"])
def test_an_alarm_email_that_is_no_address_is_refused(address):
    [problem] = problems_for({"metricsCollection": "true", "alarmEmails": as_list(address)})
    assert problem.startswith(f"{PREFIX}alarmEmails = {address!r}: must be an e-mail address such as oncall@example.com (")


def test_an_alarm_email_listed_twice_is_refused():
    [problem] = problems_for({"metricsCollection": "true", "alarmEmails": as_list("a@example.com", "a@example.com")})
    assert problem == f"{PREFIX}alarmEmails = 'a@example.com': is listed more than once"


def test_more_alarm_emails_than_a_team_confirms_are_refused():
    [problem] = problems_for({"metricsCollection": "true",
                              "alarmEmails": as_list(*(f"p{n}@example.com" for n in range(11)))})
    assert "must list at most 10 items" in problem and "mailing list" in problem


def test_alarm_emails_without_metrics_or_container_insights_are_refused_since_nothing_would_fire():
    [problem] = problems_for({"metricsCollection": "false", "containerInsights": "false",
                              "alarmEmails": as_list("oncall@example.com")})
    assert problem.startswith(f"{PREFIX}alarmEmails/{PREFIX}metricsCollection/{PREFIX}containerInsights = "
                              "['oncall@example.com']/false/false: ")
    assert "turn metricsCollection or containerInsights on, or leave alarmEmails empty" in problem


@pytest.mark.parametrize("collected", ["metricsCollection", "containerInsights"])
def test_alarm_emails_are_accepted_with_either_kind_of_metrics_collected(collected):
    parsed = parsed_with({"metricsCollection": "false", "containerInsights": "false", collected: "true",
                          "alarmEmails": as_list("oncall@example.com")})
    assert parsed.alarm_emails == ("oncall@example.com",)


@pytest.mark.parametrize(("key", "value", "bounds"), [
    ("alarmErrorRatePercent", "0", "1 to 50"), ("alarmErrorRatePercent", "51", "1 to 50"),
    ("alarmLatencyP99Ms", "9", "10 to 60000"), ("alarmLatencyP99Ms", "60001", "10 to 60000"),
])
def test_a_threshold_out_of_range_is_refused(key, value, bounds):
    [problem] = problems_for({key: value})
    assert problem == f"{PREFIX}{key} = {value}: must be a whole number from {bounds}"


def test_a_bad_alarm_setting_fails_the_program_before_any_resource():
    with pytest.raises(harness.ProgramFailed) as caught:
        evaluate_stack("prod", {PREFIX + "alarmEmails": ["not-an-address"]})
    assert "alarmEmails" in str(caught.value) and caught.value.registrations == []


# --- the front door's targets ----------------------------------------------------------------------

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TARGETS_ALARM = "alerting-unhealthy-targets"
RESTARTS_ALARM = "alerting-container-restarts"


def test_unhealthy_load_balancer_targets_page_through_the_same_topic(prod):
    alarm = prod.one(ALARM, TARGETS_ALARM)
    topic = prod.one(TOPIC).outputs["arn"]
    assert (alarm.inputs["namespace"], alarm.inputs["metricName"], alarm.inputs["statistic"]) == (
        "AWS/NetworkELB", "UnHealthyHostCount", "Maximum")
    assert alarm.inputs["alarmActions"] == [topic] and alarm.inputs["okActions"] == [topic]
    assert (alarm.inputs["comparisonOperator"], alarm.inputs["threshold"]) == ("GreaterThanThreshold", 0)


def test_the_alarm_watches_the_stacks_own_load_balancer_and_target_group_by_their_dimensions(prod):
    dimensions = prod.one(ALARM, TARGETS_ALARM).inputs["dimensions"]
    assert dimensions == {"LoadBalancer": prod.one("aws:lb/loadBalancer:LoadBalancer").outputs["arnSuffix"],
                          "TargetGroup": prod.one("aws:lb/targetGroup:TargetGroup").outputs["arnSuffix"]}
    assert dimensions["LoadBalancer"].startswith("net/") and dimensions["TargetGroup"].startswith("targetgroup/")


def test_the_topic_lets_the_stacks_alarms_and_no_other_publish(prod):
    [_, statement] = json.loads(prod.one(TOPIC_POLICY).inputs["policy"])["Statement"]
    assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"} and statement["Action"] == "sns:Publish"
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": sorted(
        prod.one(ALARM, name).outputs["arn"] for name in (TARGETS_ALARM, RESTARTS_ALARM))}}


def test_one_alarm_is_named_alone_as_the_source_that_may_publish():
    front_door_only = evaluate_stack("prod", {PREFIX + "containerInsights": False})
    [_, statement] = json.loads(front_door_only.one(TOPIC_POLICY).inputs["policy"])["Statement"]
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": front_door_only.one(ALARM).outputs["arn"]}}


def test_without_a_load_balancer_there_is_no_target_alarm():
    node_port = evaluate_stack("dev", {PREFIX + "metricsCollection": True})
    assert not node_port.of_type(ALARM) and node_port.of_type(RULES)
    assert len(json.loads(node_port.one(TOPIC_POLICY).inputs["policy"])["Statement"]) == 1


# --- container restarts (Container Insights) ---------------------------------------------------------

def test_a_backend_container_restart_pages_through_the_same_topic(prod):
    alarm = prod.one(ALARM, RESTARTS_ALARM)
    topic = prod.one(TOPIC).outputs["arn"]
    assert (alarm.inputs["namespace"], alarm.inputs["metricName"], alarm.inputs["statistic"]) == (
        "ContainerInsights", "pod_number_of_container_restarts", "Sum")
    assert (alarm.inputs["comparisonOperator"], alarm.inputs["threshold"]) == ("GreaterThanThreshold", 0)
    assert alarm.inputs["alarmActions"] == [topic] and alarm.inputs["okActions"] == [topic]


def test_restarts_are_counted_per_five_minutes_since_the_agent_reports_each_measurements_new_ones(prod):
    alarm = prod.one(ALARM, RESTARTS_ALARM)
    assert (alarm.inputs["period"], alarm.inputs["evaluationPeriods"], alarm.inputs["treatMissingData"]) == (
        300, 1, "notBreaching")


def test_the_restart_alarm_watches_the_backends_deployment_as_container_insights_names_it(prod):
    dimensions = prod.one(ALARM, RESTARTS_ALARM).inputs["dimensions"]
    assert dimensions == {"ClusterName": "backend-on-eks-prod", "Namespace": prod.exports["namespace"],
                          "PodName": prod.exports["deploymentName"]}


def test_every_alarm_reads_a_metric_aws_publishes_under_its_dimensions(prod):
    for alarm in prod.of_type(ALARM):
        inputs = alarm.inputs
        assert is_published(inputs["namespace"], inputs["metricName"], frozenset(inputs["dimensions"])), alarm.name


def test_container_insights_alone_pages_with_no_amp_rules():
    alone = evaluate_stack("dev", {PREFIX + "containerInsights": True, PREFIX + "alarmEmails": ["oncall@example.com"]})
    assert not alone.of_type(RULES) and not alone.of_type(ALERT_MANAGER)
    [statement] = json.loads(alone.one(TOPIC_POLICY).inputs["policy"])["Statement"]
    assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": alone.one(ALARM).outputs["arn"]}}
    assert alone.one(SUBSCRIPTION).inputs["endpoint"] == "oncall@example.com"
