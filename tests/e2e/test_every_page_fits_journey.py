"""Every page the demo's people can reach fits a phone (issue 19): the demo is seeded into
a portal of its own, and each person's pages are walked from the header and from the pages
it links to, at 320, 375 and 1280 px. On each, assert_accessible: axe, control contrast,
no sideways page scroll, and (at 1280 px) the header on one row. Wide grids scroll inside
a focusable, labelled region; every other table reads as cards."""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests import dbutil
from tests.conftest import build_app
from tests.e2e.conftest import served

pytestmark = pytest.mark.e2e

# Downloads, files and feeds are not pages; nothing here posts.
NOT_PAGES = re.compile(
    r"\.(pdf|csv|zip|ics|json|xml|txt)$|/download|/export|/files/|/evidence/\d+|/verify/"
)


@pytest.fixture(scope="module")
def demo_portal(tmp_path_factory):
    from app.demo.services import seed_demo
    from app.extensions import db

    url = dbutil.fresh_database("e2e-demo", tmp_path_factory.mktemp("e2e-demo"))
    content = os.path.join(os.path.dirname(__file__), "..", "..", "modules")
    app = build_app(url, WTF_CSRF_ENABLED=True, CONTENT_DIR=os.path.abspath(content))
    dbutil.upgrade(app)
    with app.test_request_context():
        seed_demo()
        db.session.commit()
        db.session.remove()
    with served(app):
        yield app
    dbutil.drop_database(url)


def _pattern(path: str) -> str:
    """/organisations/12/team and /organisations/13/team are the same page to check."""
    return re.sub(r"/\d+", "/N", path)


def walk(page, limit: int = 24) -> list[str]:
    """Same-site pages linked from the home page and from those it links to."""
    seen: dict[str, str] = {}
    queue = ["/"]
    while queue and len(seen) < limit:
        path = queue.pop(0)
        if _pattern(path) in seen:
            continue
        response = page.goto(path)
        if (
            response is None
            or response.status != 200
            or "text/html" not in (response.headers.get("content-type", ""))
        ):
            continue
        seen[_pattern(path)] = path
        yield path
        origin = urlsplit(page.url)
        for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
            parts = urlsplit(href)
            if parts.netloc != origin.netloc or NOT_PAGES.search(parts.path) or parts.query:
                continue
            if _pattern(parts.path) not in seen:
                queue.append(parts.path)


@pytest.mark.parametrize("who", ["trainer", "auditor", "admin", "lead", "trainee", "visitor"])
def test_every_page_fits_at_320_375_and_1280(browser, demo_portal, assert_accessible, who):
    from app.demo.services import DEMO_DOMAIN, DEMO_PASSWORD

    context = browser.new_context(base_url=demo_portal.live_url)
    page = context.new_page()
    try:
        if who != "visitor":
            page.goto("/account/login")
            page.get_by_label("Email address").fill(f"{who}@{DEMO_DOMAIN}")
            page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
            page.get_by_label("Password", exact=True).press("Enter")
            expect(page).to_have_url(re.compile(r"/$"))
        page.set_viewport_size({"width": 1280, "height": 800})
        paths = []
        for path in walk(page):
            paths.append(path)
            assert_accessible(page)
        assert len(paths) > 5, paths
        for width in (375, 320):
            page.set_viewport_size({"width": width, "height": 800})
            for path in paths:
                page.goto(path)
                assert_accessible(page)
                # A scrolling region can be reached by keyboard and is named.
                for region in page.locator(".table-responsive").all():
                    scrolls = region.evaluate("el => el.scrollWidth > el.clientWidth")
                    if scrolls:
                        assert region.get_attribute("tabindex") == "0", path
                        assert region.get_attribute("aria-label") or region.get_attribute(
                            "aria-labelledby"
                        ), path
    finally:
        context.close()
