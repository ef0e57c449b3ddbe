"""Debian's Chromium, headless, driven by Playwright (the PyPI package, with the system browser:
nothing is downloaded), for the web UI's tests and screenshots."""

import shutil
import tempfile
from contextlib import contextmanager

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_available():
    if not shutil.which("chromium") and not shutil.which("/usr/bin/chromium"):
        return False
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


@contextmanager
def browser_context(viewport=(1280, 800), color_scheme="light"):
    """A fresh Chromium profile (its own --user-data-dir, removed afterwards) and a context of it."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="kevents-chromium-")
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile,
                executable_path=CHROMIUM,
                headless=True,
                args=FLAGS,
                viewport={"width": viewport[0], "height": viewport[1]},
                color_scheme=color_scheme,
            )
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def sign_in(page, hub_url, token, view="#/events"):
    """Opens the UI, enters `token` in the token form (kept in this tab's sessionStorage), and
    goes to `view`."""
    page.goto(f"{hub_url}/ui/")
    if token:
        page.click("#token-button")
        page.fill("#token-input", token)
        page.click("#token-form button[type=submit]")
    open_view(page, hub_url, view)


def open_view(page, hub_url, view):
    """Goes to `view` (a `#/...` link) and waits until it has loaded."""
    if page.url.startswith(f"{hub_url}/ui/"):
        page.evaluate("document.querySelector('main').dataset.ready = ''")
    page.goto(f"{hub_url}/ui/{view}")
    page.wait_for_selector("main[data-ready='1']", timeout=30_000)
