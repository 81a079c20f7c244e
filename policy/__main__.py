"""Entry point the Pulumi CLI runs for ``pulumi preview --policy-pack policy``."""

import sys
from pathlib import Path

# The CLI runs this file from the pack directory, not as part of the ``policy`` package.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from pack import PACK_NAME, build_policies
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(
    name=PACK_NAME,
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=build_policies(),
)
