"""Reading stack outputs: every malformed or missing output is named, with what is accepted."""

from __future__ import annotations

import json

import pytest
from pulumi.automation._cmd import CommandResult
from pulumi.automation.errors import StackNotFoundError

from ops.__main__ import main
from ops.outputs import OutputsError, StackOutputs, command_error_reason, load_outputs_file
from tests.ops.cluster_state import REPOSITORY_URL, STACK_DIGEST

KUBECONFIG = {
    "apiVersion": "v1",
    "clusters": [{"name": "c", "cluster": {"server": "https://example.eks.amazonaws.com"}}],
    "users": [{"name": "u", "user": {"token": "s3cr3t"}}],
    "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
    "current-context": "c",
}


def valid(**overrides: object) -> dict:
    outputs = {
        "clusterName": "backend-eks",
        "region": "us-east-1",
        "kubeconfig": json.dumps(KUBECONFIG),
        "repositoryUrl": REPOSITORY_URL,
        "imageRef": f"{REPOSITORY_URL}@{STACK_DIGEST}",
        "namespace": "backend",
        "deploymentName": "backend",
        "serviceName": "backend",
        "nodePort": 30080,
        "containerPort": 8080,
        "portForwardCommand": "kubectl port-forward ...",
    }
    outputs.update(overrides)
    return {key: value for key, value in outputs.items() if value is not None}


def test_valid_outputs_are_read_with_the_digest_split_out():
    outputs = StackOutputs.from_mapping(valid())

    assert outputs.image_digest == STACK_DIGEST
    assert outputs.kubeconfig["current-context"] == "c"
    assert outputs.service_url is None


def test_a_kubeconfig_exported_as_an_object_is_accepted():
    assert StackOutputs.from_mapping(valid(kubeconfig=KUBECONFIG)).kubeconfig == KUBECONFIG


def test_a_missing_output_is_named_with_the_outputs_present():
    with pytest.raises(OutputsError, match=r"stack output 'deploymentName' is missing; outputs present: .*clusterName"):
        StackOutputs.from_mapping(valid(deploymentName=None))


def test_a_secret_printed_without_show_secrets_says_how_to_export_it():
    with pytest.raises(OutputsError, match=r"'kubeconfig' is a secret shown as '\[secret\]'.*--show-secrets"):
        StackOutputs.from_mapping(valid(kubeconfig="[secret]"))


def test_an_image_ref_without_a_digest_is_rejected_naming_the_value():
    with pytest.raises(OutputsError, match=r"'imageRef' is '.*:latest'; expected '<repositoryUrl>@sha256:"):
        StackOutputs.from_mapping(valid(imageRef=f"{REPOSITORY_URL}:latest"))


def test_a_node_port_outside_the_nodeport_range_is_rejected():
    with pytest.raises(OutputsError, match=r"'nodePort' is 8080; expected an integer in 30000-32767"):
        StackOutputs.from_mapping(valid(nodePort=8080))


def test_an_integral_float_port_is_accepted_as_pulumi_may_send_one():
    assert StackOutputs.from_mapping(valid(nodePort=30080.0)).node_port == 30080


def test_a_namespace_that_is_not_a_kubernetes_name_is_rejected():
    with pytest.raises(OutputsError, match=r"'namespace' is 'Backend_1'; expected a Kubernetes name"):
        StackOutputs.from_mapping(valid(namespace="Backend_1"))


def test_outputs_with_neither_service_url_nor_port_forward_are_rejected():
    with pytest.raises(OutputsError, match="neither 'serviceUrl' nor 'portForwardCommand'"):
        StackOutputs.from_mapping(valid(portForwardCommand=None))


def test_a_service_url_without_a_scheme_is_rejected():
    with pytest.raises(OutputsError, match=r"'serviceUrl' is '1.2.3.4:30080'; expected 'http://<host>:<port>'"):
        StackOutputs.from_mapping(valid(serviceUrl="1.2.3.4:30080"))


def test_a_kubeconfig_that_is_not_one_is_rejected_without_echoing_it():
    with pytest.raises(OutputsError) as error:
        StackOutputs.from_mapping(valid(kubeconfig='{"token": "s3cr3t"}'))

    assert "is not a kubeconfig" in str(error.value)
    assert "s3cr3t" not in str(error.value)


def test_the_repr_never_contains_the_kubeconfig():
    assert "s3cr3t" not in repr(StackOutputs.from_mapping(valid()))


def test_an_outputs_file_that_is_not_json_is_named(tmp_path):
    path = tmp_path / "outputs.json"
    path.write_text("clusterName: x\n")

    with pytest.raises(OutputsError, match=r"--outputs-file '.*outputs.json' is not JSON"):
        load_outputs_file(path)


def test_verify_exits_2_when_outputs_are_unusable(tmp_path, capsys):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(valid(imageRef="nope")))

    code = main(["verify", "--outputs-file", str(path)])

    assert code == 2
    assert capsys.readouterr().err.startswith("verify: stack output 'imageRef' is 'nope'")


def test_stack_mode_without_the_pulumi_cli_points_to_outputs_file(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no pulumi here

    code = main(["verify", "--stack", "dev"])

    err = capsys.readouterr().err
    assert code == 2
    assert "--stack needs the pulumi CLI on PATH" in err
    assert "--outputs-file" in err


def test_a_failed_pulumi_command_is_reported_by_its_stderr_not_its_stdout():
    error = StackNotFoundError(
        CommandResult(stdout='{"kubeconfig": "s3cr3t"}', stderr="error: no stack named 'qa' found\n", code=255)
    )

    assert command_error_reason(error) == "error: no stack named 'qa' found"


def test_the_outputs_carry_where_the_stacks_signals_go():
    group = "/aws/containerinsights/backend-eks/application"
    parsed = StackOutputs.from_mapping(valid(
        alarmNames=["a", "b"], applicationLogGroup=group, scrapeJob="backend",
        prometheusEndpoint="https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-0123abcd-4567/"))
    assert (parsed.alarm_names, parsed.application_log_group, parsed.scrape_job) == (("a", "b"), group, "backend")
    assert parsed.prometheus_endpoint.endswith("/workspaces/ws-0123abcd-4567/")


def test_a_stack_without_observability_has_none_of_its_outputs():
    parsed = StackOutputs.from_mapping(valid())
    assert (parsed.alarm_names, parsed.application_log_group, parsed.prometheus_endpoint) == ((), None, None)


@pytest.mark.parametrize("endpoint", ["http://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1/",
                                      "https://evil.example.com/workspaces/ws-1/",
                                      "https://aps-workspaces.us-east-1.amazonaws.com/"])
def test_a_prometheus_endpoint_that_is_no_amp_workspace_is_refused(endpoint):
    with pytest.raises(OutputsError, match="stack output 'prometheusEndpoint'"):
        StackOutputs.from_mapping(valid(prometheusEndpoint=endpoint))


def test_alarm_names_that_are_no_list_of_names_are_refused():
    with pytest.raises(OutputsError, match="stack output 'alarmNames' is 'a'; expected a list"):
        StackOutputs.from_mapping(valid(alarmNames="a"))
