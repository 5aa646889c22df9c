"""Alerts: AMP alerting rules over the backend's metrics, CloudWatch alarms over AWS's, one SNS topic.

The rules run in the workspace the scraper writes to (AMP's ruler), so they need nothing in the
cluster, and each series they read is one the backend exports (`app/backend/metrics.py`). AMP's
alert manager may notify only through SNS; the topic admits it by the workspace's ARN and the
account, as the AMP guide's topic policy does. What AWS itself measures (the load balancer's
target health, Container Insights' container restarts) is watched by CloudWatch alarms paging the
same topic, each admitted by its own ARN. E-mail subscriptions are the stack's alarmEmails; each
must be confirmed by its owner before anything arrives.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Mapping, Sequence

import pulumi
import pulumi_aws as aws
import yaml

RULE_NAMESPACE = "backend"
# Three minutes of unhealthy targets: one failed health check round is not yet an outage.
UNHEALTHY_TARGET_MINUTES = 3
# Container Insights reports, per measurement, the restarts since the previous one (the agent's
# pod store); any in five minutes is a crash, an OOM kill or a failed liveness probe, never a
# rollout (which starts new pods instead).
RESTART_WINDOW_SECONDS = 300


@dataclass(frozen=True)
class Workspace:
    """The AMP workspace whose metrics the rules read."""
    id: pulumi.Input[str]
    arn: pulumi.Input[str]


@dataclass
class AlertingArgs:
    region: str
    job: str
    """The scrape job of the backend's pods (the scraper's configuration names it)."""
    error_rate_percent: int
    latency_p99_ms: int
    workspace: Workspace | None = None
    """Without one, no rules: the backend's own metrics are not collected."""
    emails: Sequence[str] = ()
    load_balancer_dimensions: tuple[pulumi.Input[str], pulumi.Input[str]] | None = None
    """With a load balancer in front: its and its target group's ARN suffixes, the values of the
    LoadBalancer and TargetGroup dimensions CloudWatch reports their targets' health under."""
    restart_dimensions: Mapping[str, pulumi.Input[str]] | None = None
    """With Container Insights: the ClusterName, Namespace and PodName (for a Deployment's pods,
    the Deployment's name) it reports the backend's container restarts under."""


def alert_rules(job: str, error_rate_percent: int, latency_p99_ms: int) -> str:
    """The Prometheus rule file AMP's ruler evaluates: each alert names what fired and why."""
    selector = f'job="{job}"'
    rules = [
        {"alert": "BackendErrorRate",
         "expr": f'sum(rate(http_requests_total{{{selector},status=~"5.."}}[5m])) '
                 f'/ sum(rate(http_requests_total{{{selector}}}[5m])) > {error_rate_percent / 100:g}',
         "for": "5m", "labels": {"severity": "page"},
         "annotations": {"summary": f"More than {error_rate_percent}% of the backend's answers are 5xx (5 min)."}},
        {"alert": "BackendSlow",
         "expr": f"histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{{{selector}}}[5m]))) "
                 f"> {latency_p99_ms / 1000:g}",
         "for": "10m", "labels": {"severity": "page"},
         "annotations": {"summary": f"The backend's p99 latency is above {latency_p99_ms} ms (10 min)."}},
        {"alert": "BackendNotScraped",
         "expr": f"absent(up{{{selector}}} == 1)",
         "for": "5m", "labels": {"severity": "page"},
         "annotations": {"summary": "No backend pod answers the metrics scraper: pods down, or the scraper cut off."}},
    ]
    return yaml.safe_dump({"groups": [{"name": job, "rules": rules}]}, sort_keys=False)


def alert_manager_definition(topic_arn: str, region: str) -> str:
    config = {
        "route": {"receiver": "sns", "group_by": ["alertname"], "repeat_interval": "4h"},
        "receivers": [{"name": "sns", "sns_configs": [{
            "topic_arn": topic_arn, "sigv4": {"region": region},
            "subject": "backend-on-eks: {{ .CommonLabels.alertname }}",
        }]}],
    }
    # AMP wants the whole configuration as one string under alertmanager_config.
    return yaml.safe_dump({"alertmanager_config": yaml.safe_dump(config, sort_keys=False)}, sort_keys=False)


class Alerting(pulumi.ComponentResource):
    topic_arn: pulumi.Output[str]
    alarm_arns: pulumi.Output[list[str]]
    """The CloudWatch alarms', for a dashboard to show their state."""
    alarm_names: pulumi.Output[list[str]]
    """The same alarms by name, what `describe-alarms` is asked with."""

    def __init__(self, name: str, args: AlertingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend-on-eks:index:Alerting", name, None, opts)
        self._prefix = name
        child = pulumi.ResourceOptions(parent=self)
        topic = aws.sns.Topic(f"{name}-topic", opts=child)
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        alarms = []
        if args.load_balancer_dimensions is not None:
            alarms.append(self._unhealthy_targets_alarm(topic, args.load_balancer_dimensions))
        if args.restart_dimensions is not None:
            alarms.append(self._restarts_alarm(topic, args.restart_dimensions))
        self.alarm_arns = pulumi.Output.all(*[alarm.arn for alarm in alarms])
        workspace_arn = args.workspace.arn if args.workspace else None
        # The topic's whole policy: who may publish is named by source (the confused-deputy
        # conditions AMP's and CloudWatch's guides give); the account's own principals keep what
        # their IAM policies grant.
        aws.sns.TopicPolicy(
            f"{name}-topic-policy",
            arn=topic.arn,
            policy=pulumi.Output.all(topic.arn, workspace_arn, account, self.alarm_arns).apply(
                lambda values: json.dumps(_topic_policy(*values))),
            opts=child,
        )
        for address in args.emails:
            aws.sns.TopicSubscription(f"{name}-email-{address}", topic=topic.arn, protocol="email",
                                      endpoint=address, opts=child)
        if args.workspace is not None:
            self._rules(args, args.workspace, topic)
        self.topic_arn = topic.arn
        self.alarm_names = pulumi.Output.all(*[alarm.name for alarm in alarms])
        self.register_outputs({"topic_arn": self.topic_arn, "alarm_arns": self.alarm_arns,
                               "alarm_names": self.alarm_names})

    def _rules(self, args: AlertingArgs, workspace: Workspace, topic: aws.sns.Topic) -> None:
        child = pulumi.ResourceOptions(parent=self)
        aws.amp.RuleGroupNamespace(
            f"{self._prefix}-rules",
            name=RULE_NAMESPACE,
            workspace_id=workspace.id,
            data=alert_rules(args.job, args.error_rate_percent, args.latency_p99_ms),
            opts=child,
        )
        aws.amp.AlertManagerDefinition(
            f"{self._prefix}-alert-manager",
            workspace_id=workspace.id,
            definition=topic.arn.apply(lambda arn: alert_manager_definition(arn, args.region)),
            opts=child,
        )

    def _unhealthy_targets_alarm(self, topic: aws.sns.Topic,
                                 dimensions: tuple[pulumi.Input[str], pulumi.Input[str]]) -> aws.cloudwatch.MetricAlarm:
        load_balancer, target_group = dimensions
        # AWS reports the metric while targets are registered; none reported is no unhealthy target.
        return self._above_zero(
            "unhealthy-targets", topic,
            "A node behind the load balancer fails its health check (/readyz through the nodePort).",
            namespace="AWS/NetworkELB", metric_name="UnHealthyHostCount",
            dimensions={"LoadBalancer": load_balancer, "TargetGroup": target_group},
            statistic="Maximum", period=60, evaluation_periods=UNHEALTHY_TARGET_MINUTES,
        )

    def _restarts_alarm(self, topic: aws.sns.Topic, dimensions: Mapping[str, pulumi.Input[str]]) -> aws.cloudwatch.MetricAlarm:
        # The agent reports nothing for a pod it has measured once only; no report is no restart.
        return self._above_zero(
            "container-restarts", topic,
            "A backend container restarted: it crashed, was killed for memory, or failed its liveness probe.",
            namespace="ContainerInsights", metric_name="pod_number_of_container_restarts",
            dimensions=dict(dimensions), statistic="Sum", period=RESTART_WINDOW_SECONDS, evaluation_periods=1,
        )

    def _above_zero(self, suffix: str, topic: aws.sns.Topic, description: str, **metric) -> aws.cloudwatch.MetricAlarm:
        """An alarm on any nonzero value, paging the topic when it fires and when it clears; no data
        is no trouble (both metrics are reported only while there is something to count)."""
        return aws.cloudwatch.MetricAlarm(
            f"{self._prefix}-{suffix}",
            alarm_description=description,
            threshold=0,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=[topic.arn],
            ok_actions=[topic.arn],
            opts=pulumi.ResourceOptions(parent=self),
            **metric,
        )


def _topic_policy(topic_arn: str, workspace_arn: str | None, account: str, alarm_arns: list[str]) -> dict:
    statements = []
    if workspace_arn is not None:
        statements.append({
            "Sid": "AmpAlertManagerPublishes",
            "Effect": "Allow",
            "Principal": {"Service": "aps.amazonaws.com"},
            "Action": ["sns:Publish", "sns:GetTopicAttributes"],
            "Resource": topic_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": workspace_arn}, "StringEquals": {"AWS:SourceAccount": account}},
        })
    if alarm_arns:
        statements.append({
            "Sid": "CloudWatchAlarmPublishes",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": topic_arn,
            # The condition AWS's own guidance for alarm actions gives (aws:SourceArn of the alarm);
            # a list is any of them.
            "Condition": {"ArnEquals": {"aws:SourceArn": alarm_arns[0] if len(alarm_arns) == 1 else sorted(alarm_arns)}},
        })
    return {"Version": "2012-10-17", "Statement": statements}
