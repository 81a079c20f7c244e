"""`make dev` end to end: the dev stack's region starts as `python -m local` does, the smoke
script passes against it, schemathesis fuzzes it from the OpenAPI document (both directions,
every check, two users; tests/api_fuzz.py), another app client's tokens are refused, a
create the database would refuse is a 400 and a duplicate says why, a killed
subscriber is restarted and shown in `/health`, the banner's commands work as printed, a busy
port is named with its fix, and Ctrl-C leaves no process behind (R-DEV-1, R-DEV-2, R-CI-3)."""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest

from contract import names
from local.cloud import DemoUser, client, sign_in
from local.supervisor import read_status
from scripts import smoke
from tests.api_fuzz import FUZZ_SETTINGS, contract_schema, fuzz_as
from tests.local.dev_process import DevProcess, running_local_backend

ROOT = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for every purpose but its exit status.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def dev_backend(tmp_path_factory):
    """`python -m local --port 0` in a temp workdir, stopped with SIGINT (Ctrl-C)."""
    workdir = tmp_path_factory.mktemp("dev")
    with running_local_backend(workdir) as (process, details):
        yield process, details, workdir


def test_the_region_is_the_dev_stacks(dev_backend):
    _, details, workdir = dev_backend
    region = json.loads((workdir / "region.json").read_text())
    assert (details["environment"], details["region"]) == ("dev", "eu-west-1")
    assert region["functions"]["api"]["function_name"] == "mobile-backend-dev-api"
    # The functions run with their stack's environment: the dev stack's topic, not a copy.
    assert region["functions"]["api"]["environment"]["EVENTS_TOPIC_ARN"] == details["topic_arn"]
    assert details["topic_arn"].endswith(":mobile-backend-dev-events")


def test_smoke_script_passes_against_the_local_backend(dev_backend):
    _, details, _ = dev_backend
    user = DemoUser.from_details(details)
    done = smoke.run(
        details["api_url"],
        lambda: sign_in(user),
        wait_seconds=30,
        api_headers={names.API_KEY_HEADER: details["api_keys"]["web"]},
    )
    assert [line.split(":")[0] for line in done] == [
        "health",
        "sign-in",
        "users",
        "preferences",
        "uploads",
    ]


def _banner_command(output: str, starts_with: str) -> list[str]:
    line = next(line.strip() for line in output.splitlines() if starts_with in line)
    command = line[line.index(starts_with) :]
    # TOKEN=$(<command>): the command inside the substitution.
    return shlex.split(command.removesuffix(")") if "$(" in line else command)


def test_the_banners_commands_work_as_printed(dev_backend):
    dev, details, workdir = dev_backend
    # The token command names this run's workdir, and prints a token the API accepts.
    token_command = _banner_command(dev.output, ".venv/bin/python -m local.token")
    assert token_command[-2:] == ["--workdir", str(workdir)]
    token = subprocess.run(
        [sys.executable, *token_command[1:]], cwd=ROOT, capture_output=True, text=True
    )
    assert token.returncode == 0, token.stderr
    # The banner's KEY= line is the web app's key from local.json.
    key_line = next(line for line in dev.output.splitlines() if line.strip().startswith("KEY="))
    assert key_line.strip() == f"KEY={details['api_keys']['web']}"
    me = urllib.request.Request(  # noqa: S310 - loopback
        f"{details['api_url']}/me",
        headers={
            "Authorization": token.stdout.strip(),
            names.API_KEY_HEADER: key_line.split("=")[1],
        },
    )
    with urllib.request.urlopen(me, timeout=10) as response:  # noqa: S310
        assert json.load(response)["email"] == details["demo_email"]
    # The smoke command reads this run's local.json.
    smoke_command = _banner_command(dev.output, ".venv/bin/python scripts/smoke.py")
    assert smoke_command[-2:] == ["--local", str(workdir / "local.json")]


def test_token_without_a_running_backend_says_what_to_do(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "local.token", "--workdir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"{tmp_path / 'local.json'} does not exist" in result.stderr
    assert "make dev" in result.stderr


def test_a_busy_port_is_named_with_its_fix(dev_backend, tmp_path):
    _, details, _ = dev_backend
    busy = int(details["api_url"].rsplit(":", 1)[1])
    dev = DevProcess(tmp_path, "--port", str(busy))
    assert dev.process.wait(timeout=60) == 1
    output = dev.stop()
    assert "Traceback" not in output
    assert f"port {busy} (API) is already in use (address already in use)" in output
    assert "make dev PORT=" in output


def _health(api_url: str) -> tuple[int, dict, str]:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=10) as response:  # noqa: S310
            return response.status, json.load(response), response.headers["X-Local-Processes"]
    except urllib.error.HTTPError as error:
        return error.code, json.load(error), error.headers["X-Local-Processes"]


def test_a_killed_subscriber_is_restarted_and_health_says_so(dev_backend):
    _, details, workdir = dev_backend
    status, body, processes = _health(details["api_url"])
    assert (status, body["status"]) == (200, "ok")
    assert "subscriber=running" in processes
    before = read_status(workdir)["subscriber"]
    os.kill(before["pid"], signal.SIGKILL)
    # WHEN the subscriber dies, /health stops saying ok until it is back
    seen = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status, body, processes = _health(details["api_url"])
        seen.append((status, body["status"], processes))
        now = read_status(workdir)["subscriber"]
        if now["restarts"] == before["restarts"] + 1 and now["state"] == "running":
            break
        time.sleep(0.05)
    else:
        raise AssertionError(f"subscriber not restarted: {read_status(workdir)}")
    after = read_status(workdir)["subscriber"]
    assert after["pid"] != before["pid"] and _alive(after["pid"])
    assert after["last_exit"] == -signal.SIGKILL
    status, body, processes = _health(details["api_url"])
    assert (status, body["status"]) == (200, "ok")
    assert "subscriber=running (restarts: 1)" in processes
    # The restarted worker drains the queue: a write lands.
    user = DemoUser.from_details(details)
    done = smoke.run(
        details["api_url"],
        lambda: sign_in(user),
        wait_seconds=30,
        api_headers={names.API_KEY_HEADER: details["api_keys"]["web"]},
    )
    assert done[2].startswith("users: created asynchronously")


def test_the_queue_clock_of_a_running_backend_can_be_advanced(dev_backend):
    dev, details, workdir = dev_backend
    sqs = client("sqs", details["endpoint"], details["region"])
    # The dead-letter queue: nothing consumes it, and its visibility timeout is AWS's default.
    queue = details["dlq_url"]
    visibility = int(
        sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["VisibilityTimeout"])[
            "Attributes"
        ]["VisibilityTimeout"]
    )
    sqs.send_message(QueueUrl=queue, MessageBody="clock")
    # WaitTimeSeconds=0: the queue long-polls (as synthesized); an empty answer need not wait.
    assert len(sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0).get("Messages", [])) == 1
    assert sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0).get("Messages", []) == []
    advanced = subprocess.run(
        [sys.executable, "-m", "local.clock", str(visibility + 1), "--workdir", str(workdir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert advanced.returncode == 0, advanced.stderr
    (message,) = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0)["Messages"]
    assert message["Body"] == "clock"
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    assert f"queue clock advanced by {visibility + 1:g} s" in dev.output


SECOND_USER = ("second-user@example.com", "Second-Passw0rd!")


def _call(details: dict, method: str, path: str, token: str, body: object = None):
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{details['api_url']}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={
            "Authorization": token,
            "Content-Type": "application/json",
            names.API_KEY_HEADER: details["api_keys"]["web"],
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


@pytest.fixture(scope="module")
def two_users(dev_backend) -> dict[str, str]:
    """The demo user's token and a second account's, from the local pool's web client."""
    _, details, _ = dev_backend
    idp = client("cognito-idp", details["endpoint"], details["region"])
    email, password = SECOND_USER
    idp.admin_create_user(
        UserPoolId=details["user_pool_id"],
        Username=email,
        UserAttributes=[{"Name": "email", "Value": email}],
        MessageAction="SUPPRESS",
    )
    idp.admin_set_user_password(
        UserPoolId=details["user_pool_id"], Username=email, Password=password, Permanent=True
    )
    demo = DemoUser.from_details(details)
    return {"demo": sign_in(demo), "second": sign_in(demo, email, password)}


def test_tokens_of_any_other_client_of_the_pool_are_refused(dev_backend, two_users):
    # R-AUTH-4: a second app client of the very pool the API trusts signs valid ID tokens for
    # the same user; the deployed authorizer (its own process and IAM policy) refuses them.
    _, details, _ = dev_backend
    idp = client("cognito-idp", details["endpoint"], details["region"])
    other = idp.create_user_pool_client(
        UserPoolId=details["user_pool_id"],
        ClientName="reports",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    other_token = sign_in(replace(DemoUser.from_details(details), client_id=other))
    clients = idp.list_user_pool_clients(UserPoolId=details["user_pool_id"], MaxResults=60)
    migration = next(
        c["ClientId"]
        for c in clients["UserPoolClients"]
        if c["ClientName"] == names.MIGRATION_CLIENT_NAME
    )
    migration_token = idp.admin_initiate_auth(
        UserPoolId=details["user_pool_id"],
        ClientId=migration,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": details["demo_email"], "PASSWORD": details["demo_password"]},
    )["AuthenticationResult"]["IdToken"]
    for token in (other_token, migration_token):
        assert _call(details, "GET", "/me", token)[0] == 401
    # The web client's token for the same user still works.
    assert _call(details, "GET", "/me", two_users["demo"])[0] == 200


def test_a_create_the_database_would_refuse_is_400_and_a_duplicate_says_why(dev_backend, two_users):
    _, details, _ = dev_backend
    api = details
    demo, second = two_users["demo"], two_users["second"]
    # A NUL in the name: PostgreSQL refuses it, so the API does, before anything is queued.
    status, body = _call(api, "POST", "/users", demo, {"name": "A\u0000B", "email": "nul@ex.com"})
    assert (status, body["error"]["fields"]) == (400, ["name"])

    def outcome(token: str, email: str) -> dict:
        status, accepted = _call(api, "POST", "/users", token, {"name": "Dup", "email": email})
        assert status == 202
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            _, request = _call(api, "GET", f"/users/requests/{accepted['message_id']}", token)
            if request["status"] != "pending":
                return request
            time.sleep(0.1)
        raise AssertionError("the request stayed pending")

    email = "duplicate@example.com"
    assert outcome(demo, email)["status"] == "created"
    # The same address again in the same account: rejected, and the caller is told why.
    again = outcome(demo, email)
    assert (again["status"], again["reason"], again["user_id"]) == ("rejected", "email_taken", None)
    # Another account with that address: created, exactly as if the first did not exist.
    assert outcome(second, email)["status"] == "created"


schema = contract_schema(coverage=False)


@pytest.fixture(scope="module")
def fuzzing_users(two_users, dev_backend):
    fuzz_as(schema, two_users, api_key=dev_backend[1]["api_keys"]["web"])


@schema.parametrize()
@FUZZ_SETTINGS
def test_document_and_api_agree_with_no_5xx_for_two_users(case, dev_backend, fuzzing_users):
    # tests/api_fuzz.py: positive and negative generation, coverage and fuzzing phases,
    # every check, the second user probing the demo user's objects.
    _, details, _ = dev_backend
    case.call_and_validate(base_url=details["api_url"])


def test_ctrl_c_stops_every_process(dev_backend):
    # Runs last in this module: the fixture's backend is stopped here.
    dev, details, workdir = dev_backend
    pids = [s["pid"] for s in read_status(workdir).values()] + details["child_pids"]
    output = dev.stop()
    assert dev.process.returncode == 0, output
    assert "stopping" in output
    api_port = int(details["api_url"].rsplit(":", 1)[1])
    web_port = int(details["web_url"].rsplit(":", 1)[1])
    final = output.strip().splitlines()[-1]
    assert final.startswith("stopped ") and f"ports {api_port}, {web_port} are free" in final
    assert [pid for pid in pids if _alive(pid)] == []
    moto_port = int(details["endpoint"].rsplit(":", 1)[1])
    assert not _port_open(details["pg_port"]), "PostgreSQL still listening"
    assert not _port_open(moto_port), "moto still listening"
    assert not _port_open(api_port), "API still listening"
    assert not _port_open(web_port), "web app still listening"
