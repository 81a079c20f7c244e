"""The real stacks, synthesized once for the policy tests (same fixtures as tests/infra)."""

from tests.infra.conftest import all_synths, dev_synths, global_synth, lambda_build, regional_synths

__all__ = ["all_synths", "dev_synths", "global_synth", "lambda_build", "regional_synths"]
