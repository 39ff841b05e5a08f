"""Issue 4's journey in Chromium: from a validated assessment to a running action, then an
amendment approved, co-signed and shown as a diff on the action page."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from actions.models import Action, Activity
from tests.actions.conftest import build_validated_assessment
from tests.e2e.conftest import screenshot
from tests.e2e.test_request_journey import sign_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def approver2(db):
    return UserFactory(username="javier", approver=True, first_name="Javier")


def test_an_action_is_designed_approved_signed_started_and_amended(
    browser, live_server, partner, staff, approver2, settings
):
    # The validated assessment of the requests journey, built through the services.
    assessment = build_validated_assessment(partner, staff)
    request = assessment.request
    start = request.preferred_start

    staff_page = sign_in(browser, live_server, "staff")
    staff_page.goto(assessment.get_absolute_url())
    staff_page.get_by_test_id("design-action").click()
    staff_page.get_by_role("button", name="Create the action").click()
    staff_page.wait_for_url("**/plan/")
    editor = staff_page.get_by_test_id("plan-editor")
    objective = editor.get_by_test_id("objective-add-form")
    objective.get_by_role("textbox", name="Objective").fill("Analysts run the new register")
    objective.get_by_role("checkbox").first.check()
    objective.get_by_role("button", name="Add the objective").click()
    editor.get_by_test_id("objective").first.wait_for()

    editor.get_by_text("Add an activity").click()
    activity = staff_page.get_by_test_id("activity-add-form")
    activity.get_by_label("Type").select_option("training")
    activity.get_by_role("textbox", name="Title").fill("Training of analysts")
    activity.get_by_label("Start").fill((start + timedelta(days=10)).isoformat())
    activity.get_by_label("End", exact=False).first.fill((start + timedelta(days=12)).isoformat())
    activity.get_by_label("Expected participants").fill("15")
    activity.get_by_role("button", name="Add the activity").click()
    staff_page.get_by_test_id("activity").first.wait_for()

    staff_page.get_by_test_id("activity").first.get_by_text("Add an expertise need").click()
    need = staff_page.get_by_test_id("need-add-form").first
    need.get_by_label("Thematic area").select_option("data")
    need.get_by_label("Skills").fill("statistics, registers")
    need.get_by_label("Experts needed").fill("2")
    need.get_by_label("Expert-days").fill("5")
    need.get_by_role("button", name="Add the need").click()
    staff_page.get_by_test_id("activity").first.get_by_test_id("need").first.wait_for()
    screenshot(staff_page, "action-plan-editor")

    staff_page.get_by_role("link", name="Back to the action").click()
    staff_page.get_by_test_id("transition-propose").get_by_role("button").click()
    assert "Proposed" in staff_page.get_by_test_id("action-status").inner_text()
    action = Action.objects.get()

    approver_page = sign_in(browser, live_server, "javier")
    approver_page.get_by_role("link", name="Approvals").click()
    approver_page.get_by_test_id("approval-actions").get_by_role("link").first.click()
    approver_page.get_by_test_id("transition-approve").get_by_role("button").click()
    assert "Approved" in approver_page.get_by_test_id("action-status").inner_text()

    partner_page = sign_in(browser, live_server, "partner")
    partner_page.goto(action.get_absolute_url())
    sign = partner_page.get_by_test_id("transition-sign")
    sign.get_by_label("Your name, as signatory for the partner").fill("Amira Ben Salah, Director")
    sign.get_by_role("button").click()
    assert (
        "Co-signed by Amira Ben Salah, Director"
        in partner_page.get_by_test_id("signature").inner_text()
    )

    staff_page.reload()
    staff_page.get_by_test_id("transition-start").get_by_role("button").click()
    assert "In implementation" in staff_page.get_by_test_id("action-status").inner_text()

    # Amendment: the training moves by a week.
    staff_page.get_by_role("link", name="Propose an amendment").click()
    staff_page.get_by_label("Why does the plan change?").select_option("implementation_delay")
    staff_page.get_by_label("Explanation").fill("The trainers are available a week later.")
    staff_page.get_by_label("Who asked for the change?").fill("Head of the statistics unit")
    staff_page.get_by_role("button", name="Open the amendment").click()
    staff_page.get_by_test_id("activity").first.get_by_text("Edit the activity").click()
    moved = date.fromisoformat((start + timedelta(days=17)).isoformat())
    form = staff_page.get_by_test_id("activity").first.locator("form").first
    form.get_by_label("Start").fill(moved.isoformat())
    form.get_by_label("End", exact=False).first.fill((moved + timedelta(days=2)).isoformat())
    form.get_by_role("button", name="Save the activity").click()
    # The editor saves in place: wait for its "Saved." announcement before reloading.
    staff_page.locator("[data-inline-status]", has_text="Saved.").wait_for(state="attached")
    staff_page.reload()
    assert "start" in staff_page.get_by_test_id("amendment-diff").inner_text()
    staff_page.get_by_test_id("transition-propose").get_by_role("button").click()

    approver_page.goto("/actions/approvals/")
    approver_page.get_by_test_id("approval-amendments").get_by_role("link").first.click()
    approver_page.get_by_test_id("transition-approve").get_by_role("button").click()

    partner_page.goto(action.get_absolute_url())
    partner_page.get_by_test_id("amendments").get_by_role("link").first.click()
    partner_page.get_by_test_id("transition-sign").get_by_role("button").click()
    assert "applied" in partner_page.get_by_test_id("amendment-status").inner_text().lower()

    assert Activity.objects.get().start_date == moved
    staff_page.goto(action.get_absolute_url())
    diff = staff_page.get_by_test_id("amendment-1-diff").inner_text()
    assert moved.isoformat() in diff
    screenshot(staff_page, "action-detail-amended")
    for page in (staff_page, approver_page, partner_page):
        page.context.close()
