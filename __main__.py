"""Pulumi entry point: validated settings → the global or a regional program → exports.

The role comes from stack config (``mobile-backend:role``), never from the stack's name.
"""

import pulumi

import settings
import stacks

for name, value in stacks.build(settings.load()).items():
    pulumi.export(name, value)
