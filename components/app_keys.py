"""API keys and usage plans per app client (R-OPS-2).

Each app (iOS, Android, web) sends its own key in ``x-api-key``; API Gateway refuses a
secured request without a known key (403) and applies that app's usage plan: a steady rate, a
burst and a daily quota for all the app's users together. A key identifies an app, not a
user, and ships inside the app, so it is not a secret: who the caller is stays the Cognito
token's job (the authorizer). The values come from the global stack (one per app, the same in
every region), so an app keeps working whichever region latency routing or a failover sends
it to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from contract import names


@dataclass(frozen=True)
class UsageLimits:
    rate_limit: float
    burst_limit: int
    daily_quota: int


@dataclass(frozen=True)
class AppKeysArgs:
    environment: str
    rest_api_id: pulumi.Input[str]
    stage_name: pulumi.Input[str]
    # App client → its key value (global stack output ``appKeys``).
    key_values: pulumi.Input[Mapping[str, str]]
    limits: Mapping[str, UsageLimits]


class AppKeys(pulumi.ComponentResource):
    """Creates, per app client, an ``aws.apigateway.ApiKey`` (the given value, enabled), an
    ``aws.apigateway.UsagePlan`` on the API's stage (throttle, daily quota) and the
    ``UsagePlanKey`` that binds them.

    Attributes: ``key_ids`` (app → key id), ``plan_ids`` (app → usage plan id).
    """

    def __init__(self, name: str, args: AppKeysArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mobile-backend:logic:AppKeys", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        values = pulumi.Output.from_input(args.key_values)
        self.key_ids: dict[str, pulumi.Output[str]] = {}
        self.plan_ids: dict[str, pulumi.Output[str]] = {}
        for app in names.APP_KEY_CLIENTS:
            limits = args.limits[app]
            key = aws.apigateway.ApiKey(
                f"{name}-{app}",
                name=names.api_key_name(args.environment, app),
                description=f"Identifies the {app} app (not a user; not a secret)",
                enabled=True,
                value=values.apply(lambda keys, app=app: keys[app]),
                opts=child,
            )
            plan = aws.apigateway.UsagePlan(
                f"{name}-{app}-plan",
                name=names.usage_plan_name(args.environment, app),
                description=f"Throttle and daily quota of the {app} app, all its users together",
                api_stages=[{"api_id": args.rest_api_id, "stage": args.stage_name}],
                throttle_settings={
                    "rate_limit": limits.rate_limit,
                    "burst_limit": limits.burst_limit,
                },
                quota_settings={"limit": limits.daily_quota, "period": "DAY"},
                opts=child,
            )
            aws.apigateway.UsagePlanKey(
                f"{name}-{app}-binding",
                key_id=key.id,
                key_type="API_KEY",
                usage_plan_id=plan.id,
                opts=child,
            )
            self.key_ids[app] = key.id
            self.plan_ids[app] = plan.id
        self.register_outputs({"plan_ids": self.plan_ids})
