"""Lazily created, cached boto3 clients.

boto3 costs ~150 ms to import and 50-95 ms for the first client, so nothing imports it at
module level: a function that never touches S3 never pays for it. Endpoint overrides come from
the standard `AWS_ENDPOINT_URL` (moto server mode locally), which boto3 reads by itself.
"""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def client(service: str, region: str | None = None) -> Any:
    """One client per (service, region) per container; short timeouts, bounded retries."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=2,
        read_timeout=5,
        retries={"max_attempts": 3, "mode": "standard"},
        # Presigned URLs must be SigV4 (SigV2 cannot sign Content-Length) and path-style
        # works with every bucket name and with the local S3 emulator.
        signature_version="s3v4" if service == "s3" else None,
        s3={"addressing_style": "path"} if service == "s3" else None,
    )
    return boto3.client(service, region_name=region, config=config)


def reset_clients() -> None:
    """Forget cached clients (tests point them at a fresh emulator)."""
    client.cache_clear()
