"""Every demo account signs in through the real login page and sees its own home page."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)

HOMES = {
    # Partners chose French in the demo: their heading is checked by organisation name.
    "partner": ("Directorate-General for Migration", "my-requests"),
    "partner2": ("National Migration Agency", "my-requests"),
    "staff": ("Programme home", "triage-queue"),
    "approver": ("Programme home", "approval-queue"),
    "expert": ("My missions", "my-invitations"),  # the demo holds an open invitation
    "evaluator": ("My evaluations", "assigned-actions"),
    "admin": ("Programme home", "triage-queue"),
}


@pytest.fixture
def demo(db):
    call_command("seed_demo", quiet=True)


def test_it_signs_each_demo_role_in_to_its_home_page(page, demo):
    for username, (heading, section) in HOMES.items():
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill("cbportal-demo")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/")
        page.context.clear_cookies()  # the partner's French preference must not follow
        assert heading in page.get_by_test_id("home-heading").inner_text(), username
        assert page.get_by_test_id(section).is_visible(), username
        # Computed style proves the stylesheet was served locally (no CDN).
        assert page.eval_on_selector("nav.navbar", "el => getComputedStyle(el).display") == "flex"
        screenshot(page, f"home-{username}")
        page.goto("/accounts/login/")


def test_a_wrong_password_is_explained_on_the_page(page, demo):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("staff")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    assert (
        page.get_by_role("alert")
        .first.inner_text()
        .startswith("The username and password do not match")
    )
