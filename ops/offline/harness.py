"""Evaluates the real Pulumi program under Pulumi's official mocks and records what it would do.

No Pulumi CLI runs here, so this harness does what the CLI would: it merges the defaults that
`Pulumi.yaml` declares with a stack file's values, checks their declared types, hands them to
the program as the CLI does (strings, JSON for lists), runs `__main__.py` against a mock
monitor, and records every resource registration and every invoke.

Remote components (awsx, pulumi-eks) are single opaque resources under mocks: only what a fake
returns exists. Any output a fake leaves out is filled with a sentinel string, and
`Evaluation.missing_fake_outputs()` finds a sentinel anywhere the program passed it on, so a
missing fake fails a test instead of silently flowing on as None.

`evaluate(..., preview=True)` answers as `pulumi preview` of a new stack does: a resource yet to
be created has an unknown ID, its plan is its inputs plus only what the provider computes in
preview (`preview_fakes`), and every output only the cloud assigns is UNKNOWN; an invoke with an
unknown argument, or waiting on a resource yet to be created, is not made. `deployed` names the
resource types that already exist unchanged from an earlier `up` (a preview of a deployed stack):
they answer with the up-mode fakes. Where the program passed an unknown on, a registration's
inputs hold UNKNOWN (`Registration.unknown_inputs` lists the paths), as the policy SDK sees it.
Secrets arrive in a registration's inputs as plain values; `Registration.secret_inputs` lists the
paths the program sent as secrets, which the engine would store encrypted.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import importlib
import json
import os
import runpy
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Collection, Iterator, Mapping

import pulumi
import yaml
from google.protobuf import json_format, struct_pb2
from pulumi._types import _PULUMI_NAME
from pulumi.output import Unknown
from pulumi.runtime import mocks, rpc, settings as runtime_settings
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

import eks_versions as _calendar

PROJECT_DIR = Path(__file__).resolve().parents[2]
PROJECT = "backend-on-eks"
MISSING = "<<missing fake output {type}.{name}>>"
_RESOURCE_REF_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
_SIG_KEY = "4dabf18193072939515e22adb298388d"
REMOVE = object()
"""Use as an override value to delete a key from the stack's config."""
UNKNOWN = rpc.UNKNOWN
"""A value known only after `up`: what the engine sends for it, and the string the policy SDK
reads as an unknown (`pulumi_policy.proxy.UNKNOWN_STRING_VALUE` is the same string)."""


class ProgramFailed(Exception):
    """The program raised; `registrations` is what it had registered by then."""

    def __init__(self, cause: BaseException, registrations: list["Registration"]) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.cause = cause
        self.registrations = registrations


class ConfigTypeError(Exception):
    """The Pulumi CLI would refuse this stack file before running the program."""


@dataclass
class Registration:
    type: str
    name: str
    urn: str
    parent: str
    dependencies: list[str]
    provider: str
    custom: bool
    remote: bool
    protect: bool
    inputs: dict[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict)
    ignore_changes: list[str] = field(default_factory=list)
    """The `ignore_changes` resource option, as the engine receives it (input property paths)."""
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    pending: bool = False
    """In a preview, the resource is yet to be created or changed: `outputs` is the provider's plan
    (UNKNOWN for what only `up` computes), not a state the cloud holds."""
    aliases: list[dict[str, Any]] = field(default_factory=list)
    """The `aliases` resource option as the engine receives it: each an alias spec (name, type,
    parentUrn...) or a whole URN, the earlier identities that mean this resource."""
    secret_inputs: set[str] = field(default_factory=set)
    """Paths of the inputs the program sent as secrets (e.g. `registry.password`): `inputs` holds
    their plain values, so this is what tells a secret from a value the engine would store and
    show in the clear."""

    @property
    def unknown_inputs(self) -> set[str]:
        """Paths of the inputs the program could not know yet, e.g.
        `spec.template.spec.containers[0].image`."""
        return set(unknown_paths(self.inputs))


def unknown_paths(value: Any, path: str = "") -> Iterator[str]:
    if isinstance(value, Unknown) or value == UNKNOWN:
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from unknown_paths(item, f"{path}.{key}" if path else key)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from unknown_paths(item, f"{path}[{index}]")


def secret_paths(value: Any, path: str = "") -> Iterator[str]:
    """Paths of the engine-signed secrets in a serialized property value, as `unknown_paths` names
    them; the secret's own value is not searched (a secret inside a secret adds nothing)."""
    if isinstance(value, dict):
        if value.get(_SIG_KEY) == _SECRET_SIG:
            yield path
            return
        for key, item in value.items():
            yield from secret_paths(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from secret_paths(item, f"{path}[{index}]")


def _marked(value: Any) -> Any:
    """`value` with the SDK's Unknown objects replaced by the UNKNOWN string the engine sends."""
    if isinstance(value, Unknown):
        return UNKNOWN
    if isinstance(value, dict):
        return {key: _marked(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_marked(item) for item in value]
    return value


@dataclass
class Invoke:
    token: str
    args: dict[str, Any]


@dataclass
class Evaluation:
    stack: str
    config: dict[str, str]
    registrations: list[Registration]
    invokes: list[Invoke]
    exports: dict[str, Any]
    secret_exports: set[str]
    preview: bool = False

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> Registration:
        """The one registration of `type_` (named `name`, where the stack has several)."""
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        assert len(found) == 1, f"expected one {type_}{f' named {name}' if name else ''}, found {[r.name for r in self.of_type(type_)]}"
        return found[0]

    def by_urn(self, urn: str) -> Registration:
        return next(r for r in self.registrations if r.urn == urn)

    def ancestors(self, registration: Registration) -> list[Registration]:
        chain, parent = [], registration.parent
        while parent and "::pulumi:pulumi:Stack::" not in parent:
            found = self.by_urn(parent)
            chain.append(found)
            parent = found.parent
        return chain

    def transitive_dependencies(self, registration: Registration) -> set[str]:
        """URNs this resource waits for, followed to the end: its own and its ancestors'
        dependencies, its provider, and, for a component it waits for, that component's children."""
        known = {r.urn for r in self.registrations}
        seen: set[str] = set()
        pending = self._waits_for(registration)
        while pending:
            urn = pending.pop()
            if urn in seen or urn not in known:
                continue
            seen.add(urn)
            pending.extend(self._waits_for(self.by_urn(urn)))
            pending.extend(c.urn for c in self.registrations if c.parent == urn)
        return seen

    def _waits_for(self, registration: Registration) -> list[str]:
        """What one registration waits for directly (a child waits for what its parents wait for)."""
        waits = list(registration.dependencies)
        for ancestor in self.ancestors(registration):
            waits.extend(ancestor.dependencies)
        if registration.provider:
            waits.append(registration.provider.rsplit("::", 1)[0])
        return waits

    def missing_fake_outputs(self) -> list[str]:
        found = []
        for registration in self.registrations:
            found += [f"{registration.type} {registration.name}: {s}" for s in _sentinels(registration.inputs)]
        for name, value in self.exports.items():
            found += [f"export {name}: {s}" for s in _sentinels(value)]
        return found


def _sentinels(value: Any) -> Iterator[str]:
    if isinstance(value, str) and "<<missing fake output" in value:
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _sentinels(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _sentinels(item)


def _property_names(cls: type) -> list[str]:
    return [
        getattr(prop.fget, _PULUMI_NAME)
        for klass in cls.__mro__ for prop in vars(klass).values()
        if isinstance(prop, property) and hasattr(prop.fget, _PULUMI_NAME)
    ]


def _declared_properties() -> tuple[dict[str, list[str]], dict[str, set[str]]]:
    """Type token -> output property names, and -> input property names, read from the SDK
    classes themselves (a resource class and its `<Name>InitArgs` or `<Name>Args` class)."""
    import pulumi_aws, pulumi_awsx, pulumi_docker, pulumi_eks, pulumi_kubernetes  # noqa: F401,E401

    outputs: dict[str, list[str]] = {}
    inputs: dict[str, set[str]] = {}
    pending = [pulumi.Resource]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        token = getattr(cls, "pulumi_type", None)
        if isinstance(token, str):
            outputs[token] = _property_names(cls)
            module = sys.modules.get(cls.__module__)
            args_class = getattr(module, f"{cls.__name__}InitArgs", None) or getattr(module, f"{cls.__name__}Args", None)
            inputs[token] = set(_property_names(args_class)) if isinstance(args_class, type) else set()
    return outputs, inputs


Fake = Callable[[mocks.MockResourceArgs], dict]
Deployed = Collection[str] | Callable[[str], bool]


ChildReference = tuple[str, str, Callable[[str, dict, dict], tuple[str, dict]]]
"""(output, the child's type, (resource name, its state, its inputs) -> the child's ID and state)."""
"""(output, child type token, (component name, component state) -> (child ID, child state))."""


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(
        self,
        fakes: dict[str, Fake],
        invoke_fakes: dict[str, Callable[[dict], dict]],
        preview: bool = False,
        preview_fakes: Mapping[str, Fake] | None = None,
        deployed: Deployed = (),
        child_references: Mapping[str, ChildReference] | None = None,
    ) -> None:
        self.fakes = fakes
        self.child_references = dict(child_references or {})
        self.invoke_fakes = invoke_fakes
        self.invokes: list[Invoke] = []
        self._outputs, self._inputs = _declared_properties()
        self.preview = preview
        self.preview_fakes = dict(preview_fakes or {})
        self.deployed = deployed if callable(deployed) else frozenset(deployed).__contains__

    def declared(self, type_: str) -> tuple[list[str], set[str]]:
        """Output and input property names of `type_`. Read again for a type not seen yet: the
        provider SDKs import their modules lazily, so a class may exist only once the program
        has used it."""
        if type_ not in self._outputs:
            self._outputs, self._inputs = _declared_properties()
        return self._outputs.get(type_, []), self._inputs.get(type_, set())

    def pending(self, type_: str) -> bool:
        """Whether this preview is yet to create (or change) resources of `type_`."""
        return self.preview and not self.deployed(type_)

    def new_resource(self, args: mocks.MockResourceArgs):
        if self.pending(args.typ):
            # An empty ID is what the engine sends for a resource it has not created: unknown.
            return "", self._planned_state(args)
        fake = self.fakes.get(args.typ)
        state = dict(args.inputs) if fake is None or args.custom else {}
        if fake is not None:
            state.update(fake(args))
        for name in self.declared(args.typ)[0]:
            state.setdefault(name, MISSING.format(type=args.typ, name=name))
        return f"{args.name}-id", state

    def _planned_state(self, args: mocks.MockResourceArgs) -> dict:
        """What a preview hands back for a resource it is yet to create. A provider plans a custom
        resource as its checked inputs plus what it can compute without the cloud (the preview
        fake's answer); what only the cloud assigns (an output that is no input) stays unknown.
        A remote component's outputs come from children that do not exist yet: all unknown, unless
        its preview fake knows better."""
        state = dict(args.inputs) if args.custom else {}
        fake = self.preview_fakes.get(args.typ)
        if fake is not None:
            state.update(fake(args))
        declared, inputs = self.declared(args.typ)
        if not args.custom:
            inputs = set()
        for name in declared:
            if name not in inputs:
                state.setdefault(name, UNKNOWN)
        return state

    def call(self, args: mocks.MockCallArgs):
        self.invokes.append(Invoke(args.token, dict(args.args)))
        fake = self.invoke_fakes.get(args.token)
        if fake is None:
            raise AssertionError(f"the program made an invoke no fake answers: {args.token}")
        return fake(dict(args.args)), []


def _replace_signed(value: Any, signature: str, replace: Callable[[dict], Any]) -> Any:
    """`value` with every engine-signed object of `signature` replaced by `replace(object)`."""
    if isinstance(value, dict):
        if value.get(_SIG_KEY) == signature:
            return replace(value)
        return {key: _replace_signed(item, signature, replace) for key, item in value.items()}
    if isinstance(value, list):
        return [_replace_signed(item, signature, replace) for item in value]
    return value


def _urns_for_resource_refs(value: Any) -> Any:
    return _replace_signed(value, _RESOURCE_REF_SIG, lambda ref: ref["urn"])


def _unwrap_secrets(value: Any) -> Any:
    return _replace_signed(value, _SECRET_SIG, lambda secret: _unwrap_secrets(secret.get("value")))


class RecordingMonitor(mocks.MockMonitor):
    """Records the registration graph, and replaces resource references in inputs by their URNs.

    The stock monitor deserializes a resource reference (e.g. `ManagedNodeGroup(cluster=...)`)
    into a live Resource bound to another event loop and fails; a URN is what tests compare.

    Like the engine, it takes an invoke's `dependsOn` and, in a preview, declines an invoke that
    waits on a resource yet to be created: the result is unknown. (The stock monitor leaves the
    feature out, and the SDK's own fallback checks only custom resources' IDs, not remote
    components such as the node group.)
    """

    def __init__(self, mocks_: RecordingMocks) -> None:
        super().__init__(mocks_)
        self.recording_mocks = mocks_
        self.registrations: list[Registration] = []
        self.pending_urns: set[str] = set()

    def GetDeploymentInfo(self, request):
        info = super().GetDeploymentInfo(request)
        info.supportedFeatures.append(resource_pb2.RESOURCE_MONITOR_FEATURE_INVOKE_DEPENDS_ON)
        return info

    def Invoke(self, request):
        if self.recording_mocks.preview and self.pending_urns.intersection(request.dependsOn):
            return resource_pb2.ResourceInvokeResponse(unknown=True)
        return super().Invoke(request)

    def RegisterResource(self, request):
        plain = _urns_for_resource_refs(json_format.MessageToDict(request.object))
        replaced = struct_pb2.Struct()
        json_format.ParseDict(plain, replaced)
        request.object.CopyFrom(replaced)
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            pending = self.recording_mocks.pending(request.type)
            reference = self.recording_mocks.child_references.get(request.type)
            if reference is not None and not pending:
                self._reference_child(request, response, plain, *reference)
            registered = self.resources[response.urn]
            if pending:
                self.pending_urns.add(response.urn)
            self.registrations.append(Registration(
                type=request.type,
                name=request.name,
                urn=response.urn,
                parent=request.parent,
                dependencies=list(request.dependencies),
                provider=request.provider,
                custom=request.custom,
                remote=request.remote,
                protect=request.protect,
                ignore_changes=list(request.ignoreChanges),
                aliases=[json_format.MessageToDict(alias) for alias in request.aliases]
                + [{"urn": urn} for urn in request.aliasURNs],
                inputs=_unwrap_secrets(plain),
                secret_inputs=set(secret_paths(plain)),
                outputs=_marked(registered.state),
                property_dependencies={
                    key: list(dependencies.urns) for key, dependencies in request.propertyDependencies.items()
                },
                pending=pending,
            ))
        return response



    def _reference_child(self, request, response, inputs: dict, output: str, child_type: str,
                         child_state: Callable[[str, dict, dict], tuple[str, dict]]) -> None:
        """A remote component's output that is a reference to one of its own children (pulumi-eks's
        ManagedNodeGroup.nodeGroup is its aws.eks.NodeGroup): the child is recorded where the
        engine would answer for it (the SDK reads a referenced resource's state with the
        `pulumi:pulumi:getResource` invoke), and the output becomes a reference to it."""
        child_urn = self.make_urn(response.urn, child_type, request.name)
        registered = self.resources[response.urn]
        child_id, state = child_state(request.name, registered.state, inputs)
        self.resources[child_urn] = mocks.MockMonitor.ResourceRegistration(child_urn, child_id, state)
        registered.state[output] = {_SIG_KEY: _RESOURCE_REF_SIG, "urn": child_urn, "id": child_id, "packageVersion": ""}
        response.object.CopyFrom(_sync_await(rpc.serialize_properties(registered.state, {})))


def project_config_schema(project_dir: Path = PROJECT_DIR) -> dict[str, dict]:
    return yaml.safe_load((project_dir / "Pulumi.yaml").read_text())["config"]


def stack_names(project_dir: Path = PROJECT_DIR) -> list[str]:
    """The stacks the checkout has a file for (Pulumi.<stack>.yaml), sorted."""
    return sorted(path.name[len("Pulumi."):-len(".yaml")] for path in project_dir.glob("Pulumi.*.yaml"))


def stack_file_config(stack: str, project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    return yaml.safe_load((project_dir / f"Pulumi.{stack}.yaml").read_text()).get("config", {})


_TYPE_CHECKS = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
}


def _as_cli_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def effective_config(values: dict[str, Any], project_dir: Path = PROJECT_DIR) -> dict[str, str]:
    """What the CLI hands the program: declared defaults overlaid by the stack's values."""
    schema = project_config_schema(project_dir)
    merged: dict[str, Any] = {f"{PROJECT}:{key}": spec["default"] for key, spec in schema.items() if "default" in spec}
    for key, value in values.items():
        if value is REMOVE:
            merged.pop(key, None)
            continue
        short = key.split(":", 1)[1] if key.startswith(f"{PROJECT}:") else None
        if short is not None and short in schema and not _TYPE_CHECKS[schema[short]["type"]](value):
            raise ConfigTypeError(f"{key} = {value!r} is not of declared type {schema[short]['type']}")
        merged[key] = value
    return {key: _as_cli_string(value) for key, value in merged.items()}


# The program's own modules (top-level files and `components`), imported afresh for each run.
PROGRAM_MODULES = ("settings", "access", "zones", "eks_versions", "autoscaler_releases")


def _is_program_module(name: str) -> bool:
    return name in PROGRAM_MODULES or name == "components" or name.startswith("components.")


@contextlib.contextmanager
def _running_in(project_dir: Path) -> Iterator[None]:
    """The program's view of the world while it runs: the CLI's working directory is the project
    directory, and the program imports its own `settings` and `components`."""
    previous_cwd, previous_path = os.getcwd(), list(sys.path)
    os.chdir(project_dir)
    sys.path.insert(0, str(project_dir))
    try:
        yield
    finally:
        os.chdir(previous_cwd)
        sys.path[:] = previous_path


def evaluate(
    stack: str,
    values: dict[str, Any],
    fakes: dict[str, Fake],
    invoke_fakes: dict[str, Callable[[dict], dict]],
    preview: bool = False,
    project_dir: Path = PROJECT_DIR,
    preview_fakes: Mapping[str, Fake] | None = None,
    deployed: Deployed = (),
    child_references: Mapping[str, ChildReference] | None = None,
    caller_arn: str | None = None,
    existing_clusters: Mapping[str, Mapping[str, str]] | None = None,
    secret_keys: Collection[str] = (),
    today: datetime.date | None = None,
) -> Evaluation:
    """Runs `__main__.py` for `stack` with the given stack-file `values` (before defaults).

    `today` (UTC) is the date the program's clock reads: the program asks `eks_versions.utc_today()`
    (through `settings.load()`), and the harness answers for it as it answers for AWS. None reads
    the clock of this process once, as `pulumi up` today would.

    `project_dir` is the checkout to run: another copy of the project evaluates as a second
    checkout would (the CLI runs the program with the project directory as working directory).

    `preview=True` runs it as `pulumi preview` of a new stack: `preview_fakes` answer what a
    provider computes in preview (nothing else is known); `deployed` (type tokens, or a predicate
    on them) are the resources that already exist unchanged from an earlier `up`.

    `caller_arn` (an IAM role ARN, path allowed, whose STS session runs the program, or an IAM
    user ARN) and `existing_clusters` (EKS cluster name -> tags, in the account and region) set
    what the identity and EKS lookups answer; left out, `invoke_fakes` answer as they are.

    `secret_keys` are the config keys (`backend-on-eks:upstreamUrl`) the stack holds as secrets
    (`pulumi config set --secret`): the CLI tells the program which keys those are.
    """
    project_dir = Path(project_dir).resolve()
    config = effective_config(values, project_dir)
    if caller_arn is not None or existing_clusters is not None:
        from ops.offline.fakes import CALLER_ROLE_ARN, identity_invoke_fakes

        invoke_fakes = {**invoke_fakes, **identity_invoke_fakes(caller_arn or CALLER_ROLE_ARN, existing_clusters)}
    if child_references is None:
        # How pulumi-eks answers, whatever a test fakes: its ManagedNodeGroup.nodeGroup is a
        # reference to the group's own aws.eks.NodeGroup, not a value.
        from ops.offline.fakes import CHILD_REFERENCES as child_references
    recording_mocks = RecordingMocks(fakes, invoke_fakes, preview, preview_fakes, deployed, child_references)
    monitor = RecordingMonitor(recording_mocks)

    runtime_settings.set_root_resource(None)  # type: ignore[arg-type]  # forget the previous run's stack
    pulumi.runtime.config.set_all_config(dict(config), list(secret_keys))
    pulumi.runtime.set_mocks(recording_mocks, project=PROJECT, stack=stack, preview=preview, monitor=monitor)
    runtime_settings.SETTINGS.rpc_manager.clear()
    runtime_settings.SETTINGS.outputs.clear()

    # Fresh imports each time, so a module-level cache can never leak one stack (or one
    # checkout) into another; and the caller's own modules put back afterwards, so a test that
    # imports `eks_versions` after evaluating another checkout still gets the repository's.
    callers_modules = {name: sys.modules.pop(name) for name in [m for m in sys.modules if _is_program_module(m)]}
    try:
        program_today = today if today is not None else _calendar.utc_today()
        try:
            with _running_in(project_dir):
                setattr(importlib.import_module("eks_versions"), "utc_today", lambda: program_today)

                def program() -> None:
                    runpy.run_path(str(project_dir / "__main__.py"), run_name="__main__")

                _sync_await(run_pulumi_func(program))
        except Exception as error:  # noqa: BLE001 - handed to the test with what was registered
            raise ProgramFailed(error, monitor.registrations) from error

        root: Any = runtime_settings.get_root_resource()  # the Stack the program ran in
        exports, secret_exports = {}, set()
        for name, output in root.outputs.items():
            as_output = pulumi.Output.from_input(output)
            known = _sync_await(as_output.is_known())
            value = _sync_await(as_output.future(with_unknowns=True))
            exports[name] = copy.deepcopy(_marked(value)) if known else UNKNOWN
            if _sync_await(as_output.is_secret()):
                secret_exports.add(name)
        return Evaluation(stack, config, monitor.registrations, recording_mocks.invokes, exports, secret_exports,
                          preview=preview)
    finally:
        for module in [m for m in sys.modules if _is_program_module(m)]:
            del sys.modules[module]
        sys.modules.update(callers_modules)
