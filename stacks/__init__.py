"""Stack programs: which resources a global or a regional stack declares, from settings.

``global`` is a Python keyword, hence ``global_stack``/``regional_stack`` module names.
"""

from __future__ import annotations

import pulumi

from settings import Settings


def build(settings: Settings) -> dict[str, pulumi.Input]:
    """Declare the stack's resources; return the outputs ``__main__`` exports."""
    if settings.role == "global":
        from stacks.global_stack import build_global

        return build_global(settings)
    from stacks.regional_stack import build_regional

    return build_regional(settings)
