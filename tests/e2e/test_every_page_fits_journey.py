"""Every page the demo's people can reach fits a phone (issue 19): the demo is seeded into
a portal of its own, and each person's pages are walked from the header and from the pages
it links to. At 1280 px, assert_accessible on each: axe, control contrast, no sideways page
scroll, the header on one row; at 320 px, no sideways scroll. A page pattern one person's
walk checked is not checked again for the next. Wide grids scroll inside
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


# Page patterns checked by an earlier person's walk in this module.
CHECKED: set[str] = set()


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
def test_every_page_fits_at_320_and_1280(browser, demo_portal, assert_accessible, who):
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
            # A page another person's walk already checked is not checked again (their
            # pages differ in the header only, and each walk checks its own home page).
            if path != "/" and _pattern(path) in CHECKED:
                continue
            assert_accessible(page)
            # At 320 px, the narrowest width WCAG reflow asks for (the journeys run axe at
            # 375): nothing sideways, and every scrolling region named and reachable by
            # keyboard. The same page, narrowed (its resize handlers run before the next
            # animation frame), then widened again for the walk.
            page.set_viewport_size({"width": 320, "height": 800})
            page.evaluate("() => new Promise((done) => requestAnimationFrame(() => done()))")
            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= 320, f"{path} is {wide} px wide at 320 px"
            for region in page.locator(".table-responsive").all():
                if region.evaluate("el => el.scrollWidth > el.clientWidth"):
                    assert region.get_attribute("tabindex") == "0", path
                    assert region.get_attribute("aria-label") or region.get_attribute(
                        "aria-labelledby"
                    ), path
            page.set_viewport_size({"width": 1280, "height": 800})
        assert len(paths) > 5, paths
        CHECKED.update(_pattern(path) for path in paths)
    finally:
        context.close()
