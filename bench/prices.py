"""The dated price table the cost model (bench/cost.py) multiplies by what the stacks declare.

List prices in USD for US East (N. Virginia), read on ``PRICED_ON`` from stored copies of the
pages named in ``source``. The AWS pricing pages render their per-region tables with
JavaScript, which the stored copies lack: where the figure itself was visible only in a
secondary page that quotes the AWS page, that page is named too, and where no stored page
showed the figure, ``seen`` is empty and the value is AWS's list price as commonly published:
verify those before trusting a total to the cent. Regional differences are not modelled
(eu-west-1 and us-west-1 list prices equal or exceed us-east-1's for these services, so the
totals are lower bounds for the EU and US stacks).
"""

from __future__ import annotations

from dataclasses import dataclass

PRICED_ON = "2026-12-05"
PRICE_REGION = "us-east-1"
HOURS_PER_MONTH = 730
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600


@dataclass(frozen=True)
class Price:
    usd: float
    unit: str
    source: str
    # The stored page the figure was read in ("" when none showed it: verify).
    seen: str = ""


PRICES: dict[str, Price] = {
    "vpc_interface_endpoint_hour": Price(
        0.01,
        "per interface endpoint per AZ-hour",
        "https://aws.amazon.com/privatelink/pricing/ (billed 'for each hour that your VPC "
        "endpoint remains provisioned in each Availability Zone')",
    ),
    "aurora_serverless_acu_hour": Price(
        0.12,
        "per ACU-hour (Aurora Standard)",
        "https://aws.amazon.com/rds/aurora/pricing/",
        "https://c3x.dev/blog/aws-aurora-serverless-v2-cost/ ('~$0.12/hour (us-east-1)'); "
        "aws/agent-toolkit-for-aws acu_calculator.py static fallback 0.12 (2026-03-28)",
    ),
    "rds_proxy_acu_hour": Price(
        0.015,
        "per ACU-hour of the target's capacity, minimum 8 ACUs (Aurora Serverless v2 target)",
        "https://aws.amazon.com/rds/proxy/pricing/",
        "https://sst.dev/docs/component/aws/aurora/ ('a minumum of 8 ACUs at $0.015 per ACU "
        "hour'); https://blog.serverworks.co.jp/amazon-aurora-serverless-v2-and-amazon-rds-"
        "proxy-minimum-cost (June 2024: minimum 8 ACUs)",
    ),
    "lambda_request_million": Price(
        0.20,
        "per million invocations",
        "https://aws.amazon.com/lambda/pricing/",
        "https://cloudchipr.com/blog/aws-lambda-pricing",
    ),
    "lambda_arm_gb_second": Price(
        0.0000133334,
        "per GB-second, arm64, on demand",
        "https://aws.amazon.com/lambda/pricing/",
        "https://cloudchipr.com/blog/aws-lambda-pricing",
    ),
    "lambda_x86_gb_second": Price(
        0.0000166667,
        "per GB-second, x86_64, on demand",
        "https://aws.amazon.com/lambda/pricing/",
        "https://cloudchipr.com/blog/aws-lambda-pricing",
    ),
    "lambda_arm_provisioned_gb_second": Price(
        0.0000033334,
        "per GB-second of provisioned concurrency kept ready, arm64",
        "https://aws.amazon.com/lambda/pricing/",
    ),
    "lambda_x86_provisioned_gb_second": Price(
        0.0000041667,
        "per GB-second of provisioned concurrency kept ready, x86_64",
        "https://aws.amazon.com/lambda/pricing/",
    ),
    "snapstart_cache_gb_second": Price(
        0.0000015046,
        "per GB-second a SnapStart (Python) version's snapshot is cached, for function memory",
        "https://aws.amazon.com/lambda/pricing/",
        "https://awsnegotiations.com/blog/lambda-snapstart-cost-impact/ (May 2026)",
    ),
    "snapstart_restore_gb": Price(
        0.0001397998,
        "per GB of function memory restored (each SnapStart restore)",
        "https://aws.amazon.com/lambda/pricing/",
        "https://awsnegotiations.com/blog/lambda-snapstart-cost-impact/ (May 2026)",
    ),
    "waf_web_acl_month": Price(
        5.00,
        "per web ACL per month",
        "https://aws.amazon.com/waf/pricing/ (the same in every region: AWS Networking blog, "
        "'Cost-effective ways for securing your web applications using AWS WAF')",
        "https://c3x.dev/blog/aws-waf-cost-explained/",
    ),
    "waf_rule_month": Price(
        1.00,
        "per rule or managed rule group per web ACL per month",
        "https://aws.amazon.com/waf/pricing/",
        "https://c3x.dev/blog/aws-waf-cost-explained/",
    ),
    "waf_request_million": Price(
        0.60,
        "per million requests a web ACL inspects",
        "https://aws.amazon.com/waf/pricing/",
        "https://c3x.dev/blog/aws-waf-cost-explained/",
    ),
    "kms_key_month": Price(
        1.00,
        "per customer managed key per month (each multi-Region replica too; the first two "
        "yearly rotations add $1 each, not modelled)",
        "https://aws.amazon.com/kms/pricing/",
        "https://www.factualminds.com/blog/aws-kms-pricing-keys-requests-multi-region/ (June 2026)",
    ),
    "secret_month": Price(
        0.40,
        "per secret per month (a replica is billed as a secret)",
        "https://aws.amazon.com/secrets-manager/pricing/",
        "https://hivebook.wiki/wiki/aws-secrets-manager-rotated-secrets-dynamic-db-credentials-kms",
    ),
    "cloudwatch_alarm_metric_month": Price(
        0.10,
        "per standard-resolution alarm metric per month (an anomaly detection alarm counts 3)",
        "https://aws.amazon.com/cloudwatch/pricing/",
        "https://www.factualminds.com/blog/amazon-cloudwatch-pricing-metrics-logs-alarms-"
        "dashboards/ (June 2026)",
    ),
    "cloudwatch_composite_alarm_month": Price(
        0.50, "per composite alarm per month", "https://aws.amazon.com/cloudwatch/pricing/"
    ),
    "cloudwatch_dashboard_month": Price(
        3.00,
        "per custom dashboard per month (3 per account are free: not deducted)",
        "https://aws.amazon.com/cloudwatch/pricing/",
        "https://www.factualminds.com/blog/amazon-cloudwatch-pricing-metrics-logs-alarms-"
        "dashboards/ (June 2026)",
    ),
    "cloudwatch_logs_ingest_gb": Price(
        0.50,
        "per GB ingested (standard and vended logs, first 10 TB)",
        "https://aws.amazon.com/cloudwatch/pricing/",
        "https://www.factualminds.com/blog/amazon-cloudwatch-pricing-metrics-logs-alarms-"
        "dashboards/ (June 2026)",
    ),
    "route53_zone_month": Price(
        0.50, "per hosted zone per month (first 25)", "https://aws.amazon.com/route53/pricing/"
    ),
    "route53_health_check_month": Price(
        0.50,
        "per health check of an AWS endpoint per month",
        "https://aws.amazon.com/route53/pricing/",
        "https://wewantcode.com/en/course/aws/lesson/7-84-health-checks-status-check.html",
    ),
    "route53_health_check_feature_month": Price(
        1.00,
        "per optional feature (HTTPS, string matching, fast interval, latency) per AWS-endpoint "
        "health check per month",
        "https://aws.amazon.com/route53/pricing/",
    ),
    "api_gateway_rest_million": Price(
        3.50,
        "per million REST API calls (first 333 million)",
        "https://aws.amazon.com/api-gateway/pricing/",
    ),
    "cloudfront_https_million": Price(
        1.00,
        "per million HTTPS requests (US, Europe: $0.0100 per 10,000)",
        "https://aws.amazon.com/cloudfront/pricing/",
    ),
    "cloudfront_out_gb": Price(
        0.085,
        "per GB out to the internet (US, Europe, first 10 TB)",
        "https://aws.amazon.com/cloudfront/pricing/",
    ),
    "sns_publish_million": Price(
        0.50,
        "per million publishes (mobile push deliveries the same)",
        "https://aws.amazon.com/sns/pricing/",
    ),
    "sqs_request_million": Price(
        0.40, "per million standard queue requests", "https://aws.amazon.com/sqs/pricing/"
    ),
    "s3_get_request_thousand": Price(
        0.0004,
        "per 1,000 GET, HEAD and other read requests (Standard)",
        "https://aws.amazon.com/s3/pricing/",
    ),
    "cloudtrail_data_event_100k": Price(
        0.10, "per 100,000 data events recorded", "https://aws.amazon.com/cloudtrail/pricing/"
    ),
    "xray_trace_million": Price(
        5.00, "per million traces recorded", "https://aws.amazon.com/xray/pricing/"
    ),
    "aurora_io_million": Price(
        0.20,
        "per million I/O requests (Aurora Standard)",
        "https://aws.amazon.com/rds/aurora/pricing/",
    ),
    "arc_region_switch_plan_month": Price(
        70.00,
        "per ARC Region switch plan per month",
        "https://aws.amazon.com/application-recovery-controller/pricing/",
        "https://aws.amazon.com/blogs/aws/introducing-amazon-application-recovery-controller-"
        "region-switch-a-multi-region-application-recovery-service/ (2025-08-01: $70 per plan "
        "per month), as summarized in aws-yz/aws-yz.github.io _posts/2025-08-01-aws-blog-"
        "introducing-amazon-application-recovery-controller.md (the pricing page itself was not "
        "stored)",
    ),
    "aurora_replicated_write_io_million": Price(
        0.20,
        "per million write I/Os replicated to each secondary region (Global Database)",
        "https://aws.amazon.com/rds/aurora/pricing/",
    ),
}


def price(key: str) -> float:
    return PRICES[key].usd
