"""ops/chart_rbac.py: the Cluster Autoscaler chart's ClusterRole, rendered for AWS, or refused.

The templates here are written for these tests in the chart's own dialect (the constructs its
clusterrole.yaml uses), not copies of it.
"""

from __future__ import annotations

import textwrap

import pytest

from ops import chart_rbac

HEADER = """\
{{- if and .Values.rbac.create .Values.rbac.clusterScoped -}}
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
{{- with .Values.rbac.annotations }}
  annotations:
  {{- range $k, $v := . }}
    {{- printf "%s: %s" $k $v | nindent 4 }}
  {{- end }}
{{- end }}
  labels:
{{ include "chart.labels" . | indent 4 }}
  name: {{ template "chart.fullname" . }}
rules:
"""
FOOTER = """\
{{- if .Values.rbac.additionalRules }}
{{ toYaml .Values.rbac.additionalRules | indent 2 }}
{{- end }}
{{- end -}}
"""


def template(rules: str) -> str:
    return HEADER + textwrap.dedent(rules) + FOOTER


def test_rules_outside_any_condition_are_granted_as_written():
    rules = chart_rbac.cluster_rules(template("""\
          - apiGroups: [""]
            resources: [pods, nodes]
            verbs: [watch, list, get]
        """))
    assert rules == [{"apiGroups": [""], "resources": ["pods", "nodes"], "verbs": ["watch", "list", "get"]}]


def test_a_rule_for_another_cloud_provider_is_left_out():
    rules = chart_rbac.cluster_rules(template("""\
        {{- if (eq .Values.cloudProvider "coreweave") }}
          - apiGroups: [compute.example.com]
            resources: [nodepools]
            verbs: [get]
        {{- end }}
          - apiGroups: [""]
            resources: [pods]
            verbs: [get]
        """))
    assert [rule["apiGroups"] for rule in rules] == [[""]]


def test_a_verb_inside_a_condition_in_the_middle_of_a_list_follows_the_condition():
    rules = chart_rbac.cluster_rules(template("""\
          - apiGroups: [""]
            resources: [nodes]
            verbs:
            - watch
        {{- if or (eq .Values.cloudProvider "kwok") (eq .Values.cloudProvider "aws") }}
            - patch
        {{- end }}
            - get
        """))
    assert rules[0]["verbs"] == ["watch", "patch", "get"]


def test_the_else_branch_is_taken_when_the_condition_is_false():
    rules = chart_rbac.cluster_rules(template("""\
        {{- if .Values.rbac.pspEnabled }}
          - apiGroups: [policy]
            resources: [podsecuritypolicies]
            verbs: [use]
        {{- else }}
          - apiGroups: [""]
            resources: [pods]
            verbs: [get]
        {{- end }}
        """))
    assert rules == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]


def test_nested_and_or_with_three_arguments_evaluate_as_go_templates_do():
    rules = chart_rbac.cluster_rules(template("""\
        {{- if and ( and ( eq .Values.cloudProvider "clusterapi" ) ( .Values.rbac.clusterScoped ) ( or ( eq .Values.clusterAPIMode "incluster-incluster" ) ( eq .Values.clusterAPIMode "kubeconfig-incluster" ) ))}}
          - apiGroups: [cluster.x-k8s.io]
            resources: [machines]
            verbs: [get]
        {{- end }}
          - apiGroups: [""]
            resources: [pods]
            verbs: [get]
        """))
    assert [rule["apiGroups"] for rule in rules] == [[""]]


def test_the_extensions_group_that_kubernetes_no_longer_serves_is_dropped_from_a_rule():
    rules = chart_rbac.cluster_rules(template("""\
          - apiGroups: [batch, extensions]
            resources: [jobs]
            verbs: [get, patch]
          - apiGroups: [extensions]
            resources: [replicasets]
            verbs: [get]
        """))
    assert rules == [{"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "patch"]}]


def test_creating_and_deleting_nodes_is_withheld_on_aws():
    rules = chart_rbac.cluster_rules(template("""\
          - apiGroups: [""]
            resources: [nodes]
            verbs: [watch, list, create, delete, get, update]
        """))
    assert rules[0]["verbs"] == ["watch", "list", "get", "update"]


def test_verbs_are_withheld_only_when_every_kind_of_the_rule_withholds_them():
    rules = chart_rbac.cluster_rules(template("""\
          - apiGroups: [""]
            resources: [nodes, pods]
            verbs: [create, get]
        """))
    assert rules[0]["verbs"] == ["create", "get"]


def test_resource_names_are_kept():
    rules = chart_rbac.cluster_rules(template("""\
          - apiGroups: [coordination.k8s.io]
            resourceNames: [cluster-autoscaler]
            resources: [leases]
            verbs: [get, update]
        """))
    assert rules[0]["resourceNames"] == ["cluster-autoscaler"]


@pytest.mark.parametrize("condition, refusal", [
    (".Values.someNewSwitch", "a value this renderer does not know"),
    ('(eq .Values.rbac.newMode "x")', "a value this renderer does not know"),
    ('(semverCompare ">=1.35" .Capabilities.KubeVersion.Version)', "cannot evaluate"),
    ('(hasKey .Values.rbac "x")', "cannot evaluate"),
])
def test_a_condition_the_renderer_cannot_decide_is_refused_rather_than_guessed(condition, refusal):
    with pytest.raises(chart_rbac.ChartError, match=refusal):
        chart_rbac.cluster_rules(template(f"""\
            {{{{- if {condition} }}}}
              - apiGroups: [""]
                resources: [secrets]
                verbs: [get]
            {{{{- end }}}}
            """))


def test_an_action_that_would_print_inside_a_rule_leaves_a_hole_that_is_refused():
    with pytest.raises(chart_rbac.ChartError, match="not a list of names"):
        chart_rbac.cluster_rules(template("""\
              - apiGroups: [""]
                resources: [pods]
                verbs: {{ toYaml .Values.rbac.verbs }}
            """))


def test_a_block_never_closed_is_refused():
    with pytest.raises(chart_rbac.ChartError, match="never closed"):
        chart_rbac.cluster_rules(HEADER + '{{- if .Values.rbac.pspEnabled }}\n  - apiGroups: [""]\n')


def test_a_with_over_a_value_that_is_not_empty_is_refused_rather_than_guessed():
    values = {**chart_rbac.AWS_VALUES, "rbac": {**chart_rbac.AWS_VALUES["rbac"], "annotations": {"a": "b"}}}
    with pytest.raises(chart_rbac.ChartError, match="non-empty"):
        chart_rbac.cluster_rules(template('  - apiGroups: [""]\n    resources: [pods]\n    verbs: [get]\n'), values)


def test_a_template_that_renders_no_cluster_role_is_refused():
    with pytest.raises(chart_rbac.ChartError, match="ClusterRole"):
        chart_rbac.cluster_rules("apiVersion: v1\nkind: ConfigMap\n")
