"""End-to-end fixtures: the real app served on 127.0.0.1 in a subprocess, driven by Playwright in Chromium.

The browser is the system's Chromium (Debian's package, `/usr/bin/chromium`), never one downloaded by
Playwright. Without Playwright or Chromium these tests skip with the reason, unless ZHIGU_E2E_REQUIRED=1
(CI sets it), which makes them fail instead.

The server runs `create_app()` from the environment (ZHIGU_DATABASE_URL, ZHIGU_INDEX_DIR, ...) on a temp
SQLite database and index, seeded like `zhigu init-db` + `zhigu demo`, plus users with known passwords
(tests/seeding.py: once per run, in the background, shared with the demo tests). Review before publishing stays
on (the production default), so curators submit and managers approve. Each test process (pytest-xdist worker)
serves its own copy of the seeded archive.

`Session.log_in(role)` logs in through the login form once per role and test process, and gives later
sessions that log-in's cookies (tests/e2e/test_browser.py signs up and logs in through the form too).

Every page a test opens is watched: a console error or an uncaught script error (a Content-Security-Policy
violation is reported as a console error) fails the test.

Screenshots go to a temp directory, or to ZHIGU_E2E_SCREENSHOTS when set (`make screenshots` sets it to
docs/screenshots), so an ordinary test run leaves the tree clean.
"""
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

import seeding
from e2e_config import CHROMIUM, CHROMIUM_ARGS, DESKTOP, PASSWORD, USERS


def _unavailable_reason() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install -e '.[e2e]')"
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set ZHIGU_E2E_CHROMIUM)"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _unavailable_reason()
    if reason is None or os.environ.get("ZHIGU_E2E_REQUIRED") == "1":
        return  # required: the `browser` fixture fails with the reason
    here = Path(__file__).parent
    skip = pytest.mark.skip(reason=f"end-to-end tests skipped: {reason} (ZHIGU_E2E_REQUIRED=1 fails instead)")
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(skip)


def pytest_collection_finish(session):
    """Start seeding as soon as this run is known to have browser tests, so it overlaps the other tests."""
    here = Path(__file__).parent
    if _unavailable_reason() is None and any(here in Path(str(item.fspath)).parents for item in session.items):
        seeding.start_seeding(seeding.seed_directory(session.config))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(request, tmp_path_factory):
    """The app on a free port of 127.0.0.1, over a copy of the seeded database and index: `live_server.url`."""
    seed = seeding.seeded(seeding.seed_directory(request.config))
    root = seeding.copy_archive(seed, tmp_path_factory.mktemp("e2e-server"))
    env = seeding.server_env(root)
    port = _free_port()
    log = open(root / "server.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-c", "from zhigu.cli import main; main()", "run", "--host", "127.0.0.1",
         "--port", str(port), "--no-reload", "--no-debugger", "--with-threads"],
        env=env, cwd=root, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail("the e2e server did not start:\n" + (root / "server.log").read_text(), pytrace=False)
                time.sleep(0.2)
        yield SimpleNamespace(url=url, log=root / "server.log")
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture(scope="session")
def browser():
    reason = _unavailable_reason()
    if reason:
        pytest.fail(f"ZHIGU_E2E_REQUIRED=1 but {reason}", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory):
    target = os.environ.get("ZHIGU_E2E_SCREENSHOTS")
    if target:
        path = Path(target)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("screenshots")


class Session:
    """One browser context (its own cookies) at a base URL, with helpers that go through the pages.

    `logins` holds the cookies of the log-ins made so far, by role, shared by the sessions of a test process.
    """

    def __init__(self, browser, base_url: str, errors: list, logins: dict, viewport=DESKTOP, locale="en-GB",
                 javascript=True):
        self.browser, self.base_url, self.logins = browser, base_url, logins
        self.context = browser.new_context(base_url=base_url, viewport=viewport, locale=locale,
                                           java_script_enabled=javascript)
        self.context.set_default_timeout(15_000)
        self.errors = errors
        self.page = self.new_page()

    def new_page(self):
        page = self.context.new_page()

        documents = set()  # pages opened: an error status of the page itself is the test's to check

        def on_response(response):
            if response.request.resource_type == "document":
                documents.add(response.url)

        def on_console(message):
            if message.type != "error":
                return
            source = (message.location or {}).get("url", "")
            if message.text.startswith("Failed to load resource") and source in documents:
                return
            self.errors.append(f"console error on {page.url}: {message.text} ({source})")

        page.on("response", on_response)
        page.on("console", on_console)
        page.on("pageerror", lambda error: self.errors.append(f"script error on {page.url}: {error}"))
        return page

    def log_in(self, role: str):
        """Log this session in as `role`: the cookies of a log-in through the form, made in a session of its own
        the first time a test process needs the role. They replace this session's cookies (so choose a
        language after logging in). Returns the page, still where it was: go somewhere next."""
        if role not in self.logins:
            first = Session(self.browser, self.base_url, self.errors, self.logins)
            try:
                first.log_in_through_the_form(role)
                self.logins[role] = first.context.cookies()
            finally:
                first.close()
        self.context.clear_cookies()
        self.context.add_cookies(self.logins[role])
        return self.page

    def log_in_through_the_form(self, role: str):
        email = USERS[role][0]
        page = self.page
        page.goto("/login")
        page.locator("#f-email").fill(email)
        page.locator("#f-password").fill(PASSWORD)
        page.locator("main form.form button[type=submit]").click()
        page.wait_for_load_state()
        assert page.locator("nav.site-nav a[href='/profile']").count() == 1, "not logged in"
        return page

    def close(self):
        self.context.close()


@pytest.fixture(scope="session")
def logins():
    """Cookies of the log-ins through the form so far, by role (see Session.log_in)."""
    return {}


@pytest.fixture
def browse(browser, live_server, logins):
    """`browse(viewport=..., locale=..., javascript=...)` → a fresh Session; console and script errors fail the test."""
    errors: list[str] = []
    sessions: list[Session] = []

    def browse(**kwargs) -> Session:
        session = Session(browser, live_server.url, errors, logins, **kwargs)
        sessions.append(session)
        return session

    yield browse
    for session in sessions:
        session.close()
    if errors:
        pytest.fail("the browser reported errors:\n" + "\n".join(errors), pytrace=False)
