"""The keyboard alone: a partner writes and submits a request, is told what is missing and
gets to it, and an expert declines an invitation — Tab, typing, Space, arrows and Enter,
never a mouse click nor Playwright's fill/check/select_option."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone, translation
from playwright.sync_api import expect

from experts.models import Deployment, DeploymentStatus
from experts.workflow import DEPLOYMENT_WORKFLOW
from requests_app.models import AssistanceRequest, RequestStatus
from tests.e2e.accessibility import settle, tab_to
from tests.e2e.test_partner_languages import watch
from tests.experts.builders import approved_action, deployment_in, first_need, make_expert
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

# Enough for the longest way through the request form: the header, seven fields, the eight
# thematic areas and the 23 GCM objectives (a date box takes three presses: day, month, year).
MAX_TABS = 80
HOME = re.compile(r"^https?://[^/]+/$")


@pytest.fixture
def browsing(browser: Any, live_server: Any) -> Iterator[tuple[Any, list[str]]]:
    """A page and the errors it reports (as conftest's ``page`` fixture checks them), which
    a test may look at before the end: a refused form comes back with status 400, and
    Chromium logs that on the console."""
    context = browser.new_context(base_url=live_server.url, locale="en-GB")
    page = context.new_page()
    errors: list[str] = []
    watch(page, "user", errors)
    yield page, errors
    context.close()
    assert not errors, f"the page reported errors: {errors}"


KEY = "el => el.id || `${el.tagName}:${el.name}:${el.value}`"
FOCUSED = f"() => ({KEY})(document.activeElement)"
CONTROLS = f"""form => Array.from(form.elements)
    .filter(el => el.type !== 'hidden' && el.tagName !== 'FIELDSET')
    .map({KEY})"""


def focus_order(page: Any, last: Any, max_presses: int = MAX_TABS) -> list[str]:
    """Every element Tab stops on, from the top of the page to ``last``."""
    stops: list[str] = []
    settle(page)
    for _ in range(max_presses):
        page.keyboard.press("Tab")
        stops.append(page.evaluate(FOCUSED))
        if last.evaluate("el => el === document.activeElement"):
            return stops
    pytest.fail(f"{max_presses} presses of Tab never reached the last control: {stops}")


def type_date(page: Any, box: Any, day: date) -> None:
    """Type ``day`` into the focused date box, as someone who reads its placeholder does.
    The order of its parts follows the browser's own language (mm/dd/yyyy in an American
    Chromium, dd/mm/yyyy in a British one), so the box is tried first with 1 February 2001,
    then the keys go back to its first part (Shift+Tab) and type ``day``."""
    page.keyboard.type("01022001")
    orders = {"2001-01-02": ("%m", "%d", "%Y"), "2001-02-01": ("%d", "%m", "%Y")}
    probe = box.input_value()
    if probe not in orders:
        pytest.fail(f"the date box took 01022001 as {probe!r}: an order this test does not know")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.type("".join(day.strftime(part) for part in orders[probe]))


def field(form: Any, name: str) -> Any:
    """The field whose label starts with ``name`` (GCM objectives mention countries and
    titles too)."""
    return form.get_by_label(re.compile(rf"^{re.escape(name)}(?!\w)"))


def sign_in(page: Any, username: str) -> None:
    """The sign-in page focuses the username box: type, Tab, type, Enter."""
    page.goto("/accounts/login/")
    expect(page.get_by_label("Username")).to_be_focused()
    page.keyboard.type(username)
    tab_to(page, page.get_by_label("Password"), "the password box")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(HOME)


def write_request(page: Any, *, skip: str = "", title: str) -> dict[str, Any]:
    """Fill the request form from the keyboard (leaving out the field ``skip``)."""
    form = page.get_by_test_id("request-form")
    start = timezone.localdate() + timedelta(days=45)
    end = start + timedelta(days=120)
    texts = {
        "Title": title,
        "Problem statement": "Border officers lack common procedures.",
        "Expected outcomes": "Officers identify and refer presumed victims.",
        "Target institutions": "Border police, labour inspectorate.",
    }
    tab_to(page, field(form, "Title"), "the title")
    page.keyboard.type(texts["Title"])

    # A closed <select>: typing a name picks the option.
    country = field(form, "Country")
    tab_to(page, country, "the country")
    page.keyboard.type("Morocco")
    expect(country).to_have_value("MA")

    for name in ("Problem statement", "Expected outcomes", "Target institutions"):
        if name == skip:
            continue
        tab_to(page, field(form, name), name)
        page.keyboard.type(texts[name])

    area = form.get_by_role("checkbox", name="Trafficking in human beings and migrant smuggling")
    tab_to(page, area, "the thematic area")
    page.keyboard.press("Space")
    expect(area).to_be_checked()

    for name, day in (("Preferred start", start), ("Preferred end", end)):
        box = field(form, name)
        tab_to(page, box, name)
        type_date(page, box, day)
        expect(box).to_have_value(day.isoformat())

    # A list box: the arrows move the selection; typing a name jumps to it.
    languages = field(form, "Working languages")
    tab_to(page, languages, "the working languages")
    page.keyboard.press("ArrowDown")
    expect(languages.locator("option:checked")).to_have_count(1)
    page.keyboard.type("French")
    expect(languages.locator("option:checked")).to_have_text(["French"])
    return {"start": start, "end": end, **texts}


def submit(page: Any) -> None:
    button = page.get_by_role("button", name="Submit the request")
    tab_to(page, button, "the Submit the request button")
    page.keyboard.press("Enter")


def test_a_partner_submits_a_request_with_the_keyboard_only(browsing: Any, partner: Any) -> None:
    page, _ = browsing
    sign_in(page, "partner")
    page.goto("/requests/new/")
    # Tab stops on every control of the form, in the order they are shown.
    form = page.get_by_test_id("request-form")
    controls = form.evaluate(CONTROLS)
    stops = focus_order(page, form.get_by_role("button", name="Submit the request"))
    reached = [c for c in dict.fromkeys(stops) if c in controls]
    assert reached == controls, (reached, controls)

    page.goto("/requests/new/")
    typed = write_request(page, title="Standard procedures for victim identification")
    submit(page)
    page.wait_for_url(re.compile(r".*/requests/\d+/$"))

    request = AssistanceRequest.objects.get()
    assert request.status == RequestStatus.SUBMITTED
    assert request.title == typed["Title"]
    assert request.problem_statement == typed["Problem statement"]
    assert request.country_id == "MA"
    assert list(request.thematic_areas.values_list("slug", flat=True)) == ["trafficking-smuggling"]
    assert list(request.languages.values_list("code", flat=True)) == ["fr"]
    assert (request.preferred_start, request.preferred_end) == (typed["start"], typed["end"])
    expect(page.get_by_role("heading", level=1)).to_have_text(typed["Title"])
    expect(page.get_by_test_id("request-status")).to_have_text("Submitted")
    expect(page.get_by_role("status")).to_contain_text("Your request is submitted.")


def test_a_missing_field_is_announced_and_reached_from_the_keyboard(
    browsing: Any, partner: Any
) -> None:
    page, errors = browsing
    sign_in(page, "partner")
    page.goto("/requests/new/")
    write_request(page, skip="Problem statement", title="Referral of presumed victims")
    submit(page)

    # The draft is kept and the page comes back saying what is missing, on the field.
    expect(page.get_by_role("status")).to_contain_text("Complete it to submit.")
    refused = "user: Failed to load resource: the server responded with a status of 400"
    assert [e for e in errors if e.startswith(refused)] == errors and len(errors) == 1, errors
    errors.clear()
    draft = AssistanceRequest.objects.get()
    assert draft.status == RequestStatus.DRAFT
    box = field(page, "Problem statement")
    expect(box).to_have_attribute("aria-invalid", "true")
    error = page.locator("#id_problem_statement_error")
    expect(error).to_have_text("Describe the problem your institution faces.")
    expect(error).to_have_attribute("role", "alert")
    assert "id_problem_statement_error" in (box.get_attribute("aria-describedby") or "").split()
    expect(box).to_have_accessible_description(re.compile("Describe the problem"))
    # Only the missing field is marked.
    expect(page.locator("[aria-invalid='true']")).to_have_count(1)

    # The focus is on the field to correct: type the statement and submit again.
    expect(box).to_be_focused()
    page.keyboard.type("Border officers lack common procedures.")
    submit(page)
    page.wait_for_url(re.compile(rf".*/requests/{draft.pk}/$"))
    draft.refresh_from_db()
    assert draft.status == RequestStatus.SUBMITTED
    assert draft.problem_statement == "Border officers lack common procedures."


def test_an_expert_declines_an_invitation_with_the_keyboard_only(
    browsing: Any, partner: Any, staff: Any, approver: Any, expert: Any
) -> None:
    page, _ = browsing
    action = approved_action(partner, staff, approver, state="in_implementation")
    invited = deployment_in(
        "invited", first_need(action), make_expert(expert, by=staff), staff=staff
    )
    sign_in(page, "expert")
    page.goto("/experts/invitations/")
    invitation = page.get_by_test_id("invitation")
    reason = invitation.get_by_label("Why do you decline?")
    decline = invitation.get_by_role("button", name="Decline")

    # Without a reason the browser refuses to send the form and puts the focus on the box.
    tab_to(page, decline, "the Decline button")
    page.keyboard.press("Enter")
    expect(reason).to_be_focused()
    assert reason.evaluate("box => box.validity.valueMissing") is True
    assert Deployment.objects.get(pk=invited.pk).status == DeploymentStatus.INVITED

    page.keyboard.type("I lead our census fieldwork that week.")
    tab_to(page, decline, "the Decline button")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("no-invitations")).to_be_visible()
    with translation.override("en"):
        done = translation.gettext("Done: %(action)s.") % {
            "action": DEPLOYMENT_WORKFLOW.get("decline").display_label
        }
    expect(page.get_by_role("status")).to_contain_text(done)
    declined = Deployment.objects.get(pk=invited.pk)
    assert declined.status == DeploymentStatus.DECLINED
    assert declined.decline_reason == "I lead our census fieldwork that week."
