"""Fixtures for the browser tests: the local backend (as `make dev` runs it) and headless
Chromium from Debian's package driven by Playwright, with a screenshot of every failed test."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.local.dev_process import running_local_backend

CHROMIUM = "/usr/bin/chromium"
# Debian's build, never a Playwright download (there is none here); flags keep it offline,
# quiet and reproducible.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.failed_call = report.failed


@pytest.fixture(scope="session")
def screenshot_dir():
    path = Path(tempfile.mkdtemp(prefix="web-screenshots-"))
    print(f"\nbrowser screenshots: {path}")
    return path


@pytest.fixture(scope="module")
def local_backend(tmp_path_factory):
    """`python -m local --port 0` in a temp workdir; its local.json; stopped with SIGINT."""
    with running_local_backend(tmp_path_factory.mktemp("web-dev")) as (_, details):
        yield details


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory):
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport=PHONE,
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
        )
        context.set_default_timeout(15_000)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser_context, request, screenshot_dir):
    """A fresh tab; its console errors collected in ``page.console_errors``."""
    tab = browser_context.new_page()
    tab.console_errors = []
    tab.on("console", lambda m: m.type == "error" and tab.console_errors.append(m.text))
    yield tab
    if getattr(request.node, "failed_call", False):
        shot = screenshot_dir / f"{request.node.name}.png"
        tab.screenshot(path=str(shot), full_page=True)
        print(f"screenshot of the failure: {shot}")
    tab.close()
