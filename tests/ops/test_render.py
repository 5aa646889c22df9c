"""`python -m ops render`: a stack's Kubernetes objects as YAML, offline."""

from __future__ import annotations

import yaml

from ops.__main__ import main
from ops.offline.harness import ProgramFailed


def test_render_prints_every_kubernetes_object_of_the_stack_as_yaml(capsys):
    assert main(["render", "--stack", "dev"]) == 0
    documents = list(yaml.safe_load_all(capsys.readouterr().out))
    assert sorted(d["kind"] for d in documents) == [
        "ClusterRole", "ClusterRoleBinding", "Deployment", "Namespace", "NetworkPolicy", "PodDisruptionBudget",
        "Role", "RoleBinding", "Service",
    ]
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    assert deployment["spec"]["replicas"] == 2 and isinstance(deployment["spec"]["replicas"], int)


def test_render_writes_to_a_file_when_asked(tmp_path, capsys):
    target = tmp_path / "prod.yaml"
    assert main(["render", "--stack", "prod", "--output", str(target)]) == 0
    assert capsys.readouterr().out == ""
    service = next(d for d in yaml.safe_load_all(target.read_text()) if d["kind"] == "Service")
    assert service["spec"]["type"] == "NodePort"


def test_render_refuses_a_stack_without_a_stack_file(capsys):
    assert main(["render", "--stack", "staging"]) == 2
    assert capsys.readouterr().err.strip() == (
        "render: --stack 'staging' has no Pulumi.staging.yaml; expected one of dev, prod"
    )


def test_render_reports_a_program_failure_with_its_cause(monkeypatch, capsys):
    def failing(stack):
        raise ProgramFailed(ValueError("invalid stack configuration"), [])

    monkeypatch.setattr("ops.render.evaluate_stack", failing)
    assert main(["render", "--stack", "dev"]) == 1
    assert "the program failed for stack 'dev': invalid stack configuration" in capsys.readouterr().err
