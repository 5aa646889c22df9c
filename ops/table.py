"""Plain-text tables: aligned columns that read the same in a terminal, a CI log or a pipe."""

from __future__ import annotations

from typing import Sequence


def render(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(value) for value in row] for row in rows]
    widths = [len(header) for header in headers]
    for row in cells:
        if len(row) != len(headers):
            raise ValueError(f"table {title!r}: row has {len(row)} cells, expected {len(headers)}")
        widths = [max(width, len(cell)) for width, cell in zip(widths, row)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(value.ljust(width) for value, width in zip(values, widths)).rstrip()

    body = [line(row) for row in cells] or ["(none)"]
    return "\n".join([title, line(headers), *body])
