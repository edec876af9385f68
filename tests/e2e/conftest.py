"""End-to-end fixtures: the real app served over HTTP, driven by Debian's Chromium.

The app runs with CSRF protection ON, on a database of its own (SQLite, or PostgreSQL
when TEST_DATABASE_URL is set), built by the real migrations. Playwright's `base_url`
points at it, so tests can `page.goto("/account/login")`.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests import dbutil
from tests.conftest import PASSWORD, build_app

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def pytest_collection_modifyitems(config, items):
    """Every test in this folder is an end-to-end test."""
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here + os.sep):
            item.add_marker(pytest.mark.e2e)


# Headless, Debian's chromium-headless-shell: the same Chromium (Blink, V8, the same
# version) without the desktop browser around it, which is what Playwright itself runs
# headless. A page costs about a fifth less CPU there and a new context a third.
HEADLESS_SHELL = "/usr/bin/chromium-headless-shell"


def chromium_path(headless: bool) -> str:
    """CHROMIUM_PATH if set; else the headless shell when headless and installed; else
    Debian's chromium (needed for --headed)."""
    if os.environ.get("CHROMIUM_PATH"):
        return os.environ["CHROMIUM_PATH"]
    if headless and os.path.exists(HEADLESS_SHELL):
        return HEADLESS_SHELL
    return "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": chromium_path(browser_type_launch_args.get("headless", True)),
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="session")
def live_app(instance_dir, tmp_path_factory):
    """The app served by a real HTTP server in a daemon thread; `.live_url` is its address."""
    url = dbutil.fresh_database("e2e", tmp_path_factory.mktemp("e2e"))
    # The shipped curriculum, so the journeys read the real lessons (and axe checks them).
    content = os.path.join(os.path.dirname(__file__), "..", "..", "modules")
    # Mail is delivered at the commit, so a journey reads it as soon as the page has answered.
    app = build_app(
        url,
        WTF_CSRF_ENABLED=True,
        CONTENT_DIR=os.path.abspath(content),
        JOBS_INLINE_AT_COMMIT=True,
    )
    dbutil.upgrade(app)

    with served(app):
        yield app
    dbutil.drop_database(url)


@contextmanager
def served(app):
    """Serve `app` over HTTP from a daemon thread; `app.live_url` (and PUBLIC_BASE_URL) is
    its address. Afterwards the server stops and the app's connections close."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.config["PUBLIC_BASE_URL"] = app.live_url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    try:
        yield app
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        from app.extensions import db

        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="session")
def base_url(live_app):
    return live_app.live_url


# --- the access log holds no secret -----------------------------------------------------


class _Lines(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture(scope="session")
def access_log():
    """Every line the servers' access log (werkzeug's logger) writes during the e2e run."""
    logger = logging.getLogger("werkzeug")
    handler = _Lines()
    logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > logging.INFO:
        logger.setLevel(logging.INFO)
    yield handler.lines
    logger.removeHandler(handler)


def _secret_prefixes() -> list[str]:
    """The fixed part before the secret of each route that carries one, as every app built
    in this run declared them: "/account/reset-password/", "/verify/"…"""
    from app.core.logs import SECRET_ARGUMENTS, secret_rules

    names = "|".join(SECRET_ARGUMENTS)
    return sorted({re.split(rf"<(?:[a-z_]+:)?(?:{names})>", rule)[0] for rule in secret_rules()})


@pytest.fixture(autouse=True)
def _no_secret_in_the_access_log(access_log):
    """After each journey: every path in the access log that carries a token or a code
    shows "[redacted]" where the secret was."""
    start = len(access_log)
    yield
    if not access_log[start:]:
        return
    prefixes = _secret_prefixes()
    leaks = [
        line
        for line in access_log[start:]
        for prefix in prefixes
        for after in re.findall(re.escape(prefix) + r"([^\s\"?]*)", line)
        if after and not after.startswith("[redacted]")
    ]
    assert leaks == [], "secrets in the access log:\n" + "\n".join(leaks[:5])


# --- helpers ---------------------------------------------------------------------------

_counter = itertools.count(1)


@pytest.fixture
def unique_email():
    """unique_email("admin") -> an address no other test uses."""

    def make(prefix: str = "person") -> str:
        return f"{prefix}-{next(_counter)}-{uuid.uuid4().hex[:8]}@example.org"

    return make


@pytest.fixture
def create_account(live_app, unique_email):
    """create_account(roles=("admin",)) -> (email, name, password), committed directly."""
    from app.auth import services
    from app.extensions import db

    def make(roles=("applicant",), email=None, name=None, password=PASSWORD):
        n = next(_counter)
        email = email or unique_email(roles[0] if roles else "person")
        name = name or f"E2E Person {n}"
        with live_app.app_context():
            services.create_user(email=email, name=name, password=password, roles=set(roles))
            db.session.commit()
            db.session.remove()
        return email, name, password

    return make


@pytest.fixture
def users_with_email(live_app):
    """users_with_email(address) -> list of (email, name) stored for that address."""
    from sqlalchemy import select

    from app.auth.models import User
    from app.extensions import db

    def find(email: str) -> list[tuple[str, str]]:
        with live_app.app_context():
            rows = db.session.execute(
                select(User.email, User.name).where(User.email == email.strip().lower())
            ).all()
            db.session.remove()
        return [tuple(row) for row in rows]

    return find


@pytest.fixture
def emails_to(live_app):
    """emails_to(address) -> messages the development mail backend kept for that address."""
    from app.core.mail import outbox

    def find(address: str) -> list:
        with live_app.app_context():
            return [message for message in outbox() if address in message.to]

    return find


@pytest.fixture
def confirmation_link(emails_to):
    """confirmation_link(address) -> the newest email-confirmation link sent to it (a new
    registration must confirm its address before it sees any organisation)."""

    def find(address: str) -> str:
        for message in reversed(emails_to(address)):
            match = re.search(r"(http://\S+/account/verify-email/\S+)", message.body)
            if match:
                return match.group(1)
        raise AssertionError(f"no confirmation link was emailed to {address}")

    return find


_ALREADY_CLEAN: set[str] = set()
# axe.run with every rule, as axe-playwright-python runs it, bringing back only the
# violations: the rest of the result (every rule that passed or did not apply) is most of
# what crosses from the page to the test, and nothing here reads it.
_AXE_RUN = "axe.run({resultTypes: ['violations']}).then(results => results.violations)"


def _axe_violations(page) -> list:
    """axe-core's violations on the page as it is now (injected once per document)."""
    from axe_playwright_python.base import AXE_SCRIPT

    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SCRIPT)
    return page.evaluate(_AXE_RUN)


# Borders and focus indicators of form controls, measured: axe does not check them.
_CONTROL_CONTRAST = (Path(__file__).parent / "control_contrast.js").read_text()


def _check_controls(page) -> None:
    weak = page.evaluate(_CONTROL_CONTRAST)
    assert weak == [], f"form controls under 3:1 on {page.url}: {weak}"


# The page fits its viewport (no sideways page scroll) and, from 1200 px, the header's
# navigation keeps to one row. Reports what is wider than the viewport, to find the culprit.
_LAYOUT = """() => {
  const width = window.innerWidth;
  const root = document.documentElement;
  const result = {width, scrollWidth: root.scrollWidth, wide: [], rows: 1};
  if (root.scrollWidth > width) {
    for (const el of document.body.querySelectorAll("*")) {
      const box = el.getBoundingClientRect();
      if (box.right > width + 1 && box.width > 0 && !el.closest("[hidden]")) {
        result.wide.push(`${el.tagName.toLowerCase()}.${el.className}`.slice(0, 80));
        if (result.wide.length > 5) break;
      }
    }
  }
  const items = [...document.querySelectorAll(".site-header .navbar-nav > .nav-item")]
    .filter((li) => li.offsetParent !== null);
  const tops = items.map((li) => li.getBoundingClientRect().top).sort((a, b) => a - b);
  result.rows = tops.length ? 1 : 0;
  for (let i = 1; i < tops.length; i += 1) if (tops[i] - tops[i - 1] > 8) result.rows += 1;
  return result;
}"""


def _check_layout(page) -> None:
    layout = page.evaluate(_LAYOUT)
    assert layout["scrollWidth"] <= layout["width"], (
        f"{page.url} scrolls sideways at {layout['width']} px: {layout['scrollWidth']} px wide; "
        f"wider elements: {layout['wide']}"
    )
    if layout["width"] >= 1200:
        assert layout["rows"] == 1, (
            f"the header navigation takes {layout['rows']} rows on {page.url} at "
            f"{layout['width']} px"
        )


# What axe's verdict on a page depends on, and what it does not: its rules read elements,
# attributes, styles and whether an element has text, not which words or numbers it
# holds. The same template shown to another person, or for another organisation, has been
# checked already. E2E_AXE_EVERY_PAGE=1 checks every
# page as it is (the exact markup) instead.
_TEXT = re.compile(r">([^<]*\S[^<]*)<")
_NUMBERED = re.compile(
    r'(\s(?:href|action|src|id|for|name|value|aria-[a-z]+|data-[a-z-]+)=")([^"]*)"'
)


def _page_pattern(markup: str) -> str:
    markup = re.sub(r'name="csrf_token"[^>]*value="[^"]*"', 'name="csrf_token"', markup)
    if os.environ.get("E2E_AXE_EVERY_PAGE"):
        return markup
    markup = _TEXT.sub(">T<", markup)
    return _NUMBERED.sub(lambda m: m.group(1) + re.sub(r"\d+", "0", m.group(2)) + '"', markup)


def _check_accessible(page) -> None:
    """The page as it is now: no sideways scroll, controls at 3:1, and no axe-core
    violation. axe (the costly part) skips a page whose pattern (its markup less the words
    and numbers: see _page_pattern) and viewport were already found clean in this run: a
    journey passes the same pages many times, for different people."""
    import hashlib

    from axe_playwright_python.base import AxeResults

    page.wait_for_load_state("load")
    # After a viewport change the page's resize handlers (app.js makes a table that now
    # scrolls a tab stop) run at the next rendering step, before animation frames: wait one.
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => done()))")
    # Layout and control contrast are cheap, and a longer name can push a page wider:
    # measured on every page.
    _check_layout(page)
    _check_controls(page)
    pattern = _page_pattern(page.content())
    fingerprint = hashlib.sha256(f"{page.viewport_size}\n{pattern}".encode()).hexdigest()
    if fingerprint in _ALREADY_CLEAN:
        return
    violations = _axe_violations(page)
    assert not violations, (
        f"axe found accessibility violations on {page.url}:\n"
        f"{AxeResults({'violations': violations}).generate_report()}"
    )
    _ALREADY_CLEAN.add(fingerprint)


@pytest.fixture
def assert_accessible():
    """assert_accessible(page): axe-core finds no violations on the page as it is now, form
    controls and focus rings measure 3:1, the page does not scroll sideways and (from 1200
    px) the header navigation is on one row."""
    return _check_accessible
