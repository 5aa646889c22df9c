"""The pack as the policy analyzer loads it: policy/__main__.py run with policy/ as its directory,
not imported from the project root as the other tests do."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.policy import POLICY_DIR

# PolicyPack waits for the engine that starts the analyzer; this stands in and records the pack.
RUN_MAIN = """
import json, runpy, sys
import pulumi_policy
packs = []
pulumi_policy.PolicyPack = lambda **pack: packs.append(pack)
sys.path.insert(0, ".")
runpy.run_path("__main__.py", run_name="__main__")
[pack] = packs
print(json.dumps({"name": pack["name"], "enforcement": str(pack["enforcement_level"]),
                  "policies": [policy.name for policy in pack["policies"]],
                  "modules": sorted(name for name in sys.modules if name.startswith(("guardrails", "internet")))}))
"""


def loaded_pack() -> dict:
    result = subprocess.run([sys.executable, "-c", RUN_MAIN], cwd=POLICY_DIR, capture_output=True, text=True,
                            timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_entry_point_builds_the_mandatory_pack_with_every_policy():
    from policy.guardrails import POLICIES

    pack = loaded_pack()
    assert (pack["name"], pack["enforcement"]) == ("backend-on-eks-guardrails", "EnforcementLevel.MANDATORY")
    assert pack["policies"] == [policy.name for policy in POLICIES]


def test_the_entry_point_loads_the_pack_as_a_package_of_concerns_beside_internet():
    assert loaded_pack()["modules"] == [
        "guardrails", "guardrails.cidrs", "guardrails.ecr", "guardrails.eks", "guardrails.node_role",
        "guardrails.pods", "guardrails.production", "guardrails.reachability", "guardrails.scraper", "guardrails.services",
        "guardrails.values", "internet"]
