"""Locators the end-to-end journeys share: found by role and accessible name, as a
screen-reader user would find them."""

from __future__ import annotations

from playwright.sync_api import Page


def main_nav(page: Page):
    return page.get_by_role("navigation", name="Main navigation")


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
