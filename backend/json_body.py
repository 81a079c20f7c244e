"""Request bodies: I-JSON (RFC 7493) within fixed limits, or a 4xx naming the body.

Python's ``json`` module accepts more than the database and the rest of the code can hold:
``NaN``/``Infinity`` and ``1e400`` (infinite floats PostgreSQL refuses), integers longer than
the interpreter's int-string limit (a ``ValueError`` deep in the parser), unpaired surrogate
escapes (not UTF-8, so neither the driver nor the log can encode them), duplicate names (the
last one silently wins) and nesting deep enough to exhaust the recursion limit of every later
step. Each of these is refused here, once, before any model sees the body: a client error is
a 400 (413 for the size), never a 500. The limits are part of the API's contract
(``handlers.api.openapi`` states them in the document).
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from typing import Any

from backend.errors import PayloadTooLargeError, ValidationFailedError

# Well above the largest valid body (16 KiB of preferences, pretty-printed) and far below
# Lambda's 6 MB payload limit.
MAX_BODY_BYTES = 64 * 1024
# An object or array counts one level; the top-level value is level 1.
MAX_DEPTH = 5
# I-JSON's interoperable range: any number an IEEE-754 double holds (RFC 7493 §2.2). The
# document states it as the decimal 1.7976931348623157e+308, and JSON Schema compares the
# decimal values of the JSON text, so the checks below do too (not the rounded doubles).
MAX_NUMBER = sys.float_info.max
NUMBER_BOUND = Decimal(repr(MAX_NUMBER))
# Digits beyond this cannot be within the bound; checked before int() ever sees them.
_MAX_INTEGER_DIGITS = len(str(int(NUMBER_BOUND)))

BODY = ["body"]


class _Refused(ValueError):
    """Raised from inside the parser's hooks; carries the client-facing reason."""


def in_number_range(value: int | Decimal) -> bool:
    return abs(value) <= NUMBER_BOUND


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_INTEGER_DIGITS or not in_number_range(int(text)):
        raise _Refused("a number is outside the double-precision range")
    return int(text)


def _float(text: str) -> float:
    # Within the bound, the nearest double is finite: 1e400 and friends never become inf.
    if not in_number_range(Decimal(text)):
        raise _Refused("a number is outside the double-precision range")
    return float(text)


def _constant(name: str) -> Any:
    raise _Refused(f"{name} is not JSON")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _Refused("an object repeats a member name")
    return result


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _check_tree(value: Any) -> None:
    """Depth and unpaired surrogates, iteratively (the tree may be as deep as the parser let
    it be, and the limit exists precisely so nothing recurses over it)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            if _has_surrogate(node):
                raise _Refused("a string contains an unpaired surrogate")
        elif isinstance(node, dict | list):
            if depth > MAX_DEPTH:
                raise _Refused(f"nesting is deeper than {MAX_DEPTH} levels")
            if isinstance(node, dict):
                for key, item in node.items():
                    stack.append((key, depth))
                    stack.append((item, depth + 1))
            else:
                stack.extend((item, depth + 1) for item in node)


def size_of(body: str) -> int:
    """UTF-8 size of a body as received (surrogates counted as 3 bytes, not an error)."""
    return len(body.encode("utf-8", "surrogatepass"))


def check_size(body: str | None) -> None:
    if body is not None and size_of(body) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(
            f"the request body must be at most {MAX_BODY_BYTES} bytes", fields=BODY
        )


def loads(body: str) -> Any:
    """The decoded body, or ``ValidationFailedError``/``PayloadTooLargeError`` naming it."""
    check_size(body)
    try:
        value = json.loads(
            body,
            parse_int=_integer,
            parse_float=_float,
            parse_constant=_constant,
            object_pairs_hook=_object,
        )
        _check_tree(value)
    except _Refused as exc:
        raise ValidationFailedError(f"request body refused: {exc}", fields=BODY) from None
    except RecursionError:
        raise ValidationFailedError(
            f"request body refused: nesting is deeper than {MAX_DEPTH} levels", fields=BODY
        ) from None
    except ValueError:
        # JSONDecodeError included. Its message quotes the position only, but nothing here
        # needs it: the client has its own body.
        raise ValidationFailedError("request body is not valid JSON", fields=BODY) from None
    return value
