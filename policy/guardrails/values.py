"""Reading the values the analyzer hands over: read-only proxies, unknowns raised, never hidden."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol


class Report(Protocol):
    """pulumi_policy's ReportViolation as the analyzer hands it over: the URN may be left out (the
    resource's own, for a resource policy), though the SDK's type alias lists it as required."""

    def __call__(self, message: str, urn: str | None = None) -> None: ...


# The analyzer hands objects and lists as read-only proxies (Mapping / Sequence, not dict / list)
# that raise UnknownValueError on a value only `up` will know. These helpers never hide that.


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def _seq(value: Any) -> list[Any]:
    """A list value as a list; a lone scalar or object where a list belongs as a list of one."""
    if value is None:
        return []
    return list(value) if _is_list(value) else [value]


def _map(value: Any) -> Mapping[str, Any]:
    """An object value; a one-element list of an object (an older schema's `maxItems: 1` block)
    as that object; anything else as empty, so that what it should have said counts as unset."""
    if isinstance(value, Mapping):
        return value
    if _is_list(value) and len(value) == 1 and isinstance(value[0], Mapping):
        return value[0]
    return {}


def _strings(value: Any) -> list[str]:
    return [item for item in _seq(value) if isinstance(item, str)]


def _number(value: Any) -> float | None:
    """An integer field as the analyzer may hand it: a float (30080.0), an int, or a numeric string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _shown(value: Any) -> str:
    number = _number(value)
    return str(int(number)) if number is not None and number.is_integer() else repr(value)
