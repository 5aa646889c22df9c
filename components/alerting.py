"""Alerts over the collected metrics: AMP alerting rules, its alert manager, and the SNS topic it pages.

The rules run in the workspace the scraper writes to (AMP's ruler), so they need nothing in the
cluster, and each series they read is one the backend exports (`app/backend/metrics.py`). AMP's
alert manager may notify only through SNS; the topic admits it by the workspace's ARN and the
account, as the AMP guide's topic policy does. E-mail subscriptions are the stack's alarmEmails;
each must be confirmed by its owner before anything arrives.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Sequence

import pulumi
import pulumi_aws as aws
import yaml

RULE_NAMESPACE = "backend"
# Three minutes of unhealthy targets: one failed health check round is not yet an outage.
UNHEALTHY_TARGET_MINUTES = 3


@dataclass
class AlertingArgs:
    workspace_id: pulumi.Input[str]
    workspace_arn: pulumi.Input[str]
    region: str
    job: str
    """The scrape job of the backend's pods (the scraper's configuration names it)."""
    error_rate_percent: int
    latency_p99_ms: int
    emails: Sequence[str] = ()
    load_balancer_dimensions: tuple[pulumi.Input[str], pulumi.Input[str]] | None = None
    """With a load balancer in front: its and its target group's ARN suffixes, the values of the
    LoadBalancer and TargetGroup dimensions CloudWatch reports their targets' health under."""


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

    def __init__(self, name: str, args: AlertingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend-on-eks:index:Alerting", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        topic = aws.sns.Topic(f"{name}-topic", opts=child)
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        alarm = None
        if args.load_balancer_dimensions is not None:
            alarm = self._unhealthy_targets_alarm(name, topic, args.load_balancer_dimensions)
        # The topic's whole policy: who may publish is named by source (the confused-deputy
        # conditions AMP's and CloudWatch's guides give); the account's own principals keep what
        # their IAM policies grant.
        aws.sns.TopicPolicy(
            f"{name}-topic-policy",
            arn=topic.arn,
            policy=pulumi.Output.all(topic.arn, args.workspace_arn, account, alarm.arn if alarm else None).apply(
                lambda values: json.dumps(_topic_policy(*values))),
            opts=child,
        )
        for address in args.emails:
            aws.sns.TopicSubscription(f"{name}-email-{address}", topic=topic.arn, protocol="email",
                                      endpoint=address, opts=child)
        aws.amp.RuleGroupNamespace(
            f"{name}-rules",
            name=RULE_NAMESPACE,
            workspace_id=args.workspace_id,
            data=alert_rules(args.job, args.error_rate_percent, args.latency_p99_ms),
            opts=child,
        )
        aws.amp.AlertManagerDefinition(
            f"{name}-alert-manager",
            workspace_id=args.workspace_id,
            definition=topic.arn.apply(lambda arn: alert_manager_definition(arn, args.region)),
            opts=child,
        )
        self.topic_arn = topic.arn
        self.register_outputs({"topic_arn": self.topic_arn})

    def _unhealthy_targets_alarm(self, name: str, topic: aws.sns.Topic,
                                 dimensions: tuple[pulumi.Input[str], pulumi.Input[str]]) -> aws.cloudwatch.MetricAlarm:
        load_balancer, target_group = dimensions
        return aws.cloudwatch.MetricAlarm(
            f"{name}-unhealthy-targets",
            alarm_description="A node behind the load balancer fails its health check (/readyz through the nodePort).",
            namespace="AWS/NetworkELB",
            metric_name="UnHealthyHostCount",
            dimensions={"LoadBalancer": load_balancer, "TargetGroup": target_group},
            statistic="Maximum",
            period=60,
            evaluation_periods=UNHEALTHY_TARGET_MINUTES,
            threshold=0,
            comparison_operator="GreaterThanThreshold",
            # AWS reports the metric while targets are registered; none reported is no unhealthy target.
            treat_missing_data="notBreaching",
            alarm_actions=[topic.arn],
            ok_actions=[topic.arn],
            opts=pulumi.ResourceOptions(parent=self),
        )


def _topic_policy(topic_arn: str, workspace_arn: str, account: str, alarm_arn: str | None) -> dict:
    statements = [{
        "Sid": "AmpAlertManagerPublishes",
        "Effect": "Allow",
        "Principal": {"Service": "aps.amazonaws.com"},
        "Action": ["sns:Publish", "sns:GetTopicAttributes"],
        "Resource": topic_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": workspace_arn}, "StringEquals": {"AWS:SourceAccount": account}},
    }]
    if alarm_arn is not None:
        statements.append({
            "Sid": "CloudWatchAlarmPublishes",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": topic_arn,
            # The condition AWS's own guidance for alarm actions gives (aws:SourceArn of the alarm).
            "Condition": {"ArnEquals": {"aws:SourceArn": alarm_arn}},
        })
    return {"Version": "2012-10-17", "Statement": statements}
