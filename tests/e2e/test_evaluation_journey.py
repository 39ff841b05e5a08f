"""Issue 6's journey in Chromium: the evaluator of a running action adds an indicator,
records measurements (a wrong one refused first) and an outcome; staff complete the action;
the evaluator writes and submits the OECD-DAC final evaluation; staff close the action and
open a follow-up request from a recommendation; the dashboard, the public portfolio and the
partner's notifications then show what happened."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from actions import services as action_services
from actions.models import Action, ActionStatus
from cbportal.accounts.models import User
from cbportal.core.models import Notification
from evaluations.models import (
    EvaluationStatus,
    FinalEvaluation,
    Indicator,
    Measurement,
    Outcome,
    Progress,
)
from requests_app.models import AssistanceRequest, RequestStatus
from tests.e2e.conftest import screenshot, watch
from tests.e2e.test_deployment_journey import open_as
from tests.evaluations.builders import PAST_DAYS, make_indicator, running_action
from tests.experts.builders import deployment_in, first_need, make_expert

pytestmark = pytest.mark.django_db(transaction=True)

# The evaluator's ratings, chosen so that every average on the dashboard is a distinct,
# hand-checkable number (one evaluation: each average is the rating itself) and the public
# mean is (4 + 3 + 3 + 2 + 3 + 2) / 6 = 2.83 → "2.8 out of 4".
RATINGS = {
    "Relevance": 4,
    "Coherence": 3,
    "Effectiveness": 3,
    "Efficiency": 2,
    "Impact": 3,
    "Sustainability": 2,
}
RATING_WORDS = {
    1: "Unsatisfactory",
    2: "Partly satisfactory",
    3: "Satisfactory",
    4: "Highly satisfactory",
}
FINDINGS = "Border posts in the north apply the referral SOPs; the south has not started."
LESSONS = "Peer experts from the region were trusted fastest."
RECOMMENDATIONS = ["Train regional trainers.", "Extend the SOPs to airports."]
OUTCOME = "The border agency adopted the referral SOPs by ministerial order."
NEW_INDICATOR = "Officers trained in victim identification"


def _anonymous(browser: Any, live_server: Any, errors: list[str]) -> Any:
    """A visitor without an account, watched like ``open_as`` watches a signed-in user."""
    context = browser.new_context(base_url=live_server.url, locale="en-GB")
    return watch(context.new_page(), "visitor", errors)


def _refused_page(errors: list[str], who: str) -> None:
    """A form the server refuses is shown again with status 400, and Chromium logs every
    document answered with an error status on the console. Drop exactly that one line
    (the refusal is the point of the step), so that any other console error still fails."""
    expected = f"{who}: Failed to load resource: the server responded with a status of 400"
    matching = [e for e in errors if e.startswith(expected)]
    assert len(matching) == 1, errors
    errors.remove(matching[0])


@pytest.fixture
def journey(partner: Any, staff: Any, approver: Any, evaluator: Any, expert: Any) -> dict:
    """The action of the journey, built through the services: ``partner``'s action in
    implementation (90 days in, 90 to go) with ``evaluator`` assigned, one indicator that
    staff defined (not measured yet), a completed mission of a peer expert from a
    partner-country administration, and the partner's consent to publish."""
    # Names that must never reach the public page (the factory's "Test User n" is too
    # common a string to prove anything).
    User.objects.filter(pk=evaluator.pk).update(first_name="Ingrid", last_name="Solberg")
    action = running_action(partner, staff, approver, evaluator=evaluator)
    amina = make_expert(expert, by=staff)  # Amina Diallo, partner-country administration
    deployment_in("completed", first_need(action), amina, staff=staff)
    action_services.action_update(action_id=action.pk, by=partner, data={"publish": True})
    indicator = make_indicator(action, staff)  # percentage, baseline 20, target 60
    return {"action": Action.objects.get(pk=action.pk), "indicator": indicator}


def test_an_action_is_monitored_evaluated_closed_and_reported(
    browser, live_server, journey, partner, evaluator
):
    action, indicator = journey["action"], journey["indicator"]
    ref = action.reference
    today = timezone.localdate()
    errors: list[str] = []

    # 1. The evaluator finds the action among "My evaluations" and opens its monitoring.
    ev = open_as(browser, live_server, "evaluator", errors)
    ev.get_by_role("navigation", name="Main navigation").get_by_role(
        "link", name="My evaluations", exact=True
    ).click()
    row = ev.get_by_test_id(f"my-evaluation-{action.pk}")
    expect(row.get_by_test_id("indicator-count")).to_have_text("1")
    expect(row.get_by_test_id("evaluation-status")).to_have_text("Not started")
    row.get_by_role("link", name=ref).click()
    expect(ev.get_by_role("heading", level=1)).to_have_text("Monitoring and evaluation")
    expect(ev.get_by_test_id("action-status")).to_have_text("In implementation")

    # A second indicator, at the individual level, through the form.
    ev.get_by_text("Add an indicator", exact=True).click()
    new = ev.get_by_test_id("new-indicator-form")
    new.get_by_label("Name").fill(NEW_INDICATOR)
    new.get_by_label("Capacity level").select_option(label="Individual")
    new.get_by_label("Unit").select_option(label="Number")
    new.get_by_label("Baseline").fill("0")
    new.get_by_label("Target").fill("120")
    new.get_by_label("Means of verification").fill("Training attendance lists")
    new.get_by_role("button", name="Add the indicator").click()
    expect(ev.get_by_role("status")).to_contain_text("Indicator added.")
    added = ev.get_by_role("article", name=NEW_INDICATOR)
    expect(added.get_by_test_id("target")).to_contain_text("120")
    indicators = ev.get_by_role("region", name="Indicators", exact=True)
    expect(
        indicators.get_by_role("region", name="Individual", exact=True).get_by_role("article")
    ).to_have_count(1)

    # The first measurement of the staff's percentage indicator: 140 % first.
    card = ev.get_by_role("article", name=indicator.name)
    expect(card.get_by_test_id(f"progress-{indicator.pk}")).to_contain_text("Not measured yet")
    card.get_by_text("Record a measurement", exact=True).click()
    form = card.get_by_test_id(f"measurement-form-{indicator.pk}")
    date_box = form.get_by_label("Date")
    value_box = form.get_by_label("Value (percentage, 0 to 100)")
    expect(date_box).to_have_value(today.isoformat())
    date_box.fill((today - timedelta(days=30)).isoformat())
    value_box.fill("140")
    form.get_by_label("Note").fill("Inspection of 20 border posts")
    monitoring_url = ev.url
    form.get_by_role("button", name="Record").click()
    # The browser refuses it next to the field (the box allows 0 to 100) and sends nothing.
    assert value_box.evaluate("box => box.validity.rangeOverflow") is True
    assert "100" in value_box.evaluate("box => box.validationMessage")
    assert ev.url == monitoring_url
    assert not Measurement.objects.exists()

    # Corrected to 25 %, but dated before the action began: the server refuses it, says
    # why next to the date (announced, tied to the field), and keeps what was typed.
    value_box.fill("25")
    date_box.fill((today - timedelta(days=PAST_DAYS + 10)).isoformat())
    form.get_by_role("button", name="Record").click()
    expect(ev.get_by_role("status")).to_contain_text(
        "Nothing was saved: please correct the errors shown below."
    )
    _refused_page(errors, "evaluator")
    form = ev.get_by_test_id(f"measurement-form-{indicator.pk}")
    date_box = form.get_by_label("Date")
    expect(date_box).to_have_attribute("aria-invalid", "true")
    error = form.get_by_role("alert")
    expect(error).to_contain_text("The date must fall within the action's period")
    error_id = error.get_attribute("id")
    assert error_id and error_id in (date_box.get_attribute("aria-describedby") or "")
    expect(date_box).to_be_focused()
    expect(form.get_by_label("Value (percentage, 0 to 100)")).to_have_value("25")
    assert not Measurement.objects.exists()

    date_box.fill((today - timedelta(days=30)).isoformat())
    form.get_by_role("button", name="Record").click()
    expect(ev.get_by_role("status")).to_contain_text("Measurement recorded.")
    # 25 % a third of the way through: 12 % of the way to the target where 33 % would be
    # expected — within 25 points, so at risk (not off track).
    card = ev.get_by_role("article", name=indicator.name)
    expect(card.get_by_test_id(f"progress-{indicator.pk}")).to_contain_text("At risk")

    # The second measurement, today: 44 % is 60 % of the way, half the period gone.
    card.get_by_text("Record a measurement", exact=True).click()
    form = card.get_by_test_id(f"measurement-form-{indicator.pk}")
    form.get_by_label("Value (percentage, 0 to 100)").fill("44")
    form.get_by_role("button", name="Record").click()
    expect(ev.get_by_role("status")).to_contain_text("Measurement recorded.")
    card = ev.get_by_role("article", name=indicator.name)
    progress = card.get_by_test_id(f"progress-{indicator.pk}")
    expect(progress).to_contain_text("On track")
    expect(progress).to_contain_text("60 % of the way from baseline to target")
    expect(card.get_by_test_id("latest")).to_contain_text("44 %")
    history = card.get_by_role("table", name=re.compile("Measurements of"))
    expect(history.get_by_role("row")).to_have_count(3)  # header + two measurements

    # An outcome at the organisational level.
    ev.get_by_text("Log an outcome", exact=True).click()
    outcome = ev.get_by_test_id("outcome-form")
    outcome.get_by_label("Capacity level").select_option(label="Organisational")
    outcome.get_by_label("What changed").fill(OUTCOME)
    outcome.get_by_label("Evidence (description)").fill("Ministerial order no. 12")
    outcome.get_by_role("button", name="Log the outcome").click()
    expect(ev.get_by_role("status")).to_contain_text("Outcome logged.")
    expect(ev.get_by_test_id("outcomes-organisational")).to_contain_text(OUTCOME)
    expect(ev.get_by_test_id("outcomes-organisational")).to_contain_text("Ingrid Solberg")
    screenshot(ev, "evaluation-monitoring")

    # 2. Staff complete the action. Close is not offered: no evaluation is submitted yet.
    st = open_as(browser, live_server, "staff", errors)
    st.goto(action.get_absolute_url())
    st.get_by_test_id("transition-complete").get_by_role("button", name="Complete").click()
    expect(st.get_by_test_id("action-status")).to_have_text("Completed")
    expect(st.get_by_test_id("transition-close")).to_have_count(0)

    # 3. The evaluator writes the final evaluation: a draft first, then submitted.
    ev.reload()
    ev.get_by_test_id("evaluation-link").click()
    expect(ev.get_by_role("heading", level=1)).to_have_text("Final evaluation")
    form = ev.get_by_test_id("evaluation-form")
    for criterion, rating in RATINGS.items():
        form.get_by_role("group", name=f"Rating of {criterion}").get_by_label(
            f"{rating} — {RATING_WORDS[rating]}", exact=True
        ).check()
        form.get_by_label(f"Why this rating of {criterion}?").fill(
            f"{criterion}: what the inspection reports and interviews showed."
        )
    form.get_by_label("Findings").fill(FINDINGS)
    form.get_by_label("Lessons learned").fill(LESSONS)
    form.get_by_label("Recommendations").fill("\n".join(RECOMMENDATIONS))
    screenshot(ev, "evaluation-form")
    form.get_by_role("button", name="Save the draft").click()
    expect(ev.get_by_role("status")).to_contain_text("Draft saved.")
    expect(ev.get_by_test_id("evaluation-status")).to_have_text("Draft")
    form = ev.get_by_test_id("evaluation-form")
    expect(
        form.get_by_role("group", name="Rating of Relevance").get_by_label("4 — ")
    ).to_be_checked()
    expect(form.get_by_label("Findings")).to_have_value(FINDINGS)
    form.get_by_role("button", name="Save and submit the evaluation").click()
    expect(ev.get_by_role("status")).to_contain_text("The final evaluation is submitted.")
    expect(ev.get_by_test_id("evaluation-status")).to_have_text("Submitted")
    expect(ev.get_by_test_id("submitted")).to_contain_text("Submitted by Ingrid Solberg")
    expect(ev.get_by_test_id("evaluation-form")).to_have_count(0)
    ratings = ev.get_by_role("table", name=re.compile("Ratings of the six OECD-DAC criteria"))
    for criterion, rating in RATINGS.items():
        expect(ratings.get_by_role("row", name=re.compile(f"^{criterion}"))).to_contain_text(
            f"{rating} — {RATING_WORDS[rating]}"
        )

    # 4. Staff now see Close, close the action, and open a follow-up request.
    st.reload()
    close = st.get_by_test_id("transition-close")
    expect(close.get_by_role("button")).to_have_text("Close")
    close.get_by_role("button", name="Close").click()
    expect(st.get_by_role("status")).to_contain_text("Done: Close.")
    expect(st.get_by_test_id("action-status")).to_have_text("Closed")
    st.get_by_test_id("monitoring-section").get_by_role("link", name="Final evaluation").click()
    recommendations = st.get_by_test_id("recommendations")
    expect(recommendations.get_by_role("listitem")).to_have_count(2)
    first = recommendations.get_by_role("listitem").filter(has_text=RECOMMENDATIONS[0])
    first.get_by_role("button", name="Open a follow-up request").click()
    expect(st.get_by_role("status")).to_contain_text(
        f"Follow-up request “{RECOMMENDATIONS[0]}” opened as a draft"
    )
    first = st.get_by_test_id("recommendations").get_by_role("listitem").first
    expect(first.get_by_role("button", name="Open a follow-up request")).to_have_count(0)
    first.get_by_role("link", name=re.compile(f"Follow-up request .*{RECOMMENDATIONS[0]}")).click()
    expect(st.get_by_role("heading", level=1)).to_contain_text(RECOMMENDATIONS[0])
    expect(st.get_by_test_id("request-status")).to_have_text("Draft")

    # 5. The portfolio dashboard counts the evaluation and the indicators. Each chart is
    # followed by its figures as a table (folded once the chart is drawn): opened here,
    # as a keyboard or screen-reader user would. Reduced motion (which the page honours)
    # makes the screenshot show the charts drawn, not half-way through their animation.
    st.emulate_media(reduced_motion="reduce")
    st.goto("/dashboard/")
    expect(st.get_by_role("heading", level=1)).to_have_text("Portfolio dashboard")
    # Two indicators, one measured, and that one on track: 100 % of those measured.
    expect(st.get_by_test_id("kpi-indicators_on_track")).to_contain_text("100.0 %")
    results = st.get_by_role("region", name="Results", exact=True)
    expect(results).to_contain_text("2 indicators of these actions, 1 measured.")
    expect(results).to_contain_text("1 final evaluation submitted in the period.")
    for caption, figures in [
        ("Actions by status", {"Closed": "1", "In implementation": "0"}),
        ("Indicators by progress", {"On track": "1", "Not measured yet": "1", "At risk": "0"}),
        (
            "Average DAC ratings of the submitted final evaluations",
            {criterion: f"{rating}.0" for criterion, rating in RATINGS.items()},
        ),
        ("Experts deployed by origin", {"Partner-country administrations (South–South)": "1"}),
    ]:
        figure = st.get_by_role("figure", name=caption)
        figure.get_by_text("The figures as a table", exact=True).click()
        table = figure.get_by_role("table", name=caption)
        for label, value in figures.items():
            cells = table.get_by_role("row", name=re.compile(f"^{re.escape(label)}")).get_by_role(
                "cell"
            )
            expect(cells.first).to_have_text(value)
    screenshot(st, "dashboard")

    # 6. The public portfolio lists the closed action — with no one's name on it.
    visitor = _anonymous(browser, live_server, errors)
    visitor.goto("/portfolio/")
    listed = visitor.get_by_test_id("portfolio-list").get_by_role("article", name=action.title)
    expect(listed).to_contain_text(ref)
    expect(listed).to_contain_text("Closed")
    listed.get_by_role("link", name=action.title).click()
    expect(visitor.get_by_role("heading", level=1)).to_have_text(action.title)
    expect(visitor.get_by_test_id("action-status")).to_have_text("Closed")
    experts = visitor.get_by_test_id("experts")
    expect(experts.get_by_test_id("experts-total")).to_have_text("1 expert")
    expect(
        experts.get_by_role("listitem").filter(has_text="Partner-country administration")
    ).to_have_text("Partner-country administration: 1")
    expect(visitor.get_by_test_id("dac-average")).to_contain_text("2.8 out of 4")
    for page_path in ("/portfolio/", visitor.url):
        visitor.goto(page_path)
        text = visitor.content()
        for personal in (
            "Ingrid",
            "Solberg",
            "Amina Diallo",
            evaluator.email,
            "expert@example.org",
            partner.email,
        ):
            assert personal not in text, f"{personal!r} is on the public page {page_path}"

    # 7. The partner was told of the submitted evaluation, the closure and the follow-up.
    pa = open_as(browser, live_server, "partner", errors)
    pa.goto("/notifications/")
    notifications = pa.get_by_test_id("notification-list")
    for subject in (
        f"Final evaluation of {ref} submitted",
        f"Action {ref} is closed",
        f"A follow-up request to {ref} awaits you",
    ):
        expect(notifications.get_by_text(subject, exact=True)).to_be_visible()

    # What the pages did, in the database.
    action.refresh_from_db()
    assert action.status == ActionStatus.CLOSED
    evaluation = FinalEvaluation.objects.get(action=action)
    assert evaluation.status == EvaluationStatus.SUBMITTED
    assert [getattr(evaluation, c.lower()) for c in RATINGS] == list(RATINGS.values())
    assert [str(m.value) for m in Measurement.objects.order_by("date")] == ["25.00", "44.00"]
    assert Indicator.objects.get(pk=indicator.pk).progress_status == Progress.ON_TRACK
    assert Indicator.objects.get(name=NEW_INDICATOR).level == "individual"
    assert Outcome.objects.get().recorded_by == evaluator
    follow_up = AssistanceRequest.objects.get(title=RECOMMENDATIONS[0])
    assert follow_up.status == RequestStatus.DRAFT
    assert follow_up.organisation_id == partner.organisation_id
    assert Notification.objects.filter(recipient=partner, event="action_closed").count() == 1
    for page in (ev, st, visitor, pa):
        page.context.close()
    assert not errors, f"the pages reported errors: {errors}"
