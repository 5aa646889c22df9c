"""Every pod spec the stack could declare is held to the restricted Pod Security Standard.

Each refusing case is paired with the nearest value that must still pass, so a rule cannot drift
stricter (and break the stacks) or looser (and let the case through) unnoticed.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ops.offline.harness import UNKNOWN
from tests.policy.adapter import analyze, violations
from tests.policy.builders import (
    DEPLOYMENT, changed, container, plus, pod_context, pod_template, registration,
)

HEX = "0123456789abcdef" * 4
TAGGED = "123456789012.dkr.ecr.us-east-1.amazonaws.com/backend:v1"


def template_changed(evaluation, change):
    """The stack with `change(template)` applied to its Deployment's pod template."""
    return changed(evaluation, DEPLOYMENT, lambda inputs: change(inputs["spec"]["template"]))


def ctx(template):
    return container(template)["securityContext"]


# --- Every kind that carries a pod spec --------------------------------------------------------------

KINDS = {
    "Pod": ("kubernetes:core/v1:Pod", lambda t: {"metadata": t["metadata"], "spec": t["spec"]}),
    "Job": ("kubernetes:batch/v1:Job", lambda t: {"spec": {"template": t}}),
    "CronJob": ("kubernetes:batch/v1:CronJob",
                lambda t: {"spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": t}}}}),
    "ReplicaSet": ("kubernetes:apps/v1:ReplicaSet", lambda t: {"spec": {"template": t}}),
    "StatefulSet": ("kubernetes:apps/v1:StatefulSet", lambda t: {"spec": {"template": t}}),
    "DaemonSet": ("kubernetes:apps/v1:DaemonSet", lambda t: {"spec": {"template": t}}),
    "ReplicationController": ("kubernetes:core/v1:ReplicationController", lambda t: {"spec": {"template": t}}),
    "PodTemplate": ("kubernetes:core/v1:PodTemplate", lambda t: {"template": t}),
    "DeploymentPatch": ("kubernetes:apps/v1:DeploymentPatch", lambda t: {"spec": {"template": t}}),
    "CronJobPatch": ("kubernetes:batch/v1:CronJobPatch",
                     lambda t: {"spec": {"jobTemplate": {"spec": {"template": t}}}}),
    "DeploymentList": ("kubernetes:apps/v1:DeploymentList", lambda t: {"items": [{"spec": {"template": t}}]}),
    "custom resource": ("kubernetes:argoproj.io/v1alpha1:Rollout", lambda t: {"spec": {"template": t}}),
}


def with_kind(evaluation, kind, template):
    type_, wrap = KINDS[kind]
    return plus(evaluation, registration(evaluation, type_, f"probe-{kind.lower().replace(' ', '-')}", wrap(template)))


@pytest.mark.parametrize("kind", KINDS)
def test_a_compliant_pod_passes_in_every_kind(prod, kind):
    assert violations(with_kind(prod, kind, pod_template(prod))) == {}


@pytest.mark.parametrize("kind", KINDS)
def test_a_privileged_container_is_stopped_in_every_kind(prod, kind):
    template = pod_template(prod)
    ctx(template)["privileged"] = True
    assert list(violations(with_kind(prod, kind, template))) == ["container-not-privileged"]


@pytest.mark.parametrize("kind", KINDS)
def test_an_image_by_tag_is_stopped_in_every_kind(prod, kind):
    template = pod_template(prod)
    container(template)["image"] = TAGGED
    assert list(violations(with_kind(prod, kind, template))) == ["image-by-digest"]


@pytest.mark.parametrize("list_name", ["initContainers", "ephemeralContainers"])
def test_an_init_or_ephemeral_container_is_held_to_the_same_rules(prod, list_name):
    def add(template):
        second = dict(container(template), name="helper", image=TAGGED)
        template["spec"][list_name] = [second]
    found = violations(template_changed(prod, add))
    assert list(found) == ["image-by-digest"]
    assert "'helper'" in found["image-by-digest"][0]


def test_a_pod_spec_with_only_ephemeral_containers_is_still_a_pod_spec(dev):
    # dev: ephemeral containers declare no ports, so in prod the scraper's rules to the admin port
    # would also (rightly) lose their licence; dev scrapes nothing.
    def only_ephemeral(template):
        ctx(template)["privileged"] = True
        template["spec"]["ephemeralContainers"] = template["spec"].pop("containers")
    assert list(violations(template_changed(dev, only_ephemeral))) == ["container-not-privileged"]


# --- Each control of the baseline and restricted profiles --------------------------------------------

REFUSED = [
    ("pod-no-host-namespaces", lambda t: t["spec"].update(hostNetwork=True), "hostNetwork"),
    ("pod-no-host-namespaces", lambda t: t["spec"].update(hostPID=True), "hostPID"),
    ("pod-no-host-namespaces", lambda t: t["spec"].update(hostIPC=True), "hostIPC"),
    ("pod-no-host-namespaces", lambda t: t["spec"].update(hostNetwork="true"), "hostNetwork"),
    ("pod-volume-types", lambda t: t["spec"]["volumes"].append({"name": "root", "hostPath": {"path": "/"}}),
     "it is hostPath"),
    ("pod-volume-types", lambda t: t["spec"]["volumes"].append({"name": "share", "nfs": {"server": "x", "path": "/"}}),
     "it is nfs"),
    ("pod-volume-types", lambda t: t["spec"]["volumes"][0].update(hostPath={"path": "/"}), "hostPath"),
    ("pod-volume-types", lambda t: t["spec"]["volumes"].append({"name": "nothing"}), "it is nothing"),
    ("container-capabilities", lambda t: ctx(t)["capabilities"].update(add=["SYS_ADMIN"]), "adds SYS_ADMIN"),
    ("container-capabilities", lambda t: ctx(t)["capabilities"].update(add=["NET_RAW"]), "adds NET_RAW"),
    ("container-capabilities", lambda t: ctx(t)["capabilities"].update(add="SYS_ADMIN"), "adds SYS_ADMIN"),
    ("container-capabilities", lambda t: ctx(t).pop("capabilities"), "must drop ALL"),
    ("container-capabilities", lambda t: ctx(t)["capabilities"].update(add=[21]), "adds 21"),
    ("container-capabilities", lambda t: ctx(t)["capabilities"].update(drop=["all"]), "must drop ALL"),
    ("container-capabilities", lambda t: ctx(t)["capabilities"].update(drop=["NET_RAW"]), "must drop ALL"),
    ("container-not-privileged", lambda t: ctx(t).update(privileged=True), "must not be privileged"),
    ("container-not-privileged", lambda t: ctx(t).update(privileged="true"), "must not be privileged"),
    ("container-no-privilege-escalation", lambda t: ctx(t).update(allowPrivilegeEscalation=True), "false"),
    ("container-no-privilege-escalation", lambda t: ctx(t).update(allowPrivilegeEscalation="false"), "false"),
    ("container-non-root", lambda t: ctx(t).update(runAsNonRoot=False), "must not run as root"),
    ("container-non-root", lambda t: (ctx(t).pop("runAsNonRoot"), pod_context(t).pop("runAsNonRoot")),
     "must not run as root"),
    ("container-non-root", lambda t: pod_context(t).update(runAsNonRoot=False), "must not run as root"),
    ("container-non-root", lambda t: ctx(t).update(runAsUser=0), "must not run as root"),
    ("container-non-root", lambda t: ctx(t).update(runAsUser=0.0), "must not run as root"),
    ("container-non-root", lambda t: ctx(t).update(runAsUser="0"), "must not run as root"),
    ("container-non-root", lambda t: pod_context(t).update(runAsUser=0), "must not run as root"),
    ("container-non-root-group", lambda t: pod_context(t).update(runAsGroup=0), "non-zero group"),
    ("container-non-root-group", lambda t: ctx(t).update(runAsGroup=0), "non-zero group"),
    ("container-non-root-group", lambda t: pod_context(t).pop("runAsGroup"), "non-zero group"),
    ("container-non-root-group", lambda t: pod_context(t).update(supplementalGroups=[1000, 0]), "non-zero group"),
    ("container-non-root-group", lambda t: pod_context(t).update(fsGroup=0), "non-zero group"),
    ("container-non-root-group", lambda t: (pod_context(t).update(runAsGroup=0), ctx(t).update(runAsGroup=10001)),
     "non-zero group"),
    ("container-non-root", lambda t: (pod_context(t).update(runAsUser=0), ctx(t).update(runAsUser=10001)),
     "must not run as root"),
    ("container-seccomp", lambda t: pod_context(t).update(seccompProfile={"type": "Unconfined"}), "'Unconfined'"),
    ("container-seccomp", lambda t: ctx(t).update(seccompProfile={"type": "Unconfined"}), "'Unconfined'"),
    ("container-seccomp", lambda t: pod_context(t).pop("seccompProfile"), "got None"),
    ("container-seccomp", lambda t: (pod_context(t).update(seccompProfile={"type": "Unconfined"}),
                                     ctx(t).update(seccompProfile={"type": "RuntimeDefault"})), "'RuntimeDefault'"),
    ("container-seccomp", lambda t: pod_context(t).update(seccompProfile={"type": "runtimedefault"}), "runtimedefault"),
    ("container-seccomp", lambda t: pod_context(t).update(seccompProfile="RuntimeDefault"), "got None"),
    ("container-no-host-ports", lambda t: container(t)["ports"][0].update(hostPort=8080), "hostPort 8080"),
    ("container-no-host-ports", lambda t: container(t)["ports"][0].update(hostPort="8080"), "hostPort 8080"),
    ("container-default-proc-mount", lambda t: ctx(t).update(procMount="Unmasked"), "procMount"),
    ("pod-safe-sysctls", lambda t: pod_context(t).update(sysctls=[{"name": "kernel.msgmax", "value": "1"}]),
     "'kernel.msgmax'"),
    ("pod-safe-sysctls", lambda t: pod_context(t).update(sysctls=[{"name": "net.core.somaxconn", "value": "1"}]),
     "'net.core.somaxconn'"),
    ("pod-apparmor", lambda t: pod_context(t).update(appArmorProfile={"type": "Unconfined"}), "Unconfined"),
    ("pod-apparmor", lambda t: ctx(t).update(appArmorProfile={"type": "Unconfined"}), "Unconfined"),
    ("pod-apparmor", lambda t: t["metadata"].update(annotations={
        "container.apparmor.security.beta.kubernetes.io/nextwork-flask-backend": "unconfined"}), "unconfined"),
    ("pod-selinux", lambda t: pod_context(t).update(seLinuxOptions={"type": "spc_t"}), "spc_t"),
    ("pod-selinux", lambda t: ctx(t).update(seLinuxOptions={"user": "system_u"}), "system_u"),
    ("pod-selinux", lambda t: ctx(t).update(seLinuxOptions={"role": "system_r"}), "system_r"),
    ("pod-no-host-process", lambda t: ctx(t).update(windowsOptions={"hostProcess": True}), "HostProcess"),
    ("pod-no-host-process", lambda t: pod_context(t).update(windowsOptions={"hostProcess": True}), "HostProcess"),
    ("container-no-probe-host", lambda t: container(t)["livenessProbe"]["httpGet"].update(host="169.254.169.254"),
     "169.254.169.254"),
    ("container-no-probe-host", lambda t: container(t)["lifecycle"].update(
        postStart={"tcpSocket": {"host": "10.0.0.1", "port": 22}}), "10.0.0.1"),
    ("container-limits", lambda t: container(t)["resources"]["limits"].update(cpu="0"), "for cpu"),
    ("container-limits", lambda t: container(t)["resources"]["limits"].update(cpu="0m"), "for cpu"),
    ("container-limits", lambda t: container(t)["resources"]["limits"].update(memory="0Mi"), "for memory"),
    ("container-limits", lambda t: container(t)["resources"]["limits"].update(memory=0), "for memory"),
    ("container-limits", lambda t: container(t)["resources"]["limits"].update(cpu="0.000"), "for cpu"),
    ("container-limits", lambda t: container(t)["resources"]["limits"].update(cpu="-1"), "for cpu"),
    ("container-limits", lambda t: container(t)["resources"]["limits"].update(cpu="0e3"), "for cpu"),
    ("container-limits", lambda t: container(t)["resources"]["limits"].update(cpu=""), "for cpu"),
    ("container-limits", lambda t: container(t)["resources"]["limits"].update(cpu="lots"), "for cpu"),
    ("container-limits", lambda t: container(t)["resources"]["limits"].update(cpu=True), "for cpu"),
    ("container-limits", lambda t: container(t)["resources"].update(limits={"CPU": "1", "memory": "1Gi"}), "for cpu"),
]


@pytest.mark.parametrize(("policy", "change", "message"), REFUSED,
                         ids=[f"{p}-{i}" for i, (p, _, _) in enumerate(REFUSED)])
def test_a_pod_outside_the_restricted_profile_is_stopped_by_its_own_policy_alone(prod, policy, change, message):
    found = violations(template_changed(prod, change))
    assert list(found) == [policy]
    assert message in found[policy][0]


PASSES = [
    ("NET_BIND_SERVICE may be added", lambda t: ctx(t)["capabilities"].update(add=["NET_BIND_SERVICE"])),
    ("a Localhost seccomp profile", lambda t: pod_context(t).update(
        seccompProfile={"type": "Localhost", "localhostProfile": "profiles/app.json"})),
    ("seccomp on the container alone", lambda t: (ctx(t).update(seccompProfile=pod_context(t).pop("seccompProfile")))),
    ("a safe sysctl", lambda t: pod_context(t).update(sysctls=[{"name": "net.ipv4.tcp_keepalive_time", "value": "60"}])),
    ("AppArmor RuntimeDefault", lambda t: ctx(t).update(appArmorProfile={"type": "RuntimeDefault"})),
    ("an AppArmor localhost annotation", lambda t: t["metadata"].update(annotations={
        "container.apparmor.security.beta.kubernetes.io/nextwork-flask-backend": "localhost/app"})),
    ("SELinux container_t with a level", lambda t: ctx(t).update(seLinuxOptions={"type": "container_t", "level": "s0:c1"})),
    ("hostPort 0", lambda t: container(t)["ports"][0].update(hostPort=0)),
    ("procMount Default", lambda t: ctx(t).update(procMount="Default")),
    ("hostNetwork false", lambda t: t["spec"].update(hostNetwork=False, hostPID=False, hostIPC=False)),
    ("privileged false", lambda t: ctx(t).update(privileged=False)),
    ("tiny limits", lambda t: container(t)["resources"].update(limits={"cpu": "1m", "memory": "1"})),
    ("limits in other notations", lambda t: container(t)["resources"].update(limits={"cpu": "0.5", "memory": "1e9"})),
    ("numeric limits", lambda t: container(t)["resources"].update(limits={"cpu": 2, "memory": 536870912.0})),
    ("numeric limits of one", lambda t: container(t)["resources"].update(limits={"cpu": 1, "memory": 1})),
    ("restricted volume types", lambda t: t["spec"]["volumes"].extend([
        {"name": "s", "secret": {"secretName": "s"}}, {"name": "p", "projected": {"sources": []}},
        {"name": "c", "persistentVolumeClaim": {"claimName": "c"}}, {"name": "d", "downwardAPI": {"items": []}}])),
    ("runAsGroup on the container alone", lambda t: ctx(t).update(runAsGroup=pod_context(t).pop("runAsGroup"))),
    ("runAsNonRoot on the container alone", lambda t: pod_context(t).pop("runAsNonRoot")),
    ("a probe host of empty string", lambda t: container(t)["livenessProbe"]["httpGet"].update(host="")),
]


@pytest.mark.parametrize("change", [c for _, c in PASSES], ids=[n for n, _ in PASSES])
def test_what_the_restricted_profile_allows_still_passes(prod, change):
    assert violations(template_changed(prod, change)) == {}


# --- Unknown values in a preview ----------------------------------------------------------------------

def test_an_unknown_value_where_no_pod_spec_can_hide_skips_nothing(prod):
    evaluation = template_changed(prod, lambda t: container(t)["env"][0].update(value=UNKNOWN))
    analysis = analyze(evaluation)
    assert (analysis.violations, analysis.skipped) == ({}, {})


def test_an_unknown_pod_template_skips_the_pod_policies_rather_than_passing_them(prod):
    evaluation = changed(prod, DEPLOYMENT, lambda inputs: inputs["spec"].update(template=UNKNOWN))
    analysis = analyze(evaluation)
    assert analysis.violations == {}
    assert {"container-not-privileged", "container-limits", "pod-volume-types"} <= set(analysis.skipped)


@pytest.mark.parametrize("kind", ["Pod", "CronJob", "DeploymentList"])
def test_an_unknown_value_where_a_pod_spec_may_sit_skips_the_pod_policies(prod, kind):
    # A Pod's spec, a CronJob's jobTemplate, a List's items: each may hold a pod spec.
    type_, wrap = KINDS[kind]
    inputs = wrap(pod_template(prod))
    holder = inputs["spec"] if kind == "CronJob" else inputs
    key = {"Pod": "spec", "CronJob": "jobTemplate", "DeploymentList": "items"}[kind]
    holder[key] = UNKNOWN
    analysis = analyze(plus(prod, registration(prod, type_, "probe", inputs)))
    assert analysis.violations == {}
    assert {"container-not-privileged", "pod-volume-types"} <= set(analysis.skipped)


def test_an_unknown_list_of_objects_may_hide_a_pod_spec(prod):
    analysis = analyze(plus(prod, registration(prod, "kubernetes:yaml/v2:ConfigGroup", "group", {"objs": UNKNOWN})))
    assert "container-not-privileged" in analysis.skipped


def test_an_unknown_value_beside_a_pod_spec_does_not_hide_it(prod):
    template = pod_template(prod)
    ctx(template)["privileged"] = True
    inputs = {"metadata": UNKNOWN, "spec": {"template": template}}
    found = analyze(plus(prod, registration(prod, "kubernetes:apps/v1:ReplicaSet", "probe", inputs))).violations
    assert list(found) == ["container-not-privileged"]


def test_an_unknown_security_context_skips_the_policies_that_read_it(prod):
    evaluation = template_changed(prod, lambda t: container(t).update(securityContext=UNKNOWN))
    analysis = analyze(evaluation)
    assert analysis.violations == {}
    assert {"container-not-privileged", "container-capabilities"} <= set(analysis.skipped)
    assert "container-limits" not in analysis.skipped


# --- Careless shapes ---------------------------------------------------------------------------------

def test_a_container_that_is_not_an_object_is_refused_not_crashed_on(prod):
    found = violations(template_changed(prod, lambda t: t["spec"].update(containers=["nginx"])))
    assert {"image-by-digest", "container-limits", "container-no-privilege-escalation"} <= set(found)


def test_containers_given_as_one_object_instead_of_a_list_are_still_checked(prod):
    def one_object(template):
        template["spec"]["containers"] = dict(container(template), image=TAGGED)
    assert list(violations(template_changed(prod, one_object))) == ["image-by-digest"]


def test_an_image_that_is_not_a_string_is_refused(prod):
    found = violations(template_changed(prod, lambda t: container(t).update(image=["repo@sha256:" + HEX])))
    assert list(found) == ["image-by-digest"]


def test_a_null_security_context_counts_as_nothing_set(prod):
    found = violations(template_changed(prod, lambda t: container(t).update(securityContext=None)))
    assert set(found) == {"container-no-privilege-escalation", "container-capabilities"}


# Values the pack must survive without raising: it either reports or passes, never crashes.
JUNK = st.recursive(
    st.none() | st.booleans() | st.integers(-2, 70000) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
FIELDS = ["securityContext", "resources", "ports", "image", "lifecycle", "livenessProbe", "name"]
POD_FIELDS = ["securityContext", "volumes", "hostNetwork", "containers", "initContainers"]


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(field=st.sampled_from(FIELDS), pod_field=st.sampled_from(POD_FIELDS), junk=JUNK, pod_junk=JUNK)
def test_no_junk_in_a_pod_spec_makes_the_pack_crash(prod, field, pod_field, junk, pod_junk):
    def spoil(template):
        container(template)[field] = junk
        template["spec"][pod_field] = pod_junk
    analysis = analyze(template_changed(prod, spoil))
    assert not analysis.skipped  # junk is not unknown: it is judged


# --- Image references ---------------------------------------------------------------------------------

COMPONENT = st.from_regex(r"[a-z0-9]{1,6}(?:[._-][a-z0-9]{1,4})?", fullmatch=True)
REPOSITORIES = st.builds(
    lambda host, path: (f"{host}/" if host else "") + "/".join(path),
    st.sampled_from(["", "123456789012.dkr.ecr.us-east-1.amazonaws.com", "localhost:5000", "ghcr.io"]),
    st.lists(COMPONENT, min_size=1, max_size=3),
)
TAGS = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,10}", fullmatch=True)
DIGESTS = st.text("0123456789abcdef", min_size=64, max_size=64)


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(repository=REPOSITORIES, tag=st.none() | TAGS, digest=st.none() | DIGESTS,
       spoil=st.sampled_from(["", "upper", "space", "short", "sha512", "newline"]))
def test_an_image_passes_iff_it_is_pinned_by_a_well_formed_sha256_digest(prod, repository, tag, digest, spoil):
    image = repository + (f":{tag}" if tag else "")
    pinned = digest is not None and digest.lower() == digest
    if digest is not None:
        digest = {"upper": digest.upper(), "short": digest[:-1], "": digest, "space": digest, "sha512": digest,
                  "newline": digest}[spoil]
        algorithm = "sha512" if spoil == "sha512" else "sha256"
        image += f"@{algorithm}:{digest}"
        if spoil == "space":
            image = f" {image}"
        if spoil == "newline":
            image += "\n"
        pinned = spoil == "" or (spoil == "upper" and digest == digest.lower())
    found = violations(template_changed(prod, lambda t: container(t).update(image=image)))
    assert ("image-by-digest" not in found) == pinned, image


# --- Every allowed value is allowed (listed here, not read from the pack) --------------------------------

@pytest.mark.parametrize("sysctl", [
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem",
])
def test_each_safe_sysctl_passes(prod, sysctl):
    change = lambda t: pod_context(t).update(sysctls=[{"name": sysctl, "value": "1"}])  # noqa: E731
    assert violations(template_changed(prod, change)) == {}


@pytest.mark.parametrize("selinux_type", ["", "container_t", "container_init_t", "container_kvm_t"])
def test_each_allowed_selinux_type_passes(prod, selinux_type):
    change = lambda t: ctx(t).update(seLinuxOptions={"type": selinux_type, "level": "s0:c1"})  # noqa: E731
    assert violations(template_changed(prod, change)) == {}


def test_selinux_options_without_a_type_pass(prod):
    assert violations(template_changed(prod, lambda t: pod_context(t).update(seLinuxOptions={"level": "s0:c1"}))) == {}


@pytest.mark.parametrize("profile", ["RuntimeDefault", "Localhost"])
def test_each_allowed_apparmor_profile_passes(prod, profile):
    assert violations(template_changed(prod, lambda t: pod_context(t).update(appArmorProfile={"type": profile}))) == {}


@pytest.mark.parametrize("value", ["", "runtime/default", "localhost/app"])
def test_each_allowed_apparmor_annotation_passes(prod, value):
    key = "container.apparmor.security.beta.kubernetes.io/nextwork-flask-backend"
    assert violations(template_changed(prod, lambda t: t["metadata"].update(annotations={key: value}))) == {}


@pytest.mark.parametrize(("where", "handler"), [
    ("readinessProbe", {"httpGet": {"host": "10.0.0.1", "port": 80}}),
    ("startupProbe", {"tcpSocket": {"host": "10.0.0.1", "port": 80}}),
    ("preStop", {"httpGet": {"host": "10.0.0.1", "port": 80}}),
])
def test_every_probe_and_hook_is_checked_for_a_host(prod, where, handler):
    def change(template):
        holder = container(template)["lifecycle"] if where == "preStop" else container(template)
        holder[where] = handler
    assert list(violations(template_changed(prod, change))) == ["container-no-probe-host"]


def test_the_capabilities_message_says_what_is_missing_when_nothing_is_added(prod):
    found = violations(template_changed(prod, lambda t: ctx(t).pop("capabilities")))
    assert found == {"container-capabilities": [
        "container 'nextwork-flask-backend' must drop ALL capabilities and add none but NET_BIND_SERVICE."]}


def test_the_volume_message_names_every_source_of_a_volume(prod):
    change = lambda t: t["spec"]["volumes"].append({"name": "x", "hostPath": {}, "nfs": {}})  # noqa: E731
    assert "; it is hostPath, nfs." in violations(template_changed(prod, change))["pod-volume-types"][0]


# --- Pod specs at any depth ------------------------------------------------------------------------------
# An object with a `containers` key of its own (a custom resource's list of names, a sidecar
# injector's template) does not end the search: a pod template beneath it is a pod template.

def bad_template(prod):
    template = pod_template(prod)
    ctx(template)["privileged"] = True
    return template


NESTED = {
    "under a custom resource's own containers": lambda t: {"spec": {"containers": ["main"], "template": t}},
    "beside a pod spec's containers": lambda t: {"spec": {"template": {"spec": {"containers": [], "template": t}}}},
    "in a container of another pod spec": lambda t: {"spec": {"containers": [{"name": "x", "template": t}]}},
    "deep in a pod spec's volume": lambda t: {"spec": {"initContainers": [], "volumes": [{"name": "v", "ephemeral": {
        "volumeClaimTemplate": {"spec": {"template": t}}}}]}},
}


@pytest.mark.parametrize("where", NESTED)
def test_a_pod_template_under_an_object_with_its_own_containers_is_still_searched(prod, where):
    found = violations(plus(prod, registration(prod, "kubernetes:example.com/v1:Widget", "widget",
                                               NESTED[where](bad_template(prod)))))
    assert "container-not-privileged" in found


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(path=st.lists(st.sampled_from(["spec", "template", "items", "objs", "containers", "extra"]), max_size=6),
       as_list=st.lists(st.booleans(), min_size=6, max_size=6))
def test_a_privileged_pod_template_is_found_at_any_depth_under_any_keys(prod, path, as_list):
    value = bad_template(prod)
    for key, wrap in zip(reversed(path), as_list):
        value = {key: [value] if wrap else value, "containers": []} if key != "containers" else {key: [value]}
    found = violations(plus(prod, registration(prod, "kubernetes:example.com/v1:Widget", "widget", value)))
    assert "container-not-privileged" in found
