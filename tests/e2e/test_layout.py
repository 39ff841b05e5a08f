"""The header fits a laptop screen for every role, and the staff's administration menu
works with the keyboard."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from tests.e2e.accessibility import tab_to

pytestmark = pytest.mark.django_db(transaction=True)

ROLES = ("partner", "partner2", "staff", "approver", "expert", "evaluator", "admin")
OVERFLOW = """() => [...document.querySelectorAll('body *')]
  .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1)
  .slice(0, 5).map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
                  + '.' + [...el.classList].join('.'))"""


def sign_in(page: Any, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("cbportal-demo")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")


def test_it_fits_every_roles_pages_in_a_laptop_screen(browser, live_server):
    call_command("seed_demo", quiet=True)
    for width in (1024, 1280, 1440):
        context = browser.new_context(
            base_url=live_server.url, locale="en-GB", viewport={"width": width, "height": 800}
        )
        page = context.new_page()
        for username in ROLES:
            sign_in(page, username)
            wide = page.evaluate(OVERFLOW)
            assert not wide, f"{username} at {width} px: wider than the window: {wide}"
            page.context.clear_cookies()
        context.close()


def test_staff_reach_the_email_delivery_page_from_the_menu_with_the_keyboard(browser, live_server):
    call_command("seed_demo", quiet=True)
    context = browser.new_context(base_url=live_server.url, locale="en-GB")
    page = context.new_page()
    sign_in(page, "staff")
    menu = page.get_by_role("button", name="Administration")
    expect(menu).to_have_attribute("aria-expanded", "false")
    tab_to(page, menu, "the Administration menu")
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("aria-expanded", "true")
    delivery = page.get_by_role("link", name="Email delivery")
    for _ in range(5):
        page.keyboard.press("ArrowDown")
        if delivery.evaluate("el => el === document.activeElement"):
            break
    else:
        pytest.fail("the arrow keys never reached Email delivery")
    page.keyboard.press("Enter")
    page.wait_for_url("**/notifications/outbox/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Email delivery")
    # The menu's button shows where the user is.
    expect(page.get_by_role("button", name="Administration")).to_have_class(
        "nav-link dropdown-toggle active"
    )
    context.close()


def test_without_javascript_the_menus_show_their_links(browser, live_server):
    """The phone menu and the Administration menu open with Bootstrap's script; a browser
    without JavaScript shows their links as plain lists."""
    call_command("seed_demo", quiet=True)
    context = browser.new_context(
        base_url=live_server.url,
        locale="en-GB",
        java_script_enabled=False,
        viewport={"width": 375, "height": 812},
    )
    page = context.new_page()
    sign_in(page, "staff")
    delivery = page.get_by_role("link", name="Email delivery")
    expect(delivery).to_be_visible()
    delivery.click()
    page.wait_for_url("**/notifications/outbox/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Email delivery")
    context.close()
