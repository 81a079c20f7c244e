"""AWS providers: the only place providers are made (components receive them).

Every resource goes through an explicit provider carrying the default tags (R-STACK-5); the
default provider is never used, so a resource cannot land untagged or in the wrong region.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from settings import Settings


def aws_provider(
    settings: Settings, region: str, *, data_classification: str | None = None
) -> aws.Provider:
    """``data_classification`` overrides the stack's for a provider whose resources never hold
    personal data (tags drive the GDPR residency policy, so they must be accurate)."""
    tags = settings.tags(region)
    if data_classification is not None:
        tags["data-classification"] = data_classification
    return aws.Provider(
        f"aws-{region}",
        region=region,
        default_tags=aws.ProviderDefaultTagsArgs(tags=tags),
    )


def in_region(provider: aws.Provider, **kwargs) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(provider=provider, **kwargs)


def account_id(provider: aws.Provider) -> pulumi.Output[str]:
    return aws.get_caller_identity_output(opts=pulumi.InvokeOptions(provider=provider)).account_id
