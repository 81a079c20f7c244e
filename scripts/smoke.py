"""End-to-end smoke check of a running backend (R-CI-3): local (`make dev`) or deployed.

    python scripts/smoke.py http://127.0.0.1:8080 --local .dev/local.json
    python scripts/smoke.py https://api.example.com --token "$ID_TOKEN"
    python scripts/smoke.py https://example.com/api --cognito-region eu-west-1 \
        --client-id ... --username ... --password ...   (USER_PASSWORD_AUTH app client)
    (--client-id/--username/--password default to $SMOKE_CLIENT_ID/$SMOKE_USERNAME/
    $SMOKE_PASSWORD; --origin-verify-secret NAME calls a regional API directly, past its WAF;
    --api-key, default $SMOKE_API_KEY or the web key of --local's local.json, goes as x-api-key)

Checks, in order: health, sign-in, create a user and wait until it is readable exactly once,
preferences round trip, presigned upload and download. Exit status 0 only if all pass. Only
the standard library plus boto3 (for signing in) is needed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

# contract.names.API_KEY_HEADER: this script runs on its own (deploy jobs install only boto3).
API_KEY_HEADER = "x-api-key"


class SmokeFailure(AssertionError):
    pass


def http(
    method: str,
    url: str,
    *,
    token: str | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
    timeout: float = 10,
) -> tuple[int, Any]:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    all_headers = dict(headers or {})
    if body is not None:
        all_headers.setdefault("Content-Type", "application/json")
    if token:
        all_headers["Authorization"] = token
    req = urllib.request.Request(url, data=data, method=method, headers=all_headers)  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:  # noqa: S310
            payload = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        payload, status = error.read(), error.code
    try:
        return status, json.loads(payload) if payload else None
    except ValueError:
        return status, payload


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise SmokeFailure(message)


def sign_in(region: str, client_id: str, username: str, password: str, endpoint: str | None):
    import boto3

    kwargs: dict[str, Any] = {"region_name": region}
    if endpoint:
        # A local emulator accepts any credentials; a deployed pool needs none for this call.
        kwargs.update(endpoint_url=endpoint, aws_access_key_id="local")
        kwargs["aws_secret_access_key"] = "local"  # noqa: S105 - emulator dummy
    result = boto3.client("cognito-idp", **kwargs).initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )
    return result["AuthenticationResult"]["IdToken"]


def run(
    base: str,
    token_source: Callable[[], str],
    *,
    wait_seconds: float = 30,
    api_headers: dict[str, str] | None = None,
) -> list[str]:
    """Run every check against ``base``; ``api_headers`` go with every API request."""
    base = base.rstrip("/")
    done: list[str] = []
    extra = dict(api_headers or {})

    def request(method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
        if url.startswith(base):
            kwargs["headers"] = {**extra, **(kwargs.get("headers") or {})}
        return http(method, url, **kwargs)

    status, health = request("GET", f"{base}/health")
    expect(status == 200, f"GET /health → {status} {health}")
    expect(health.get("database") == "reachable", f"database not reachable: {health}")
    done.append(f"health: region={health['region']} role={health['role']}")

    status, _ = request("GET", f"{base}/me")
    expect(status == 401, f"GET /me without a token → {status}, expected 401")
    token = token_source()
    status, me = request("GET", f"{base}/me", token=token)
    expect(status == 200 and me.get("sub"), f"GET /me → {status} {me}")
    done.append("sign-in: token accepted, anonymous refused")

    email = f"smoke-{uuid.uuid4().hex[:12]}@example.com"
    key = str(uuid.uuid4())
    created = []
    for _ in range(2):  # the same idempotency key twice must create one user
        status, accepted = request(
            "POST",
            f"{base}/users",
            token=token,
            body={"name": "Smoke Test", "email": email},
            headers={"Idempotency-Key": key},
        )
        expect(status == 202, f"POST /users → {status} {accepted}")
        created.append(accepted["user_id"])
    expect(created[0] == created[1], f"idempotent retries got different ids: {created}")
    user_id = created[0]
    deadline = time.monotonic() + wait_seconds
    while True:
        status, user = request("GET", f"{base}/users/{user_id}", token=token)
        if status == 200:
            break
        expect(status == 404, f"GET /users/{user_id} → {status} {user}")
        expect(time.monotonic() < deadline, f"user {user_id} not readable after {wait_seconds}s")
        time.sleep(0.5)
    expect(user["email"] == email, f"read back {user}")
    done.append(f"users: created asynchronously and readable ({user_id})")

    prefs = {"theme": "dark", "units": "metric", "smoke": key}
    status, saved = request("PUT", f"{base}/me/preferences", token=token, body=prefs)
    expect(status == 200 and saved["preferences"] == prefs, f"PUT preferences → {status} {saved}")
    status, me = request("GET", f"{base}/me", token=token)
    expect(me["preferences"] == prefs, f"preferences not synced: {me}")
    done.append("preferences: round trip")

    content = b"smoke-test-photo\n"
    status, ticket = request(
        "POST",
        f"{base}/uploads",
        token=token,
        body={"filename": "smoke.txt", "content_type": "text/plain", "size": len(content)},
    )
    expect(status == 201, f"POST /uploads → {status} {ticket}")
    status, _ = request("PUT", ticket["url"], raw=content, headers=ticket["headers"])
    expect(status == 200, f"presigned PUT → {status}")
    status, download = request("GET", f"{base}/uploads/{ticket['id']}", token=token)
    expect(status == 200, f"GET /uploads/{{id}} → {status} {download}")
    status, fetched = request("GET", download["url"])
    fetched_bytes = fetched if isinstance(fetched, bytes) else json.dumps(fetched).encode()
    expect(status == 200 and fetched_bytes == content, f"download → {status}")
    done.append("uploads: presigned PUT and GET")
    return done


def origin_verify_value(secret_name: str, region: str | None) -> str:
    import boto3

    client = boto3.client("secretsmanager", region_name=region)
    return client.get_secret_value(SecretId=secret_name)["SecretString"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base_url")
    parser.add_argument("--local", type=Path, help=".dev/local.json of a running make dev")
    parser.add_argument("--token", help="an ID token to use as is")
    parser.add_argument("--cognito-region")
    parser.add_argument("--client-id", default=os.environ.get("SMOKE_CLIENT_ID"))
    parser.add_argument("--username", default=os.environ.get("SMOKE_USERNAME"))
    parser.add_argument("--password", default=os.environ.get("SMOKE_PASSWORD"))
    parser.add_argument(
        "--origin-verify-secret",
        help="Secrets Manager name of the origin-verify value, sent as X-Origin-Verify",
    )
    parser.add_argument(
        "--api-key",
        default=os.environ.get("SMOKE_API_KEY"),
        help="an app's API key, sent as x-api-key (the global stack's appKeys; --local: web's)",
    )
    parser.add_argument("--wait", type=float, default=30, help="seconds to wait for async writes")
    args = parser.parse_args(argv)

    if args.token:
        token_source = lambda: args.token  # noqa: E731
    elif args.local:
        local = json.loads(args.local.read_text())
        token_source = lambda: sign_in(  # noqa: E731
            local["region"],
            local["client_id"],
            local["demo_email"],
            local["demo_password"],
            local["endpoint"],
        )
    elif args.client_id and args.username and args.password and args.cognito_region:
        token_source = lambda: sign_in(  # noqa: E731
            args.cognito_region, args.client_id, args.username, args.password, None
        )
    else:
        parser.error("give --token, --local, or --cognito-region/--client-id/--username/--password")

    headers = {}
    # R-OPS-2: every secured route needs an app key; it identifies the app, not the caller.
    api_key = args.api_key
    if api_key is None and args.local:
        api_key = json.loads(args.local.read_text()).get("api_keys", {}).get("web")
    if api_key:
        headers[API_KEY_HEADER] = api_key
    if args.origin_verify_secret:
        headers["X-Origin-Verify"] = origin_verify_value(
            args.origin_verify_secret, args.cognito_region
        )
    try:
        for line in run(args.base_url, token_source, wait_seconds=args.wait, api_headers=headers):
            print(f"ok  {line}")
    except SmokeFailure as failure:
        print(f"FAIL {failure}", file=sys.stderr)
        return 1
    print("smoke: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
