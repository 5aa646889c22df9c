"""The GitHub Actions workflows in .github/workflows: linted by actionlint, and read as YAML for
the promises CI/CD makes (pinned actions, OIDC only, least permissions, previews with the policy
pack, prod behind its protected environment, destroy behind a confirmation, one run per stack).

No GitHub runner is available here, so nothing in these workflows is executed except the destroy
confirmation's shell script, which is small and self-contained enough to run as it is."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
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


def _stack_changing_jobs():
    """Jobs whose pulumi step can change a stack (up or destroy), with that step."""
    for workflow, job_id, job in _all_jobs():
        for step in _pulumi_steps(job):
            if step["with"]["command"] in ("up", "update", "destroy"):
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


def test_the_workflows_directory_holds_the_five_workflows():
    assert [p.name for p in WORKFLOW_FILES] == sorted(
        ["test.yml", "pull-request.yml", "deploy-dev.yml", "deploy-prod.yml", "destroy.yml"]
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


def test_every_action_is_pinned_to_a_commit_or_an_exact_release():
    commit_with_release = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")
    exact_release = re.compile(r"^[\w.-]+/[\w./-]+@v\d+\.\d+\.\d+$")
    loose = []
    for path in WORKFLOW_FILES:
        for line in path.read_text().splitlines():
            match = re.match(r"^\s*(?:-\s+)?uses:\s*(.+?)\s*$", line)
            if not match or match.group(1).startswith("./"):
                continue
            ref = match.group(1)
            if not (commit_with_release.match(ref) or exact_release.match(ref)):
                loose.append(f"{path.name}: {ref}")
    assert not loose, "not pinned to a commit (with its release) or an exact release: " + ", ".join(loose)


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


def test_pull_requests_write_is_granted_only_to_jobs_that_comment_on_the_pr():
    for workflow, job_id, job in _all_jobs():
        grants = (job.get("permissions") or {}).get("pull-requests") == "write"
        comments = any(s["with"].get("comment-on-pr") is True for s in _pulumi_steps(job))
        assert grants == comments, f"{workflow}/{job_id}: pull-requests write={grants}, comments={comments}"


def test_no_job_may_write_the_repository_contents():
    for workflow, job_id, job in _all_jobs():
        assert (job.get("permissions") or {}).get("contents") in (None, "read"), (workflow, job_id)


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
    [step] = _pulumi_steps(job)
    assert (step["with"]["command"], step["with"]["stack-name"]) == ("up", "dev")


def test_deploys_run_the_policy_pack():
    for workflow, job_id, job, step in _stack_changing_jobs():
        if step["with"]["command"] != "destroy":
            assert step["with"].get("policyPacks") == "policy", (workflow, job_id)


def test_prod_is_deployed_only_by_manual_dispatch():
    workflow = _workflow("deploy-prod.yml")
    assert set(_triggers(workflow)) == {"workflow_dispatch"}
    [step] = _pulumi_steps(workflow["jobs"]["up"])
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


def test_destroy_waits_for_the_confirmation_job():
    jobs = _workflow("destroy.yml")["jobs"]
    assert jobs["destroy"]["needs"] == "confirm"
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
    steps = [s for _, _, job in _all_jobs() for s in _pulumi_steps(job)]
    assert steps
    for step in steps:
        assert step["env"]["PULUMI_ACCESS_TOKEN"] == "${{ secrets.PULUMI_ACCESS_TOKEN }}"


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
