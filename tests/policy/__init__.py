"""The policy pack's tests.

The pack runs with policy/ as its directory (`pulumi ... --policy-pack policy`), so its modules
import one another as top-level modules (`from guardrails import ...`, `from internet import
...`): policy/ goes on the path here, before any test or helper of this package imports the pack.
"""

import sys
from pathlib import Path

POLICY_DIR = Path(__file__).resolve().parents[2] / "policy"
if str(POLICY_DIR) not in sys.path:
    sys.path.insert(0, str(POLICY_DIR))
