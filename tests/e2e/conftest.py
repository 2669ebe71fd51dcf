"""Real-browser tests: headless Debian Chromium, driven by Playwright, against a live Tollgate.

* The browser is the system ``/usr/bin/chromium`` (``apt-get install chromium``), launched once per
  session through pytest-playwright's ``browser`` fixture. Playwright's own browsers are never
  downloaded (no ``playwright install``). ``TOLLGATE_E2E_CHROMIUM`` points at another binary.
* ``live_server`` serves a second app, on the session database, whose public URL, WebAuthn RP id
  and origin are ``http://localhost:<port>``. Browse ``localhost`` (a secure context over plain
  HTTP), never ``127.0.0.1`` (WebAuthn rejects IP origins). ``base_url`` is that URL, so
  ``page.goto("/healthz")`` works.
* Every e2e test uses ``app``, so the root ``_empty_tables`` fixture empties the tables afterwards.
* Failing tests keep a screenshot of every open page (pytest-playwright's ``--screenshot
  only-on-failure``, set in pyproject.toml) under ``test-results/<test>/``; the paths are listed at
  the end of the run. Add ``--tracing retain-on-failure`` for a Playwright trace as well.
* ``virtual_authenticator`` gives the test's ``page`` a CDP virtual platform authenticator
  (passkeys with user verification); ``attach_virtual_authenticator(page)`` does it for other pages.
* The live server's own origin is on its redirect allow-list, and it serves two test-only routes:
  ``/test-callback`` (``live_server.callback_url``), the integrator's page that hosted-page
  redirects land on, and ``/test-vendor/<file>``, the vendored third-party browser code under
  ``tests/e2e/vendor/``.
"""

from __future__ import annotations

import base64
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from authsignal import AuthsignalClient
from flask import Flask, request, send_from_directory
from markupsafe import escape
from playwright.sync_api import BrowserContext, CDPSession, ConsoleMessage, Page
from werkzeug.serving import WSGIRequestHandler, make_server

from app import create_app
from app.extensions import db
from tests.servers import free_port
from tests.smtp_server import MailServer, running_mail_server

E2E_DIR = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("TOLLGATE_E2E_CHROMIUM") or "/usr/bin/chromium"
# Playwright already passes --headless, --no-sandbox, --no-first-run and friends; these are the
# extra flags the proven recipe uses. (An explicit --headless makes pytest's --headed a no-op.)
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
# Fail a stuck step well inside pytest-timeout's 60 s, so the failure screenshot still gets taken.
DEFAULT_TIMEOUT_MS = 10_000


# ------------------------------------------------------------------------------------------------
# Collection: mark e2e tests; refuse to run them without Chromium (rather than skipping them).
# ------------------------------------------------------------------------------------------------
def _is_e2e(item: pytest.Item) -> bool:
    return E2E_DIR in Path(str(item.path)).resolve().parents


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _is_e2e(item):
            item.add_marker(pytest.mark.e2e)  # before -m deselects: `-m "not e2e"` works


def pytest_collection_finish(session: pytest.Session) -> None:
    if any(_is_e2e(item) for item in session.items) and not os.access(CHROMIUM, os.X_OK):
        raise pytest.UsageError(
            f"The browser tests (tests/e2e) need Chromium at {CHROMIUM}, and it is missing.\n"
            "Install it with:  apt-get install -y --no-install-recommends chromium\n"
            "(or set TOLLGATE_E2E_CHROMIUM to a Chromium binary; deselect them with -m 'not e2e')."
        )


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """List the failure screenshots (pytest-playwright records them on the teardown reports)."""
    artifacts = [
        f"{report.nodeid}: {path}"
        for report in terminalreporter.getreports("")
        for name, path in getattr(report, "user_properties", [])
        if isinstance(name, str) and name.startswith("playwright_")
    ]
    if artifacts:
        terminalreporter.write_sep("-", "browser artifacts of failed tests")
        for line in artifacts:
            terminalreporter.write_line(line)


# ------------------------------------------------------------------------------------------------
# Browser
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture
def context(context: BrowserContext) -> BrowserContext:
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    context.set_default_navigation_timeout(DEFAULT_TIMEOUT_MS)
    return context


@pytest.fixture
def browser_errors(page: Page) -> list[str]:
    """Collects what went wrong in ``page`` while the test ran: console errors (CSP violations show up
    here, e.g. "Refused to execute inline script"), uncaught exceptions and HTTP error responses
    (a missing asset, including /favicon.ico on a page that names no icon). Assert
    ``browser_errors == []``; a test that expects an error status filters it out itself."""
    return watch_errors(page)


def watch_errors(page: Page) -> list[str]:
    """What ``browser_errors`` does, for any page (a popup, say): the list fills as things go wrong."""
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"console: {message.text} ({message.location.get('url')})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    page.on("response", lambda r: errors.append(f"HTTP {r.status}: {r.request.method} {r.url}") if r.status >= 400 else None)
    return errors


# ------------------------------------------------------------------------------------------------
# Live server
# ------------------------------------------------------------------------------------------------
class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass

    def connection_dropped(self, error: BaseException, environ: Any = None) -> None:
        """Close the response the browser walked away from.

        When Chromium resets a connection mid-response (a navigation away while a static file is
        still being sent), werkzeug 3.1's dev server raises out of its drain loop before it reaches
        ``application_iter.close()``: the file stays open and its ResourceWarning, turned into an
        error by our ``filterwarnings``, fails whichever test is running when it is collected. The
        response is still referenced from the traceback's frames; close it there. (Production runs
        gunicorn, which closes it.)"""
        frame = error.__traceback__
        while frame is not None:
            response = frame.tb_frame.f_locals.get("application_iter")
            if hasattr(response, "close"):
                response.close()
            frame = frame.tb_next


@dataclass(frozen=True)
class LiveServer:
    url: str  # http://localhost:<port>, no trailing slash
    app: Flask  # the served app (public URL, RP id and origin match ``url``)

    @property
    def api_url(self) -> str:
        return self.url + "/v1"

    @property
    def callback_url(self) -> str:
        """The integrator's page a finished challenge redirects to (allow-listed, answers 200)."""
        return self.url + "/test-callback"


CALLBACK_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Back at the app</title>
<link rel="icon" href="data:,"></head><body><h1>Back at the app</h1><p id="token">{token}</p></body></html>"""


def _add_test_routes(served: Flask) -> None:
    """Test-only pages on the live app, registered before it serves its first request."""

    def test_callback():
        return CALLBACK_PAGE.format(token=escape(request.args.get("token", "")))

    def test_vendor(filename: str):
        return send_from_directory(E2E_DIR / "vendor", filename)

    served.add_url_rule("/test-callback", "test_callback", test_callback)
    served.add_url_rule("/test-vendor/<path:filename>", "test_vendor", test_vendor)


@pytest.fixture(scope="session")
def session_mail_server() -> Iterator[MailServer]:
    """The live server's mail server (aiosmtpd on 127.0.0.1), for the whole session."""
    with running_mail_server() as server:
        yield server


@pytest.fixture
def mail_server(session_mail_server: MailServer) -> MailServer:
    """The live server's mail server, with nothing received yet in this test."""
    session_mail_server.received.clear()
    return session_mail_server


@pytest.fixture(scope="session")
def live_server(app: Flask, app_env: dict[str, str], session_mail_server: MailServer) -> Iterator[LiveServer]:
    # Pick the port first: the app's public URL, RP id and origin must name it.
    port = free_port()
    url = f"http://localhost:{port}"
    served = create_app({
        **app_env,  # same database and keys as ``app`` (whose fixture ran the migrations)
        "TOLLGATE_PUBLIC_URL": url,
        "TOLLGATE_WEBAUTHN_RP_ID": "localhost",
        "TOLLGATE_WEBAUTHN_ORIGINS": url,
        # Its own origin too: redirects land on /test-callback, popups post to an opener page here.
        "TOLLGATE_REDIRECT_ALLOWLIST": f"{app_env['TOLLGATE_REDIRECT_ALLOWLIST']},{url}",
        # Like `make run`: the integrator's webhook receiver runs on 127.0.0.1 beside it.
        "TOLLGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
        "TOLLGATE_SMTP_URL": session_mail_server.url,
        "TOLLGATE_SMTP_FROM": "codes@tollgate.test",
    })
    _add_test_routes(served)
    server = make_server("127.0.0.1", port, served, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="tollgate-e2e-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=url, app=served)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        with served.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def base_url(live_server: LiveServer) -> str:
    return live_server.url


@pytest.fixture(autouse=True)
def _e2e_uses_the_app(app: Flask) -> None:
    """Pulls ``app`` into every e2e test, so the root fixture empties the tables after it."""


# The official browser SDK, @authsignal/browser 1.16.0, on a page of the integrator's.
SDK_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Integrator (browser SDK)</title>
<link rel="icon" href="data:,">
<script src="/test-vendor/authsignal-browser-1.16.0/index.min.js"></script></head><body>
<label for="username">Username</label><input id="username" name="username" autocomplete="username webauthn">
</body></html>"""


@pytest.fixture
def sdk_page(page: Page, live_server: LiveServer, tenant) -> Page:
    """A page of the integrator's, on the live origin, with ``window.client`` an ``Authsignal``."""
    page.route(live_server.url + "/test-sdk", lambda route: route.fulfill(body=SDK_PAGE, content_type="text/html"))
    page.goto("/test-sdk")
    page.evaluate(
        "([tenantId, baseUrl]) => { window.client = new authsignal.Authsignal({tenantId, baseUrl}) }",
        [tenant.id, live_server.api_url],
    )
    return page


def run(page: Page, script: str, arg=None) -> dict:
    """Await an SDK call in the page; its ``{data}`` or ``{error...}`` result comes back as a dict."""
    result = page.evaluate(f"async (arg) => {{ {script} }}", arg)
    assert isinstance(result, dict) and "error" not in result, result
    return result


@pytest.fixture
def sdk(live_server: LiveServer, tenant) -> Iterator[AuthsignalClient]:
    """The official Python SDK with the test tenant's secret key, talking to the live server."""
    client = AuthsignalClient(api_secret_key=tenant.api_key, api_url=live_server.api_url)
    yield client
    client.session.close()


# ------------------------------------------------------------------------------------------------
# WebAuthn: a CDP virtual authenticator (a platform authenticator with user verification)
# ------------------------------------------------------------------------------------------------
def b64_to_b64url(value: str) -> str:
    """CDP's padded standard base64 (credentialId, userHandle) -> the server's base64url."""
    return base64.urlsafe_b64encode(base64.b64decode(value)).rstrip(b"=").decode()


@dataclass
class VirtualAuthenticator:
    cdp: CDPSession
    authenticator_id: str

    def _send(self, method: str, **params: Any) -> dict:
        return self.cdp.send(f"WebAuthn.{method}", {"authenticatorId": self.authenticator_id, **params})

    def set_user_verified(self, verified: bool) -> None:
        """``False``: the next ceremony that requires user verification fails with NotAllowedError."""
        self._send("setUserVerified", isUserVerified=verified)

    def set_presence(self, present: bool) -> None:
        """``False``: ceremonies stay pending (no simulated touch), until set back to ``True``."""
        self._send("setAutomaticPresenceSimulation", enabled=present)

    def credentials(self) -> list[dict]:
        """CDP's credentials: credentialId, userHandle, privateKey are padded standard base64."""
        return self._send("getCredentials")["credentials"]

    def credential_ids(self) -> list[str]:
        """The stored credential ids as base64url, the way the server stores them."""
        return [b64_to_b64url(c["credentialId"]) for c in self.credentials()]

    def add_credential(self, credential: dict) -> None:
        """Seed a passkey (CDP ``WebAuthn.Credential``: credentialId, isResidentCredential, rpId, ...)."""
        self._send("addCredential", credential={"rpId": "localhost", "isResidentCredential": True, **credential})

    def remove_credential(self, cdp_credential_id: str) -> None:
        self._send("removeCredential", credentialId=cdp_credential_id)

    def clear(self) -> None:
        self._send("clearCredentials")


def attach_virtual_authenticator(page: Page, *, synced: bool = False) -> VirtualAuthenticator:
    """Attach a fresh authenticator to ``page`` (authenticators belong to one page; re-attach for
    popups, new tabs and new contexts). Attach it before the page calls ``navigator.credentials``:
    without one, ``create()``/``get()`` hang until the WebAuthn timeout. ``synced``: its passkeys
    say they may be and are backed up (the BE and BS flags), like a cloud password manager's."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    response = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": True,
        "hasUserVerification": True,
        "isUserVerified": True,
        "automaticPresenceSimulation": True,
        **({"defaultBackupEligibility": True, "defaultBackupState": True} if synced else {}),
    }})
    return VirtualAuthenticator(cdp=cdp, authenticator_id=response["authenticatorId"])


@pytest.fixture
def virtual_authenticator(page: Page) -> VirtualAuthenticator:
    return attach_virtual_authenticator(page)


# ------------------------------------------------------------------------------------------------
# Console: an admin signed in through the real login page; screenshots at two viewport sizes
# ------------------------------------------------------------------------------------------------
CONSOLE_PASSWORD = "correct horse battery staple"
# Desktop and phone (the two sizes); the phone one must not scroll sideways.
SCREEN_SIZES = ({"width": 1280, "height": 800}, {"width": 390, "height": 844})


@dataclass(frozen=True)
class ConsoleAccount:
    id: str
    email: str
    password: str


def make_console_account(live_server: LiveServer, tenant_id: str, email: str, role: str = "admin") -> ConsoleAccount:
    """A console user in the shared database (the same service the CLI and the team page use)."""
    from app.services.console.console_users import create_console_user

    with live_server.app.app_context():
        user = create_console_user(tenant_id, email=email, password=CONSOLE_PASSWORD, role=role,
                                   settings=live_server.app.config["TOLLGATE"])
        return ConsoleAccount(id=user.id, email=email, password=CONSOLE_PASSWORD)


def fill_console_login(page: Page, account: ConsoleAccount) -> None:
    """The real sign-in form, submitted; where it lands (console, or the passkey step) is the caller's."""
    page.goto("/auth/login")
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()


@pytest.fixture
def console_admin(page: Page, live_server: LiveServer, tenant) -> ConsoleAccount:
    """An admin of the test tenant, signed in on ``page`` through /auth/login (lands on the Overview)."""
    account = make_console_account(live_server, tenant.id, "e2e-admin@example.com")
    fill_console_login(page, account)
    page.wait_for_url(f"{live_server.url}/console/overview")
    return account


# The page's widths, and the outermost elements that stick out to the right (to name the culprit).
_LAYOUT_JS = """() => {
  const limit = window.innerWidth, wide = [];
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.right > limit + 0.5 && !(el.parentElement && el.parentElement.getBoundingClientRect().right > limit + 0.5)) {
      const names = typeof el.className === "string" ? el.className.trim() : "";
      const classes = names ? "." + names.split(/\\s+/).join(".") : "";
      wide.push(`${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}${classes} (right ${Math.round(box.right)})`);
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: limit, wide: wide.slice(0, 10)};
}"""


@pytest.fixture
def screenshot(pytestconfig: pytest.Config) -> Callable[[Page, str], list[Path]]:
    """``screenshot(page, name)``: see :func:`take_screenshots`; the folder is ``screenshots/`` under
    pytest-playwright's ``--output`` (``test-results/``, which it empties when a run starts)."""
    folder = Path(pytestconfig.getoption("--output")).absolute() / "screenshots"
    return lambda page, name: take_screenshots(page, name, folder=folder)


def take_screenshots(page: Page, name: str, *, folder: Path) -> list[Path]:
    """Full-page screenshots of what ``page`` shows, at 1280×800 and 390×844, saved as
    ``<folder>/<name>-<width>.png``; at 390 px the page must not scroll sideways.
    The viewport goes back to its previous size afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    before = page.viewport_size
    paths = []
    try:
        for size in SCREEN_SIZES:
            page.set_viewport_size(size)
            layout = page.evaluate(_LAYOUT_JS)
            path = folder / f"{name}-{size['width']}.png"
            page.screenshot(path=str(path), full_page=True, animations="disabled")
            paths.append(path)
            if size["width"] < 600:
                assert layout["scrollWidth"] <= layout["innerWidth"], (
                    f"{name}: the page scrolls sideways at {size['width']} px (scrollWidth "
                    f"{layout['scrollWidth']} > innerWidth {layout['innerWidth']}); too wide: {layout['wide']}; see {path}"
                )
    finally:
        if before:
            page.set_viewport_size(before)
    return paths
