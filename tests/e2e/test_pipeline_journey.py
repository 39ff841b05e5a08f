"""The whole pipeline in Chromium, one case from the partner's request to the public
portfolio: every step through the pages, by the person whose step it is, each in their own
browser; after each step, the person who must act next is told — in CB Portal (their
notifications page) and by email, once, with a link to the object.

Only the people and the expert roster are built beforehand; the case itself is made in the
browser. The case runs on one compressed timeline: the partner asks for support starting
today, and the training — the mission of the expert — takes place today and tomorrow, so
that the report can be filed and the indicators measured without moving any date. The
daily reminder job runs once, as Celery beat runs it, to show it adds nothing to what
completing the action already told the evaluator.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from actions.models import Action, ActionStatus
from cbportal.core.models import Notification
from evaluations import services as evaluation_services
from evaluations.models import EvaluationStatus, FinalEvaluation, Measurement
from experts.models import Deployment, DeploymentStatus
from requests_app.models import AssistanceRequest
from tests.e2e.conftest import screenshot
from tests.e2e.test_deployment_journey import open_as
from tests.e2e.test_evaluation_journey import RATING_WORDS, RATINGS, _anonymous
from tests.experts.builders import make_expert
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

TITLE = "A national register of migration statistics"
ACTIVITY = "Training of statistics officers"
SUMMARY = "The migration directorate builds one register of migration statistics."
INDICATORS = [
    # name, capacity level, unit label, value field label, baseline, target, measured
    ("Officers trained in register keeping", "Individual", "Number", "Value", "0", "40", "15"),
    (
        "Regional offices reporting to the register",
        "Organisational",
        "Percentage",
        "Value (percentage, 0 to 100)",
        "10",
        "90",
        "25",
    ),
]


@pytest.fixture
def people(db: Any) -> dict[str, Any]:
    """The five people of the case (full names, so that every subject reads as in life)."""
    organisation = OrganisationFactory(name="Directorate of Migration", acronym="DM")
    return {
        "partner": UserFactory(
            username="amira",
            partner=True,
            organisation=organisation,
            first_name="Amira",
            last_name="Ben Salah",
        ),
        "staff": UserFactory(username="clara", first_name="Clara", last_name="Martin"),
        "approver": UserFactory(
            username="javier", approver=True, first_name="Javier", last_name="Ortega"
        ),
        "expert": UserFactory(
            username="amina", expert=True, first_name="Amina", last_name="Diallo"
        ),
        "evaluator": UserFactory(
            username="ingrid", evaluator=True, first_name="Ingrid", last_name="Solberg"
        ),
    }


@pytest.fixture
def roster(people: dict[str, Any]) -> None:
    """Three vetted experts: Amina Diallo (data, statistics, French C1 — Amina's own
    account), Karim Haddad (another thematic area: ranked below her) and Jan Kowalski (no
    French: left out by matching)."""
    staff = people["staff"]
    make_expert(people["expert"], by=staff)
    make_expert(
        by=staff,
        name="Karim Haddad",
        areas=("labour-migration",),
        nationality="MA",
        home_institution="Ministry of Labour of Morocco",
    )
    make_expert(
        by=staff,
        name="Jan Kowalski",
        languages=(("en", "C2"), ("pl", "C2")),
        administration_type="eu_member_state",
        nationality="PL",
    )


def inbox(page: Any, *subjects: str) -> None:
    """The signed-in user's notifications page lists each subject, once."""
    page.goto("/notifications/")
    listed = page.get_by_test_id("notification-list")
    for subject in subjects:
        line = listed.get_by_text(subject, exact=True)
        expect(line).to_have_count(1)
        expect(line).to_be_visible()


def emailed(outbox: list[Any], user: Any, event: str, subject: str, url: str) -> None:
    """``user`` was told of ``event`` exactly once: one notification (its idempotency key
    holds one per occurrence and recipient), sent as one email whose subject is ``subject``
    and whose text and HTML link to ``url``."""
    rows = list(Notification.objects.filter(recipient=user, event=event))
    assert [(n.subject, n.url, n.email_status) for n in rows] == [(subject, url, "sent")], rows
    emails = [m for m in outbox if m.to == [user.email] and m.subject == subject]
    assert len(emails) == 1, [(m.to, m.subject) for m in outbox]
    link = f"{settings.SITE_URL}{url}"
    assert link in emails[0].body, emails[0].body
    assert link in emails[0].alternatives[0][0]


def told(
    page: Any, outbox: list[Any], user: Any, event: str, subject: str, url: str, *earlier: str
) -> None:
    """``user`` (signed in on ``page``) sees ``subject`` among their notifications and got
    it by email (``emailed``); the ``earlier`` subjects are on the same page, once each."""
    inbox(page, subject, *earlier)
    emailed(outbox, user, event, subject, url)


def open_notification(page: Any, subject: str, url: str) -> None:
    """Follow a notification's "Open" button to its object (the page is on /notifications/)."""
    page.get_by_test_id("notification-list").get_by_role("listitem").filter(
        has=page.get_by_text(subject, exact=True)
    ).get_by_role("button", name="Open").click()
    page.wait_for_url(f"**{url}")


def breadcrumb(page: Any, name: str) -> None:
    page.get_by_role("navigation", name="Breadcrumb").get_by_role(
        "link", name=name, exact=True
    ).click()


def test_one_case_goes_from_the_partners_request_to_the_public_portfolio(
    browser: Any, live_server: Any, people: dict[str, Any], roster: None, mailoutbox: list[Any]
) -> None:
    partner, staff, approver = people["partner"], people["staff"], people["approver"]
    expert, evaluator = people["expert"], people["evaluator"]
    today = timezone.localdate()
    errors: list[str] = []
    pa = open_as(browser, live_server, "amira", errors)
    st = open_as(browser, live_server, "clara", errors)
    ap = open_as(browser, live_server, "javier", errors)
    ex = open_as(browser, live_server, "amina", errors)
    ev = open_as(browser, live_server, "ingrid", errors)

    # 1. The partner submits a request.
    pa.get_by_role("link", name="New request").first.click()
    pa.get_by_role("textbox", name="Title").fill(TITLE)
    pa.get_by_label("Problem statement").fill("Each ministry keeps its own migration figures.")
    pa.get_by_label("Expected outcomes").fill("One register that every ministry reports to.")
    pa.get_by_label("Target institutions").fill("Directorate of Migration, statistics office.")
    pa.get_by_label("Data production, collection and analysis").check()
    pa.get_by_label("Preferred start").fill(today.isoformat())
    pa.get_by_label("Preferred end").fill((today + timedelta(days=120)).isoformat())
    pa.get_by_label("Working languages").select_option(["fr"])
    pa.get_by_role("button", name="Submit the request").click()
    pa.wait_for_url("**/requests/*/")
    expect(pa.get_by_test_id("request-status")).to_contain_text("Submitted")
    request = AssistanceRequest.objects.get()
    ref, request_url = request.reference, request.get_absolute_url()
    told(
        st,
        mailoutbox,
        staff,
        "request_received",
        f"New request {ref} from Directorate of Migration (DM)",
        request_url,
    )
    emailed(mailoutbox, partner, "request_submitted", f"Request {ref} received", request_url)

    # 2. Staff open it from the notification and ask the partner a question.
    open_notification(st, f"New request {ref} from Directorate of Migration (DM)", request_url)
    question = st.get_by_test_id("transition-request-info")
    question.get_by_label("Your question to the partner").fill(
        "Which ministries report migration figures today?"
    )
    question.get_by_role("button").click()
    expect(st.get_by_test_id("request-status")).to_contain_text("Information requested")
    told(
        pa,
        mailoutbox,
        partner,
        "request_info_requested",
        f"Question about request {ref}",
        request_url,
    )

    # 3. The partner answers.
    open_notification(pa, f"Question about request {ref}", request_url)
    expect(pa.get_by_test_id("thread")).to_contain_text(
        "Which ministries report migration figures today?"
    )
    answer = pa.get_by_test_id("transition-respond")
    answer.get_by_label("Your answer").fill("The Interior, Labour and Foreign Affairs.")
    answer.get_by_role("button").click()
    expect(pa.get_by_test_id("request-status")).to_contain_text("Under review")
    told(st, mailoutbox, staff, "request_responded", f"The partner answered on {ref}", request_url)

    # 4. Staff accept the request, write the needs assessment and share it.
    open_notification(st, f"The partner answered on {ref}", request_url)
    st.get_by_test_id("transition-accept").get_by_role("button").click()
    expect(st.get_by_test_id("request-status")).to_contain_text("Accepted")
    emailed(mailoutbox, partner, "request_accepted", f"Request {ref} accepted", request_url)
    st.get_by_role("link", name="Needs assessment").click()
    st.get_by_role("textbox", name="Summary").fill("Interviews with the three ministries.")
    st.get_by_role("checkbox", name="Interviews").check()
    st.get_by_role("button", name="Save", exact=True).click()
    for level, description in [
        ("Individual", "Officers are not trained to keep a statistical register."),
        ("Organisational", "No protocol for the ministries to share their figures."),
    ]:
        form = st.get_by_test_id("gap-add-form")
        form.get_by_label("CB level").select_option(label=level)
        form.get_by_label("Description").fill(description)
        form.get_by_role("button", name="Add the gap").click()
        st.get_by_test_id("gap").locator("strong", has_text=description).wait_for()
    st.get_by_test_id("transition-share").get_by_role("button").click()
    expect(st.get_by_test_id("assessment-status")).to_contain_text("Shared")
    assessment = AssistanceRequest.objects.get().assessment
    assessment_url = assessment.get_absolute_url()
    shared = f"Needs assessment for {ref} ready for your review"
    told(
        pa,
        mailoutbox,
        partner,
        "assessment_shared",
        shared,
        assessment_url,
        f"Request {ref} accepted",
    )

    # 5. The partner validates the assessment.
    open_notification(pa, shared, assessment_url)
    pa.get_by_test_id("transition-validate").get_by_role("button").click()
    expect(pa.get_by_test_id("assessment-status")).to_contain_text("Validated")
    validated = f"Needs assessment for {ref} validated"
    told(st, mailoutbox, staff, "assessment_validated", validated, assessment_url)

    # 6. Staff design the action — one objective, a two-day training (today and tomorrow)
    # that needs one French-speaking data expert — and propose it.
    open_notification(st, validated, assessment_url)
    st.get_by_test_id("design-action").click()
    # The action takes the request's title and preferred period.
    expect(st.get_by_role("textbox", name="Title")).to_have_value(TITLE)
    expect(st.get_by_label("Start")).to_have_value(today.isoformat())
    st.get_by_role("button", name="Create the action").click()
    st.wait_for_url("**/plan/")
    editor = st.get_by_test_id("plan-editor")
    objective = editor.get_by_test_id("objective-add-form")
    objective.get_by_role("textbox", name="Objective").fill("Officers keep the register")
    objective.get_by_role("checkbox").first.check()
    objective.get_by_role("button", name="Add the objective").click()
    editor.get_by_test_id("objective").first.wait_for()
    editor.get_by_text("Add an activity").click()
    activity = st.get_by_test_id("activity-add-form")
    activity.get_by_label("Type").select_option("training")
    activity.get_by_role("textbox", name="Title").fill(ACTIVITY)
    activity.get_by_label("Start").fill(today.isoformat())
    activity.get_by_label("End", exact=False).first.fill((today + timedelta(days=1)).isoformat())
    activity.get_by_label("Expected participants").fill("15")
    activity.get_by_role("button", name="Add the activity").click()
    st.get_by_test_id("activity").first.wait_for()
    st.get_by_test_id("activity").first.get_by_text("Add an expertise need").click()
    need = st.get_by_test_id("need-add-form").first
    need.get_by_label("Thematic area").select_option("data")
    need.get_by_label("Skills").fill("statistics")
    need.get_by_label("Required languages").select_option(["fr"])
    need.get_by_label("Experts needed").fill("1")
    need.get_by_label("Expert-days").fill("2")
    need.get_by_role("button", name="Add the need").click()
    st.get_by_test_id("activity").first.get_by_test_id("need").first.wait_for()
    screenshot(st, "pipeline-plan")
    st.get_by_role("link", name="Back to the action").click()
    st.get_by_test_id("transition-propose").get_by_role("button").click()
    expect(st.get_by_test_id("action-status")).to_contain_text("Proposed")
    action = Action.objects.get()
    aref, action_url = action.reference, action.get_absolute_url()
    proposed = f"Plan {aref} proposed for your approval"
    told(ap, mailoutbox, approver, "action_proposed", proposed, action_url)

    # 7. The approver (not the drafter: four eyes) approves.
    open_notification(ap, proposed, action_url)
    ap.get_by_test_id("transition-approve").get_by_role("button").click()
    expect(ap.get_by_test_id("action-status")).to_contain_text("Approved")
    approved = f"Plan {aref} approved"
    told(pa, mailoutbox, partner, "action_approved", approved, action_url)
    emailed(mailoutbox, staff, "action_approved", approved, action_url)

    # 8. The partner co-signs the plan.
    open_notification(pa, approved, action_url)
    sign = pa.get_by_test_id("transition-sign")
    sign.get_by_label("Your name, as signatory for the partner").fill("Amira Ben Salah, Director")
    sign.get_by_role("button").click()
    expect(pa.get_by_test_id("signature")).to_contain_text("Co-signed by Amira Ben Salah, Director")
    signed = f"Plan {aref} co-signed by the partner"
    told(st, mailoutbox, staff, "action_signed", signed, action_url)

    # 9. Staff start implementation, assign the evaluator and write the public summary.
    open_notification(st, signed, action_url)
    st.get_by_test_id("transition-start").get_by_role("button").click()
    expect(st.get_by_test_id("action-status")).to_contain_text("In implementation")
    emailed(mailoutbox, partner, "action_started", f"Action {aref} has started", action_url)
    st.get_by_role("link", name="Edit title, summary and evaluators").click()
    st.get_by_label("Public summary").fill(SUMMARY)
    st.get_by_role("checkbox", name="Ingrid Solberg").check()
    st.get_by_role("button", name="Save", exact=True).click()
    expect(st.get_by_role("status")).to_contain_text("Action saved.")
    assigned = f"You are the evaluator of action {aref}"
    emailed(mailoutbox, evaluator, "evaluator_assigned", assigned, action_url)

    # 10. Staff run matching for the need and invite the best-ranked expert.
    st.get_by_test_id("experts-links").get_by_role("link", name="Find experts").click()
    st.get_by_role("button", name="Run matching").click()
    expect(st.get_by_role("status")).to_contain_text(
        "Matching done: 2 candidates out of 3 experts."
    )
    rows = st.get_by_test_id("shortlist").get_by_test_id("shortlist-row")
    expect(rows.get_by_role("rowheader")).to_contain_text(["Amina Diallo", "Karim Haddad"])
    expect(st.get_by_test_id("exclusion-language").get_by_role("cell")).to_have_text("1")
    screenshot(st, "pipeline-shortlist")
    rows.filter(has_text="Amina Diallo").get_by_role("button", name="Invite").click()
    expect(st.get_by_role("status")).to_contain_text("Amina Diallo is invited")
    deployment = Deployment.objects.get()
    deployment_url = deployment.get_absolute_url()
    invited = f"Invitation to a mission — {aref}"
    told(ex, mailoutbox, expert, "deployment_invited", invited, deployment_url)

    # 11. The expert accepts on "My invitations".
    ex.get_by_role("link", name="My invitations", exact=True).click()
    invitation = ex.get_by_test_id("invitation")
    expect(invitation.get_by_role("heading")).to_have_text(ACTIVITY)
    expect(invitation).to_contain_text(aref)
    invitation.get_by_role("button", name="Accept").click()
    expect(ex.get_by_test_id("no-invitations")).to_be_visible()
    accepted = f"Amina Diallo accepted the invitation ({aref})"
    told(st, mailoutbox, staff, "deployment_accepted", accepted, deployment_url)

    # 12. Staff confirm the mission: the dates of the training, two expert-days.
    open_notification(st, accepted, deployment_url)
    confirm = st.get_by_test_id(f"transition-confirm-{deployment.pk}")
    expect(confirm.get_by_label("Mission start")).to_have_value(today.isoformat())
    expect(confirm.get_by_label("Mission end")).to_have_value(
        (today + timedelta(days=1)).isoformat()
    )
    confirm.get_by_label("Expert-days").fill("2")
    confirm.get_by_role("button", name="Confirm the mission").click()
    expect(st.get_by_test_id("deployment-status")).to_have_text("Confirmed")
    confirmed = f"Mission confirmed — {aref}"
    told(ex, mailoutbox, expert, "deployment_confirmed", confirmed, deployment_url)
    emailed(mailoutbox, partner, "deployment_confirmed", confirmed, deployment_url)

    # 13. The mission has started (today): the expert files the report.
    open_notification(ex, confirmed, deployment_url)
    ex.get_by_test_id("report-link").click()
    report = ex.get_by_test_id("report-form")
    report.get_by_label("Summary").fill("Trained 15 officers to keep the register.")
    report.get_by_label("Outputs").fill("Training materials; a register data dictionary.")
    report.get_by_label("Recommendations").fill("Train the regional offices next.")
    report.get_by_label("Days actually worked").fill("2")
    report.get_by_role("button", name="File the report").click()
    expect(ex.get_by_role("status")).to_contain_text("Mission report saved.")
    expect(ex.get_by_test_id("report")).to_contain_text("2 days worked")
    reported = f"Mission report from Amina Diallo ({aref})"
    told(st, mailoutbox, staff, "mission_report_submitted", reported, deployment_url)

    # Staff complete the deployment and rate the mission.
    open_notification(st, reported, deployment_url)
    expect(st.get_by_test_id("report")).to_contain_text("Train the regional offices next.")
    st.get_by_role("button", name="Complete").click()
    expect(st.get_by_test_id("deployment-status")).to_have_text("Completed")
    rate = st.get_by_test_id("rate-form")
    rate.get_by_label("5 — excellent").check()
    rate.get_by_role("button", name="Rate the mission").click()
    expect(st.get_by_test_id("rating")).to_contain_text("5 / 5")

    # 14. The evaluator, told of the assignment, defines two indicators and measures them.
    inbox(ev, assigned)
    ev.get_by_role("navigation", name="Main navigation").get_by_role(
        "link", name="My evaluations", exact=True
    ).click()
    mine = ev.get_by_test_id(f"my-evaluation-{action.pk}")
    expect(mine.get_by_test_id("indicator-count")).to_have_text("0")
    expect(mine.get_by_test_id("evaluation-status")).to_have_text("Not started")
    mine.get_by_role("link", name=aref).click()
    expect(ev.get_by_role("heading", level=1)).to_have_text("Monitoring and evaluation")
    for name, level, unit, value_label, baseline, target, value in INDICATORS:
        ev.get_by_text("Add an indicator", exact=True).click()
        new = ev.get_by_test_id("new-indicator-form")
        new.get_by_label("Name").fill(name)
        new.get_by_label("Capacity level").select_option(label=level)
        new.get_by_label("Unit").select_option(label=unit)
        new.get_by_label("Baseline").fill(baseline)
        new.get_by_label("Target").fill(target)
        new.get_by_label("Means of verification").fill("Register records")
        new.get_by_role("button", name="Add the indicator").click()
        expect(ev.get_by_role("status")).to_contain_text("Indicator added.")
        card = ev.get_by_role("article", name=name)
        card.get_by_text("Record a measurement", exact=True).click()
        form = card.locator("[data-testid^='measurement-form-']")
        expect(form.get_by_label("Date")).to_have_value(today.isoformat())
        form.get_by_label(value_label).fill(value)
        form.get_by_role("button", name="Record").click()
        expect(ev.get_by_role("status")).to_contain_text("Measurement recorded.")
        expect(ev.get_by_role("article", name=name).get_by_test_id("latest")).to_contain_text(value)
    screenshot(ev, "pipeline-monitoring")

    # 15. Staff complete the action: the evaluator is told at once that the final
    # evaluation is due. The daily reminder job, run here as Celery beat runs it, sends
    # nothing more that day.
    breadcrumb(st, aref)  # from the deployment back to the action
    st.get_by_test_id("transition-complete").get_by_role("button", name="Complete").click()
    expect(st.get_by_test_id("action-status")).to_have_text("Completed")
    assert evaluation_services.evaluations_remind_due() == 0
    evaluation_url = reverse("evaluations:evaluation", args=[action.pk])
    due = f"Final evaluation due — {aref}"
    told(ev, mailoutbox, evaluator, "evaluation_due", due, evaluation_url)

    # 16. The evaluator writes and submits the OECD-DAC final evaluation.
    open_notification(ev, due, evaluation_url)
    form = ev.get_by_test_id("evaluation-form")
    for criterion, rating in RATINGS.items():
        form.get_by_role("group", name=f"Rating of {criterion}").get_by_label(
            f"{rating} — {RATING_WORDS[rating]}", exact=True
        ).check()
        form.get_by_label(f"Why this rating of {criterion}?").fill(
            f"{criterion}: what the register and the interviews showed."
        )
    form.get_by_label("Findings").fill("Two of three ministries report to the register.")
    form.get_by_label("Lessons learned").fill("A peer expert from the region was trusted fastest.")
    form.get_by_label("Recommendations").fill("Train the regional offices.")
    # Submitting is offered once a complete draft is saved.
    form.get_by_role("button", name="Save the draft").click()
    expect(ev.get_by_role("status")).to_contain_text("Draft saved.")
    ev.get_by_test_id("evaluation-form").get_by_role(
        "button", name="Save and submit the evaluation"
    ).click()
    expect(ev.get_by_role("status")).to_contain_text("The final evaluation is submitted.")
    expect(ev.get_by_test_id("evaluation-status")).to_have_text("Submitted")
    submitted = f"Final evaluation of {aref} submitted"
    told(st, mailoutbox, staff, "evaluation_submitted", submitted, evaluation_url)
    emailed(mailoutbox, partner, "evaluation_submitted", submitted, evaluation_url)

    # 17. Staff close the action (from the evaluation, back to the action's page).
    open_notification(st, submitted, evaluation_url)
    breadcrumb(st, aref)  # the action's monitoring page
    breadcrumb(st, aref)  # the action
    st.get_by_test_id("transition-close").get_by_role("button", name="Close").click()
    expect(st.get_by_role("status")).to_contain_text("Done: Close.")
    expect(st.get_by_test_id("action-status")).to_have_text("Closed")
    closed = f"Action {aref} is closed"
    # What else the partner was told on the way is on their notifications page too.
    told(
        pa,
        mailoutbox,
        partner,
        "action_closed",
        closed,
        action_url,
        f"Action {aref} has started",
        confirmed,
        submitted,
    )

    # 18. The partner agrees to publish the closed action on the public portfolio.
    open_notification(pa, closed, action_url)
    pa.get_by_label("We agree that this action appears on the public portfolio").check()
    pa.get_by_role("button", name="Save my choice").click()
    expect(pa.get_by_role("status")).to_contain_text("Your choice about publication is saved.")
    screenshot(pa, "pipeline-action-closed")

    # 19. A visitor without an account finds it on the public portfolio.
    visitor = _anonymous(browser, live_server, errors)
    visitor.goto("/portfolio/")
    listed = visitor.get_by_test_id("portfolio-list").get_by_role("article", name=TITLE)
    expect(listed).to_contain_text(aref)
    expect(listed).to_contain_text("Closed")
    listed.get_by_role("link", name=TITLE).click()
    expect(visitor.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(visitor.get_by_test_id("action-status")).to_have_text("Closed")
    expect(visitor.get_by_test_id("summary")).to_have_text(SUMMARY)
    expect(visitor.get_by_test_id("experts-total")).to_have_text("1 expert")
    expect(visitor.get_by_test_id("dac-average")).to_contain_text("2.8 out of 4")
    screenshot(visitor, "pipeline-portfolio")

    # What the pages did, in the database: one case, from request to closed action.
    action.refresh_from_db()
    assert action.status == ActionStatus.CLOSED and action.publish
    assert action.request_id == request.pk and action.assessment_id == assessment.pk
    assert list(action.evaluators.all()) == [evaluator]
    (mission,) = Deployment.objects.all()
    assert mission.status == DeploymentStatus.COMPLETED and mission.expert.user == expert
    assert mission.report.days_worked == 2 and mission.rating == 5
    assert Measurement.objects.filter(indicator__action=action).count() == 2
    assert FinalEvaluation.objects.get(action=action).status == EvaluationStatus.SUBMITTED
    # No one was told twice of one event: one notification per recipient, event and object,
    # and one email per recipient and subject.
    repeated = (
        Notification.objects.values("recipient", "event", "object_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .order_by()
    )
    assert not list(repeated)
    sent = [(tuple(m.to), m.subject) for m in mailoutbox]
    assert len(sent) == len(set(sent)), sent
    for page in (pa, st, ap, ex, ev, visitor):
        page.context.close()
    assert not errors, f"the pages reported errors: {errors}"
