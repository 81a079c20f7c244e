"""The account's Compute Optimizer enrollment (R-OPS-4).

Compute Optimizer analyses every Lambda function of the account from its CloudWatch metrics
and recommends a memory size; docs/performance.md says how a recommendation becomes a change
to ``contract/functions.py``. The opt-in is one per account, so the global stack owns it.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws


class ComputeOptimizer(pulumi.ComponentResource):
    """Creates ``aws.computeoptimizer.EnrollmentStatus`` ``Active`` for this account (member
    accounts of an organization are enrolled by their own stacks, never from here).

    Attributes: ``status``.
    """

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mobile-backend:operations:ComputeOptimizer", name, None, opts)
        enrollment = aws.computeoptimizer.EnrollmentStatus(
            f"{name}-enrollment",
            status="Active",
            include_member_accounts=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.status = enrollment.status
        self.register_outputs({"status": self.status})
