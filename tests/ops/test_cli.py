"""The `python -m ops` command line: subcommands, argument validation, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ops.__main__ import main
from tests.ops.conftest import stack_outputs

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_python_dash_m_ops_verify_passes_on_a_healthy_stack(kube_api, tmp_path):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(stack_outputs(kube_api)))

    result = subprocess.run(
        [sys.executable, "-m", "ops", "verify", "--outputs-file", str(path), "--timeout", "5"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "RESULT: OK" in result.stdout


def test_a_command_is_required(capsys):
    with pytest.raises(SystemExit) as exit_:
        main([])

    assert exit_.value.code == 2
    assert "COMMAND" in capsys.readouterr().err


def test_verify_needs_a_stack_or_an_outputs_file(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["verify"])

    assert exit_.value.code == 2
    assert "one of the arguments --stack --outputs-file is required" in capsys.readouterr().err


def test_verify_refuses_both_a_stack_and_an_outputs_file(capsys):
    with pytest.raises(SystemExit):
        main(["verify", "--stack", "dev", "--outputs-file", "x.json"])

    assert "not allowed with argument" in capsys.readouterr().err


def test_a_topic_that_would_change_the_path_is_rejected_naming_it(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["verify", "--stack", "dev", "--topic", "../admin"])

    assert exit_.value.code == 2
    assert "--topic '../admin' is not accepted; expected 1-64 letters, digits" in capsys.readouterr().err


def test_an_unbounded_timeout_is_rejected(capsys):
    with pytest.raises(SystemExit):
        main(["verify", "--stack", "dev", "--timeout", "0"])

    assert "--timeout '0' is not a number in 1-3600" in capsys.readouterr().err
