"""The web app end to end in headless Chromium against the local backend (`make dev`):
sign-in through Cognito's JSON API, users created asynchronously, preferences, a presigned
photo upload with progress, and the API's and Cognito's errors shown to the person."""

from __future__ import annotations

import base64
import json
import re
import time
import uuid

from playwright.sync_api import expect

from local.cloud import DemoUser, client
from local.cloud import sign_in as sign_in_with_boto3
from scripts import smoke

PAGE_SIZE = 10  # web/js/app.js


def sign_in_token(details):
    return sign_in_with_boto3(DemoUser.from_details(details))


def open_app(page, details):
    page.goto(details["web_url"] + "/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def sign_in(page, details, password=None):
    sign_in_as(page, details, details["demo_email"], password or details["demo_password"])


def show_all_users(page):
    """Page through the list (oldest first) until the API says there is no next page."""
    users = page.get_by_role("list", name="Users").get_by_role("listitem")
    expect(users.first).to_be_visible()
    more = page.get_by_role("button", name="Load more")
    while more.is_visible():
        shown = users.count()
        more.click()
        expect(users).not_to_have_count(shown)
    return users


def csp_violations(page):
    return [text for text in page.console_errors if "Content Security Policy" in text]


def test_wrong_password_shows_cognitos_error(local_backend, page):
    sign_in(page, local_backend, password="Wrong-Passw0rd!")
    alert = page.get_by_role("alert")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("NotAuthorizedException")
    expect(page.locator("#app")).to_be_hidden()
    assert page.evaluate("sessionStorage.length") == 0


def test_sign_in_keeps_the_token_in_session_storage_only(local_backend, page):
    sign_in(page, local_backend)
    expect(page.get_by_role("status")).to_have_text(f"Signed in as {local_backend['demo_email']}.")
    expect(page.locator("#me")).to_contain_text(local_backend["demo_email"])
    stored = page.evaluate("Object.values(sessionStorage).join('')")
    assert "idToken" in stored
    assert page.evaluate("localStorage.length") == 0
    assert csp_violations(page) == []
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0


def test_created_user_appears_once_the_asynchronous_write_lands(local_backend, page):
    sign_in(page, local_backend)
    name = f"Ada {uuid.uuid4().hex[:8]}"
    form = page.locator("#create-user-form")
    form.get_by_label("Name").fill(name)
    form.get_by_label("Email").fill(f"{name.split()[1]}@example.com")
    form.get_by_role("button", name="Create user").click()
    expect(page.get_by_role("list", name="Users").get_by_text(name)).to_be_visible()
    expect(page.get_by_role("status")).to_have_text(f"{name} was created.")
    # Listing from the API (a fresh page) shows it too: the write really landed.
    page.reload()
    show_all_users(page)
    expect(page.get_by_role("list", name="Users").get_by_text(name)).to_be_visible()


def test_a_duplicate_address_shows_why_the_create_was_rejected(local_backend, page):
    # GIVEN a user with this address in the demo account's list
    sign_in(page, local_backend)
    email = f"dup-{uuid.uuid4().hex[:8]}@example.com"
    form = page.locator("#create-user-form")
    form.get_by_label("Name").fill("First")
    form.get_by_label("Email").fill(email)
    form.get_by_role("button", name="Create user").click()
    expect(page.get_by_role("status")).to_have_text("First was created.")
    # WHEN the same address is submitted again
    form.get_by_label("Name").fill("Second")
    form.get_by_label("Email").fill(email)
    form.get_by_role("button", name="Create user").click()
    # THEN the page says why the (accepted, asynchronous) create was rejected, on the field
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("This address is already one of your users (email_taken)")
    expect(form.get_by_label("Email")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("list", name="Users").get_by_text("Second")).to_have_count(0)


def test_api_validation_error_is_shown_with_its_field(local_backend, page):
    sign_in(page, local_backend)
    form = page.locator("#create-user-form")
    form.get_by_label("Name").fill("No Email")
    form.get_by_label("Email").fill("not-an-email")
    form.get_by_role("button", name="Create user").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("HTTP 400")
    expect(alert).to_contain_text("email")
    expect(form.get_by_label("Email")).to_have_attribute("aria-invalid", "true")


def test_preference_change_is_saved_and_read_back(local_backend, page):
    sign_in(page, local_backend)
    theme = page.get_by_label("Theme")
    expect(page.locator("#me")).to_contain_text(local_backend["demo_email"])
    choice = "light" if theme.input_value() == "dark" else "dark"
    theme.select_option(choice)
    page.get_by_role("button", name="Save preferences").click()
    expect(page.get_by_role("status")).to_have_text("Preferences saved.")
    page.reload()  # the session survives a reload of the tab; GET /me reads the saved value
    expect(page.locator("#me")).to_contain_text(local_backend["demo_email"])
    expect(page.get_by_label("Theme")).to_have_value(choice)


def test_photo_upload_reaches_100_percent_and_the_object_exists(
    local_backend, page, screenshot_dir
):
    sign_in(page, local_backend)
    content = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64
    page.get_by_label("Photo", exact=True).set_input_files(
        {"name": "photo.png", "mimeType": "image/png", "buffer": content}
    )
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("status")).to_have_text("photo.png uploaded.")
    progress = page.get_by_role("progressbar", name="Upload progress")
    assert progress.evaluate("bar => bar.value") == 100
    expect(page.locator("#upload-percent")).to_have_text("100 %")
    upload_id = page.locator("#upload-result").get_attribute("data-upload-id")
    key = base64.urlsafe_b64decode(upload_id + "=" * (-len(upload_id) % 4)).decode()
    assert re.fullmatch(r"uploads/[^/]+/[0-9a-f-]{36}-photo\.png", key)
    s3 = client("s3", local_backend["endpoint"], local_backend["region"])
    stored = s3.get_object(Bucket=local_backend["assets_bucket"], Key=key)
    assert stored["ContentType"] == "image/png"
    assert stored["Body"].read() == content
    assert csp_violations(page) == []
    # Kept for a person to look at the phone-sized layout (the path is printed once).
    page.screenshot(path=str(screenshot_dir / "phone-signed-in.png"), full_page=True)


def test_users_are_listed_page_by_page(local_backend, page):
    # Enough users for two pages, created through the API as another client would.
    api = local_backend["api_url"]
    token = sign_in_token(local_backend)
    # Another client: its own calls carry an app key, as every app's do (R-OPS-2).
    app_key = {"x-api-key": local_backend["api_keys"]["web"]}
    tag = uuid.uuid4().hex[:6]
    ids = []
    for index in range(PAGE_SIZE + 2):
        status, accepted = smoke.http(
            "POST",
            f"{api}/users",
            token=token,
            body={"name": f"Pager {tag} {index}", "email": f"pager-{tag}-{index}@example.com"},
            headers=app_key,
        )
        assert status == 202, accepted
        ids.append(accepted["user_id"])
    deadline = time.monotonic() + 30
    while smoke.http("GET", f"{api}/users/{ids[-1]}", token=token, headers=app_key)[0] != 200:
        assert time.monotonic() < deadline, "seeded users never landed"
        time.sleep(0.2)

    sign_in(page, local_backend)
    users = page.get_by_role("list", name="Users").get_by_role("listitem")
    expect(users).to_have_count(PAGE_SIZE)
    show_all_users(page)
    ids_shown = users.evaluate_all("items => items.map(item => item.dataset.userId)")
    assert len(ids_shown) == len(set(ids_shown)) >= PAGE_SIZE + 2
    assert set(ids) <= set(ids_shown)


def new_pool_user(details, *, permanent_password: str | None, temporary_password: str) -> str:
    """A user in the local pool: with a permanent password, or still on a temporary one."""
    idp = client("cognito-idp", details["endpoint"], details["region"])
    email = f"web-{uuid.uuid4().hex[:10]}@example.com"
    idp.admin_create_user(
        UserPoolId=details["user_pool_id"],
        Username=email,
        TemporaryPassword=temporary_password,
        MessageAction="SUPPRESS",
        UserAttributes=[
            {"Name": "email", "Value": email},
            {"Name": "email_verified", "Value": "true"},
        ],
    )
    if permanent_password:
        idp.admin_set_user_password(
            UserPoolId=details["user_pool_id"],
            Username=email,
            Password=permanent_password,
            Permanent=True,
        )
    return email


def sign_in_as(page, details, email: str, password: str):
    open_app(page, details)
    form = page.locator("#signin-form")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password").fill(password)
    form.get_by_role("button", name="Sign in").click()


def test_an_account_with_totp_mfa_is_asked_for_its_code(local_backend, page):
    # GIVEN a user who turned on an authenticator app (TOTP)
    password = "Mfa-User-Passw0rd!"
    email = new_pool_user(local_backend, permanent_password=password, temporary_password=password)
    idp = client("cognito-idp", local_backend["endpoint"], local_backend["region"])
    access = idp.initiate_auth(
        ClientId=local_backend["client_id"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": password},
    )["AuthenticationResult"]["AccessToken"]
    idp.associate_software_token(AccessToken=access)
    idp.verify_software_token(AccessToken=access, UserCode="123456")
    idp.set_user_mfa_preference(
        AccessToken=access, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True}
    )
    # WHEN they sign in with the password
    sign_in_as(page, local_backend, email, password)
    # THEN the app asks for the code (not an error), and the code completes the sign-in
    code = page.get_by_label("Authentication code")
    expect(code).to_be_visible()
    expect(page.get_by_role("alert")).to_be_hidden()
    expect(page.locator("#signin-form")).to_be_hidden()
    assert page.evaluate("sessionStorage.length") == 0  # nothing stored before the code
    code.fill("123456")
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#who")).to_have_text(email)
    assert (
        json.loads(page.evaluate("sessionStorage.getItem('mobile-backend.session')"))["email"]
        == email
    )
    assert csp_violations(page) == []


def test_an_account_on_a_temporary_password_sets_a_new_one(local_backend, page):
    # GIVEN an account an administrator created with a temporary password
    email = new_pool_user(
        local_backend, permanent_password=None, temporary_password="Temp-Passw0rd-123!"
    )
    # WHEN its owner signs in with it THEN the app asks for a new password and signs them in
    sign_in_as(page, local_backend, email, "Temp-Passw0rd-123!")
    new_password = page.get_by_label("New password")
    expect(new_password).to_be_visible()
    new_password.fill("Brand-New-Passw0rd-456!")
    page.get_by_role("button", name="Set password").click()
    # Signed in: the app and the caller's own profile load. (The shown name is not checked:
    # the emulator copies the challenge's internal USERNAME into the token's email claim.)
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#new-password-form")).to_be_hidden()
    expect(page.get_by_role("status")).to_contain_text("Signed in as")
    assert page.evaluate("sessionStorage.getItem('mobile-backend.session')")
    # AND signing out shows the password form again, not the challenge
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#signin-form")).to_be_visible()
    expect(page.locator("#new-password-form")).to_be_hidden()
