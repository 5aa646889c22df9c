"""Which stacks are production: the policies that hold only there read this."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Iterable

from pulumi_policy import (
    PolicyConfigSchema,
)

from .values import _strings


# A stack is production unless it is named, exactly, as an exception. A new stack (`staging`,
# `production`, `prd`, `Prod`, a typo) is therefore held to production rules until someone says
# otherwise in the pack's config: forgetting to classify a stack must never be what opens its API
# to the internet. `productionStacks` still forces a stack to production (the old key, kept so
# that a config written for it keeps its meaning and so dev can be tried under production rules).

PRODUCTION_STACKS_KEY = "productionStacks"
NON_PRODUCTION_STACKS_KEY = "nonProductionStacks"
# The one stack this repository declares that is not production (Pulumi.dev.yaml).
DEFAULT_NON_PRODUCTION_STACKS = ("dev",)
PRODUCTION_CONFIG = PolicyConfigSchema(properties={
    NON_PRODUCTION_STACKS_KEY: {
        "type": "array", "items": {"type": "string"}, "default": list(DEFAULT_NON_PRODUCTION_STACKS),
        "description": "The only stacks NOT held to production rules (exact names). Every other stack is production.",
    },
    PRODUCTION_STACKS_KEY: {
        "type": "array", "items": {"type": "string"}, "default": [],
        "description": "Stacks held to production rules even if listed in nonProductionStacks.",
    },
})


def _stack_of(urn: str) -> str:
    # urn:pulumi:<stack>::<project>::<type>::<name>
    return urn.split("::", 1)[0].rsplit(":", 1)[-1]


def _configured_names(config: Mapping[str, Any], key: str, default: Iterable[str]) -> set[str]:
    value = config.get(key)
    # A scalar where a list belongs is one name (not, as `in` on a string would make it, a set of
    # substrings: stack "d" must not count as listed in "dev").
    return set(default) if value is None else set(_strings(value))


def _is_production(urn: str, config: Mapping[str, Any]) -> bool:
    stack = _stack_of(urn)
    if stack in _configured_names(config, PRODUCTION_STACKS_KEY, ()):
        return True
    return stack not in _configured_names(config, NON_PRODUCTION_STACKS_KEY, DEFAULT_NON_PRODUCTION_STACKS)
