"""Request and response models shared by the API, the subscriber and the OpenAPI document.

The request models are the API's validation boundary (R-API-6) and the document states them
(R-API-7): every constraint a model checks appears in its JSON schema, and every limit the
database or a downstream service would enforce with an error (PostgreSQL `text` and its
CHECKs, SNS tokens, S3 headers) is checked here first, so it is a 400 naming the field instead
of a 500 or a write that fails later in the queue. Bodies reach the models already parsed as
I-JSON within size and depth limits (`backend.json_body`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, Union
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StrictBool,
    StrictInt,
    StrictStr,
)
from pydantic_core import PydanticCustomError, core_schema
from typing_extensions import TypeAliasType

from backend.json_body import MAX_DEPTH, MAX_NUMBER, in_number_range

# Characters no text field takes: C0 and C1 controls and DEL (PostgreSQL `text` refuses U+0000,
# the rest break logs, headers and push payloads). Unpaired surrogates never get this far: the
# body parser refuses them (backend.json_body), and a pattern naming them compiles in no
# engine that works on code points.
_NOT_TEXT = r"\x00-\x1f\x7f-\x9f"
# One line of text without leading or trailing spaces: what is stored is what was meant.
LINE_PATTERN = rf"^[^{_NOT_TEXT}\x20](?:[^{_NOT_TEXT}]*[^{_NOT_TEXT}\x20])?$"
_EMAIL_PART = rf"[^@{_NOT_TEXT}\x20]+"
EMAIL_PATTERN = rf"^{_EMAIL_PART}@{_EMAIL_PART}\.{_EMAIL_PART}$"
# A user id: Cognito sub or custom:uid (UUIDs); also an S3 key segment (backend.uploads).
USER_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,128}$"
# RFC 6838 restricted names: the value is signed into the presigned PUT as a header.
MEDIA_TYPE_PATTERN = r"^[A-Za-z0-9!#$&^_.+-]{1,63}/[A-Za-z0-9!#$&^_.+-]{1,63}$"
# SNS accepts APNs device tokens as hexadecimal (Apple issues 64 digits today).
APNS_TOKEN_PATTERN = r"^[0-9A-Fa-f]{64,400}$"  # noqa: S105 (a format, not a secret)
# FCM registration tokens: URL-safe characters and ':'.
FCM_TOKEN_PATTERN = r"^[A-Za-z0-9_:.-]{1,4096}$"  # noqa: S105
UUID_PATTERN = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
# Lengths of the database CHECK constraints on users (backend/migrations).
NAME_MAX = 200
EMAIL_MIN, EMAIL_MAX = 3, 320
UPLOAD_MAX_BYTES = 10 * 1024 * 1024


def ecma_regex(pattern: str) -> re.Pattern[str]:
    """`pattern` read as JSON Schema means it (ECMA 262): a closing `$` is the end of the
    string. Python's `$` also matches before a final newline, so "a/b\\n" would pass a media
    type pattern here and fail it in API Gateway and every JavaScript client."""
    if pattern.endswith("$") and not pattern.endswith(r"\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


@dataclass(frozen=True)
class Matches:
    """A regular expression a string must match, read as JSON Schema reads it (`ecma_regex`)
    and stated in the JSON schema. pydantic's own `pattern` would read `$` the Python way."""

    pattern: str

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        compiled = ecma_regex(self.pattern)
        pattern = self.pattern

        def check(value: str) -> str:
            if not compiled.search(value):
                raise PydanticCustomError(
                    "string_pattern_mismatch",
                    "String should match pattern '{pattern}'",
                    {"pattern": pattern},
                )
            return value

        return core_schema.no_info_after_validator_function(check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        json_schema = handler(schema)
        json_schema["pattern"] = self.pattern
        return json_schema


def _ascii_lower(value: str) -> str:
    # Only ASCII letters: str.lower() can lengthen a string ("İ" becomes two code points), and
    # the stored address must stay within the length the API checked.
    return value.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

Line = Annotated[StrictStr, Matches(LINE_PATTERN)]
Name = Annotated[Line, Field(min_length=1, max_length=NAME_MAX)]
Email = Annotated[
    StrictStr,
    Matches(EMAIL_PATTERN),
    Field(
        min_length=EMAIL_MIN,
        max_length=EMAIL_MAX,
        description="Compared without regard to the case of ASCII letters",
    ),
]
UserId = Annotated[StrictStr, Matches(USER_ID_PATTERN)]


class _Model(BaseModel):
    # defer_build: a model's validator and serializer are built on its first use, not at
    # import. Each function (and each API route) then pays only for the models it touches:
    # the subscriber one, `GET /users` two, instead of all of them at cold start.
    model_config = ConfigDict(extra="forbid", defer_build=True)


class CreateUserRequest(_Model):
    name: Name
    email: Email

    def normalized_email(self) -> str:
        """One mailbox, one row: the uniqueness constraint compares normalised addresses."""
        return _ascii_lower(self.email)


class CreateUserAccepted(_Model):
    message_id: UUID = Field(description="The request's id: GET /users/requests/{id}")
    user_id: UUID = Field(description="The user's id once created: GET /users/{id}")
    status: Literal["pending"] = "pending"


class CreateUserRequestStatus(_Model):
    """What became of a `POST /users`: applied asynchronously, so a caller polls for it."""

    id: UUID
    status: Literal["pending", "created", "rejected"]
    user_id: UUID | None = Field(default=None, description="Set once the user was created")
    reason: Literal["email_taken", "invalid"] | None = Field(
        default=None,
        description=(
            "Why it was rejected: `email_taken`, the address is already one of your users; "
            "`invalid`, the database refused the values"
        ),
    )


class User(_Model):
    id: UUID
    name: str
    email: str
    created_at: datetime
    home_region: str


class UserPage(_Model):
    items: list[User]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` to get the next page"
    )


class Me(_Model):
    sub: str
    email: str | None = None
    groups: list[str]
    preferences: dict[str, Any]
    preferences_updated_at: datetime | None = None


# Preferences: a JSON object whose values are strings, finite numbers, booleans, arrays and
# objects, nested at most MAX_DEPTH levels with the object itself. JSON Schema states a depth
# only by spelling each level out, so each level is a named schema referring to the next.
_NUMBER_RANGE = {"minimum": -MAX_NUMBER, "maximum": MAX_NUMBER}


def _in_number_range(value: int) -> int:
    # Integers too: the parser refuses larger ones (backend.json_body), and a document that
    # reaches the model some other way must not get past it either.
    if not in_number_range(value):
        raise PydanticCustomError("number_range", "Number is outside the double-precision range")
    return value


_Number = Annotated[float, Field(allow_inf_nan=False, strict=True, json_schema_extra=_NUMBER_RANGE)]
_Integer = Annotated[
    StrictInt, AfterValidator(_in_number_range), Field(json_schema_extra=_NUMBER_RANGE)
]


def _preference_levels() -> Any:
    value: Any = Union[StrictStr, StrictBool, _Integer, _Number]  # noqa: UP007 (runtime union)
    for level in range(2, MAX_DEPTH + 1):
        inner = value
        value = TypeAliasType(
            f"PreferenceValue{level}",
            Union[StrictStr, StrictBool, _Integer, _Number, list[inner], dict[str, inner]],  # noqa: UP007
        )
    return value


PreferenceValue = _preference_levels()
PreferencesDocument = TypeAliasType("PreferencesDocument", dict[str, PreferenceValue])


class Preferences(_Model):
    preferences: dict[str, Any]
    updated_at: datetime


class UploadRequest(_Model):
    filename: Annotated[Line, Field(min_length=1, max_length=255)]
    content_type: Annotated[StrictStr, Matches(MEDIA_TYPE_PATTERN)]
    size: Annotated[
        StrictInt,
        Field(
            gt=0,
            description="Exact object size in bytes; signed into the URL",
            # Checked by backend.uploads (413), stated here so the document carries it.
            json_schema_extra={"maximum": UPLOAD_MAX_BYTES},
        ),
    ]


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


class ApnsDeviceRequest(_Model):
    platform: Literal["apns"]
    token: Annotated[StrictStr, Matches(APNS_TOKEN_PATTERN)]


class FcmDeviceRequest(_Model):
    platform: Literal["fcm"]
    token: Annotated[StrictStr, Matches(FCM_TOKEN_PATTERN)]


DeviceRequest = Annotated[ApnsDeviceRequest | FcmDeviceRequest, Field(discriminator="platform")]


class Device(_Model):
    id: UUID
    platform: Literal["apns", "fcm"]


class NotificationRequest(_Model):
    user_sub: UserId
    title: Annotated[Line, Field(min_length=1, max_length=100)]
    body: Annotated[Line, Field(min_length=1, max_length=1000)]


class NotificationResult(_Model):
    sent: int
    failed: int
    pruned: int = Field(
        default=0, description="Devices the push service disabled, removed by this send"
    )


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
    owner_sub: UserId
    name: Name
    email: Email
    requested_at: datetime
    region: str = Field(min_length=1, max_length=32)


class RequestRef(BaseModel):
    """The parts of a `UserCreateMessage` that identify the request and its caller: enough to
    record that its values were refused (`backend.users.reject_invalid`)."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    type: Literal["user.create"]
    message_id: UUID
    user_id: UUID
    owner_sub: UserId
    requested_at: datetime
