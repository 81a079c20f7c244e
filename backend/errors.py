"""Domain errors. The API maps each class to one HTTP status in a single place."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: `status` and `code` travel to the client, `message` must hold no PHI."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or []


class ValidationFailedError(DomainError):
    status = 400
    code = "validation_error"


class UnauthorizedError(DomainError):
    status = 401
    code = "unauthorized"


class ForbiddenError(DomainError):
    status = 403
    code = "forbidden"


class NotFoundError(DomainError):
    status = 404
    code = "not_found"


class ConflictError(DomainError):
    status = 409
    code = "conflict"


class PayloadTooLargeError(DomainError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaTypeError(DomainError):
    status = 415
    code = "unsupported_media_type"
