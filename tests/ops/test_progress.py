"""The rollout wait's progress indicator: a redrawn line on a terminal, plain lines elsewhere."""

from __future__ import annotations

import io

from ops.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_in_a_log_only_status_changes_are_printed_one_per_line():
    stream = io.StringIO()
    progress = Progress(stream, "rollout", timeout=300)

    for status in ("0/2 ready", "0/2 ready", "1/2 ready"):
        progress.update(status)
    progress.finish("complete")

    lines = stream.getvalue().splitlines()
    assert [line.split(" (")[0] for line in lines[:2]] == ["rollout: 0/2 ready", "rollout: 1/2 ready"]
    assert lines[2].startswith("rollout: complete after ")
    assert "\r" not in stream.getvalue()


def test_on_a_terminal_one_line_is_redrawn_in_place():
    stream = Terminal()
    progress = Progress(stream, "rollout", timeout=300)

    progress.update("0/2 ready")
    progress.update("0/2 ready")
    progress.finish("complete")

    output = stream.getvalue()
    assert output.count("\r") == 3
    assert output.count("\n") == 1 and output.endswith("\n")
