"""The ClusterRole the Cluster Autoscaler's own Helm chart grants, for the AWS provider, per release.

CA starts an informer for every kind it reads and waits for all of them to sync before its first
loop; a kind its role may not list never syncs, and CA then waits forever while `/health-check`
answers 200 (from 1.35 it always reads the `resource.k8s.io` DRA kinds). The project's chart knows
which kinds each release reads, so `ops catalog refresh` reads
`charts/cluster-autoscaler/templates/clusterrole.yaml` at each pinned release's tag and stores its
rules in catalog/cluster-autoscaler.json; the program grants exactly those.

Helm is not needed for that: the template is YAML with a few Go-template actions. This renders the
subset the chart uses (`if`/`else`/`with`/`range`/`end`, `and`/`or`/`not`/`eq`/`ne` over
`.Values` paths, whitespace trimming) with the chart's default values for `cloudProvider: aws`,
and refuses anything else: a template that reads a value this file does not know, or an action it
cannot evaluate where it matters, fails the refresh for a person to read, instead of granting a
guess.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

# The chart's defaults (values.yaml) for what clusterrole.yaml reads, with the provider this
# project runs. Any other `.Values` path in the template is refused.
AWS_VALUES: dict[str, Any] = {
    "cloudProvider": "aws",
    "clusterAPIMode": "incluster-incluster",
    "rbac": {"create": True, "clusterScoped": True, "pspEnabled": False, "additionalRules": [],
             "annotations": {}},
}
# No served API has had it since Kubernetes 1.16; the chart still lists it beside batch and apps.
RETIRED_API_GROUPS = frozenset({"extensions"})
# Verbs older charts granted every provider that the chart itself later kept for the providers
# that create and delete Node objects (kwok, huaweicloud: `{{- if (eq .Values.cloudProvider
# "kwok") }}` around them from 1.35's chart). On AWS the node group's Auto Scaling group does that.
NOT_FOR_AWS = {("", "nodes"): frozenset({"create", "delete"})}

_ACTION = re.compile(r"\{\{(-?)\s*(.*?)\s*(-?)\}\}", re.S)
_TOKEN = re.compile(r'\s*(\(|\)|"(?:[^"\\]|\\.)*"|[^\s()]+)')
_OPENERS = ("if", "with", "range")


class ChartError(Exception):
    """The template holds something this renderer will not guess at."""


def cluster_rules(template: str, values: dict[str, Any] = AWS_VALUES) -> list[dict[str, list[str]]]:
    """The rules of the ClusterRole the template renders with `values`, normalised: each rule has
    apiGroups, resources and verbs (and resourceNames when the chart names some), retired API
    groups dropped, rules left with no group dropped."""
    document = yaml.safe_load(render(template, values))
    if not isinstance(document, dict) or document.get("kind") != "ClusterRole":
        raise ChartError("the template does not render a ClusterRole with the AWS provider's values")
    rules = document.get("rules")
    if not isinstance(rules, list) or not rules:
        raise ChartError("the rendered ClusterRole has no rules")
    normalised = []
    for index, rule in enumerate(rules):
        where = f"rules[{index}]"
        if not isinstance(rule, dict) or set(rule) - {"apiGroups", "resources", "verbs", "resourceNames"}:
            raise ChartError(f"{where}: not a rule of apiGroups, resources, verbs and resourceNames: {rule!r}")
        entry = {key: _strings(rule.get(key), f"{where}.{key}") for key in ("apiGroups", "resources", "verbs")}
        if "resourceNames" in rule:
            entry["resourceNames"] = _strings(rule["resourceNames"], f"{where}.resourceNames")
        entry["apiGroups"] = [group for group in entry["apiGroups"] if group not in RETIRED_API_GROUPS]
        if not entry["apiGroups"]:
            continue
        # Withheld only where every kind of the rule withholds it: a rule is never split.
        withheld = frozenset.intersection(*(NOT_FOR_AWS.get((group, resource), frozenset())
                                            for group in entry["apiGroups"] for resource in entry["resources"]))
        entry["verbs"] = [verb for verb in entry["verbs"] if verb not in withheld]
        if entry["verbs"]:
            normalised.append(entry)
    return normalised


def _strings(value: Any, where: str) -> list[str]:
    # The core API group is the empty string; nothing else may be empty.
    if (not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value)
            or any(item == "" for item in value) and not where.endswith("apiGroups")):
        raise ChartError(f"{where}: {value!r} is not a list of names")
    return value


def render(template: str, values: dict[str, Any]) -> str:
    output: list[str] = []
    # One entry per open block: [its current branch is emitted, the block's outer text is emitted].
    blocks: list[list[bool]] = []
    for kind, text in _pieces(template):
        emitting = all(branch for branch, _ in blocks)
        if kind == "text":
            if emitting:
                output.append(text)
            continue
        words = text.split(None, 1)
        keyword = words[0] if words else ""
        if keyword in _OPENERS:
            condition = words[1] if len(words) > 1 else ""
            if not emitting:
                blocks.append([False, False])
            elif keyword == "if":
                blocks.append([_truthy(_evaluate(condition, values)), True])
            else:
                # `with` and `range` over an empty value emit nothing; over anything else they
                # change `.` and would need the whole template language.
                if _truthy(_evaluate(condition.split(":=")[-1].strip(), values)):
                    raise ChartError(f"{{{{ {text} }}}}: iterates over a non-empty value; not rendered here")
                blocks.append([False, True])
        elif keyword == "else":
            if not blocks:
                raise ChartError("{{ else }} outside a block")
            if len(words) > 1:
                raise ChartError(f"{{{{ {text} }}}}: else-if is not rendered here")
            branch, outer = blocks[-1]
            blocks[-1] = [outer and not branch, outer]
        elif keyword == "end":
            if not blocks:
                raise ChartError("{{ end }} without a block")
            blocks.pop()
        # Any other action (include, template, toYaml) where it is emitted renders as nothing:
        # metadata (a name, labels) is not what this reads, and a hole it would leave inside rules
        # is refused by cluster_rules' check of every rule.
    if blocks:
        raise ChartError("a block is never closed with {{ end }}")
    return "".join(output)


def _pieces(template: str) -> list[tuple[str, str]]:
    """Text and actions in order, with Go's trimming applied: `{{-` eats the whitespace before,
    `-}}` the whitespace after."""
    pieces: list[tuple[str, str]] = []
    position = 0
    trim_next = False
    for match in _ACTION.finditer(template):
        text = template[position:match.start()]
        if trim_next:
            text = text.lstrip()
        if match[1]:
            text = text.rstrip()
        pieces.append(("text", text))
        pieces.append(("action", match[2]))
        trim_next = bool(match[3])
        position = match.end()
    tail = template[position:]
    pieces.append(("text", tail.lstrip() if trim_next else tail))
    return pieces


def _evaluate(expression: str, values: dict[str, Any]) -> Any:
    tokens = _TOKEN.findall(expression)
    if not tokens:
        raise ChartError(f"{{{{ {expression} }}}}: an empty condition")
    value, rest = _expression(tokens, values, expression)
    if rest:
        raise ChartError(f"{{{{ {expression} }}}}: cannot read {' '.join(rest)!r}")
    return value


def _expression(tokens: list[str], values: dict[str, Any], source: str) -> tuple[Any, list[str]]:
    """A pipeline-free Go template command: a function and its arguments, or one operand."""
    head, rest = tokens[0], tokens[1:]
    if head in ("and", "or", "not", "eq", "ne"):
        arguments = []
        while rest and rest[0] != ")":
            argument, rest = _operand(rest, values, source)
            arguments.append(argument)
        return _call(head, arguments, source), rest
    return _operand(tokens, values, source)


def _operand(tokens: list[str], values: dict[str, Any], source: str) -> tuple[Any, list[str]]:
    head, rest = tokens[0], tokens[1:]
    if head == "(":
        value, rest = _expression(rest, values, source)
        if not rest or rest[0] != ")":
            raise ChartError(f"{{{{ {source} }}}}: an unclosed parenthesis")
        return value, rest[1:]
    if head.startswith('"'):
        return head[1:-1], rest
    if head in ("true", "false"):
        return head == "true", rest
    if head.startswith(".Values."):
        found: Any = values
        for key in head.removeprefix(".Values.").split("."):
            if not isinstance(found, dict) or key not in found:
                raise ChartError(f"{{{{ {source} }}}}: reads {head}, a value this renderer does not know")
            found = found[key]
        return found, rest
    raise ChartError(f"{{{{ {source} }}}}: cannot evaluate {head!r}")


def _call(function: str, arguments: list[Any], source: str) -> Any:
    if function == "not":
        if len(arguments) != 1:
            raise ChartError(f"{{{{ {source} }}}}: not takes one argument")
        return not _truthy(arguments[0])
    if function in ("eq", "ne"):
        if len(arguments) != 2:
            raise ChartError(f"{{{{ {source} }}}}: {function} takes two arguments here")
        return (arguments[0] == arguments[1]) == (function == "eq")
    if not arguments:
        raise ChartError(f"{{{{ {source} }}}}: {function} takes one or more arguments")
    if function == "and":
        return next((argument for argument in arguments if not _truthy(argument)), arguments[-1])
    return next((argument for argument in arguments if _truthy(argument)), arguments[-1])


def _truthy(value: Any) -> bool:
    # Go templates: false, 0, nil, and empty strings, lists and maps are false.
    return bool(value)
