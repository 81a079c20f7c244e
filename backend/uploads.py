"""Presigned S3 uploads into the caller's own prefix, and presigned downloads from it.

Object keys are `uploads/<caller sub>/<uuid>-<safe filename>`. Clients address an upload by an
opaque id (base64url of the key) so the key's `/` never meets API Gateway path matching, and
the prefix check on download is made on the decoded key, never on client-supplied parts.
The PUT URL signs Content-Type and Content-Length (SigV4), so the client cannot upload more
bytes than it declared and was allowed.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from typing import Any

from backend.errors import (
    ForbiddenError,
    NotFoundError,
    PayloadTooLargeError,
    ValidationFailedError,
)
from backend.identity import Caller
from backend.models import (
    UPLOAD_MAX_BYTES,
    DownloadTicket,
    UploadRequest,
    UploadTicket,
    ecma_regex,
)
from contract.names import UPLOADS_PREFIX

URL_EXPIRES_SECONDS = 300
SUB_PATTERN = r"[A-Za-z0-9_.:-]{1,128}"
KEY_PATTERN = re.compile(
    rf"^{re.escape(UPLOADS_PREFIX)}(?P<sub>{SUB_PATTERN})/[A-Za-z0-9][A-Za-z0-9._-]{{0,200}}$"
)


def safe_filename(filename: str) -> str:
    """ASCII letters, digits, `.`, `_`, `-` only; no leading dots; at most 100 characters."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", filename.rsplit("/", 1)[-1]).lstrip("._")
    return cleaned[:100] or "file"


# base64url without padding; documented as the path parameter's pattern in the OpenAPI.
UPLOAD_ID_PATTERN = r"^[A-Za-z0-9_-]{1,512}$"
ID_PATTERN = ecma_regex(UPLOAD_ID_PATTERN)


def upload_id(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def key_from_id(opaque: str) -> str:
    """The object key behind an upload id. Malformed ids (not base64url) are the client's
    error (400); a well-formed id that names no key we could have issued names nothing (404)
    — including traversal attempts such as ``upload_id("../secrets")``."""
    if not ID_PATTERN.match(opaque):
        raise ValidationFailedError("upload id is not valid", fields=["key"])
    try:
        key = base64.urlsafe_b64decode((opaque + "=" * (-len(opaque) % 4)).encode()).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        key = ""
    if not KEY_PATTERN.fullmatch(key):
        raise NotFoundError("no such upload")
    return key


def create_upload(s3: Any, *, bucket: str, caller: Caller, request: UploadRequest) -> UploadTicket:
    if request.size > UPLOAD_MAX_BYTES:
        raise PayloadTooLargeError(
            f"size must be at most {UPLOAD_MAX_BYTES} bytes", fields=["size"]
        )
    if not re.fullmatch(SUB_PATTERN, caller.sub):
        # The sub becomes a key prefix: anything path-like could escape the caller's prefix.
        raise ForbiddenError("caller identity cannot own uploads")
    key = f"{UPLOADS_PREFIX}{caller.sub}/{uuid.uuid4()}-{safe_filename(request.filename)}"
    url = s3.generate_presigned_url(
        "put_object",
        Params={
            "Bucket": bucket,
            "Key": key,
            "ContentType": request.content_type,
            "ContentLength": request.size,
        },
        ExpiresIn=URL_EXPIRES_SECONDS,
    )
    return UploadTicket(
        id=upload_id(key),
        key=key,
        url=url,
        headers={"Content-Type": request.content_type, "Content-Length": str(request.size)},
        expires_in=URL_EXPIRES_SECONDS,
    )


def create_download(s3: Any, *, bucket: str, caller: Caller, opaque_id: str) -> DownloadTicket:
    key = key_from_id(opaque_id)
    owner = KEY_PATTERN.fullmatch(key).group("sub")  # type: ignore[union-attr]
    if owner != caller.sub:
        raise ForbiddenError("this upload belongs to another account")
    from botocore.exceptions import ClientError

    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        # Without s3:ListBucket (the role has none) S3 answers a missing key with 403, not
        # 404; the role may read every key under the uploads prefix, so 403 means missing.
        if exc.response.get("Error", {}).get("Code") in ("403", "404", "NoSuchKey", "NotFound"):
            raise NotFoundError("upload not found") from exc
        raise
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=URL_EXPIRES_SECONDS
    )
    return DownloadTicket(id=opaque_id, url=url, expires_in=URL_EXPIRES_SECONDS)
