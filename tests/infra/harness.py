"""The synthesis harness under its historical name: ``local.synthesis`` itself.

The harness moved to ``local/synthesis.py`` because ``make dev`` synthesizes the stacks at run
time. This module *is* that module (not a copy of its names), so a test that monkeypatches
``tests.infra.harness.SECRET_STAGES`` changes what the mocks answer.
"""

import sys

from local import synthesis

sys.modules[__name__] = synthesis
