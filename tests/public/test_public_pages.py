"""The pages a public service owes (privacy, accessibility, contact, help), the favicon,
and the benchmarks' `/hello`, which exists only where a setting asks for it."""

from __future__ import annotations

import re

import pytest

from tests.conftest import build_app

PAGES = {
    "/privacy": "Privacy notice",
    "/accessibility": "Accessibility statement",
    "/contact": "Contact us",
    "/help": "Help",
}


@pytest.mark.parametrize(("path", "title"), PAGES.items())
def test_each_public_page_is_read_from_its_markdown_file(client, path, title):
    response = client.get(path)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'<h1 class="h2" id="page-heading">{title}</h1>' in html
    # Second-level headings get ids, so a part of a page can be linked to.
    assert '<h2 id="a-part-of-the-page">' in html
    assert '<meta name="description" content="Test fixture:' in html


def test_the_footer_links_every_public_page_and_each_page_is_in_the_sitemap(client):
    html = client.get("/").get_data(as_text=True)
    footer = html[html.index("<footer") :]
    for path in PAGES:
        assert f'href="{path}"' in footer
    assert 'href="/verify"' in footer
    sitemap = client.get("/sitemap.xml").get_data(as_text=True)
    for path in PAGES:
        assert f"http://localhost{path}</loc>" in sitemap


def test_every_page_links_a_favicon_that_is_served(client):
    html = client.get("/").get_data(as_text=True)
    icon_url = re.search(r'<link rel="icon" href="(/static/favicon\.svg\?v=[0-9a-f]+)"', html)[1]
    icon = client.get(icon_url)
    assert icon.status_code == 200
    assert icon.mimetype == "image/svg+xml"
    assert icon.get_data(as_text=True).startswith("<svg")


def test_hello_is_not_a_page_by_default(client, app):
    assert app.config["HELLO_ROUTE"] is False
    assert "core.hello" not in app.view_functions
    assert client.get("/hello").status_code == 404


def test_hello_is_served_when_the_setting_turns_it_on(database_url):
    app = build_app(database_url, HELLO_ROUTE=True)
    response = app.test_client().get("/hello")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "hello"


def test_the_benchmark_turns_hello_on():
    from pathlib import Path

    source = (Path(__file__).parents[2] / "bench" / "load.py").read_text()
    assert '"HELLO_ROUTE": "1"' in source


def test_the_learn_step_links_to_the_introduction_sessions(client):
    html = client.get("/about").get_data(as_text=True)
    assert 'href="/help#introduction-sessions"' in html


def test_the_shipped_help_page_has_its_introduction_sessions_part(database_url):
    from pathlib import Path

    shipped = Path(__file__).parents[2] / "modules"
    app = build_app(database_url, CONTENT_DIR=str(shipped))
    html = app.test_client().get("/help").get_data(as_text=True)
    assert '<h2 id="introduction-sessions">' in html
    assert "mailto:" in html
