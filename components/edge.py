"""Presentation/edge tier (global stack): DNS, the us-east-1 certificate, the CLOUDFRONT web
ACL, the CloudFront distribution and the per-region web buckets it serves (R-EDGE-1…5).

CloudFront only accepts ACM certificates and CLOUDFRONT-scoped web ACLs from us-east-1, so
those live there; each web bucket lives in its serving region so the origin group can fail
over from the primary region's bucket to the secondary's when a region is lost.

The public zone logs every DNS query and is signed with DNSSEC (R-SEC-3); both live in
us-east-1 because Route 53 requires it (query-log group, key-signing key's KMS key). The DS
record that anchors the signature in the parent zone is published at the registrar by an
operator (docs/edge.md, "DNSSEC"): the stack exports it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.bucket_policies import (
    AWSLOGSDELIVERY_CANONICAL_ID,
    bucket_name,
    expire_logs_rules,
    web_key_policy,
    web_read_statements,
)
from components.certificate import Host, dns_validated_certificate
from components.kms import KeyUsage, customer_managed_key
from components.log_group import LogStorage, encrypted_log_group
from components.policy_documents import PARTITION, document
from components.private_bucket import AccessLogs, Grants, PrivateBucket, private_bucket
from components.storage import log_delivery_key
from components.waf_rules import (
    ANONYMOUS_IP_GROUP,
    HOSTING_PROVIDER_RULE,
    managed_rule_group,
    ordered,
    rate_limit_rule,
    visibility,
)
from components.web_content import WebFile
from contract import names

API_ORIGIN_ID = "api"
WEB_ORIGIN_GROUP_ID = "web"
# Origin groups fail over on these answers from the primary bucket. 403/404 included: with
# OAC and no s3:ListBucket, a missing object is a 403, e.g. while a region is half deployed.
FAILOVER_STATUS_CODES = (403, 404, 500, 502, 503, 504)
# Every code CloudFront lets us configure: errors are never cached (seed 004), so a transient
# API or origin error is not served to other viewers.
NO_CACHE_ERROR_CODES = (400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504)
ALL_METHODS = ("GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE")
READ_METHODS = ("GET", "HEAD", "OPTIONS")
# AWS managed policies (ids are global constants published by CloudFront).
MANAGED_CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
MANAGED_ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
HSTS_MAX_AGE_SECONDS = 63_072_000  # two years (preload lists require at least one)
# Never in WAF logs: credentials, sessions and the origin-verify value (added per instance).
REDACTED_HEADERS = ("authorization", "cookie")
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
)


@dataclass(frozen=True)
class EdgeArgs:
    account_id: pulumi.Input[str]
    environment: str
    domain: str
    # Adopt this Route 53 zone instead of creating one.
    hosted_zone_id: str | None
    edge_region: str
    # Serving regions, primary first: the origin group fails over from [0] to [1].
    serving_regions: Sequence[str]
    rate_limit: int
    logs_key_arn: pulumi.Input[str]
    log_retention_days: int
    # region → server-access-log bucket name (web buckets log there).
    access_log_buckets: Mapping[str, pulumi.Input[str]]
    # Header CloudFront adds on the API origin, and its value: the secret's AWSCURRENT value
    # at deploy time (a secret Output).
    origin_verify_header: str
    origin_verify_value: pulumi.Input[str]
    web_files: Sequence[WebFile]
    # CloudFront sends /<prefix>/* to api.<domain> unchanged (the API maps this base path).
    api_path_prefix: str = "api"
    # AWS managed anonymous-IP rule group on the web ACL (settings.EdgeSettings).
    anonymous_ip_list: bool = False


RATE_RULE = "rate-limit-per-ip"


def waf_rules(metric_prefix: str, rate_limit: int, anonymous_ip_list: bool = False) -> list[dict]:
    """AWS managed groups first (their own actions), then a per-viewer rate limit that blocks
    (at the edge the connecting address is the viewer's, which is also why the address-judging
    groups belong here and not behind CloudFront). The anonymous-IP group, when switched on,
    blocks VPNs, Tor and proxies but only counts hosting providers (``waf_rules``)."""
    metrics = {RATE_RULE: f"{metric_prefix}-rate-limit"}
    anonymous = (
        [managed_rule_group(ANONYMOUS_IP_GROUP, count_rules=(HOSTING_PROVIDER_RULE,))]
        if anonymous_ip_list
        else []
    )
    return ordered(
        [
            *(managed_rule_group(group) for group in MANAGED_RULE_GROUPS),
            *anonymous,
            rate_limit_rule(RATE_RULE, rate_limit, key="IP"),
        ],
        metric_name=lambda rule: metrics.get(rule, f"{metric_prefix}-{rule}"),
        first_priority=1,
    )


def route53_query_log_policy(log_group_arn: str, account_id: str) -> dict:
    """Route 53 (for this account's hosted zones) writes query logs to one log group."""
    return document(
        {
            "Sid": "Route53WritesQueryLogs",
            "Effect": "Allow",
            "Principal": {"Service": "route53.amazonaws.com"},
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{log_group_arn}:*",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account_id},
                "ArnLike": {"aws:SourceArn": f"arn:{PARTITION}:route53:::hostedzone/*"},
            },
        }
    )


def dnssec_key_statements(account_id: str) -> list[dict]:
    """Route 53 DNSSEC signs with the key-signing key's KMS key as itself, for this account's
    zones only; it also needs a grant, which KMS lets it create for AWS resources only."""
    return [
        {
            "Sid": "Route53DnssecSigns",
            "Effect": "Allow",
            "Principal": {"Service": "dnssec-route53.amazonaws.com"},
            "Action": ["kms:DescribeKey", "kms:GetPublicKey", "kms:Sign"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account_id},
                "ArnLike": {"aws:SourceArn": f"arn:{PARTITION}:route53:::hostedzone/*"},
            },
        },
        {
            "Sid": "Route53DnssecCreatesGrant",
            "Effect": "Allow",
            "Principal": {"Service": "dnssec-route53.amazonaws.com"},
            "Action": "kms:CreateGrant",
            "Resource": "*",
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
        },
    ]


def _content_security_policy(serving_regions: Sequence[str]) -> str:
    cognito = " ".join(f"https://cognito-idp.{region}.amazonaws.com" for region in serving_regions)
    # The web app PUTs photos to presigned URLs, path-style on the regional S3 endpoint.
    s3 = " ".join(f"https://s3.{region}.amazonaws.com" for region in serving_regions)
    return (
        "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
        f"connect-src 'self' https://*.amazoncognito.com {cognito} {s3}; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )


class Edge(pulumi.ComponentResource):
    """Creates, in ``edge_region`` (us-east-1): a Route 53 zone (unless adopted), an ACM
    certificate for the apex and ``www`` with DNS validation records and a
    ``CertificateValidation``; a CLOUDFRONT ``wafv2.WebAcl`` (AWS managed common,
    known-bad-inputs and IP-reputation groups + a rate-based rule) logging to a KMS-encrypted
    ``aws-waf-logs-`` log group with sensitive headers redacted; a CloudFront log bucket; an
    Origin Access Control, an API cache policy and a security response-headers policy; the
    distribution; alias A/AAAA records for the apex and ``www``; the zone's query logging
    (``/aws/route53/<domain>`` log group, KMS, retention, its resource policy, ``QueryLog``)
    and DNSSEC signing (an ECC P-256 ``SIGN_VERIFY`` KMS key, ``KeySigningKey``,
    ``HostedZoneDnsSec``).
    Per serving region: a web KMS key (key policy admits this distribution only), a private
    versioned web bucket with an OAC-only bucket policy and the web app's objects.

    Attributes: ``zone_id``, ``distribution_id``, ``distribution_arn``,
    ``distribution_domain_name``, ``web_bucket_names`` (region → name), ``web_acl_arn``,
    ``web_acl_name``,
    ``dnssec_ds_record`` (what the registrar publishes for the domain).
    """

    def __init__(
        self,
        name: str,
        args: EdgeArgs,
        providers: Mapping[str, pulumi.ProviderResource],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mobile-backend:edge:Edge", name, None, opts)
        self._base = name
        self._spec = args
        self._region_providers = providers
        self._edge_opts = pulumi.ResourceOptions(parent=self, provider=providers[args.edge_region])
        self._resource_prefix = names.prefix(args.environment)
        domain, www = args.domain, f"www.{args.domain}"

        zone_id = self._zone()
        self.dnssec_ds_record = self._protect_zone(zone_id)
        certificate_arn = self._certificate(zone_id, (("apex", domain), ("www", www)))
        web_acl = self._web_acl()
        log_bucket, log_acl = self._cdn_log_bucket()
        web = {region: self._web_bucket(region) for region in args.serving_regions}
        distribution = self._distribution(
            aliases=[domain, www],
            certificate_arn=certificate_arn,
            web_acl_arn=web_acl.arn,
            log_bucket=log_bucket,
            web_buckets={region: bucket.bucket for region, (bucket, _) in web.items()},
            opts=pulumi.ResourceOptions.merge(
                self._edge_opts, pulumi.ResourceOptions(depends_on=[log_acl])
            ),
        )
        # Now that the distribution exists: its key grants and bucket policies.
        for region, (bucket, key) in web.items():
            self._admit_distribution(region, bucket, key, distribution.arn)
        self._alias_records(zone_id, distribution, (("apex", domain), ("www", www)))

        self.zone_id = pulumi.Output.from_input(zone_id)
        self.distribution_id = distribution.id
        self.distribution_arn = distribution.arn
        self.distribution_domain_name = distribution.domain_name
        self.web_bucket_names = {
            region: bucket.bucket.bucket for region, (bucket, _) in web.items()
        }
        self.web_acl_arn = web_acl.arn
        self.register_outputs(
            {
                "zone_id": self.zone_id,
                "distribution_id": self.distribution_id,
                "distribution_arn": self.distribution_arn,
                "distribution_domain_name": self.distribution_domain_name,
                "web_bucket_names": self.web_bucket_names,
                "web_acl_arn": self.web_acl_arn,
                "dnssec_ds_record": self.dnssec_ds_record,
            }
        )

    def _in_region(self, region: str, **kwargs) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(
            parent=self, provider=self._region_providers[region], **kwargs
        )

    # --- DNS and certificate (R-EDGE-1, R-EDGE-5) ---

    def _zone(self) -> pulumi.Input[str]:
        if self._spec.hosted_zone_id:
            return self._spec.hosted_zone_id
        zone = aws.route53.Zone(
            f"{self._base}-zone",
            name=self._spec.domain,
            comment=f"mobile-backend {self._spec.environment} public zone",
            opts=self._edge_opts,
        )
        return zone.zone_id

    def _protect_zone(self, zone_id: pulumi.Input[str]) -> pulumi.Output[str]:
        """Query logging and DNSSEC signing of the public zone; returns the DS record the
        registrar must publish."""
        name, args, edge = self._base, self._spec, self._edge_opts
        env = args.environment
        account = pulumi.Output.from_input(args.account_id)
        query_logs = encrypted_log_group(
            f"{name}-dns-query-logs",
            log_group_name=names.route53_query_log_group(args.domain),
            storage=LogStorage(args.logs_key_arn, args.log_retention_days),
            opts=edge,
        )
        # Route 53 writes query logs as itself: a CloudWatch Logs resource policy (not IAM)
        # must admit it, for this account's zones and this one group.
        writer = aws.cloudwatch.LogResourcePolicy(
            f"{name}-dns-query-logs-policy",
            policy_name=f"{names.prefix(env)}-route53-query-logs",
            policy_document=pulumi.Output.all(query_logs.arn, account).apply(
                lambda v: json.dumps(route53_query_log_policy(v[0], v[1]))
            ),
            opts=edge,
        )
        aws.route53.QueryLog(
            f"{name}-dns-query-log",
            zone_id=zone_id,
            cloudwatch_log_group_arn=query_logs.arn,
            opts=pulumi.ResourceOptions.merge(edge, pulumi.ResourceOptions(depends_on=[writer])),
        )

        signing_key = customer_managed_key(
            f"{name}-dnssec-key",
            description=f"mobile-backend {env} DNSSEC key-signing key of {args.domain}",
            account_id=args.account_id,
            alias=f"alias/{names.alias_prefix(env)}/dnssec",
            service_statements=dnssec_key_statements,
            usage=KeyUsage.DNSSEC_SIGNING,
            opts=edge,
        )
        ksk = aws.route53.KeySigningKey(
            f"{name}-dnssec-ksk",
            hosted_zone_id=zone_id,
            key_management_service_arn=signing_key.arn,
            name=names.dnssec_key_signing_key_name(env),
            status="ACTIVE",
            opts=edge,
        )
        aws.route53.HostedZoneDnsSec(
            f"{name}-dnssec",
            hosted_zone_id=ksk.hosted_zone_id,
            signing_status="SIGNING",
            opts=pulumi.ResourceOptions.merge(edge, pulumi.ResourceOptions(depends_on=[ksk])),
        )
        return ksk.ds_record

    def _certificate(
        self, zone_id: pulumi.Input[str], hosts: Sequence[tuple[str, str]]
    ) -> pulumi.Output[str]:
        """The us-east-1 certificate, DNS-validated; returns the ARN once validation is done."""
        return dns_validated_certificate(
            self._base,
            hosts=[Host(host, label) for label, host in hosts],
            zone_id=zone_id,
            key_algorithm="EC_prime256v1",
            opts=self._edge_opts,
        )

    def _alias_records(
        self,
        zone_id: pulumi.Input[str],
        distribution: aws.cloudfront.Distribution,
        hosts: Sequence[tuple[str, str]],
    ) -> None:
        for label, host in hosts:
            for record_type in ("A", "AAAA"):
                aws.route53.Record(
                    f"{self._base}-{label}-{record_type.lower()}",
                    zone_id=zone_id,
                    name=host,
                    type=record_type,
                    aliases=[
                        {
                            "name": distribution.domain_name,
                            "zone_id": distribution.hosted_zone_id,
                            "evaluate_target_health": False,
                        }
                    ],
                    opts=self._edge_opts,
                )

    # --- WAF (R-EDGE-2) ---

    def _web_acl(self) -> aws.wafv2.WebAcl:
        name, args, prefix = self._base, self._spec, self._resource_prefix
        self.web_acl_name = f"{prefix}-edge"
        web_acl = aws.wafv2.WebAcl(
            f"{name}-waf",
            name=self.web_acl_name,
            description="CloudFront web ACL: AWS managed rule groups and a per-IP rate limit",
            scope="CLOUDFRONT",
            default_action={"allow": {}},
            rules=waf_rules(f"{prefix}-edge", args.rate_limit, args.anonymous_ip_list),
            visibility_config=visibility(f"{prefix}-edge"),
            opts=self._edge_opts,
        )
        waf_logs = encrypted_log_group(
            f"{name}-waf-logs",
            # WAF delivers only to log groups whose name starts with aws-waf-logs-.
            log_group_name=f"aws-waf-logs-{prefix}-edge",
            storage=LogStorage(args.logs_key_arn, args.log_retention_days),
            opts=self._edge_opts,
        )
        aws.wafv2.WebAclLoggingConfiguration(
            f"{name}-waf-logging",
            resource_arn=web_acl.arn,
            log_destination_configs=[waf_logs.arn],
            redacted_fields=[
                {"single_header": {"name": header}}
                for header in (*REDACTED_HEADERS, args.origin_verify_header.lower())
            ],
            opts=self._edge_opts,
        )
        return web_acl

    # --- Buckets ---

    def _cdn_log_bucket(self) -> tuple[aws.s3.Bucket, aws.s3.BucketAcl]:
        """CloudFront standard-log bucket and the ACL the delivery needs.

        Exception to "ACLs disabled": CloudFront standard (legacy) logging writes through the
        awslogsdelivery account's ACL grant, so this one bucket keeps ACLs enabled
        (BucketOwnerPreferred: delivered objects still become ours) with exactly that grant.
        Its CMK admits the log delivery service, which encrypts the log objects as itself.
        """
        name, args, env, edge = self._base, self._spec, self._spec.environment, self._edge_opts
        key = log_delivery_key(
            f"{name}-cdn-logs-key",
            account_id=args.account_id,
            service="delivery.logs.amazonaws.com",
            alias=f"alias/{names.alias_prefix(env)}/cdn-logs",
            description=f"mobile-backend {env} CloudFront standard logs",
            opts=edge,
            source_account_condition=False,
        )
        logs = private_bucket(
            f"{name}-cdn-logs",
            pulumi.Output.from_input(args.account_id).apply(
                lambda account: bucket_name(env, "cdn-logs", args.edge_region, account)
            ),
            key_arn=key.arn,
            lifecycle_rules=expire_logs_rules(args.log_retention_days),
            access_logs=AccessLogs(
                args.access_log_buckets[args.edge_region], f"s3/{args.edge_region}/cdn-logs/"
            ),
            ownership="BucketOwnerPreferred",
            legacy_names={"lifecycle": f"{name}-cdn-logs-retention"},
            opts=edge,
        )
        canonical = aws.s3.get_canonical_user_id_output(
            opts=pulumi.InvokeOutputOptions(
                parent=self, provider=self._region_providers[args.edge_region]
            )
        )
        acl = aws.s3.BucketAcl(
            f"{name}-cdn-logs-acl",
            bucket=logs.bucket.id,
            access_control_policy={
                "owner": {"id": canonical.id},
                "grants": [
                    {
                        "grantee": {"type": "CanonicalUser", "id": canonical.id},
                        "permission": "FULL_CONTROL",
                    },
                    {
                        "grantee": {"type": "CanonicalUser", "id": AWSLOGSDELIVERY_CANONICAL_ID},
                        "permission": "FULL_CONTROL",
                    },
                ],
            },
            opts=pulumi.ResourceOptions.merge(edge, pulumi.ResourceOptions(depends_on=logs.guards)),
        )
        return logs.bucket, acl

    def _web_bucket(self, region: str) -> tuple[PrivateBucket, aws.kms.Key]:
        """A serving region's web bucket with its key and the web app's objects (R-EDGE-3);
        returns (bucket, key) for the policies that need the distribution."""
        name, args, env = f"{self._base}-web-{region}", self._spec, self._spec.environment
        in_region = self._in_region(region)
        # The key's policy names the distribution, which does not exist yet: the key is
        # created with the default (account) policy and a KeyPolicy replaces it later.
        key = customer_managed_key(
            f"{name}-key",
            description=f"mobile-backend {env} web app objects ({region})",
            account_id=args.account_id,
            alias=f"alias/{names.alias_prefix(env)}/web",
            service_statements=None,
            opts=in_region,
        )
        web = private_bucket(
            name,
            pulumi.Output.from_input(args.account_id).apply(
                lambda account: bucket_name(env, "web", region, account)
            ),
            key_arn=key.arn,
            # Versioning allows rolling a bad deploy back; older builds need not live forever.
            lifecycle_rules=[
                {
                    "id": "expire-old-builds",
                    "status": "Enabled",
                    "filter": {},
                    "noncurrent_version_expiration": {"noncurrent_days": 30},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
                }
            ],
            access_logs=AccessLogs(args.access_log_buckets[region], f"s3/{region}/web/"),
            versioned=True,
            # Its grant names the distribution: attached by _admit_distribution.
            policy=None,
            opts=in_region,
        )
        for index, file in enumerate(args.web_files):
            aws.s3.BucketObjectv2(
                f"{name}-object-{index}",
                bucket=web.bucket.id,
                key=file.key,
                source=pulumi.FileAsset(file.path),
                content_type=file.content_type,
                cache_control=file.cache_control,
                # etag is not the MD5 of SSE-KMS objects: track content by our own hash.
                source_hash=file.sha256,
                opts=self._in_region(region, depends_on=[web.encryption]),
            )
        return web, key

    def _admit_distribution(
        self,
        region: str,
        web: PrivateBucket,
        key: aws.kms.Key,
        distribution_arn: pulumi.Output[str],
    ) -> None:
        name = f"{self._base}-web-{region}"
        aws.kms.KeyPolicy(
            f"{name}-key-policy",
            key_id=key.key_id,
            policy=pulumi.Output.all(self._spec.account_id, distribution_arn).apply(
                lambda v: json.dumps(web_key_policy(v[0], v[1]))
            ),
            opts=self._in_region(region),
        )
        web.attach_policy(
            Grants(
                lambda bucket, arn, distribution: web_read_statements(bucket, distribution),
                [distribution_arn],
            )
        )

    # --- CloudFront (R-EDGE-2…4) ---

    def _distribution(
        self,
        *,
        aliases: Sequence[str],
        certificate_arn: pulumi.Input[str],
        web_acl_arn: pulumi.Input[str],
        log_bucket: aws.s3.Bucket,
        web_buckets: Mapping[str, aws.s3.Bucket],
        opts: pulumi.ResourceOptions,
    ) -> aws.cloudfront.Distribution:
        name, args, prefix, edge = self._base, self._spec, self._resource_prefix, self._edge_opts
        oac = aws.cloudfront.OriginAccessControl(
            f"{name}-oac",
            name=f"{prefix}-web",
            description="CloudFront signs every S3 request (SigV4) to the web buckets",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
            opts=edge,
        )
        api_cache = aws.cloudfront.CachePolicy(
            f"{name}-api-cache",
            name=f"{prefix}-api",
            comment="API: nothing cached unless the origin says so; per-caller cache key",
            # Default 0: only responses the API marks cacheable (Cache-Control) are cached,
            # at most a minute, keyed by caller (Authorization) and query string. A TTL of 0
            # everywhere would forbid headers in the key, and Authorization reaches the origin
            # only through the cache key (origin request policies cannot forward it).
            min_ttl=0,
            default_ttl=0,
            max_ttl=60,
            parameters_in_cache_key_and_forwarded_to_origin={
                "headers_config": {
                    "header_behavior": "whitelist",
                    "headers": {"items": ["Authorization"]},
                },
                "cookies_config": {"cookie_behavior": "none"},
                "query_strings_config": {"query_string_behavior": "all"},
                "enable_accept_encoding_gzip": True,
                "enable_accept_encoding_brotli": True,
            },
            opts=edge,
        )
        security_headers = aws.cloudfront.ResponseHeadersPolicy(
            f"{name}-security-headers",
            name=f"{prefix}-security-headers",
            comment="HSTS (preload) and the usual browser security headers",
            security_headers_config={
                "strict_transport_security": {
                    "access_control_max_age_sec": HSTS_MAX_AGE_SECONDS,
                    "include_subdomains": True,
                    "preload": True,
                    "override": True,
                },
                "content_type_options": {"override": True},
                "frame_options": {"frame_option": "DENY", "override": True},
                "referrer_policy": {
                    "referrer_policy": "strict-origin-when-cross-origin",
                    "override": True,
                },
                "xss_protection": {"protection": True, "mode_block": True, "override": True},
                "content_security_policy": {
                    "content_security_policy": _content_security_policy(args.serving_regions),
                    "override": True,
                },
            },
            custom_headers_config={
                "items": [
                    {
                        "header": "Permissions-Policy",
                        "value": "camera=(), microphone=(), geolocation=()",
                        "override": True,
                    }
                ]
            },
            opts=edge,
        )

        def web_origin_id(region: str) -> str:
            return f"web-{region}"

        origins = [
            {
                "origin_id": API_ORIGIN_ID,
                "domain_name": f"api.{args.domain}",
                "custom_origin_config": {
                    "http_port": 80,
                    "https_port": 443,
                    "origin_protocol_policy": "https-only",
                    "origin_ssl_protocols": ["TLSv1.2"],
                    "origin_read_timeout": 30,
                    "origin_keepalive_timeout": 5,
                },
                "custom_headers": [
                    {"name": args.origin_verify_header, "value": args.origin_verify_value}
                ],
                # R-DR-2: a request bound to a lost region's address keeps trying it for
                # attempts x timeout before a 504; CloudFront's default 3 x 10 s alone would
                # take the failover budget past the 60 s RTO (docs/dr.md).
                "connection_attempts": 1,
                "connection_timeout": 5,
            }
        ]
        for region in args.serving_regions:
            origins.append(
                {
                    "origin_id": web_origin_id(region),
                    # Regional endpoint (not the global one) so requests never detour.
                    "domain_name": web_buckets[region].bucket.apply(
                        lambda b, region=region: f"{b}.s3.{region}.amazonaws.com"
                    ),
                    "origin_access_control_id": oac.id,
                    # Fail over quickly: 2 attempts x 5 s before the secondary bucket is tried.
                    "connection_attempts": 2,
                    "connection_timeout": 5,
                }
            )
        origin_groups = []
        default_target = web_origin_id(args.serving_regions[0])
        if len(args.serving_regions) > 1:
            # An origin group has exactly two members and fails over only GET/HEAD/OPTIONS,
            # which is all the static web app needs.
            origin_groups.append(
                {
                    "origin_id": WEB_ORIGIN_GROUP_ID,
                    "failover_criteria": {"status_codes": list(FAILOVER_STATUS_CODES)},
                    "members": [
                        {"origin_id": web_origin_id(region)} for region in args.serving_regions[:2]
                    ],
                }
            )
            default_target = WEB_ORIGIN_GROUP_ID

        log_bucket_domain = log_bucket.bucket.apply(lambda b: f"{b}.s3.amazonaws.com")
        distribution = aws.cloudfront.Distribution(
            f"{name}-distribution",
            comment=f"mobile-backend {args.environment}: web app (S3, failover) and the APIs",
            enabled=True,
            aliases=list(aliases),
            price_class="PriceClass_100",
            http_version="http2and3",
            is_ipv6_enabled=True,
            default_root_object="index.html",
            web_acl_id=web_acl_arn,
            viewer_certificate={
                "acm_certificate_arn": certificate_arn,
                "ssl_support_method": "sni-only",
                "minimum_protocol_version": "TLSv1.2_2021",
            },
            logging_config={
                "bucket": log_bucket_domain,
                "include_cookies": False,
                "prefix": "cloudfront/",
            },
            restrictions={"geo_restriction": {"restriction_type": "none"}},
            origins=origins,
            origin_groups=origin_groups,
            default_cache_behavior={
                "target_origin_id": default_target,
                "viewer_protocol_policy": "redirect-to-https",
                "allowed_methods": list(READ_METHODS),
                "cached_methods": ["GET", "HEAD"],
                "cache_policy_id": MANAGED_CACHING_OPTIMIZED,
                "response_headers_policy_id": security_headers.id,
                "compress": True,
            },
            ordered_cache_behaviors=[
                {
                    "path_pattern": f"/{args.api_path_prefix}/*",
                    "target_origin_id": API_ORIGIN_ID,
                    "viewer_protocol_policy": "redirect-to-https",
                    "allowed_methods": list(ALL_METHODS),
                    "cached_methods": ["GET", "HEAD"],
                    "cache_policy_id": api_cache.id,
                    # Everything the viewer sent except Host: API Gateway's custom domain
                    # must see api.<domain>, not the apex. That includes x-api-key, the
                    # app's key the usage plans check (R-OPS-2).
                    "origin_request_policy_id": MANAGED_ALL_VIEWER_EXCEPT_HOST_HEADER,
                    "response_headers_policy_id": security_headers.id,
                    "compress": True,
                }
            ],
            custom_error_responses=[
                {"error_code": code, "error_caching_min_ttl": 0} for code in NO_CACHE_ERROR_CODES
            ],
            opts=opts,
        )
        return distribution
