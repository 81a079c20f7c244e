"""Request and response models shared by the API, the subscriber and the OpenAPI document."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class _Model(BaseModel):
    # defer_build: a model's validator and serializer are built on its first use, not at
    # import. Each function (and each API route) then pays only for the models it touches:
    # the subscriber one, `GET /users` two, instead of all of them at cold start.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)


class CreateUserRequest(_Model):
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=320, pattern=EMAIL_PATTERN)

    @field_validator("email")
    @classmethod
    def _lower(cls, value: str) -> str:
        # One mailbox, one row: the unique constraint compares normalised addresses.
        return value.lower()


class CreateUserAccepted(_Model):
    message_id: UUID
    user_id: UUID
    status: Literal["accepted"] = "accepted"


class User(_Model):
    id: UUID
    name: str
    email: str
    created_at: datetime
    home_region: str


class UserPage(_Model):
    items: list[User]
    next_cursor: str | None = Field(
        default=None, description="Opaque; pass as `cursor` to get the next page"
    )


class Me(_Model):
    sub: str
    email: str | None = None
    groups: list[str]
    preferences: dict[str, Any]
    preferences_updated_at: datetime | None = None


class Preferences(_Model):
    preferences: dict[str, Any]
    updated_at: datetime


class UploadRequest(_Model):
    filename: str = Field(min_length=1, max_length=255)
    content_type: str = Field(min_length=3, max_length=127, pattern=r"^[\w.+-]+/[\w.+-]+$")
    size: int = Field(gt=0, description="Exact object size in bytes; signed into the URL")


class UploadTicket(_Model):
    id: str = Field(description="Opaque upload id for GET /uploads/{key}")
    key: str
    url: str
    method: Literal["PUT"] = "PUT"
    headers: dict[str, str]
    expires_in: int


class DownloadTicket(_Model):
    id: str
    url: str
    expires_in: int


class DeviceRequest(_Model):
    platform: Literal["apns", "fcm"]
    token: str = Field(min_length=1, max_length=4096)


class Device(_Model):
    id: UUID
    platform: Literal["apns", "fcm"]


class NotificationRequest(_Model):
    user_sub: str = Field(min_length=1, max_length=128)
    title: str = Field(min_length=1, max_length=100)
    body: str = Field(min_length=1, max_length=1000)


class NotificationResult(_Model):
    sent: int
    failed: int


class Health(_Model):
    status: Literal["ok", "degraded"]
    region: str
    role: Literal["writer", "forwarding", "unknown"]
    database: Literal["reachable", "unreachable"]


class ErrorDetail(_Model):
    code: str
    message: str
    fields: list[str] | None = None


class ErrorResponse(_Model):
    error: ErrorDetail


class UserCreateMessage(_Model):
    """What `POST /users` publishes to SNS and the subscriber applies."""

    type: Literal["user.create"] = "user.create"
    version: Literal[1] = 1
    message_id: UUID
    user_id: UUID
    owner_sub: str = Field(min_length=1, max_length=128)
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=320, pattern=EMAIL_PATTERN)
    requested_at: datetime
    region: str = Field(min_length=1, max_length=32)
