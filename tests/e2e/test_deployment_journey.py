"""Issue 5's journey in Chromium: from an expertise need of a running action to an expert on
mission — matching explained component by component, two invitations (one declined through
the signed link of the email, one accepted on "My invitations"), the mission confirmed,
then, once it has taken place, the mission report filed and the deployment completed."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from experts import services
from experts.models import Deployment, DeploymentStatus, Expert
from tests.e2e.accessibility import tab_to
from tests.e2e.conftest import screenshot, watch
from tests.e2e.test_request_journey import sign_in
from tests.experts.builders import approved_action, deployment_in, first_need, make_expert
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

ANSWER_LINK = re.compile(r"https?://\S+?(/experts/invitations/answer/[^/\s]+/)")


def open_as(browser: Any, live_server: Any, username: str, errors: list[str]) -> Any:
    """``sign_in``, with the checks of conftest's ``page`` fixture: errors thrown in the
    page, console errors and failed assets are collected in ``errors``."""
    return watch(sign_in(browser, live_server, username), username, errors)


def build_roster(*, expert: Any, staff: Any, partner: Any, activity: Any) -> dict[str, Expert]:
    """The roster matching ranks: three experts who pass the hard exclusions (one without
    the need's thematic area, so the ranking shows) and five who do not, each for a reason
    of the funnel (inactive or unvetted ×2, no French, unavailable, conflict of interest)."""
    amina = make_expert(expert, by=staff)  # Amina Diallo: data, statistics, French C1, TN
    lucia_user = UserFactory(username="lucia", expert=True, first_name="Lucía", last_name="Obiang")
    lucia = make_expert(
        lucia_user,
        by=staff,
        name="Lucía Obiang",
        languages=(("es", "C2"), ("fr", "B2")),
        nationality="GQ",
        countries=("MA",),
        home_institution="National Institute of Statistics of Equatorial Guinea",
        biography="Lucía Obiang runs the household surveys of her institute.",
    )
    karim = make_expert(
        by=staff,
        name="Karim Haddad",
        areas=("labour-migration",),
        nationality="MA",
        home_institution="Ministry of Labour of Morocco",
    )
    make_expert(by=staff, name="Sofia Marino", vetted=False, nationality="IT")
    make_expert(by=staff, name="Henrik Larsen", active=False, nationality="DK")
    make_expert(
        by=staff,
        name="Jan Kowalski",
        languages=(("en", "C2"), ("pl", "C2")),
        administration_type="eu_member_state",
        nationality="PL",
    )
    away = make_expert(by=staff, name="Nadia Rahman", nationality="EG")
    services.unavailability_add(
        expert_id=away.pk,
        by=staff,
        start_date=activity.start_date - timedelta(days=3),
        end_date=activity.end_date + timedelta(days=3),
        note="Leave",
    )
    make_expert(
        by=staff,
        name="Youssef Trabelsi",
        nationality="TN",
        organisation=partner.organisation,
        home_institution=partner.organisation.name,
    )
    return {"amina": amina, "lucia": lucia, "karim": karim}


def test_an_expert_is_matched_invited_confirmed_and_reports_on_the_mission(
    browser, live_server, partner, staff, approver, expert, mailoutbox
):
    # The action of the actions journey, signed and in implementation, with its need
    # (thematic area "data", skill "statistics", French), built through the services.
    action = approved_action(partner, staff, approver, state="in_implementation")
    need = first_need(action)
    activity = need.activity
    ref = action.reference
    roster = build_roster(expert=expert, staff=staff, partner=partner, activity=activity)
    errors: list[str] = []

    # 1. Staff run matching for the need and read why each expert ranks where they do.
    staff_page = open_as(browser, live_server, "staff", errors)
    staff_page.goto(action.get_absolute_url())
    staff_page.get_by_test_id("experts-links").get_by_role("link", name="Find experts").click()
    staff_page.get_by_role("button", name="Run matching").click()
    expect(staff_page.get_by_role("status")).to_contain_text(
        "Matching done: 3 candidates out of 8 experts."
    )
    rows = staff_page.get_by_test_id("shortlist").get_by_test_id("shortlist-row")
    expect(rows.get_by_role("rowheader")).to_contain_text(
        ["Amina Diallo", "Lucía Obiang", "Karim Haddad"]
    )
    expect(rows.get_by_test_id("total")).to_contain_text(["95.0", "89.0", "65.0"])
    top = rows.first
    for component, sentence in [
        ("thematic", "Works in the thematic area of the need."),
        ("skills", "Has 1 of the 1 skill asked for: statistics."),
        ("experience", "Has worked in the partner country."),
        ("origin", "A peer from a partner-country administration of the partner's region."),
        ("track_record", "No rated mission yet: a neutral score."),
    ]:
        expect(top.get_by_test_id(f"component-{component}")).to_contain_text(sentence)
    expect(rows.nth(1).get_by_test_id("component-experience")).to_contain_text(
        "Has worked in the partner country's sub-region."
    )
    expect(rows.nth(2).get_by_test_id("component-thematic")).to_contain_text(
        "Does not work in the thematic area of the need."
    )
    expect(staff_page.get_by_test_id("job-figures")).to_contain_text(
        "3 candidates left out of 8 experts on the roster"
    )
    for reason, label, count in [
        ("inactive_or_unvetted", "Inactive or not vetted", 2),
        ("language", "Missing a required language at B2 or above", 1),
        ("unavailable", "Unavailable during the activity", 1),
        ("conflict_of_interest", "Conflict of interest", 1),
        ("already_invited", "Already invited or answered for this need", 0),
    ]:
        row = staff_page.get_by_test_id(f"exclusion-{reason}")
        expect(row.get_by_role("rowheader")).to_contain_text(label)
        expect(row.get_by_role("cell")).to_have_text(str(count))
    screenshot(staff_page, "matching-shortlist")

    # 2. One click each: Amina and Lucía are invited.
    for name in ("Amina Diallo", "Lucía Obiang"):
        rows.filter(has_text=name).get_by_role("button", name="Invite").click()
        expect(staff_page.get_by_role("status")).to_contain_text(f"{name} is invited")
        expect(rows.filter(has_text=name).get_by_test_id("status-invited")).to_have_text("Invited")
    expect(
        rows.filter(has_text="Karim Haddad").get_by_role("button", name="Invite")
    ).to_be_visible()

    # 3. Lucía answers from the signed link of her invitation email: she declines.
    (email,) = [
        m
        for m in mailoutbox
        if m.to == ["lucia@example.org"] and m.subject == f"Invitation to a mission — {ref}"
    ]
    link = ANSWER_LINK.search(email.body)
    assert link, email.body
    lucia_page = open_as(browser, live_server, "lucia", errors)
    expect(lucia_page.get_by_test_id("my-invitations")).to_contain_text(activity.title)
    lucia_page.goto(link.group(1))
    expect(lucia_page.get_by_role("heading", level=1)).to_have_text(f"Invitation: {activity.title}")
    decline = lucia_page.get_by_test_id("link-decline")
    decline.get_by_label("Reason").fill("I lead our census fieldwork that week.")
    decline.get_by_role("button", name="Decline the invitation").click()
    lucia_page.wait_for_url("**/experts/invitations/")
    expect(lucia_page.get_by_role("status")).to_contain_text("You declined the invitation.")
    expect(lucia_page.get_by_test_id("no-invitations")).to_be_visible()
    # The link was for one use: opened again, it is refused (409) and says why. (Fetched
    # rather than opened: Chromium logs a refused page as a console error.)
    reused = lucia_page.request.get(link.group(1))
    assert reused.status == 409
    assert "This invitation has already been answered or closed" in reused.text()

    # Amina sees the invitation among her notifications and accepts it on My invitations.
    expert_page = open_as(browser, live_server, "expert", errors)
    expect(expert_page.get_by_test_id("my-invitations")).to_contain_text(activity.title)
    expert_page.goto("/notifications/")
    expect(
        expert_page.get_by_test_id("notification-list").get_by_text(
            f"Invitation to a mission — {ref}", exact=True
        )
    ).to_be_visible()
    expert_page.get_by_role("link", name="My invitations", exact=True).click()
    invitation = expert_page.get_by_test_id("invitation")
    expect(invitation).to_have_count(1)
    expect(invitation.get_by_role("heading")).to_have_text(activity.title)
    expect(invitation).to_contain_text(ref)
    screenshot(expert_page, "expert-invitation")
    invitation.get_by_role("button", name="Accept").click()
    expect(expert_page.get_by_role("status")).to_contain_text("Accept the invitation")
    expect(expert_page.get_by_test_id("no-invitations")).to_be_visible()

    # 4. Staff are told of both answers, then confirm Amina on the deployment board.
    staff_page.goto("/notifications/")
    notifications = staff_page.get_by_test_id("notification-list")
    for subject in (
        f"Amina Diallo accepted the invitation ({ref})",
        f"Lucía Obiang declined the invitation ({ref})",
    ):
        expect(notifications.get_by_text(subject, exact=True)).to_be_visible()
    staff_page.goto(action.get_absolute_url())
    staff_page.get_by_test_id("deployment-board-link").click()
    board = staff_page.get_by_test_id(f"board-need-{need.pk}")
    lucia_row = board.get_by_role("row").filter(has_text="Lucía Obiang")
    expect(lucia_row.get_by_test_id("status-declined")).to_have_text("Declined")
    expect(lucia_row).to_contain_text("I lead our census fieldwork that week.")
    amina_row = board.get_by_role("row").filter(has_text="Amina Diallo")
    expect(amina_row.get_by_test_id("status-accepted")).to_have_text("Accepted")
    # The activity is a one-day training; the mission adds a day of preparation on site.
    mission_start = activity.start_date - timedelta(days=1)
    amina_row.get_by_label("Mission start").fill(mission_start.isoformat())
    amina_row.get_by_label("Mission end").fill(activity.end_date.isoformat())
    amina_row.get_by_label("Expert-days").fill("2")
    amina_row.get_by_role("button", name="Confirm the mission").click()
    expect(staff_page.get_by_role("status")).to_contain_text("Done: Confirm the mission.")
    expect(amina_row.get_by_test_id("status-confirmed")).to_have_text("Confirmed")
    expect(amina_row).to_contain_text("2 expert-days")
    expect(board.get_by_test_id("need-counts")).to_contain_text("Confirmed: 1")

    # The partner sees who comes — name, institution, short biography, and no CV.
    partner_page = open_as(browser, live_server, "partner", errors)
    partner_page.goto(action.get_absolute_url())
    partner_page.get_by_role("link", name="Confirmed experts").click()
    confirmed = partner_page.get_by_test_id("action-experts")
    expect(confirmed.get_by_role("article")).to_have_count(1)
    expect(confirmed).to_contain_text("Amina Diallo")
    expect(confirmed).to_contain_text("National Statistics Office")
    expect(confirmed).to_contain_text("Amina Diallo heads a statistics unit.")
    expect(confirmed).not_to_contain_text("Lucía Obiang")
    expect(partner_page.get_by_role("link", name=re.compile(r"\bCV\b"))).to_have_count(0)
    expect(partner_page.locator("a[href*='/cv']")).to_have_count(0)
    partner_page.goto("/notifications/")
    expect(
        partner_page.get_by_test_id("notification-list").get_by_text(
            f"Mission confirmed — {ref}", exact=True
        )
    ).to_be_visible()

    # 5. Time passes: the mission takes place and ends. The mission dates move into the
    # past (the clock cannot move forward here): the report is accepted only once the
    # mission has started, and the reminder goes out MISSION_REPORT_DUE_DAYS after its end.
    # The scheduled reminder job then runs as Celery beat would run it.
    deployment = Deployment.objects.get(need=need, expert=roster["amina"])
    mission_end = timezone.localdate() - timedelta(days=settings.MISSION_REPORT_DUE_DAYS + 1)
    Deployment.objects.filter(pk=deployment.pk).update(
        start_date=mission_end - timedelta(days=1), end_date=mission_end
    )
    assert services.mission_reports_remind() == 1

    expert_page.goto("/")
    expect(expert_page.get_by_test_id("reports-due")).to_contain_text(
        f"File the report: {activity.title}"
    )
    expect(expert_page.get_by_text(f"Your mission report is due — {ref}")).to_be_visible()
    expert_page.get_by_role("link", name="My deployments", exact=True).click()
    expert_page.get_by_test_id("deployments").get_by_role(
        "link", name=f"{ref} — {activity.title}"
    ).click()
    expect(expert_page.get_by_test_id("deployment-status")).to_have_text("Confirmed")
    expert_page.get_by_test_id("report-link").click()
    report_form = expert_page.get_by_test_id("report-form")
    report_form.get_by_label("Summary").fill("Trained 15 analysts of the statistics unit.")
    report_form.get_by_label("Outputs").fill("Training materials; a register data dictionary.")
    report_form.get_by_label("Recommendations").fill("Repeat the training in a year.")
    report_form.get_by_label("Days actually worked").fill("2")
    report_form.get_by_role("button", name="File the report").click()
    expect(expert_page.get_by_role("status")).to_contain_text("Mission report saved.")
    report = expert_page.get_by_test_id("report")
    expect(report).to_contain_text("Trained 15 analysts of the statistics unit.")
    expect(report).to_contain_text("2 days worked")

    # 6. Staff are told the report is in, complete the deployment and rate the mission.
    staff_page.goto("/notifications/")
    staff_page.get_by_test_id("notification-list").get_by_role("listitem").filter(
        has_text=f"Mission report from Amina Diallo ({ref})"
    ).get_by_role("button", name="Open").click()
    staff_page.wait_for_url(f"**{deployment.get_absolute_url()}*")
    expect(staff_page.get_by_test_id("report")).to_contain_text("Repeat the training in a year.")
    staff_page.get_by_role("button", name="Complete").click()
    expect(staff_page.get_by_test_id("deployment-status")).to_have_text("Completed")
    rate = staff_page.get_by_test_id("rate-form")
    rate.get_by_label("5 — excellent").check()
    rate.get_by_role("button", name="Rate the mission").click()
    expect(staff_page.get_by_test_id("rating")).to_contain_text("5 / 5")

    deployment.refresh_from_db()
    assert deployment.status == DeploymentStatus.COMPLETED and deployment.rating == 5
    # The rating feeds the track-record component of the next matching run.
    assert Expert.objects.get(pk=roster["amina"].pk).rating_count == 1
    for page in (staff_page, lucia_page, expert_page, partner_page):
        page.context.close()
    assert not errors, f"the pages reported errors: {errors}"


def test_an_expert_accepts_an_invitation_with_the_keyboard_only(
    browser, live_server, partner, staff, approver, expert
):
    action = approved_action(partner, staff, approver, state="in_implementation")
    invited = deployment_in(
        "invited", first_need(action), make_expert(expert, by=staff), staff=staff
    )
    errors: list[str] = []
    page = open_as(browser, live_server, "expert", errors)
    page.goto("/experts/invitations/")
    accept = page.get_by_test_id("invitation").get_by_role("button", name="Accept")
    tab_to(page, accept, "the Accept button")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("no-invitations")).to_be_visible()
    assert Deployment.objects.get(pk=invited.pk).status == DeploymentStatus.ACCEPTED
    page.context.close()
    assert not errors, f"the page reported errors: {errors}"
