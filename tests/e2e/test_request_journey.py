"""Issue 3's journey in Chromium: from a partner's draft to a validated needs assessment."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from cbportal.core.models import Notification
from requests_app.models import AssistanceRequest
from tests.e2e.conftest import screenshot
from tests.factories import PASSWORD, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def people(db):
    org = OrganisationFactory(name="Directorate of Migration", acronym="DM")
    return {
        "partner": UserFactory(
            username="amira", partner=True, organisation=org, first_name="Amira"
        ),
        "staff": UserFactory(username="clara", first_name="Clara"),
    }


def sign_in(browser, live_server, username):
    context = browser.new_context(base_url=live_server.url, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")
    return page


def test_a_request_goes_from_draft_to_a_validated_assessment(
    browser, live_server, people, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path
    letter = tmp_path / "official-letter.pdf"
    letter.write_bytes(PDF)
    start = timezone.localdate() + timedelta(days=45)

    partner = sign_in(browser, live_server, "amira")
    partner.get_by_role("link", name="New request").first.click()
    partner.get_by_role("textbox", name="Title").fill(
        "Standard operating procedures for victim identification"
    )
    # Save an incomplete draft first: nothing is lost.
    partner.get_by_role("button", name="Save draft").click()
    partner.wait_for_url("**/requests/*/")
    assert "Draft" in partner.get_by_test_id("request-status").inner_text()
    partner.get_by_role("link", name="Edit the draft").click()
    partner.get_by_label("Problem statement").fill("Border officers lack common procedures.")
    partner.get_by_label("Expected outcomes").fill("Officers identify and refer presumed victims.")
    partner.get_by_label("Target institutions").fill("Border police, labour inspectorate.")
    partner.get_by_label("Trafficking in human beings and migrant smuggling").check()
    partner.get_by_label("Preferred start").fill(start.isoformat())
    partner.get_by_label("Preferred end").fill((start + timedelta(days=120)).isoformat())
    partner.get_by_label("Working languages").select_option(["fr"])
    partner.get_by_label("Attach a document").set_input_files(str(letter))
    screenshot(partner, "request-form")
    partner.get_by_role("button", name="Submit the request").click()
    partner.wait_for_url("**/requests/*/")
    request = AssistanceRequest.objects.get()
    assert request.status == "submitted" and request.reference.startswith("REQ-")
    assert (
        partner.get_by_test_id("attachments")
        .get_by_role("link", name="official-letter.pdf")
        .is_visible()
    )
    assert (
        Notification.objects.filter(recipient=people["staff"], event="request_received").count()
        == 1
    )

    staff = sign_in(browser, live_server, "clara")
    staff.get_by_role("link", name="Triage queue").first.click()
    staff.get_by_role("link", name=request.title).click()
    staff.get_by_test_id("transition-request-info").get_by_label(
        "Your question to the partner"
    ).fill("Which border posts would take part?")
    staff.get_by_test_id("transition-request-info").get_by_role("button").click()
    assert "Information requested" in staff.get_by_test_id("request-status").inner_text()

    partner.goto("/notifications/")
    assert (
        partner.get_by_test_id("notification-list")
        .get_by_text(f"Question about request {request.reference}", exact=True)
        .is_visible()
    )
    partner.goto(request.get_absolute_url())
    assert (
        partner.get_by_test_id("thread")
        .get_by_text("Which border posts would take part?")
        .is_visible()
    )
    partner.get_by_test_id("transition-respond").get_by_label("Your answer").fill(
        "The three northern posts."
    )
    partner.get_by_test_id("transition-respond").get_by_role("button").click()
    assert "Under review" in partner.get_by_test_id("request-status").inner_text()

    staff.reload()
    staff.get_by_test_id("transition-accept").get_by_role("button").click()
    assert "Accepted" in staff.get_by_test_id("request-status").inner_text()
    staff.get_by_role("link", name="Needs assessment").click()
    staff.get_by_role("textbox", name="Summary").fill("Interviews with border police management.")
    staff.get_by_role("checkbox", name="Interviews").check()
    staff.get_by_role("button", name="Save", exact=True).click()
    for level, description in [
        ("Individual", "Officers are not trained on indicators of trafficking."),
        ("Organisational", "No referral procedure between police and labour inspectorate."),
        ("Enabling environment", "The law does not define the referral mechanism."),
    ]:
        form = staff.get_by_test_id("gap-add-form")
        form.get_by_label("CB level").select_option(label=level)
        form.get_by_label("Description").fill(description)
        form.get_by_role("button", name="Add the gap").click()
        staff.get_by_test_id("gap").locator("strong", has_text=description).wait_for()
    for level in ("individual", "organisational", "enabling_environment"):
        assert staff.get_by_test_id(f"level-{level}").get_by_test_id("gap").count() == 1
    screenshot(staff, "assessment-editor")
    staff.get_by_test_id("transition-share").get_by_role("button").click()
    assert "Shared" in staff.get_by_test_id("assessment-status").inner_text()

    partner.goto("/")
    partner.get_by_test_id("assessments").get_by_role("link").first.click()
    partner.get_by_test_id("transition-validate").get_by_role("button").click()
    assert "Validated" in partner.get_by_test_id("assessment-status").inner_text()
    request.refresh_from_db()
    assert request.assessment.status == "validated"
    assert (
        Notification.objects.filter(recipient=people["staff"], event="assessment_validated").count()
        == 1
    )
    for page in (partner, staff):
        page.context.close()


def test_the_attachment_is_downloaded_only_by_those_who_may_see_it(
    browser, live_server, people, tmp_path, settings
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from requests_app import services

    settings.MEDIA_ROOT = tmp_path
    partner = people["partner"]
    draft = services.request_create(by=partner, data={"title": "Draft with a letter"})
    attachment = services.attachment_add(
        request_id=draft.pk,
        by=partner,
        upload=SimpleUploadedFile("letter.pdf", PDF),
        kind="official_letter",
    )
    UserFactory(username="other", partner=True)
    outsider = sign_in(browser, live_server, "other")
    response = outsider.request.get(attachment.get_absolute_url())
    assert response.status == 404
    owner = sign_in(browser, live_server, "amira")
    response = owner.request.get(attachment.get_absolute_url())
    assert response.status == 200 and response.body() == PDF
    assert Path(tmp_path).rglob("*.pdf")
    for page in (outsider, owner):
        page.context.close()
