"""CrossGuard policy pack: `pulumi preview --policy-pack policy` (and `pulumi up --policy-pack policy`)."""

from pulumi_policy import EnforcementLevel, PolicyPack

from guardrails import POLICIES

PolicyPack(
    name="backend-on-eks-guardrails",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=POLICIES,
)
