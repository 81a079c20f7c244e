"""The web app's ``config.json`` for one serving region: its user pool, web client and the web
app's API key.

The global stack uploads the web app's files to every region's web bucket before any user pool
exists; the pools are created later by the regional stacks. So each regional stack writes the
one object that names its own pool into its own region's web bucket (bucket names are the
global contract output ``webBuckets``). CloudFront's origin group serves the primary region's
bucket and fails over to the other, so the page always signs in against the pool of the region
whose files it was served from; every region's API accepts tokens from every region's pool
(R-API-3), so the pair is consistent during a failover too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.web_content import CONFIG_KEY, web_config


@dataclass(frozen=True)
class WebConfigArgs:
    region: str
    bucket: pulumi.Input[str]
    user_pool_id: pulumi.Input[str]
    web_client_id: pulumi.Input[str]
    # The web app's API key (R-OPS-2): identifies the app, not a user; not a secret.
    api_key: pulumi.Input[str]


class WebConfig(pulumi.ComponentResource):
    """Creates one ``aws.s3.BucketObjectv2`` (``config.json``) in the region's web bucket.

    Attributes: ``key``.
    """

    def __init__(self, name: str, args: WebConfigArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mobile-backend:edge:WebConfig", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        content = pulumi.Output.all(args.user_pool_id, args.web_client_id, args.api_key).apply(
            lambda v: json.dumps(web_config(args.region, v[0], v[1], v[2]), sort_keys=True)
        )
        obj = aws.s3.BucketObjectv2(
            f"{name}-object",
            bucket=args.bucket,
            key=CONFIG_KEY,
            content=content,
            content_type="application/json",
            # Revalidated on every load, like index.html: a new pool or client shows at once.
            cache_control="no-cache",
            opts=child,
        )
        self.key = obj.key
        self.register_outputs({"key": self.key})
