"""Locators the end-to-end journeys share: found by role and accessible name, as a
screen-reader user would find them."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect


def main_nav(page: Page):
    return page.get_by_role("navigation", name="Main navigation")


def nav_link(page: Page, name, exact: bool = False):
    """A link of the header's navigation, after opening the menu that holds it (the staff
    areas are grouped into menus: Programme, Audit, Admin...)."""
    nav = main_nav(page)
    inner = page.get_by_role("link", name=name, exact=exact, include_hidden=True)
    menu = nav.locator("li.nav-menu").filter(has=inner)
    if menu.count():
        button = menu.first.get_by_role("button")
        # A click before app.js has wired the button does nothing, and app.js then closes
        # the menu: wait until the button is a disclosure.
        expect(button).to_have_class(re.compile(r"\bdisclosure-ready\b"))
        if button.get_attribute("aria-expanded") != "true":
            button.click()
    return nav.get_by_role("link", name=name, exact=exact)


def flash(page: Page, text: str):
    """The flashed message (a status region) that says `text`."""
    return page.get_by_role("status").filter(has_text=text)


def error_summary(page: Page):
    """The form's error summary (an alert headed "There is a problem")."""
    return page.get_by_role("alert").filter(has_text="There is a problem")


def requirement(page: Page, title: str):
    """One requirement in the organisation's readiness panel."""
    panel = page.get_by_role("region", name="Readiness requirements")
    return panel.locator("li.requirement").filter(has_text=title)


def org_tab(page: Page, org_name: str, label: str):
    """One of an organisation's section links: the tabs from 768 px, the "Sections" list
    below. Read once the page has loaded, when its styles show one of the two, not both."""
    page.wait_for_load_state("load")
    return page.get_by_role("navigation", name=org_name).get_by_role("link", name=label, exact=True)
