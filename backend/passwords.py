"""Password hashes for the replicated user directory (stdlib KDFs, constant-time compare).

Formats: `scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>` (what `hash_password` writes) and
`pbkdf2_sha256$<iterations>$<salt b64>$<hash b64>` (accepted, for imported legacy hashes).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
# Upper bounds protect the Lambda from a hostile/corrupt hash demanding huge work.
MAX_SCRYPT_N = 2**17
MAX_PBKDF2_ITERATIONS = 2_000_000


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def hash_password(password: str, *, n: int = SCRYPT_N) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${n}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    """True when `password` matches; False for a mismatch or an unreadable hash."""
    try:
        scheme, *parts = encoded.split("$")
        if scheme == "scrypt":
            n, r, p, salt, expected = int(parts[0]), int(parts[1]), int(parts[2]), *parts[3:5]
            if n > MAX_SCRYPT_N:
                return False
            want = base64.b64decode(expected)
            got = hashlib.scrypt(
                password.encode(),
                salt=base64.b64decode(salt),
                n=n,
                r=r,
                p=p,
                dklen=len(want),
                maxmem=256 * 1024 * 1024,
            )
        elif scheme == "pbkdf2_sha256":
            iterations, salt, expected = int(parts[0]), parts[1], parts[2]
            if iterations > MAX_PBKDF2_ITERATIONS:
                return False
            want = base64.b64decode(expected)
            got = hashlib.pbkdf2_hmac(
                "sha256", password.encode(), base64.b64decode(salt), iterations, len(want)
            )
        else:
            return False
    except (ValueError, IndexError, TypeError):
        return False
    return hmac.compare_digest(got, want)
