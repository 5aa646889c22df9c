"""The GitHub Actions workflows in .github/workflows: linted by actionlint, and read as YAML for
the promises CI/CD makes (actions pinned by commit, OIDC only, least permissions, previews with
the policy pack, the aws CLI checked before pulumi runs, prod on a runner that reaches its API and
behind its protected environment, destroy behind a confirmation and a config check, a daily drift
check, one run per stack, a weekly catalog refresh proposed as one pull request by the only job
that writes the repository, which holds no AWS credentials).

No GitHub runner is available here, so nothing in these workflows is executed except their small,
self-contained scripts (the destroy confirmation and preflight, the tool and runner checks, the
drift plan, the catalog refresh, proposal and report), which run here as they are, against fakes
of the commands they call."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.tools import find_tool

REPO_ROOT = Path(__file__).resolve().parents[2]
GITHUB_DIR = REPO_ROOT / ".github"
WORKFLOWS_DIR = GITHUB_DIR / "workflows"
WORKFLOW_FILES = sorted(WORKFLOWS_DIR.glob("*.yml")) + sorted(WORKFLOWS_DIR.glob("*.yaml"))
STACKS = sorted(p.name.split(".")[1] for p in REPO_ROOT.glob("Pulumi.*.yaml"))

PULUMI_ACTION = "pulumi/actions"
AWS_ACTION = "aws-actions/configure-aws-credentials"

# Input names declared by each action's action.yml (read from the actions' own repositories).
# actionlint checks inputs only of the popular actions it knows by major tag (`@v4`), never of
# an action pinned to a commit or a patch release, so this is the check that catches a typo.
KNOWN_INPUTS = {
    PULUMI_ACTION: {
        "command", "stack-name", "pulumi-version", "pulumi-version-file", "work-dir",
        "comment-on-pr", "comment-on-pr-number", "comment-on-summary", "github-token",
        "cloud-url", "secrets-provider", "parallel", "message", "config-map",
        "expect-no-changes", "diff", "replace", "target", "target-dependents", "policyPacks",
        "policyPackConfigs", "refresh", "upsert", "remove", "edit-pr-comment", "color",
        "exclude-protected", "plan", "suppress-outputs", "suppress-progress",
        "always-include-summary",
    },
    AWS_ACTION: {
        "audience", "aws-region", "mask-aws-account-id", "role-to-assume",
        "web-identity-token-file", "role-duration-seconds", "role-session-name",
        "role-external-id", "role-skip-session-tagging", "http-proxy",
    },
    "actions/checkout": {
        "repository", "ref", "token", "ssh-key", "ssh-known-hosts", "ssh-strict", "ssh-user",
        "persist-credentials", "path", "clean", "filter", "sparse-checkout",
        "sparse-checkout-cone-mode", "fetch-depth", "fetch-tags", "show-progress", "lfs",
        "submodules", "set-safe-directory", "github-server-url",
    },
    "actions/setup-python": {
        "python-version", "python-version-file", "cache", "architecture", "check-latest",
        "token", "cache-dependency-path", "update-environment", "allow-prereleases",
        "freethreaded", "pip-version",
    },
    # action.yml at the pinned commits (v7.0.0 and v8.0.1).
    "actions/upload-artifact": {
        "name", "path", "if-no-files-found", "retention-days", "compression-level", "overwrite",
        "include-hidden-files", "archive",
    },
    "actions/download-artifact": {
        "name", "artifact-ids", "path", "pattern", "merge-multiple", "github-token", "repository",
        "run-id", "skip-decompress", "digest-mismatch",
    },
}


# ---------------------------------------------------------------------------------------------
# Helpers


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def _workflow(name: str) -> dict:
    path = WORKFLOWS_DIR / name
    assert path.exists(), f"{path.relative_to(REPO_ROOT)} is missing"
    return _load(path)


def _triggers(workflow: dict) -> dict:
    # YAML 1.1 (PyYAML) reads the bare key `on` as the boolean True.
    triggers = workflow.get("on", workflow.get(True))
    if isinstance(triggers, str):
        return {triggers: None}
    if isinstance(triggers, list):
        return {t: None for t in triggers}
    return triggers


def _all_jobs():
    for path in WORKFLOW_FILES:
        for job_id, job in _load(path)["jobs"].items():
            yield path.name, job_id, job


def _action(step: dict) -> str | None:
    uses = step.get("uses")
    return uses.split("@", 1)[0] if uses else None


def _steps_using(job: dict, action: str) -> list[dict]:
    return [s for s in job.get("steps", []) if _action(s) == action]


def _pulumi_steps(job: dict) -> list[dict]:
    return _steps_using(job, PULUMI_ACTION)


def _runs_pulumi(step: dict) -> bool:
    """A script step that calls the pulumi CLI."""
    return bool(re.search(r"^\s*pulumi\s", step.get("run", ""), re.M))


def _pulumi_runs(job: dict) -> list[int]:
    """Indexes of the steps that run pulumi (the action with a command, or a script)."""
    return [
        i
        for i, s in enumerate(job.get("steps", []))
        if (_action(s) == PULUMI_ACTION and "command" in s.get("with", {})) or _runs_pulumi(s)
    ]


def _stack_changing_jobs():
    """Jobs whose pulumi step can change a stack (up or destroy), with that step."""
    for workflow, job_id, job in _all_jobs():
        for step in _pulumi_steps(job):
            # An install-only step (no command) only puts the CLI on PATH.
            if step.get("with", {}).get("command") in ("up", "update", "destroy"):
                yield workflow, job_id, job, step


def _actionlint(project: Path) -> subprocess.CompletedProcess:
    actionlint = find_tool("actionlint", ".venv")
    # actionlint runs shellcheck on every `run:` script when it finds it on PATH.
    shellcheck_dir = str(Path(find_tool("shellcheck", ".venv")).parent)
    env = {**os.environ, "PATH": shellcheck_dir + os.pathsep + os.environ.get("PATH", "")}
    return subprocess.run(
        [actionlint, "-oneline", "-no-color"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _broken_copy(tmp_path: Path, workflow: str, old: str, new: str) -> Path:
    """A copy of the repository's .github with one workflow edited; a git repo, as actionlint
    finds the project root (and ./.github/workflows for local reusable workflows) through it."""
    shutil.copytree(GITHUB_DIR, tmp_path / ".github")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    target = tmp_path / ".github" / "workflows" / workflow
    text = target.read_text()
    assert old in text, f"{old!r} not in {workflow}: the broken copy would equal the original"
    target.write_text(text.replace(old, new, 1))
    return tmp_path


# ---------------------------------------------------------------------------------------------
# actionlint


def test_the_workflows_directory_holds_the_seven_workflows():
    assert [p.name for p in WORKFLOW_FILES] == sorted(
        ["test.yml", "pull-request.yml", "deploy-dev.yml", "deploy-prod.yml", "destroy.yml", "drift.yml", "catalog.yml"]
    )


def test_actionlint_finds_no_problem_in_any_workflow():
    result = _actionlint(REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_rejects_a_workflow_that_reads_an_undefined_matrix_key(tmp_path):
    project = _broken_copy(
        tmp_path, "pull-request.yml", "stack-name: ${{ matrix.stack }}", "stack-name: ${{ matrix.stacks }}"
    )
    result = _actionlint(project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert 'property "stacks" is not defined' in result.stdout


def test_actionlint_runs_shellcheck_on_the_run_scripts(tmp_path):
    project = _broken_copy(
        tmp_path, "destroy.yml", 'if [ "$CONFIRM" != "$STACK" ]', "if [ $CONFIRM != $STACK ]"
    )
    result = _actionlint(project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "SC2086" in result.stdout


# ---------------------------------------------------------------------------------------------
# Supply chain and credentials


def test_every_action_is_pinned_to_a_full_commit_sha_with_its_release():
    # A tag, even an exact release such as v6.1.0, can be moved by whoever controls the action's
    # repository; a 40-hex commit cannot. The comment names the release the commit is.
    commit_with_release = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")
    loose = []
    for path in WORKFLOW_FILES:
        for line in path.read_text().splitlines():
            match = re.match(r"^\s*(?:-\s+)?uses:\s*(.+?)\s*$", line)
            if not match or match.group(1).startswith("./"):
                continue
            ref = match.group(1)
            if not commit_with_release.match(ref):
                loose.append(f"{path.name}: {ref}")
    assert not loose, "not pinned to a full commit SHA with its release: " + ", ".join(loose)


def test_no_workflow_mentions_long_lived_aws_keys():
    forbidden = re.compile(r"aws[-_]access[-_]key[-_]id|aws[-_]secret[-_]access[-_]key", re.I)
    found = [
        f"{path.relative_to(REPO_ROOT)}:{n}"
        for path in sorted(GITHUB_DIR.rglob("*"))
        if path.is_file()
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if forbidden.search(line)
    ]
    assert not found, f"static AWS keys referenced at {found}"


def test_every_aws_login_assumes_a_role_from_a_variable():
    logins = [
        (workflow, job_id, step)
        for workflow, job_id, job in _all_jobs()
        for step in _steps_using(job, AWS_ACTION)
    ]
    assert logins
    for workflow, job_id, step in logins:
        role = step["with"].get("role-to-assume", "")
        assert re.fullmatch(r"\$\{\{ vars\.AWS_[A-Z_]*ROLE_ARN \}\}", role), (workflow, job_id, role)


def test_checkout_never_leaves_the_token_in_the_git_config():
    for workflow, job_id, job in _all_jobs():
        for step in _steps_using(job, "actions/checkout"):
            assert step.get("with", {}).get("persist-credentials") is False, (workflow, job_id)


def test_every_input_given_to_an_action_is_one_it_declares():
    unknown = []
    for workflow, job_id, job in _all_jobs():
        for step in job.get("steps", []):
            action = _action(step)
            if action is None:
                continue
            assert action in KNOWN_INPUTS, f"{workflow}/{job_id}: no input list for {action}"
            unknown += [
                f"{workflow}/{job_id}: {action} {name}"
                for name in step.get("with", {})
                if name not in KNOWN_INPUTS[action]
            ]
    assert not unknown


# ---------------------------------------------------------------------------------------------
# Permissions


def test_every_workflow_starts_with_no_permissions():
    for path in WORKFLOW_FILES:
        assert _load(path).get("permissions") == {}, path.name


def test_every_job_declares_its_own_permissions():
    for workflow, job_id, job in _all_jobs():
        assert "permissions" in job, f"{workflow}/{job_id} inherits instead of declaring"


def test_id_token_write_is_granted_only_to_jobs_that_assume_an_aws_role():
    for workflow, job_id, job in _all_jobs():
        grants = (job.get("permissions") or {}).get("id-token") == "write"
        assumes = bool(_steps_using(job, AWS_ACTION))
        assert grants == assumes, f"{workflow}/{job_id}: id-token write={grants}, assumes a role={assumes}"


def _scripts(job: dict) -> str:
    return "\n".join(s["run"] for s in job.get("steps", []) if "run" in s)


# The one job that writes the repository: it pushes bot/catalog-refresh and opens its pull request.
CATALOG_PROPOSAL = ("catalog.yml", "propose")


def test_pull_requests_write_is_granted_only_to_jobs_that_comment_on_the_pr_or_open_the_catalog_pr():
    for workflow, job_id, job in _all_jobs():
        grants = (job.get("permissions") or {}).get("pull-requests") == "write"
        comments = any(s["with"].get("comment-on-pr") is True for s in _pulumi_steps(job))
        if (workflow, job_id) == CATALOG_PROPOSAL:
            assert grants and not comments and "gh pr create " in _scripts(job), (workflow, job_id)
            continue
        assert "gh pr " not in _scripts(job), f"{workflow}/{job_id} runs gh pr"
        assert grants == comments, f"{workflow}/{job_id}: pull-requests write={grants}, comments={comments}"


def test_no_job_may_write_the_repository_contents_but_the_catalog_proposal():
    writers = set()
    for workflow, job_id, job in _all_jobs():
        contents = (job.get("permissions") or {}).get("contents")
        assert contents in (None, "read", "write"), (workflow, job_id, contents)
        if contents == "write":
            writers.add((workflow, job_id))
            assert not _steps_using(job, AWS_ACTION), f"{workflow}/{job_id} writes contents and assumes an AWS role"
            assert "id-token" not in job["permissions"], f"{workflow}/{job_id} writes contents and gets an OIDC token"
    assert writers == {CATALOG_PROPOSAL}


# ---------------------------------------------------------------------------------------------
# Pull requests


def _preview_job() -> dict:
    return _workflow("pull-request.yml")["jobs"]["preview"]


def test_pull_requests_to_main_trigger_the_pull_request_workflow():
    triggers = _triggers(_workflow("pull-request.yml"))
    assert set(triggers) == {"pull_request"}
    assert triggers["pull_request"]["branches"] == ["main"]


def test_the_test_job_runs_the_project_test_suite():
    steps = _workflow("test.yml")["jobs"]["suite"]["steps"]
    assert [s["run"] for s in steps if "run" in s] == ["bash .ci/run"]
    assert set(_triggers(_workflow("test.yml"))) == {"workflow_call"}


def test_previews_wait_for_the_test_suite():
    jobs = _workflow("pull-request.yml")["jobs"]
    assert jobs["test"]["uses"] == "./.github/workflows/test.yml"
    assert jobs["preview"]["needs"] == "test"


def test_pull_request_previews_every_stack_of_the_repository():
    assert STACKS == ["dev", "prod"]
    job = _preview_job()
    assert sorted(job["strategy"]["matrix"]["stack"]) == STACKS
    assert job["strategy"]["fail-fast"] is False, "one stack's failure must not hide the other's preview"
    [step] = _pulumi_steps(job)
    assert step["with"]["command"] == "preview"
    assert step["with"]["stack-name"] == "${{ matrix.stack }}"


def test_pull_request_previews_run_the_policy_pack():
    [step] = _pulumi_steps(_preview_job())
    assert step["with"]["policyPacks"] == "policy"
    assert (REPO_ROOT / "policy" / "PulumiPolicy.yaml").exists()


def test_pull_request_previews_comment_on_the_pr_and_edit_that_comment_in_place():
    [step] = _pulumi_steps(_preview_job())
    assert step["with"]["comment-on-pr"] is True
    assert step["with"]["edit-pr-comment"] is True
    assert step["with"]["github-token"] == "${{ secrets.GITHUB_TOKEN }}"


def test_previews_never_queue_in_a_deploy_group():
    # GitHub keeps one pending run per concurrency group and cancels the older one, so a preview
    # sharing pulumi-<stack> could silently cancel a deploy waiting for its turn.
    group = _preview_job()["concurrency"]["group"]
    assert not group.startswith("pulumi-")
    assert "${{ github.event.pull_request.number }}" in group


# ---------------------------------------------------------------------------------------------
# Deploys and destroy


def test_push_to_main_runs_pulumi_up_on_dev_after_the_tests():
    workflow = _workflow("deploy-dev.yml")
    assert _triggers(workflow)["push"]["branches"] == ["main"]
    job = workflow["jobs"]["up"]
    assert job["needs"] == "test"
    assert workflow["jobs"]["test"]["uses"] == "./.github/workflows/test.yml"
    step = _pulumi_steps(job)[0]
    assert (step["with"]["command"], step["with"]["stack-name"]) == ("up", "dev")


def test_deploys_run_the_policy_pack():
    for workflow, job_id, job, step in _stack_changing_jobs():
        if step["with"]["command"] != "destroy":
            assert step["with"].get("policyPacks") == "policy", (workflow, job_id)


def test_prod_is_deployed_only_by_manual_dispatch():
    workflow = _workflow("deploy-prod.yml")
    assert set(_triggers(workflow)) == {"workflow_dispatch"}
    step = _pulumi_steps(workflow["jobs"]["up"])[0]
    assert (step["with"]["command"], step["with"]["stack-name"]) == ("up", "prod")


def test_prod_up_waits_for_a_preview_of_main():
    jobs = _workflow("deploy-prod.yml")["jobs"]
    assert jobs["up"]["needs"] == "preview"
    assert jobs["preview"]["needs"] == "test"
    assert jobs["preview"]["if"] == "github.ref == 'refs/heads/main'"
    [step] = _pulumi_steps(jobs["preview"])
    assert (step["with"]["command"], step["with"]["stack-name"]) == ("preview", "prod")
    assert step["with"]["comment-on-summary"] is True


def test_only_the_dev_workflows_can_change_dev_without_the_protected_environment():
    for workflow, job_id, job, step in _stack_changing_jobs():
        stack = step["with"]["stack-name"]
        environment = job.get("environment")
        if stack == "prod":
            assert environment == "production", (workflow, job_id)
        elif stack == "dev":
            assert environment == "dev", (workflow, job_id)
        else:
            assert stack == "${{ inputs.stack }}", (workflow, job_id, stack)
            assert environment == "${{ inputs.stack == 'prod' && 'production' || 'dev' }}", (workflow, job_id)


def test_each_stack_is_changed_by_one_run_at_a_time_and_never_cancelled():
    for workflow, job_id, job, step in _stack_changing_jobs():
        stack = step["with"]["stack-name"]
        expected = "pulumi-${{ inputs.stack }}" if stack.startswith("${{") else f"pulumi-{stack}"
        assert job["concurrency"] == {"group": expected, "cancel-in-progress": False}, (workflow, job_id)


def test_destroy_asks_for_the_stack_and_a_confirmation():
    inputs = _triggers(_workflow("destroy.yml"))["workflow_dispatch"]["inputs"]
    assert inputs["stack"]["type"] == "choice"
    assert inputs["stack"]["options"] == STACKS
    assert inputs["confirm"]["required"] is True
    assert inputs["confirm"]["type"] == "string"


def test_only_the_destroy_step_lets_the_kubernetes_provider_drop_unreachable_objects():
    setters = []
    for workflow, job_id, job in _all_jobs():
        assert "PULUMI_K8S_DELETE_UNREACHABLE" not in (job.get("env") or {}), (workflow, job_id)
        for step in job.get("steps", []):
            if "PULUMI_K8S_DELETE_UNREACHABLE" in (step.get("env") or {}):
                setters.append((workflow, step.get("with", {}).get("command"), step["env"]["PULUMI_K8S_DELETE_UNREACHABLE"]))
    assert setters == [("destroy.yml", "destroy", "true")]


def test_destroy_waits_for_the_confirmation_job():
    jobs = _workflow("destroy.yml")["jobs"]
    assert jobs["destroy"]["needs"] == ["confirm", "preflight"]
    assert jobs["confirm"]["permissions"] == {}
    assert "environment" not in jobs["confirm"], "a typo must fail before any reviewer is asked"


def _confirmation(stack: str, confirm: str) -> subprocess.CompletedProcess:
    [step] = _workflow("destroy.yml")["jobs"]["confirm"]["steps"]
    assert step["env"] == {"STACK": "${{ inputs.stack }}", "CONFIRM": "${{ inputs.confirm }}"}
    return subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        env={"PATH": os.environ["PATH"], "STACK": stack, "CONFIRM": confirm},
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_destroy_confirmation_passes_when_confirm_repeats_the_stack(stack):
    assert _confirmation(stack, stack).returncode == 0


@pytest.mark.parametrize(
    ("stack", "confirm"),
    [("prod", "dev"), ("dev", "prod"), ("prod", ""), ("prod", "prod "), ("prod", "PROD"), ("dev", "$STACK")],
)
def test_destroy_confirmation_fails_unless_confirm_is_exactly_the_stack(stack, confirm):
    result = _confirmation(stack, confirm)
    assert result.returncode == 1
    assert "::error::" in result.stdout


# ---------------------------------------------------------------------------------------------
# What the pulumi steps run with


def test_every_pulumi_step_logs_in_with_the_access_token_secret():
    # Steps that run pulumi: the action given a command, or a script calling the CLI the
    # action installed. An install-only action step needs no token and gets none.
    steps = [
        s
        for _, _, job in _all_jobs()
        for s in job.get("steps", [])
        if (_action(s) == PULUMI_ACTION and "command" in s.get("with", {})) or _runs_pulumi(s)
    ]
    assert steps
    for step in steps:
        assert step["env"]["PULUMI_ACCESS_TOKEN"] == "${{ secrets.PULUMI_ACCESS_TOKEN }}"
    installs = [s for _, _, job in _all_jobs() for s in _pulumi_steps(job) if "command" not in s.get("with", {})]
    assert all("env" not in s for s in installs)


def test_the_pulumi_cli_matches_the_sdk_version_of_requirements_txt():
    [sdk] = re.findall(r"^pulumi==(\S+)$", (REPO_ROOT / "requirements.txt").read_text(), re.M)
    versions = {s["with"]["pulumi-version"] for _, _, job in _all_jobs() for s in _pulumi_steps(job)}
    assert versions == {sdk}


def test_the_preinstalled_virtualenvs_are_the_ones_pulumi_uses():
    program = _load(REPO_ROOT / "Pulumi.yaml")["runtime"]["options"]["virtualenv"]
    policy = _load(REPO_ROOT / "policy" / "PulumiPolicy.yaml")["runtime"]["options"]["virtualenv"]
    for workflow, job_id, job in _all_jobs():
        if not _pulumi_steps(job):
            continue
        scripts = "\n".join(s["run"] for s in job["steps"] if "run" in s)
        assert f"python -m venv {program}\n" in scripts, (workflow, job_id)
        if any("policyPacks" in s["with"] for s in _pulumi_steps(job)):
            assert f"python -m venv policy/{policy}\n" in scripts, (workflow, job_id)


# ---------------------------------------------------------------------------------------------
# Tools and runners: the aws CLI before pulumi, prod on a runner that reaches its API

PROD_RUNNER_CHECK = "Check that a prod runner was chosen"
AWS_CLI_CHECK = "Check the AWS CLI"
HOSTED = "ubuntu-24.04"


def _pulumi_jobs():
    """Every job that runs pulumi, with the stacks it may run it on."""
    for workflow, job_id, job in _all_jobs():
        indexes = _pulumi_runs(job)
        if not indexes:
            continue
        stacks: set[str] = set()
        for i in indexes:
            step = job["steps"][i]
            stack = step.get("with", {}).get("stack-name") or step.get("env", {}).get("STACK")
            if stack == "${{ matrix.stack }}":
                stacks |= set(job["strategy"]["matrix"]["stack"])
            elif stack == "${{ inputs.stack }}":
                stacks |= set(_triggers(_load(WORKFLOWS_DIR / workflow))["workflow_dispatch"]["inputs"]["stack"]["options"])
            else:
                stacks.add(stack)
        yield workflow, job_id, job, stacks


def _selector(job: dict) -> str | None:
    """How a job that may run on dev or prod says which: matrix.stack or inputs.stack."""
    text = str(job.get("strategy", {})) + str([s.get("with", {}).get("stack-name") for s in job.get("steps", [])])
    for selector in ("matrix.stack", "inputs.stack"):
        if "${{ " + selector + " }}" in text:
            return selector
    return None


def _scripts_of(name: str) -> list[tuple[str, str, dict]]:
    return [
        (workflow, job_id, step)
        for workflow, job_id, job in _all_jobs()
        for step in job.get("steps", [])
        if step.get("name") == name
    ]


def _run_script(script: str, env: dict, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["/bin/bash", "-e", "-c", script], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_every_job_that_runs_pulumi_checks_the_aws_cli_before_it():
    # pulumi-eks runs `which aws` and `aws --version` while it constructs the cluster, preview
    # included, and the kubeconfig's exec plugin runs `aws eks get-token`.
    jobs = list(_pulumi_jobs())
    assert len(jobs) >= 7
    for workflow, job_id, job, _ in jobs:
        names = [s.get("name") for s in job["steps"]]
        assert AWS_CLI_CHECK in names, f"{workflow}/{job_id} never checks the aws CLI"
        assert names.index(AWS_CLI_CHECK) < min(_pulumi_runs(job)), f"{workflow}/{job_id} checks too late"


def test_the_aws_cli_check_fails_with_a_clear_error_where_aws_is_missing(tmp_path):
    scripts = {step["run"] for _, _, step in _scripts_of(AWS_CLI_CHECK)}
    assert len(scripts) == 1, "one check, word for word, in every job"
    result = _run_script(scripts.pop(), {"PATH": str(tmp_path)})
    assert result.returncode == 1
    assert "::error" in result.stdout and "AWS CLI v2" in result.stdout


def test_the_aws_cli_check_prints_the_version_where_aws_is_installed(tmp_path):
    [script] = {step["run"] for _, _, step in _scripts_of(AWS_CLI_CHECK)}
    aws = tmp_path / "aws"
    aws.write_text("#!/bin/sh\n[ \"$1\" = --version ] && echo aws-cli/2.17.0 Python/3.11\n")
    aws.chmod(0o755)
    result = _run_script(script, {"PATH": str(tmp_path)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "aws-cli/2.17.0" in result.stdout


def test_prod_jobs_run_on_the_runner_named_by_prod_runner_labels():
    # prod's API endpoint admits only apiPublicAccessCidrs; from a hosted runner pulumi-eks waits
    # ~6 minutes on /healthz and fails. fromJSON lets the variable hold a label list.
    prod_jobs = [(w, j, job) for w, j, job, stacks in _pulumi_jobs() if "prod" in stacks]
    assert {(w, j) for w, j, _ in prod_jobs} == {
        ("deploy-prod.yml", "preview"), ("deploy-prod.yml", "up"), ("pull-request.yml", "preview"),
        ("destroy.yml", "destroy"), ("drift.yml", "prod"),
    }
    chosen = "vars.PROD_RUNNER_LABELS && fromJSON(vars.PROD_RUNNER_LABELS) || 'ubuntu-24.04'"
    for workflow, job_id, job in prod_jobs:
        selector = _selector(job)
        expected = f"${{{{ {selector} == 'prod' && {chosen} }}}}" if selector else f"${{{{ {chosen} }}}}"
        assert job["runs-on"] == expected, (workflow, job_id, job["runs-on"])


def test_dev_only_jobs_run_on_github_hosted_runners():
    dev_jobs = [(w, j, job) for w, j, job, stacks in _pulumi_jobs() if stacks == {"dev"}]
    assert {(w, j) for w, j, _ in dev_jobs} == {("deploy-dev.yml", "up"), ("drift.yml", "dev")}
    assert all(job["runs-on"] == HOSTED for _, _, job in dev_jobs)


def test_prod_jobs_check_the_runner_variable_before_anything_else():
    # Without the variable a prod job lands on a hosted runner: it must fail in its first step,
    # or (destroy) in a hosted job it waits for, before any reviewer is asked.
    workflows = {}
    for workflow, job_id, job, stacks in _pulumi_jobs():
        if "prod" not in stacks:
            continue
        jobs = workflows.setdefault(workflow, _workflow(workflow)["jobs"])
        needs = job.get("needs", [])
        candidates = [job] + [jobs[n] for n in ([needs] if isinstance(needs, str) else needs)]
        checking = [c for c in candidates if c.get("steps", [{}])[0].get("name") == PROD_RUNNER_CHECK]
        assert checking, f"{workflow}/{job_id}: no runner check first"
        check = checking[0]
        if check is not job:
            assert check["runs-on"] == HOSTED and "environment" not in check, (workflow, job_id)
        step = check["steps"][0]
        assert step["env"] == {"PROD_RUNNER_LABELS": "${{ vars.PROD_RUNNER_LABELS }}"}
        selector = _selector(job)
        assert step.get("if") == (f"{selector} == 'prod'" if selector else None), (workflow, job_id)


def test_the_runner_check_fails_with_a_clear_error_without_the_variable():
    scripts = {step["run"] for _, _, step in _scripts_of(PROD_RUNNER_CHECK)}
    assert len(scripts) == 1, "one check, word for word, in every job"
    result = _run_script(scripts.pop(), {"PATH": os.environ["PATH"], "PROD_RUNNER_LABELS": ""})
    assert result.returncode == 1
    assert "::error" in result.stdout and "apiPublicAccessCidrs" in result.stdout


def test_the_runner_check_passes_when_the_variable_names_a_runner():
    [script] = {step["run"] for _, _, step in _scripts_of(PROD_RUNNER_CHECK)}
    result = _run_script(script, {"PATH": os.environ["PATH"], "PROD_RUNNER_LABELS": '["self-hosted", "prod-vpc"]'})
    assert result.returncode == 0, result.stdout + result.stderr


# ---------------------------------------------------------------------------------------------
# Destroy: refuse, before any reviewer, a stack whose config would stop the destroy halfway

PREFLIGHT_CHECK = "Refuse a stack whose config stops the destroy"


def _preflight(tmp_path: Path, stack: str, stack_file: str) -> subprocess.CompletedProcess:
    [step] = [s for s in _workflow("destroy.yml")["jobs"]["preflight"]["steps"] if s.get("name") == PREFLIGHT_CHECK]
    assert step["env"] == {"STACK": "${{ inputs.stack }}"}
    shutil.copy(REPO_ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / f"Pulumi.{stack}.yaml").write_text(stack_file)
    # The venv's python has PyYAML, as the step before it installs on the runner.
    path = str(REPO_ROOT / ".venv" / "bin") + os.pathsep + os.environ["PATH"]
    return _run_script(step["run"], {"PATH": path, "STACK": stack}, cwd=tmp_path)


def test_destroy_preflight_refuses_prod_as_committed_and_names_every_blocker(tmp_path):
    result = _preflight(tmp_path, "prod", (REPO_ROOT / "Pulumi.prod.yaml").read_text())
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith("::error")
    for blocker in ("protectStatefulResources: true", "clusterDeletionProtection: true", "ecrForceDelete: false"):
        assert blocker in result.stdout


def test_destroy_preflight_passes_prod_once_its_protections_are_off(tmp_path):
    config = _load(REPO_ROOT / "Pulumi.prod.yaml")
    config["config"].update({
        "backend-on-eks:protectStatefulResources": False,
        "backend-on-eks:clusterDeletionProtection": False,
        "backend-on-eks:ecrForceDelete": True,
    })
    result = _preflight(tmp_path, "prod", yaml.safe_dump(config))
    assert result.returncode == 0, result.stdout + result.stderr


def test_destroy_preflight_passes_dev_on_the_project_defaults(tmp_path):
    result = _preflight(tmp_path, "dev", (REPO_ROOT / "Pulumi.dev.yaml").read_text())
    assert result.returncode == 0, result.stdout + result.stderr


def test_destroy_preflight_reads_a_value_set_by_pulumi_config_set_as_a_string(tmp_path):
    # `pulumi config set backend-on-eks:protectStatefulResources true` writes the string "true".
    result = _preflight(tmp_path, "dev", 'config:\n  aws:region: us-east-1\n  backend-on-eks:protectStatefulResources: "true"\n')
    assert result.returncode == 1
    assert "protectStatefulResources: true" in result.stdout


def test_destroy_preflight_runs_before_any_reviewer():
    jobs = _workflow("destroy.yml")["jobs"]
    assert jobs["preflight"]["needs"] == "confirm"
    assert "environment" not in jobs["preflight"]
    assert jobs["preflight"]["permissions"] == {"contents": "read"}


def test_prod_destroy_first_proves_the_state_holds_the_committed_config():
    # The config is committed; only an `up` writes it into the state and the cluster. Changes in
    # the preview mean that `up` has not run, and the destroy must not start.
    steps = _workflow("destroy.yml")["jobs"]["destroy"]["steps"]
    [preview] = [i for i, s in enumerate(steps) if s.get("with", {}).get("command") == "preview"]
    [destroy] = [i for i, s in enumerate(steps) if s.get("with", {}).get("command") == "destroy"]
    assert preview < destroy
    assert steps[preview]["if"] == "inputs.stack == 'prod'"
    assert steps[preview]["with"]["expect-no-changes"] is True
    assert steps[preview]["with"]["stack-name"] == "${{ inputs.stack }}"


# ---------------------------------------------------------------------------------------------
# Drift: a daily `pulumi preview --refresh --expect-no-changes` of each deployed stack


def _drift() -> dict:
    return _workflow("drift.yml")


def test_drift_runs_daily_and_on_demand():
    triggers = _triggers(_drift())
    assert set(triggers) == {"schedule", "workflow_dispatch"}
    [schedule] = triggers["schedule"]
    minute, hour, day, month, weekday = schedule["cron"].split()
    assert (day, month, weekday) == ("*", "*", "*")
    assert minute.isdigit() and hour.isdigit()


def test_drift_previews_each_stack_with_refresh_and_expect_no_changes():
    jobs = _drift()["jobs"]
    for stack in STACKS:
        job = jobs[stack]
        [index] = _pulumi_runs(job)
        step = job["steps"][index]
        assert step["env"]["STACK"] == stack
        command = " ".join(step["run"].replace("\\\n", " ").split())
        assert 'pulumi preview --stack "$STACK" --refresh --expect-no-changes' in command


def test_drift_never_changes_a_stack_or_its_state():
    # `pulumi refresh` would write the refreshed state (hiding the drift from the next check);
    # a preview's --refresh is never saved.
    text = (WORKFLOWS_DIR / "drift.yml").read_text()
    assert not re.search(r"pulumi (up|update|refresh|destroy|import|state)\b", text)
    assert all("command" not in s.get("with", {}) for job in _drift()["jobs"].values() for s in _pulumi_steps(job))


def test_drift_compares_each_stack_with_the_commit_last_deployed():
    jobs = _drift()["jobs"]
    for stack in STACKS:
        job = jobs[stack]
        assert job["if"] == f"needs.plan.outputs.{stack}-sha != ''"
        [checkout] = _steps_using(job, "actions/checkout")
        assert checkout["with"]["ref"] == f"${{{{ needs.plan.outputs.{stack}-sha }}}}"


def test_drift_assumes_only_the_read_only_preview_role_and_no_environment():
    for job_id, job in _drift()["jobs"].items():
        assert "environment" not in job, job_id
        for step in _steps_using(job, AWS_ACTION):
            assert step["with"]["role-to-assume"] == "${{ vars.AWS_PREVIEW_ROLE_ARN }}", job_id


def test_drift_never_runs_beside_a_deploy_of_the_same_stack():
    jobs = _drift()["jobs"]
    for stack in STACKS:
        assert jobs[stack]["concurrency"] == {"group": f"pulumi-{stack}", "cancel-in-progress": False}


def test_drift_jobs_hold_read_permissions_except_the_issue_report():
    jobs = _drift()["jobs"]
    assert jobs["plan"]["permissions"] == {"actions": "read"}
    for stack in STACKS:
        assert jobs[stack]["permissions"] == {"contents": "read", "id-token": "write"}
    assert jobs["report"]["permissions"] == {"issues": "write"}
    assert not _steps_using(jobs["report"], AWS_ACTION) and not _steps_using(jobs["report"], "actions/checkout")


def test_drift_reports_after_a_failed_check():
    report = _drift()["jobs"]["report"]
    assert report["needs"] == ["plan", *STACKS]
    assert report["if"].startswith("always()")


def test_actionlint_lints_the_drift_workflow(tmp_path):
    project = _broken_copy(
        tmp_path, "drift.yml", "ref: ${{ needs.plan.outputs.dev-sha }}", "ref: ${{ needs.plan.outputs.dev-commit }}"
    )
    result = _actionlint(project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "dev-commit" in result.stdout


def _plan(tmp_path: Path, runs: dict[str, list[dict]]) -> dict[str, str]:
    """Run the drift plan script against a fake `gh run list` answering `runs` per workflow."""
    [step] = _drift()["jobs"]["plan"]["steps"]
    (tmp_path / "runs.json").write_text(json.dumps(runs))
    gh = tmp_path / "bin" / "gh"
    gh.parent.mkdir()
    gh.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        "args = sys.argv[1:]\n"
        "assert args[:2] == ['run', 'list'], args\n"
        f"runs = json.load(open({str(tmp_path / 'runs.json')!r}))[args[args.index('--workflow') + 1]]\n"
        "fields = args[args.index('--json') + 1].split(',')\n"
        "print(json.dumps([{k: r[k] for k in fields if k in r} for r in runs]))\n"
    )
    gh.chmod(0o755)
    output, summary = tmp_path / "output", tmp_path / "summary"
    env = {
        "PATH": str(gh.parent) + os.pathsep + os.environ["PATH"],
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    result = _run_script(step["run"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    return dict(line.split("=", 1) for line in output.read_text().splitlines())


def _run(created: str, sha: str = "", status: str = "completed", conclusion: str = "success", title: str = "") -> dict:
    return {"createdAt": created, "headSha": sha, "status": status, "conclusion": conclusion, "displayTitle": title}


def test_drift_plan_checks_the_commit_of_the_last_successful_deploy(tmp_path):
    outputs = _plan(tmp_path, {
        "deploy-dev.yml": [_run("2026-05-02T00:00:00Z", "b" * 40, conclusion="failure"), _run("2026-05-01T00:00:00Z", "a" * 40)],
        "deploy-prod.yml": [_run("2026-04-01T00:00:00Z", "c" * 40)],
        "destroy.yml": [],
    })
    assert outputs == {"dev-sha": "a" * 40, "prod-sha": "c" * 40}


def test_drift_plan_skips_a_stack_destroyed_since_its_last_deploy(tmp_path):
    outputs = _plan(tmp_path, {
        "deploy-dev.yml": [_run("2026-05-01T00:00:00Z", "a" * 40)],
        "deploy-prod.yml": [_run("2026-04-01T00:00:00Z", "c" * 40)],
        "destroy.yml": [_run("2026-04-02T00:00:00Z", "d" * 40, title="Destroy prod")],
    })
    assert outputs == {"dev-sha": "a" * 40, "prod-sha": ""}


def test_drift_plan_skips_a_stack_with_a_deploy_or_destroy_running(tmp_path):
    outputs = _plan(tmp_path, {
        "deploy-dev.yml": [_run("2026-05-02T00:00:00Z", status="in_progress", conclusion=""), _run("2026-05-01T00:00:00Z", "a" * 40)],
        "deploy-prod.yml": [_run("2026-04-01T00:00:00Z", "c" * 40)],
        "destroy.yml": [_run("2026-04-02T00:00:00Z", status="waiting", conclusion="", title="Destroy prod")],
    })
    assert outputs == {"dev-sha": "", "prod-sha": ""}


def test_drift_plan_skips_a_stack_never_deployed_by_ci(tmp_path):
    outputs = _plan(tmp_path, {"deploy-dev.yml": [], "deploy-prod.yml": [], "destroy.yml": []})
    assert outputs == {"dev-sha": "", "prod-sha": ""}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_deploy_that_built_an_image_settles_the_build_record_with_a_second_up(stack):
    # components/image.py: the up after a build drops the build's record from state. Left to the
    # next run, a drift check's --expect-no-changes would report it as drift.
    job = _workflow(f"deploy-{stack}.yml")["jobs"]["up"]
    first, settle = _pulumi_steps(job)
    assert first["id"] == "up" and first["with"]["command"] == "up"
    assert settle["if"] == "steps.up.outputs.imageBuilt == 'true'"
    assert (settle["with"]["command"], settle["with"]["stack-name"]) == ("up", stack)
    assert settle["with"]["policyPacks"] == "policy"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_deploy_is_verified_and_rolled_back_by_ops_gate_as_its_last_step(stack):
    job = _workflow(f"deploy-{stack}.yml")["jobs"]["up"]
    steps = job["steps"]
    gate = steps[-1]
    assert gate["name"] == f"Verify {stack}, or roll back to its last verified image"
    assert gate["run"] == (f'.venv/bin/python -m ops gate --stack {stack} --policy-pack policy '
                           '--summary "$GITHUB_STEP_SUMMARY"')
    assert gate["env"] == {"PULUMI_ACCESS_TOKEN": "${{ secrets.PULUMI_ACCESS_TOKEN }}"}
    # After the ups (the settle included), with their role; its failure fails the job.
    assert steps.index(gate) > max(steps.index(step) for step in _pulumi_steps(job))
    assert "if" not in gate and "continue-on-error" not in gate


def test_the_gates_rollback_runs_the_same_policy_pack_as_the_deploys_up():
    for stack in ("dev", "prod"):
        job = _workflow(f"deploy-{stack}.yml")["jobs"]["up"]
        first, _ = _pulumi_steps(job)
        assert f"--policy-pack {first['with']['policyPacks']}" in job["steps"][-1]["run"]


def test_the_program_exports_whether_it_built_the_image():
    # pulumi/actions sets every stack output as a step output (src/run.ts, core.setOutput).
    program = (REPO_ROOT / "__main__.py").read_text()
    assert 'pulumi.export("imageBuilt", image.built)' in program


# ---------------------------------------------------------------------------------------------
# Catalog: a weekly `ops catalog refresh` proposed as one pull request, and `ops catalog check`

CATALOG_BRANCH = "bot/catalog-refresh"
CATALOG_ISSUE = "Catalog: the default Kubernetes version needs attention"
CATALOG_FILES = ["catalog/eks-versions.json", "catalog/cluster-autoscaler.json", "catalog/prices.json", "Pulumi.yaml"]


def _catalog() -> dict:
    return _workflow("catalog.yml")


def _catalog_step(job_id: str, name: str) -> dict:
    [step] = [s for s in _catalog()["jobs"][job_id]["steps"] if s.get("name") == name]
    return step


def _outputs(path: Path) -> dict[str, str]:
    """A $GITHUB_OUTPUT file read as the runner reads it: name=value lines and name<<delimiter blocks."""
    outputs, lines = {}, path.read_text().splitlines() if path.exists() else []
    while lines:
        line = lines.pop(0)
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter)
            outputs[name], lines = "\n".join(lines[:end]), lines[end + 1:]
        else:
            name, value = line.split("=", 1)
            outputs[name] = value
    return outputs


def _fake_gh(tmp_path: Path) -> Path:
    """A `gh` that logs each call (with the text of its --body-file) to gh.log, one JSON line each,
    and answers `issue list` / `pr list` with $FAKE_OPEN (the number of the open one, or nothing)."""
    gh = tmp_path / "bin" / "gh"
    gh.parent.mkdir(exist_ok=True)
    gh.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        "args = sys.argv[1:]\n"
        "body = open(args[args.index('--body-file') + 1]).read() if '--body-file' in args else None\n"
        f"with open({str(tmp_path / 'gh.log')!r}, 'a') as log:\n"
        "    log.write(json.dumps({'args': args, 'body': body}) + '\\n')\n"
        "if args[1:2] == ['list']:\n"
        "    print(os.environ.get('FAKE_OPEN', ''))\n"
    )
    gh.chmod(0o755)
    return gh


def _gh_calls(tmp_path: Path) -> list[dict]:
    log = tmp_path / "gh.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "someone", "GIT_AUTHOR_EMAIL": "someone@example.com",
    "GIT_COMMITTER_NAME": "someone", "GIT_COMMITTER_EMAIL": "someone@example.com",
}


def _catalog_repo(tmp_path: Path) -> tuple[Path, Path]:
    """A bare `origin` whose main holds the catalog files, and a clone of it checked out on main."""
    seed, origin, work = tmp_path / "seed", tmp_path / "origin.git", tmp_path / "work"
    for path in CATALOG_FILES + ["README.md"]:
        (seed / path).parent.mkdir(parents=True, exist_ok=True)
        (seed / path).write_text(f"{path} on main\n")
    _git(tmp_path, "init", "-q", "-b", "main", str(seed))
    _git(seed, "add", ".")
    _git(seed, "commit", "-q", "-m", "main")
    _git(tmp_path, "clone", "-q", "--bare", str(seed), str(origin))
    _git(tmp_path, "clone", "-q", str(origin), str(work))
    return origin, work


def test_the_catalog_refresh_runs_weekly_and_on_demand():
    triggers = _triggers(_catalog())
    assert set(triggers) == {"schedule", "workflow_dispatch"}
    [schedule] = triggers["schedule"]
    minute, hour, day, month, weekday = schedule["cron"].split()
    assert (day, month) == ("*", "*")
    assert weekday.isdigit() and hour.isdigit()
    assert minute.isdigit() and minute != "0", "off the full hour"


def test_catalog_runs_one_at_a_time_and_never_cancels_a_running_one():
    assert _catalog()["concurrency"] == {"group": "catalog-refresh", "cancel-in-progress": False}


def test_the_catalog_refresh_assumes_only_the_read_only_preview_role():
    jobs = _catalog()["jobs"]
    assert jobs["refresh"]["permissions"] == {"contents": "read", "id-token": "write"}
    [login] = _steps_using(jobs["refresh"], AWS_ACTION)
    assert login["with"]["role-to-assume"] == "${{ vars.AWS_PREVIEW_ROLE_ARN }}"
    assert login["with"]["aws-region"] == "${{ vars.AWS_REGION || 'us-east-1' }}"
    assert all("environment" not in job for job in jobs.values())
    assert [j for j, job in jobs.items() if _steps_using(job, AWS_ACTION)] == ["refresh"]


def test_the_catalog_refresh_runs_after_the_aws_cli_check_and_the_login():
    steps = _catalog()["jobs"]["refresh"]["steps"]
    names = [s.get("name") for s in steps]
    [login] = [i for i, s in enumerate(steps) if _action(s) == AWS_ACTION]
    [refresh] = [i for i, s in enumerate(steps) if "ops catalog refresh " in s.get("run", "")]
    assert names.index(AWS_CLI_CHECK) < login < refresh
    assert ".venv/bin/python -m ops catalog refresh --summary catalog-summary.md" in steps[refresh]["run"]


def test_the_catalog_job_that_can_write_contents_never_assumes_an_aws_role_nor_runs_project_code():
    jobs = _catalog()["jobs"]
    writers = [j for j, job in jobs.items() if job["permissions"].get("contents") == "write"]
    assert writers == ["propose"]
    job = jobs["propose"]
    assert job["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert not _steps_using(job, AWS_ACTION) and not _steps_using(job, "actions/setup-python")
    assert not re.search(r"\bpython\b|\.venv|pip ", _scripts(job))


def test_the_catalog_proposal_runs_only_when_the_refresh_of_main_changed_files():
    job = _catalog()["jobs"]["propose"]
    assert job["needs"] == "refresh"
    assert job["if"] == "needs.refresh.outputs.changed == 'true' && github.ref == 'refs/heads/main'"


def test_the_only_git_push_of_any_workflow_force_pushes_the_catalog_branch():
    pushes = [
        (workflow, job_id, line.strip())
        for workflow, job_id, job in _all_jobs()
        for line in _scripts(job).splitlines()
        if re.search(r"\bgit\b.*\bpush\b", line)
    ]
    assert [(w, j) for w, j, _ in pushes] == [CATALOG_PROPOSAL]
    [(_, _, line)] = pushes
    assert line.endswith(f" push --force origin HEAD:refs/heads/{CATALOG_BRANCH}")
    assert "main" not in line


def test_the_catalog_pull_request_is_opened_against_main_from_the_bot_branch():
    script = _catalog_step("propose", "Open the pull request, or update the one open")["run"]
    command = " ".join(script.replace("\\\n", " ").split())
    assert f'gh pr create --base main --head {CATALOG_BRANCH} --title "$TITLE" --body-file catalog-summary.md' in command
    assert f"gh pr list --head {CATALOG_BRANCH} --base main --state open" in command


def test_the_catalog_pushes_and_opens_the_pr_with_the_bot_token_when_set():
    # A PR opened or pushed with github.token starts no pull_request workflow: no tests, no previews.
    token = "${{ secrets.CATALOG_BOT_TOKEN || github.token }}"
    assert _catalog_step("propose", "Commit to bot/catalog-refresh and force-push that branch only")["env"]["TOKEN"] == token
    assert _catalog_step("propose", "Open the pull request, or update the one open")["env"]["GH_TOKEN"] == token


def test_the_catalog_check_runs_even_after_a_failed_refresh_without_aws():
    job = _catalog()["jobs"]["check"]
    assert job["needs"] == "refresh"
    assert job["if"] == "always()"
    assert job["permissions"] == {"contents": "read"}
    assert not _steps_using(job, AWS_ACTION)
    assert job["outputs"] == {"report": "${{ steps.check.outputs.report }}"}


def test_the_catalog_check_holds_main_as_committed_not_the_proposed_refresh():
    # A problem on main stays reported until the refresh that fixes it is merged.
    steps = _catalog()["jobs"]["check"]["steps"]
    assert not _steps_using(_catalog()["jobs"]["check"], "actions/download-artifact")
    assert any(".venv/bin/python -m ops catalog check" in s.get("run", "") for s in steps)


def test_the_catalog_report_opens_or_updates_the_issue_after_a_failed_check():
    report = _catalog()["jobs"]["report"]
    assert report["needs"] == ["refresh", "check"]
    assert report["if"].startswith("always()")
    assert report["permissions"] == {"issues": "write"}
    assert not _steps_using(report, AWS_ACTION) and not _steps_using(report, "actions/checkout")
    assert _catalog_step("report", "Open, update or close the issue")["env"]["TITLE"] == CATALOG_ISSUE


def test_actionlint_lints_the_catalog_workflow(tmp_path):
    project = _broken_copy(
        tmp_path, "catalog.yml", "REFRESH_CHANGED: ${{ needs.refresh.outputs.changed }}",
        "REFRESH_CHANGED: ${{ needs.refresh.outputs.changes }}",
    )
    result = _actionlint(project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert '"changes"' in result.stdout


# The scripts, run here against a stand-in `.venv/bin/python`, a local `origin` and a fake `gh`.


def _refresh_step(tmp_path: Path, fake_refresh: str, fake_readme: str = "",
                  step_name: str = "python -m ops catalog refresh",
                  prices_summary: str | None = None) -> tuple[subprocess.CompletedProcess, dict[str, str]]:
    """A refresh job's step in a clone of main, where `.venv/bin/python` runs the shell script given
    for `-m ops catalog ...` and `fake_readme` for `-m ops cost --readme`."""
    _, work = _catalog_repo(tmp_path)
    python = work / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("#!/bin/sh\n"
                      f'if [ "$3" = cost ]; then\n{fake_readme}\necho "README.md: cost section rewritten"\nexit 0\nfi\n'
                      + fake_refresh)
    python.chmod(0o755)
    if prices_summary is not None:
        (work / "prices-summary.md").write_text(prices_summary)
    env = {**GIT_ENV, "PATH": os.environ["PATH"], "GITHUB_OUTPUT": str(tmp_path / "output"),
           "GITHUB_STEP_SUMMARY": str(tmp_path / "summary")}
    result = _run_script(_catalog_step("refresh", step_name)["run"], env, cwd=work)
    result.work = work
    return result, _outputs(tmp_path / "output")


def test_the_refresh_step_reports_a_change_when_a_catalog_file_moved(tmp_path):
    result, outputs = _refresh_step(tmp_path, (
        'echo "default: \\"1.33\\"" > Pulumi.yaml\n'
        'printf "Catalog refresh on 2026-06-01\\n\\n- Default Kubernetes version (Pulumi.yaml): 1.32 -> 1.33\\n" > "$6"\n'
    ))
    assert result.returncode == 0, result.stdout + result.stderr
    assert outputs == {"changed": "true"}
    assert "1.32 -> 1.33" in (tmp_path / "summary").read_text()


def test_the_refresh_step_reports_no_change_when_nothing_moved(tmp_path):
    result, outputs = _refresh_step(tmp_path, 'printf "Catalog refresh on 2026-06-01\\n\\n- No change\\n" > "$6"\n')
    assert result.returncode == 0, result.stdout + result.stderr
    assert outputs == {"changed": "false"}


def test_the_refresh_step_fails_and_hands_the_failed_call_to_the_report(tmp_path):
    result, outputs = _refresh_step(tmp_path, (
        'echo "catalog refresh: aws eks describe-cluster-versions failed: ExpiredToken; no file was changed" >&2\n'
        "exit 1\n"
    ))
    assert result.returncode == 1
    assert "changed" not in outputs
    assert "describe-cluster-versions failed: ExpiredToken" in outputs["error"]


def test_the_refresh_step_reports_a_change_when_only_the_readmes_cost_section_moved(tmp_path):
    # A version's support ending moves the control plane's rate in the README's generated section.
    result, outputs = _refresh_step(tmp_path, 'printf "Catalog refresh on 2026-06-01\\n\\n- No change\\n" > "$6"\n',
                                    fake_readme='echo "regenerated" > README.md')
    assert result.returncode == 0, result.stdout + result.stderr
    assert outputs == {"changed": "true"}


def test_the_refresh_step_puts_the_price_refresh_summary_in_the_proposal(tmp_path):
    result, outputs = _refresh_step(tmp_path, 'printf "Catalog refresh on 2026-06-01\\n\\n- No change\\n" > "$6"\n'
                                    'echo "{}" > catalog/prices.json\n',
                                    prices_summary="Price refresh on 2026-06-01\n\n- us-east-1 ebs.gp3: $0.08 -> $0.07\n")
    assert result.returncode == 0, result.stdout + result.stderr
    assert outputs == {"changed": "true"}
    assert "- us-east-1 ebs.gp3: $0.08 -> $0.07" in (result.work / "catalog-summary.md").read_text()


def test_the_refresh_step_does_not_rewrite_the_readme_after_a_failed_refresh(tmp_path):
    result, _ = _refresh_step(tmp_path, 'echo "catalog refresh: failed" >&2\nexit 1\n',
                              fake_readme='echo "regenerated" > README.md')
    assert result.returncode == 1
    assert (result.work / "README.md").read_text() == "README.md on main\n"


def test_the_price_refresh_step_passes_its_summary_on_when_it_succeeds(tmp_path):
    result, outputs = _refresh_step(tmp_path, 'printf "Price refresh on 2026-06-01\\n\\n- No price moved.\\n" > "$6"\n',
                                    step_name="python -m ops catalog refresh-prices")
    assert result.returncode == 0, result.stdout + result.stderr
    assert outputs == {}
    assert (result.work / "prices-summary.md").read_text().startswith("Price refresh on 2026-06-01")


def test_a_failed_price_refresh_holds_up_nothing_and_hands_its_error_to_the_report(tmp_path):
    result, outputs = _refresh_step(tmp_path, (
        'printf "partial" > "$6"\n'
        'echo "catalog refresh-prices: aws pricing get-products failed: AccessDenied; no file was changed" >&2\n'
        "exit 1\n"), step_name="python -m ops catalog refresh-prices")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "get-products failed: AccessDenied" in outputs["error"]
    assert "::error title=Price refresh::" in result.stdout
    assert not (result.work / "prices-summary.md").exists()


def test_the_price_refresh_runs_before_the_catalog_refresh_with_the_same_role():
    steps = _catalog()["jobs"]["refresh"]["steps"]
    names = [s.get("name") for s in steps]
    assert names.index("Assume the read-only preview role (OIDC)") < names.index(
        "python -m ops catalog refresh-prices") < names.index("python -m ops catalog refresh")
    assert _catalog()["jobs"]["refresh"]["outputs"]["prices-error"] == "${{ steps.prices.outputs.error }}"


def test_the_proposal_carries_the_prices_and_the_readme_with_the_catalog():
    upload = _catalog_step("refresh", "Hand the refreshed files to the next jobs")["with"]["path"].split()
    assert upload == CATALOG_FILES[:3] + ["Pulumi.yaml", "README.md", "catalog-summary.md"]
    assert "catalog/prices.json Pulumi.yaml README.md" in _catalog_step(
        "propose", "Commit to bot/catalog-refresh and force-push that branch only")["run"]


@pytest.mark.parametrize(
    ("summary", "title"),
    [
        ("- Default Kubernetes version (Pulumi.yaml): 1.32 -> 1.33\n", "Catalog refresh: default Kubernetes version 1.32 -> 1.33"),
        ("- Kubernetes 1.33 coredns: v1.12.1-eksbuild.2 -> v1.12.2-eksbuild.1\n",
         "Catalog refresh: EKS versions, add-on pins, Cluster Autoscaler releases and prices"),
    ],
)
def test_the_catalog_pull_request_title_names_a_new_default_version(tmp_path, summary, title):
    (tmp_path / "catalog-summary.md").write_text("Catalog refresh on 2026-06-01\n\n" + summary)
    env = {"PATH": os.environ["PATH"], "GITHUB_OUTPUT": str(tmp_path / "output")}
    result = _run_script(_catalog_step("propose", "Name the change")["run"], env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _outputs(tmp_path / "output") == {"title": title}


def _propose_push(tmp_path: Path, repo: tuple[Path, Path] | None = None) -> tuple[Path, Path, subprocess.CompletedProcess]:
    """The commit-and-push step in a fresh clone of main, with the refreshed Pulumi.yaml applied."""
    origin, work = repo or _catalog_repo(tmp_path)
    (work / "Pulumi.yaml").write_text("Pulumi.yaml refreshed\n")
    (work / "catalog-summary.md").write_text("Catalog refresh on 2026-06-01\n\n- Default Kubernetes version (Pulumi.yaml): 1.32 -> 1.33\n")
    (tmp_path / "runner").mkdir()
    env = {**GIT_ENV, "PATH": os.environ["PATH"], "RUNNER_TEMP": str(tmp_path / "runner"),
           "TITLE": "Catalog refresh: default Kubernetes version 1.32 -> 1.33", "TOKEN": "ghs_faketoken"}
    step = _catalog_step("propose", "Commit to bot/catalog-refresh and force-push that branch only")
    env.update({name: value for name, value in step["env"].items() if "${{" not in value})
    return origin, work, _run_script(step["run"], env, cwd=work)


def test_the_proposal_pushes_one_commit_on_main_to_the_bot_branch_and_leaves_main_alone(tmp_path):
    origin, work, result = _propose_push(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    main = _git(origin, "rev-parse", "main").strip()
    assert _git(origin, "rev-parse", f"{CATALOG_BRANCH}~1").strip() == main
    assert _git(origin, "log", "-1", "--format=%s", "main").strip() == "main"
    assert _git(origin, "diff", "--name-only", "main", CATALOG_BRANCH).split() == ["Pulumi.yaml"]
    assert _git(origin, "log", "-1", "--format=%an <%ae>", CATALOG_BRANCH).strip() == (
        "github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>"
    )
    message = _git(origin, "log", "-1", "--format=%B", CATALOG_BRANCH)
    assert message.startswith("Catalog refresh: default Kubernetes version 1.32 -> 1.33\n\nCatalog refresh on 2026-06-01\n")
    assert "- Default Kubernetes version (Pulumi.yaml): 1.32 -> 1.33" in message
    assert "ghs_faketoken" not in (work / ".git" / "config").read_text()


def test_the_proposal_replaces_a_bot_branch_left_by_an_earlier_refresh(tmp_path):
    # The earlier proposal is not an ancestor of the new one: only a force-push replaces it.
    origin, work = _catalog_repo(tmp_path)
    earlier = tmp_path / "earlier"
    _git(tmp_path, "clone", "-q", str(origin), str(earlier))
    (earlier / "Pulumi.yaml").write_text("an earlier refresh\n")
    _git(earlier, "commit", "-q", "-am", "earlier refresh")
    _git(earlier, "push", "-q", "origin", f"HEAD:refs/heads/{CATALOG_BRANCH}")
    origin, work, result = _propose_push(tmp_path, (origin, work))
    assert result.returncode == 0, result.stdout + result.stderr
    assert _git(origin, "show", f"{CATALOG_BRANCH}:Pulumi.yaml") == "Pulumi.yaml refreshed\n"
    assert _git(origin, "rev-parse", f"{CATALOG_BRANCH}~1") == _git(origin, "rev-parse", "main")


def _open_pr(tmp_path: Path, open_number: str) -> list[dict]:
    _fake_gh(tmp_path)
    (tmp_path / "catalog-summary.md").write_text("Catalog refresh on 2026-06-01\n\n- Kubernetes 1.34 added\n")
    env = {"PATH": str(tmp_path / "bin") + os.pathsep + os.environ["PATH"], "FAKE_OPEN": open_number,
           "GH_REPO": "owner/repo", "TITLE": "Catalog refresh: t", "RUN_URL": "https://github.com/owner/repo/actions/runs/1",
           "GITHUB_STEP_SUMMARY": str(tmp_path / "summary")}
    result = _run_script(_catalog_step("propose", "Open the pull request, or update the one open")["run"], env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    return _gh_calls(tmp_path)


def test_the_proposal_opens_a_pull_request_when_none_is_open(tmp_path):
    listing, create = _open_pr(tmp_path, "")
    assert listing["args"][:2] == ["pr", "list"]
    assert create["args"] == ["pr", "create", "--base", "main", "--head", CATALOG_BRANCH, "--title", "Catalog refresh: t",
                              "--body-file", "catalog-summary.md"]
    assert "- Kubernetes 1.34 added" in create["body"] and "actions/runs/1" in create["body"]


def test_the_proposal_updates_the_open_pull_request_instead_of_opening_another(tmp_path):
    listing, edit = _open_pr(tmp_path, "7")
    assert edit["args"] == ["pr", "edit", "7", "--title", "Catalog refresh: t", "--body-file", "catalog-summary.md"]
    assert "- Kubernetes 1.34 added" in edit["body"]


def _report(tmp_path: Path, refresh: str, check: str, open_number: str = "", changed: str = "",
            prices_error: str = "") -> list[dict]:
    _fake_gh(tmp_path)
    step = _catalog_step("report", "Open, update or close the issue")
    env = {
        "PATH": str(tmp_path / "bin") + os.pathsep + os.environ["PATH"], "FAKE_OPEN": open_number,
        "GH_REPO": "owner/repo", "RUN_URL": "https://github.com/owner/repo/actions/runs/1", "TITLE": step["env"]["TITLE"],
        "REFRESH_RESULT": refresh, "REFRESH_CHANGED": changed,
        "REFRESH_ERROR": "catalog refresh: aws eks describe-addon-versions failed" if refresh == "failure" else "",
        "PRICES_ERROR": prices_error,
        "CHECK_RESULT": check,
        "CHECK_REPORT": "problem: Pulumi.yaml's default Kubernetes 1.30 is not in standard support" if check == "failure" else "",
    }
    result = _run_script(step["run"], env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    return [call for call in _gh_calls(tmp_path) if call["args"][1] != "list"]


def test_a_failed_catalog_check_opens_the_issue_with_the_check_output(tmp_path):
    [create] = _report(tmp_path, "success", "failure", changed="true")
    assert create["args"][:4] == ["issue", "create", "--title", CATALOG_ISSUE]
    assert "1.30 is not in standard support" in create["body"] and "actions/runs/1" in create["body"]
    assert "of main as committed" in create["body"] and "bot/catalog-refresh pull request" in create["body"]


def test_a_failed_catalog_check_comments_on_the_open_issue(tmp_path):
    [comment] = _report(tmp_path, "success", "failure", open_number="5")
    assert comment["args"][:3] == ["issue", "comment", "5"]
    assert "main as committed" in comment["body"]


def test_a_failed_catalog_refresh_is_reported_with_the_failed_call(tmp_path):
    [comment] = _report(tmp_path, "failure", "success", open_number="5")
    assert "describe-addon-versions failed" in comment["body"]


def test_a_passing_catalog_refresh_and_check_close_the_issue(tmp_path):
    [close] = _report(tmp_path, "success", "success", open_number="5")
    assert close["args"][:3] == ["issue", "close", "5"]


def test_a_passing_catalog_check_with_no_open_issue_changes_nothing(tmp_path):
    assert _report(tmp_path, "success", "success") == []


def test_a_cancelled_catalog_run_reports_nothing(tmp_path):
    assert _report(tmp_path, "cancelled", "cancelled", open_number="5") == []


# ---------------------------------------------------------------------------------------------
# The cost of each stack in the pull request (ops cost, issue 19)


def _preview_step(name: str) -> tuple[int, dict]:
    steps = _preview_job()["steps"]
    return next((i, s) for i, s in enumerate(steps) if s.get("name") == name)


def _fake_cost_gh(tmp_path: Path) -> Path:
    """A `gh` that logs its arguments and answers `gh api --paginate` (the comment search) with
    $FAKE_COMMENT_ID."""
    gh = tmp_path / "bin" / "gh"
    gh.parent.mkdir(exist_ok=True)
    gh.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"with open({str(tmp_path / 'gh.log')!r}, 'a') as log:\n"
        "    log.write(json.dumps({'args': sys.argv[1:]}) + '\\n')\n"
        "if '--paginate' in sys.argv:\n"
        "    print(os.environ.get('FAKE_COMMENT_ID', ''))\n"
    )
    gh.chmod(0o755)
    return gh


def test_pull_request_previews_price_each_stack_against_main_after_the_preview():
    steps = _preview_job()["steps"]
    preview_index = max(i for i, s in enumerate(steps) if _action(s) == PULUMI_ACTION)
    index, step = _preview_step("Cost of ${{ matrix.stack }}")
    assert index > preview_index
    assert '-m ops cost --stack "$STACK" --base origin/main --markdown cost.md' in step["run"]
    assert step["env"]["STACK"] == "${{ matrix.stack }}"
    checkout = next(s for s in steps if _action(s) == "actions/checkout")
    assert checkout["with"]["fetch-depth"] == 0, "origin/main must be there for --base"


def test_the_cost_step_records_the_exit_of_ops_cost_and_that_a_comment_was_written(tmp_path):
    _, step = _preview_step("Cost of ${{ matrix.stack }}")
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("#!/bin/sh\necho '<!-- backend-on-eks cost: prod -->' > cost.md\nexit 1\n")
    python.chmod(0o755)
    outputs = tmp_path / "outputs"
    result = _run_script(step["run"], {"PATH": os.environ["PATH"], "STACK": "prod", "GITHUB_OUTPUT": str(outputs)},
                         cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert outputs.read_text().splitlines() == ["status=1", "comment=true"]


def test_the_cost_comment_is_created_when_the_pr_has_none(tmp_path):
    _, step = _preview_step("Comment the cost on the PR")
    _fake_cost_gh(tmp_path)
    (tmp_path / "cost.md").write_text("<!-- backend-on-eks cost: dev -->\n")
    env = {"PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}", "STACK": "dev", "PR_NUMBER": "7",
           "GITHUB_REPOSITORY": "owner/repo"}
    assert _run_script(step["run"], env, cwd=tmp_path).returncode == 0
    calls = [c["args"] for c in _gh_calls(tmp_path)]
    assert calls[0][:3] == ["api", "--paginate", "repos/owner/repo/issues/7/comments"]
    assert 'startswith("<!-- backend-on-eks cost: dev -->")' in calls[0][calls[0].index("--jq") + 1]
    assert calls[1] == ["api", "--method", "POST", "repos/owner/repo/issues/7/comments", "-F", "body=@cost.md"]


def test_the_cost_comment_is_edited_in_place_on_a_later_push(tmp_path):
    _, step = _preview_step("Comment the cost on the PR")
    _fake_cost_gh(tmp_path)
    env = {"PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}", "STACK": "dev", "PR_NUMBER": "7",
           "GITHUB_REPOSITORY": "owner/repo", "FAKE_COMMENT_ID": "4242"}
    assert _run_script(step["run"], env, cwd=tmp_path).returncode == 0
    assert [c["args"] for c in _gh_calls(tmp_path)][1] == [
        "api", "--method", "PATCH", "repos/owner/repo/issues/comments/4242", "-F", "body=@cost.md"]


def test_the_preview_fails_when_ops_cost_failed_over_the_budget():
    _, step = _preview_step("Hold ${{ matrix.stack }} to its monthlyBudgetUsd")
    assert "steps.cost.outputs.status != '0'" in step["if"]
    result = _run_script(step["run"], {"PATH": os.environ["PATH"], "STATUS": "1"})
    assert result.returncode == 1 and "monthlyBudgetUsd" in result.stdout


def test_a_failed_price_refresh_is_reported_with_its_error_even_when_the_rest_passed(tmp_path):
    [comment] = _report(tmp_path, "success", "success", open_number="5",
                        prices_error="catalog refresh-prices: aws pricing get-products failed: AccessDenied")
    assert comment["args"][:3] == ["issue", "comment", "5"]
    assert "refresh-prices` failed" in comment["body"] and "get-products failed: AccessDenied" in comment["body"]
