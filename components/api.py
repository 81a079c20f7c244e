"""The regional REST API (R-API-1..3): API Gateway built from the handler's OpenAPI document.

The body is the generated document extended by ``components.openapi`` (integrations, token
authorizer, validators); the deployment is replaced whenever the body's sha256 changes, so a
new route reaches the stage on the next ``pulumi up`` without a manual redeploy. Access logs
carry no bodies, no query strings and no concrete paths (``resourcePath`` is the route
template, so ids in URLs never reach a log), execution logs are ERROR/INFO with data trace off.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components import openapi
from contract import names

STAGE = "api"
# Fields of the access log (JSON, one object per request). No $context.path, no query string,
# no headers, no bodies: nothing that can carry PHI.
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "requestTime": "$context.requestTimeEpoch",
    "sourceIp": "$context.identity.sourceIp",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "integrationStatus": "$context.integration.status",
    "authorizerStatus": "$context.authorizer.status",
    "authorizerLatency": "$context.authorizer.latency",
    "wafStatus": "$context.waf.status",
    "errorType": "$context.error.responseType",
    "xrayTraceId": "$context.xrayTraceId",
    "domainName": "$context.domainName",
}
ACCESS_LOG_FORMAT = json.dumps(ACCESS_LOG_FIELDS, separators=(",", ":"))


@dataclass(frozen=True)
class ApiArgs:
    environment: str
    region: str
    account_id: pulumi.Input[str]
    # The handler's OpenAPI document (3.0 or 3.1), as committed in openapi/openapi.json.
    document: Mapping[str, Any]
    api_function_name: pulumi.Input[str]
    api_invoke_arn: pulumi.Input[str]
    authorizer_function_name: pulumi.Input[str]
    authorizer_invoke_arn: pulumi.Input[str]
    qualifier: pulumi.Input[str]
    logs_key_arn: pulumi.Input[str]
    log_retention_days: int
    throttle_rate_limit: float
    throttle_burst_limit: int
    logging_level: str = "ERROR"


def cloudwatch_role_policy(region: str, account_id: str) -> dict[str, Any]:
    """What API Gateway needs to write execution and access logs in this region."""
    groups = f"arn:aws:logs:{region}:{account_id}:log-group"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "WriteApiGatewayLogGroups",
                "Effect": "Allow",
                "Action": [
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                    "logs:GetLogEvents",
                    "logs:FilterLogEvents",
                ],
                "Resource": [
                    f"{groups}:API-Gateway-Execution-Logs_*",
                    f"{groups}:API-Gateway-Execution-Logs_*:*",
                    f"{groups}:/aws/apigateway/*",
                    f"{groups}:/aws/apigateway/*:*",
                ],
            },
            {
                # DescribeLogGroups has no resource-level permissions.
                "Sid": "FindLogGroups",
                "Effect": "Allow",
                "Action": ["logs:DescribeLogGroups"],
                "Resource": "*",
            },
        ],
    }


def api_gateway_trust() -> dict[str, Any]:
    # No aws:SourceAccount condition: API Gateway's logging role is assumed by the service
    # for the account's own APIs only, and AWS's documented trust policy has none.
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "apigateway.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }


class Api(pulumi.ComponentResource):
    """Creates ``aws.apigateway.RestApi`` (REGIONAL, body = the extended OpenAPI document),
    ``Deployment`` (triggered by the body's sha256), ``Stage`` ``api`` (X-Ray, JSON access
    logs, no cache), ``MethodSettings`` for ``*/*`` (throttling, metrics, logging level, data
    trace off, caching off), the access and execution ``LogGroup`` s (KMS, retention), the
    region's ``apigateway.Account`` CloudWatch role, and the two ``lambda_.Permission`` s
    (API → api alias, authorizer → authorizer alias) scoped to this API's ARN.

    Attributes: ``rest_api_id``, ``execution_arn``, ``stage_name``, ``stage_arn``,
    ``invoke_url``, ``endpoint_host`` (the default execute-api host), ``body_sha``.
    """

    def __init__(self, name: str, args: ApiArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mobile-backend:logic:Api", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        api_name = names.rest_api_name(args.environment)

        body = pulumi.Output.all(args.api_invoke_arn, args.authorizer_invoke_arn).apply(
            lambda uris: openapi.render(
                openapi.for_api_gateway(
                    args.document, integration_uri=uris[0], authorizer_uri=uris[1]
                )
            )
        )
        rest_api = aws.apigateway.RestApi(
            f"{name}-rest-api",
            name=api_name,
            description=args.document.get("info", {}).get("title", api_name),
            body=body,
            put_rest_api_mode="overwrite",
            endpoint_configuration={"types": "REGIONAL"},
            opts=child,
        )
        self.body_sha = body.apply(openapi.sha256)
        deployment = aws.apigateway.Deployment(
            f"{name}-deployment",
            rest_api=rest_api.id,
            description="Deployment of the OpenAPI body with the sha in triggers",
            # A changed body replaces the deployment (create before delete, so the stage
            # always points at a live one).
            triggers={"body-sha256": self.body_sha},
            opts=child,
        )

        access_logs = aws.cloudwatch.LogGroup(
            f"{name}-access-logs",
            name=f"/aws/apigateway/{api_name}/access",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.logs_key_arn,
            opts=child,
        )
        # API Gateway would create this group itself, unencrypted and kept forever.
        execution_logs = aws.cloudwatch.LogGroup(
            f"{name}-execution-logs",
            name=rest_api.id.apply(lambda api_id: f"API-Gateway-Execution-Logs_{api_id}/{STAGE}"),
            retention_in_days=args.log_retention_days,
            kms_key_id=args.logs_key_arn,
            opts=child,
        )

        # Account-level, per region: the role API Gateway uses for every API's logs here.
        logs_role = aws.iam.Role(
            f"{name}-cloudwatch",
            description="API Gateway writes execution and access logs in this region",
            assume_role_policy=json.dumps(api_gateway_trust()),
            opts=child,
        )
        logs_policy = aws.iam.RolePolicy(
            f"{name}-cloudwatch",
            role=logs_role.id,
            policy=pulumi.Output.from_input(args.account_id).apply(
                lambda account: json.dumps(cloudwatch_role_policy(args.region, account))
            ),
            opts=child,
        )
        account = aws.apigateway.Account(
            f"{name}-account",
            cloudwatch_role_arn=logs_role.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[logs_policy]),
        )

        stage = aws.apigateway.Stage(
            f"{name}-stage",
            rest_api=rest_api.id,
            deployment=deployment.id,
            stage_name=STAGE,
            xray_tracing_enabled=True,
            cache_cluster_enabled=False,
            access_log_settings={
                "destination_arn": access_logs.arn,
                "format": ACCESS_LOG_FORMAT,
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[account, execution_logs]),
        )
        aws.apigateway.MethodSettings(
            f"{name}-method-settings",
            rest_api=rest_api.id,
            stage_name=stage.stage_name,
            method_path="*/*",
            settings={
                "metrics_enabled": True,
                "logging_level": args.logging_level,
                # Data trace would log full request and response bodies: PHI.
                "data_trace_enabled": False,
                "throttling_rate_limit": args.throttle_rate_limit,
                "throttling_burst_limit": args.throttle_burst_limit,
                "caching_enabled": False,
            },
            opts=child,
        )

        # Scoped to this API's stage (and the authorizer to this API's authorizers).
        aws.lambda_.Permission(
            f"{name}-invoke-api",
            action="lambda:InvokeFunction",
            function=args.api_function_name,
            qualifier=args.qualifier,
            principal="apigateway.amazonaws.com",
            source_arn=rest_api.execution_arn.apply(lambda arn: f"{arn}/{STAGE}/*/*"),
            opts=child,
        )
        aws.lambda_.Permission(
            f"{name}-invoke-authorizer",
            action="lambda:InvokeFunction",
            function=args.authorizer_function_name,
            qualifier=args.qualifier,
            principal="apigateway.amazonaws.com",
            source_arn=rest_api.execution_arn.apply(lambda arn: f"{arn}/authorizers/*"),
            opts=child,
        )

        self.rest_api_id = rest_api.id
        # The AWS/ApiGateway metrics' ApiName dimension.
        self.api_name = api_name
        self.execution_arn = rest_api.execution_arn
        self.stage_name = stage.stage_name
        self.stage_arn = stage.arn
        self.invoke_url = stage.invoke_url
        self.endpoint_host = rest_api.id.apply(
            lambda api_id: f"{api_id}.execute-api.{args.region}.amazonaws.com"
        )
        self.access_log_group_name = access_logs.name
        self.register_outputs(
            {
                "rest_api_id": self.rest_api_id,
                "stage_arn": self.stage_arn,
                "invoke_url": self.invoke_url,
                "body_sha": self.body_sha,
            }
        )
