"""The public portfolio (no login): the page at /portfolio/, one page per action, and the
read-only JSON at /api/v1/public/actions/.

Only actions whose partner agreed to publish, once approved, appear — never in design,
proposed or cancelled — with institutional facts and aggregates only: no person's name or
email, no expert, no evaluation text, no feedback comment.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from actions import services as action_services
from actions.models import Action, Activity
from cbportal.accounts.models import Country
from evaluations import public_views
from evaluations import services as evaluation_services
from tests.actions.builders import advance, make_action
from tests.evaluations.builders import complete_evaluation, running_action
from tests.experts.builders import deployment_in, first_need, make_expert
from tests.factories import OrganisationFactory, UserFactory

PAGE = "/portfolio/"
API = "/api/v1/public/actions/"
SUMMARY = "Agencies share arrival data through one system."

HIDDEN_STATES = ["design", "proposed", "cancelled"]
PUBLIC_STATES = ["approved", "in_implementation", "suspended", "completed", "closed"]


# --- builders ----------------------------------------------------------------------------


def consent(action: Action, partner: Any, staff: Any, *, summary: str = SUMMARY) -> Action:
    """Staff write the public summary; the partner agrees to publish (the real services)."""
    action_services.action_update(action_id=action.pk, by=staff, data={"summary": summary})
    action_services.action_update(action_id=action.pk, by=partner, data={"publish": True})
    return Action.objects.get(pk=action.pk)


def close(action: Action, evaluator: Any, staff: Any, **evaluation: Any) -> Action:
    """Complete ``action`` (in implementation, ``evaluator`` assigned), submit its final
    evaluation and close it."""
    action_services.action_transition(action_id=action.pk, name="complete", by=staff)
    draft = complete_evaluation(action, evaluator, **evaluation)
    evaluation_services.evaluation_submit(evaluation_id=draft.pk, by=evaluator)
    action_services.action_transition(action_id=action.pk, name="close", by=staff)
    return Action.objects.get(pk=action.pk)


def published(
    partner: Any,
    staff: Any,
    approver: Any,
    evaluator: Any,
    state: str = "in_implementation",
    **kwargs: Any,
) -> Action:
    """A consented action of ``partner`` brought to one of the public ``state``s."""
    if state in ("approved", "suspended"):
        action = advance(
            make_action(partner, staff, **kwargs),
            "signed" if state == "approved" else state,
            staff=staff,
            approver=approver,
            partner=partner,
        )
        return consent(action, partner, staff)
    action = consent(
        running_action(partner, staff, approver, evaluator=evaluator, **kwargs), partner, staff
    )
    if state == "completed":
        action_services.action_transition(action_id=action.pk, name="complete", by=staff)
    elif state == "closed":
        action = close(action, evaluator, staff)
    return Action.objects.get(pk=action.pk)


def hidden(partner: Any, staff: Any, approver: Any, state: str) -> Action:
    """An action in ``state`` whose ``publish`` flag is set anyway. The services let a
    partner consent only once the action is approved, but the portfolio does not rely on
    that: a flag set in design (an import, the admin) or before a cancellation must not
    leak."""
    action = advance(
        make_action(partner, staff, title=f"Hidden {state} plan"),
        state,
        staff=staff,
        approver=approver,
        partner=partner,
    )
    Action.objects.filter(pk=action.pk).update(publish=True, summary=SUMMARY)
    return Action.objects.get(pk=action.pk)


def partner_in(country: str) -> Any:
    return UserFactory(
        partner=True, organisation=OrganisationFactory(country=Country.objects.get(code=country))
    )


def page_references(response: Any) -> set[str]:
    assert response.status_code == 200
    return set(re.findall(r'data-reference="([^"]+)"', response.content.decode()))


def api_references(response: Any) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["reference"] for row in response.json()["results"]}


@pytest.fixture
def shown(partner: Any, staff: Any, approver: Any, evaluator: Any) -> Action:
    """A consented action in implementation (one training in Tunis, 8 women and 7 men)."""
    return published(partner, staff, approver, evaluator, gcm=(1, 11), areas=("data", "governance"))


# --- anonymous access --------------------------------------------------------------------


def test_it_shows_the_portfolio_to_anonymous_visitors(client, shown):
    response = client.get(PAGE)
    assert response.status_code == 200
    assert "evaluations/public/portfolio.html" in [t.name for t in response.templates]
    html = response.content.decode()
    assert page_references(response) == {shown.reference}
    assert shown.title in html and SUMMARY in html
    assert "Tunisia" in html and "Africa" in html
    assert "Data production, collection and analysis" in html
    assert "Migration governance and policy making" in html
    assert "Objective 1:" in html and "Objective 11:" in html
    assert re.search(r'data-type="training">\s*Training: 1<', html)
    assert "In implementation" in html
    assert shown.organisation.name in html  # the partner authority is an institution


def test_it_says_which_actions_are_never_listed(client, db):
    html = client.get(PAGE).content.decode()
    intro = re.search(r'data-testid="portfolio-intro">(.*?)</div>', html, re.S).group(1)
    assert "agreed to publish" in intro
    assert "in design" in intro and "awaiting approval" in intro and "cancelled" in intro
    assert "No action has been published yet." in html


def test_it_serves_the_action_page_to_anonymous_visitors(client, shown):
    response = client.get(f"{PAGE}{shown.reference}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert shown.title in html and SUMMARY in html
    table = re.search(r'data-testid="activity-table">(.*?)</table>', html, re.S).group(1)
    assert "Training" in table and "On-site" in table and "Tunisia, Tunis" in table
    # Participants are aggregates (sex-disaggregated counts), never names.
    assert "15 (women 8, men 7, other or not stated 0)" in " ".join(table.split())
    assert "Training of analysts" not in html  # activity titles are internal


def test_it_serves_the_json_to_anonymous_clients(api, shown):
    response = api.get(API)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "count_is_estimate", "next", "previous", "results"}
    assert body["count"] == 1
    row = body["results"][0]
    assert row["reference"] == shown.reference
    assert row["summary"] == SUMMARY
    assert row["country"] == {
        "code": "TN",
        "name": "Tunisia",
        "region": "Africa",
        "region_label": "Africa",
    }
    assert row["partner"] == {
        "name": shown.organisation.name,
        "acronym": shown.organisation.acronym,
    }
    assert [a["slug"] for a in row["thematic_areas"]] == ["data", "governance"]
    assert [o["number"] for o in row["gcm_objectives"]] == [1, 11]
    assert row["status"] == "in_implementation"
    assert row["status_label"] == "In implementation"
    assert row["activity_types"] == [{"type": "training", "type_label": "Training", "count": 1}]
    assert row["dac_average"] is None
    assert row["url"] == f"http://testserver/portfolio/{shown.reference}/"
    assert row["start_date"] == shown.start_date.isoformat()
    assert row["end_date"] == shown.end_date.isoformat()

    detail = api.get(f"{API}{shown.reference}/")
    assert detail.status_code == 200
    (activity,) = detail.json()["activities"]
    assert activity["type"] == "training" and activity["modality"] == "onsite"
    assert activity["country"]["code"] == "TN" and activity["city"] == "Tunis"
    assert (activity["participants_women"], activity["participants_men"]) == (8, 7)
    assert "title" not in activity and "description" not in activity


def test_it_links_the_landing_page_to_the_portfolio(client, db):
    html = client.get("/").content.decode()
    assert f'href="{PAGE}"' in html


# --- what never appears ------------------------------------------------------------------


@pytest.mark.parametrize("state", HIDDEN_STATES)
def test_it_never_shows_an_action_in_design_proposed_or_cancelled(
    client, api, partner, staff, approver, evaluator, shown, state
):
    action = hidden(partner, staff, approver, state)
    assert action.publish and action.status == state
    assert page_references(client.get(PAGE)) == {shown.reference}
    assert api_references(api.get(API)) == {shown.reference}
    assert client.get(f"{PAGE}{action.reference}/").status_code == 404
    assert api.get(f"{API}{action.reference}/").status_code == 404
    assert page_references(client.get(PAGE, {"search": "hidden"})) == set()
    assert api_references(api.get(API, {"search": "hidden"})) == set()
    assert action.title not in client.get(PAGE).content.decode()


def test_it_never_shows_an_action_without_the_partners_consent(
    client, api, partner, staff, approver, evaluator, shown
):
    other = running_action(partner, staff, approver, title="Unconsented border plan")
    action_services.action_update(action_id=other.pk, by=staff, data={"summary": SUMMARY})
    assert Action.objects.get(pk=other.pk).publish is False
    assert page_references(client.get(PAGE)) == {shown.reference}
    assert api_references(api.get(API)) == {shown.reference}
    assert client.get(f"{PAGE}{other.reference}/").status_code == 404
    response = api.get(f"{API}{other.reference}/")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"
    assert "Unconsented border plan" not in client.get(PAGE).content.decode()


@pytest.mark.parametrize("state", PUBLIC_STATES)
def test_it_shows_a_consented_action_in_each_public_state(
    client, api, partner, staff, approver, evaluator, state
):
    action = published(partner, staff, approver, evaluator, state)
    assert action.status == state and action.publish
    assert page_references(client.get(PAGE)) == {action.reference}
    assert api_references(api.get(API)) == {action.reference}
    assert client.get(f"{PAGE}{action.reference}/").status_code == 200
    assert api.get(f"{API}{action.reference}/").json()["status"] == state


def test_it_removes_an_action_when_the_partner_withdraws_consent(client, api, partner, shown):
    assert client.get(f"{PAGE}{shown.reference}/").status_code == 200
    action_services.action_update(action_id=shown.pk, by=partner, data={"publish": False})
    assert page_references(client.get(PAGE)) == set()
    assert api_references(api.get(API)) == set()
    assert client.get(f"{PAGE}{shown.reference}/").status_code == 404
    assert api.get(f"{API}{shown.reference}/").status_code == 404


def test_a_partner_can_withdraw_consent_after_the_action_is_closed(
    client, partner, staff, approver, evaluator
):
    action = published(partner, staff, approver, evaluator, "closed")
    action_services.action_update(action_id=action.pk, by=partner, data={"publish": False})
    assert client.get(f"{PAGE}{action.reference}/").status_code == 404


def test_it_answers_404_to_an_unknown_reference(client, api, db):
    assert client.get(f"{PAGE}ACT-1999-0001/").status_code == 404
    assert api.get(f"{API}ACT-1999-0001/").status_code == 404


# --- experts by origin and the DAC average -----------------------------------------------


def test_it_counts_deployed_experts_by_origin(client, api, staff, shown):
    need = first_need(shown)

    def expert(origin: str, n: int) -> Any:
        return make_expert(name=f"Origin expert {origin} {n}", administration_type=origin, by=staff)

    # Counted: confirmed or completed.
    deployment_in("confirmed", need, expert("eu_member_state", 1), staff=staff)
    deployment_in("completed", need, expert("eu_member_state", 2), staff=staff)
    deployment_in("confirmed", need, expert("partner_country", 1), staff=staff)
    deployment_in("completed", need, expert("international_organisation", 1), staff=staff)
    # Not counted: not (or no longer) deployed.
    deployment_in("accepted", need, expert("academia_civil_society", 1), staff=staff)
    deployment_in("invited", need, expert("partner_country", 2), staff=staff)
    deployment_in("declined", need, expert("partner_country", 3), staff=staff)
    deployment_in("shortlisted", need, expert("eu_member_state", 3), staff=staff)
    cancelled = expert("partner_country", 4)
    deployment_in("cancelled", need, cancelled, staff=staff)
    # An expert on two missions of the action counts once.
    second = Activity.objects.create(
        action=shown,
        type="study_visit",
        title="Study visit",
        start_date=timezone.localdate() - timedelta(days=20),
        end_date=timezone.localdate() - timedelta(days=20),
        country_id="TN",
    )
    second_need = second.needs.create(thematic_area_id=need.thematic_area_id)
    twice = expert("international_organisation", 2)
    deployment_in("confirmed", need, twice, staff=staff)
    deployment_in("confirmed", second_need, twice, staff=staff)

    expected = {
        "eu_member_state": 2,
        "partner_country": 1,
        "international_organisation": 2,
        "academia_civil_society": 0,
    }
    row = api.get(API).json()["results"][0]
    assert {o["origin"]: o["count"] for o in row["experts_by_origin"]} == expected
    assert [o["origin"] for o in row["experts_by_origin"]] == list(expected)
    assert row["experts_total"] == 5
    assert row["experts_by_origin"][1]["origin_label"] == "Partner-country administration"
    assert row["activity_types"] == [
        {"type": "training", "type_label": "Training", "count": 1},
        {"type": "study_visit", "type_label": "Study visit", "count": 1},
    ]

    html = client.get(PAGE).content.decode()
    assert re.search(r'data-testid="experts-total">5 experts<', html)
    for origin, label, count in [
        ("eu_member_state", "EU member-state administration", 2),
        ("partner_country", "Partner-country administration", 1),
        ("international_organisation", "International organisation", 2),
        ("academia_civil_society", "Academia / civil society", 0),
    ]:
        assert f'data-origin="{origin}">{label}: {count}<' in html
    assert "Origin expert" not in html


def test_it_leaves_cancelled_activities_out(client, api, shown):
    Activity.objects.create(
        action=shown,
        type="mentoring",
        title="Mentoring",
        status="cancelled",
        start_date=shown.start_date,
        end_date=shown.start_date,
    )
    row = api.get(f"{API}{shown.reference}/").json()
    assert [t["type"] for t in row["activity_types"]] == ["training"]
    assert [a["type"] for a in row["activities"]] == ["training"]
    assert "Mentoring" not in client.get(f"{PAGE}{shown.reference}/").content.decode()
    assert api_references(api.get(API, {"activity_type": "mentoring"})) == set()


def test_it_shows_the_average_dac_rating_of_a_closed_action_only(
    client, api, partner, staff, approver, evaluator, shown
):
    # Ratings 3, 3, 3, 3, 2, 4 (tests/evaluations/builders.COMPLETE_EVALUATION): mean 3.0.
    closed = published(partner, staff, approver, evaluator, "closed", title="Closed plan")
    closed_row = api.get(f"{API}{closed.reference}/").json()
    assert closed_row["dac_average"] == 3.0
    assert api.get(f"{API}{shown.reference}/").json()["dac_average"] is None
    html = client.get(f"{PAGE}{closed.reference}/").content.decode()
    assert re.search(r'data-testid="dac-average">3\.0 out of 4', html)
    assert (
        'data-testid="dac-average"' not in client.get(f"{PAGE}{shown.reference}/").content.decode()
    )


def test_it_does_not_show_the_rating_of_a_completed_action_before_it_closes(
    api, partner, staff, approver, evaluator, shown
):
    action_services.action_transition(action_id=shown.pk, name="complete", by=staff)
    draft = complete_evaluation(shown, evaluator, impact=1)
    evaluation_services.evaluation_submit(evaluation_id=draft.pk, by=evaluator)
    assert api.get(f"{API}{shown.reference}/").json()["dac_average"] is None


# --- no personal data --------------------------------------------------------------------


def _distinctive(user: Any, tag: str) -> Any:
    user.username = f"zq{tag}login"
    user.first_name = f"Zqfirst{tag}"
    user.last_name = f"Zqlast{tag}"
    user.email = f"zq.{tag}@private-mail.example"
    user.save()
    return user


def test_it_publishes_no_personal_data(client, api, partner, staff, approver, evaluator, partner2):
    people = {
        tag: _distinctive(user, tag)
        for tag, user in {
            "partner": partner,
            "staff": staff,
            "approver": approver,
            "evaluator": evaluator,
        }.items()
    }
    # Built after the renaming: the co-signature keeps the partner's name as it was then.
    action = running_action(partner, staff, approver, evaluator=evaluator)
    need = first_need(action)
    experts = [
        make_expert(
            _distinctive(UserFactory(expert=True), f"expert{n}"),
            name=f"Zqexpertname{n} Vexbridge",
            administration_type=origin,
            phone=f"+216 555 0{n}99",
            biography=f"Zqbiography{n} of a private person.",
            by=staff,
        )
        for n, origin in enumerate(["eu_member_state", "partner_country"])
    ]
    deployment_in("confirmed", need, experts[0], staff=staff)
    deployment_in("completed", need, experts[1], staff=staff)
    activity = need.activity
    evaluation_services.feedback_submit(
        activity_id=activity.pk,
        by=partner,
        data={"satisfaction": 4, "comments": "Zqfeedbackcomment from the focal point."},
    )
    (link,) = evaluation_services.feedback_links_create(activity_id=activity.pk, by=staff, count=1)
    evaluation_services.feedback_submit_by_link(
        token=link.token, data={"satisfaction": 5, "comments": "Zqparticipantcomment, very useful."}
    )
    action = consent(action, partner, staff)
    justifications = {
        f"{name}_justification": f"Zqjustification{name}"
        for name in (
            "relevance",
            "coherence",
            "effectiveness",
            "efficiency",
            "impact",
            "sustainability",
        )
    }
    action = close(
        action,
        evaluator,
        staff,
        findings="Zqfindings of the evaluator.",
        lessons="Zqlessons learned.",
        recommendations=["Zqrecommendation one."],
        **justifications,
    )
    signed_name = Action.objects.get(pk=action.pk).signed_name
    assert signed_name  # the co-signature is on record …

    forbidden = [
        signed_name,
        *(s for u in people.values() for s in (u.username, u.first_name, u.last_name, u.email)),
        *(s for e in experts for s in (e.full_name, e.email, e.phone, e.biography)),
        *(s for u in (e.user for e in experts) for s in (u.username, u.first_name, u.email)),
        "Zqexpertname",
        "Zqfeedbackcomment",
        "Zqparticipantcomment",
        "Zqfindings",
        "Zqlessons",
        "Zqrecommendation",
        "Zqjustification",
        "Trained 15 analysts",  # the mission report
        "private-mail.example",
    ]
    responses = {
        "page": client.get(PAGE),
        "detail page": client.get(f"{PAGE}{action.reference}/"),
        "json list": api.get(API),
        "json detail": api.get(f"{API}{action.reference}/"),
    }
    for name, response in responses.items():
        assert response.status_code == 200, name
        body = response.content.decode().lower()
        assert action.reference.lower() in body, name  # … the action is there …
        leaks = [s for s in forbidden if s.lower() in body]
        assert leaks == [], f"{name} leaks {leaks}"  # … but no person is
    # The aggregates are, though: two experts, and the DAC mean.
    row = responses["json detail"].json()
    assert row["experts_total"] == 2 and row["dac_average"] == 3.0


# --- filters -----------------------------------------------------------------------------


@pytest.fixture
def portfolio(partner, staff, approver, evaluator) -> dict[str, Action]:
    """Four published actions that differ in every filtered fact."""
    senegal, mexico = partner_in("SN"), partner_in("MX")
    actions = {
        "tunisia": published(
            partner,
            staff,
            approver,
            evaluator,
            title="Tunisian labour register",
            areas=("labour-migration",),
            gcm=(1,),
        ),
        "senegal": published(
            senegal,
            staff,
            approver,
            evaluator,
            title="Senegal diaspora desk",
            areas=("data",),
            gcm=(19,),
        ),
        "mexico": published(
            mexico,
            staff,
            approver,
            evaluator,
            "suspended",
            title="Mexican border posts",
            areas=("data",),
            gcm=(11,),
        ),
        "approved": published(
            senegal,
            staff,
            approver,
            evaluator,
            "approved",
            title="Senegal return counselling",
            areas=("governance",),
        ),
    }
    Activity.objects.filter(action=actions["senegal"]).update(type="study_visit")
    Action.objects.filter(pk=actions["mexico"].pk).update(
        start_date=date(2021, 3, 1), end_date=date(2022, 2, 28)
    )
    Action.objects.filter(pk=actions["approved"].pk).update(
        summary="Counselling for returnees in Dakar and Thiès."
    )
    return {k: Action.objects.get(pk=v.pk) for k, v in actions.items()}


FILTERS = [
    ({"country": "SN"}, {"senegal", "approved"}),
    ({"country": "sn"}, {"senegal", "approved"}),
    ({"region": "Americas"}, {"mexico"}),
    ({"region": "Africa"}, {"tunisia", "senegal", "approved"}),
    ({"thematic_area": "data"}, {"senegal", "mexico"}),
    ({"gcm_objective": "11"}, {"mexico"}),
    ({"activity_type": "study_visit"}, {"senegal"}),
    ({"activity_type": "training"}, {"tunisia", "mexico", "approved"}),
    ({"status": "suspended"}, {"mexico"}),
    ({"status": "approved"}, {"approved"}),
    ({"year": "2021"}, {"mexico"}),
    ({"search": "senegal"}, {"senegal", "approved"}),
    ({"search": "counselling dakar"}, {"approved"}),
    ({"search": "register"}, {"tunisia"}),
    ({"country": "SN", "activity_type": "training"}, {"approved"}),
    ({}, {"tunisia", "senegal", "mexico", "approved"}),
]


@pytest.mark.parametrize(("query", "expected"), FILTERS, ids=[str(q) for q, _e in FILTERS])
def test_each_filter_narrows_the_page_and_the_json(client, api, portfolio, query, expected):
    references = {portfolio[k].reference for k in expected}
    assert page_references(client.get(PAGE, query)) == references
    assert api_references(api.get(API, query)) == references


def test_the_year_filter_keeps_actions_running_at_some_point_of_the_year(client, api, portfolio):
    this_year = str(timezone.localdate().year)
    running = api_references(api.get(API, {"year": this_year}))
    assert portfolio["mexico"].reference not in running
    assert portfolio["tunisia"].reference in running
    assert api_references(api.get(API, {"year": "2022"})) == {portfolio["mexico"].reference}
    assert api_references(api.get(API, {"year": "2019"})) == set()


def test_the_page_offers_only_what_is_published(client, portfolio, partner, staff, approver):
    hidden(partner_in("JO"), staff, approver, "design")
    html = client.get(PAGE).content.decode()
    countries = re.search(r'<select name="country"[^>]*>(.*?)</select>', html, re.S).group(1)
    assert "Senegal" in countries and "Mexico" in countries and "Tunisia" in countries
    assert "Jordan" not in countries
    statuses = re.findall(
        r'<option value="([a-z_]+)"',
        re.search(r'<select name="status"[^>]*>(.*?)</select>', html, re.S).group(1),
    )
    assert statuses == ["approved", "in_implementation", "suspended", "completed", "closed"]
    assert '<option value="2021">2021</option>' in html


def test_a_non_public_status_filter_is_refused(client, api, portfolio, partner, staff, approver):
    design = hidden(partner, staff, approver, "design")
    response = client.get(PAGE, {"status": "design"})
    html = response.content.decode()
    assert 'id="id_status_error" role="alert"' in html
    assert design.reference not in html
    refused = api.get(API, {"status": "design"})
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["attr"] == "status"


def test_it_paginates_the_page_and_the_json(client, api, portfolio, monkeypatch):
    monkeypatch.setattr(public_views, "PAGE_SIZE", 3)
    first, second = client.get(PAGE), client.get(PAGE, {"page": 2})
    assert len(page_references(first)) == 3 and len(page_references(second)) == 1
    assert page_references(first) | page_references(second) == {
        a.reference for a in portfolio.values()
    }
    assert "Page 1 of 2" in first.content.decode()
    body = api.get(API, {"page_size": 3}).json()
    assert body["count"] == 4 and len(body["results"]) == 3 and body["next"]


def test_the_page_links_to_the_same_list_as_json(client, portfolio):
    # The filters that apply, without the page number or a refused value.
    html = client.get(PAGE, {"country": "SN", "status": "design", "page": "1"}).content.decode()
    assert f'href="{API}?country=SN"' in html


# --- query counts ------------------------------------------------------------------------


def _queries(fetch: Any) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = fetch()
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_query_counts_do_not_grow_with_the_portfolio(
    client, api, partner, staff, approver, evaluator, shown
):
    fetches = {
        "page": lambda: client.get(PAGE),
        "filtered page": lambda: client.get(PAGE, {"thematic_area": "data", "search": "border"}),
        "detail page": lambda: client.get(f"{PAGE}{shown.reference}/"),
        "json": lambda: api.get(API),
        "json detail": lambda: api.get(f"{API}{shown.reference}/"),
    }
    small = {name: _queries(fetch) for name, fetch in fetches.items()}
    # Four more actions, with more areas, objectives, activities and deployed experts.
    for n in range(4):
        action = published(
            partner_in("SN"),
            staff,
            approver,
            evaluator,
            areas=("data", "governance"),
            gcm=(1, 2, 3),
            title=f"Border plan {n}",
        )
        need = first_need(action)
        expert = make_expert(
            name=f"Counted expert {n}", administration_type="eu_member_state", by=staff
        )
        deployment_in("confirmed", need, expert, staff=staff)
        Activity.objects.create(
            action=action,
            type="mentoring",
            title="Mentoring",
            start_date=action.start_date,
            end_date=action.start_date,
        )
    assert api.get(API).json()["count"] == 5
    large = {name: _queries(fetch) for name, fetch in fetches.items()}
    assert large == small


# --- the JSON endpoint's contract --------------------------------------------------------


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_json_is_read_only(method, shown, staff):
    # A signed-in browser without a CSRF token gets 405 too: the endpoint takes no session.
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(staff)
    for url in (API, f"{API}{shown.reference}/"):
        response = getattr(client, method)(url, {"title": "Changed"}, format="json")
        assert response.status_code == 405, (url, response.content)
    assert Action.objects.get(pk=shown.pk).title == shown.title


def test_the_json_ignores_credentials(api, shown):
    # A stale or broken token is not an error: the endpoint is public.
    response = api.get(API, HTTP_AUTHORIZATION="Token not-a-valid-token")
    assert api_references(response) == {shown.reference}


def test_the_json_is_throttled_per_anonymous_client(api, shown, monkeypatch):
    monkeypatch.setattr(
        "rest_framework.throttling.SimpleRateThrottle.THROTTLE_RATES",
        {"anon": "2/minute", "user": "1000/minute", "token": "10/minute"},
    )
    assert api.get(API).status_code == 200
    assert api.get(f"{API}{shown.reference}/").status_code == 200
    response = api.get(API)
    assert response.status_code == 429
    assert response.json()["errors"][0]["code"] == "throttled"


def test_the_json_is_documented_under_the_public_tag(api, db):
    schema = api.get("/api/schema/", {"format": "json"}).json()
    for path in (API, "/api/v1/public/actions/{reference}/"):
        operations = schema["paths"][path]
        assert "get" in operations and not {"post", "put", "patch", "delete"} & set(operations)
        assert operations["get"]["tags"] == ["public"]
        assert operations["get"].get("security") in (None, [], [{}])
    parameters = {p["name"] for p in schema["paths"][API]["get"]["parameters"]}
    assert {
        "country",
        "region",
        "thematic_area",
        "gcm_objective",
        "activity_type",
        "status",
        "year",
        "search",
        "page",
    } <= parameters


# --- language ----------------------------------------------------------------------------


def test_it_speaks_the_visitors_language(client, api, shown):
    html = client.get(PAGE, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert 'lang="fr"' in html
    assert re.search(r'data-type="training">\s*Formation: 1<', html)
    assert "Tunisie" in html
    assert "Production, collecte et analyse de données" in html

    row = api.get(API, HTTP_ACCEPT_LANGUAGE="fr").json()["results"][0]
    assert row["activity_types"][0]["type_label"] == "Formation"
    assert row["country"]["name"] == "Tunisie"
    assert row["thematic_areas"][0]["name"] == "Production, collecte et analyse de données"
    detail = api.get(f"{API}{shown.reference}/", HTTP_ACCEPT_LANGUAGE="es").json()
    assert detail["activities"][0]["type_label"] == "Formación"


def test_the_language_switcher_works_without_javascript(client, shown):
    response = client.post("/i18n/setlang/", {"language": "fr", "next": PAGE})
    assert response.status_code == 302 and response["Location"] == PAGE
    html = client.get(PAGE).content.decode()
    assert 'lang="fr"' in html and "Formation: 1" in html


# --- markup --------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [PAGE, "detail"])
def test_the_pages_have_no_inline_script_or_style(client, shown, url):
    html = client.get(f"{PAGE}{shown.reference}/" if url == "detail" else url).content.decode()
    for attributes, body in re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.S):
        assert "src=" in attributes and body.strip() == ""
    assert "<style" not in html and "style=" not in html and "onclick" not in html.lower()


def test_the_filters_are_a_labelled_get_form(client, shown):
    html = client.get(PAGE).content.decode()
    form = re.search(
        r'<form method="get"[^>]*data-testid="portfolio-filters">(.*?)</form>', html, re.S
    ).group(1)
    for name in (
        "search",
        "country",
        "region",
        "thematic_area",
        "gcm_objective",
        "activity_type",
        "status",
        "year",
    ):
        assert f'<label class="form-label" for="id_{name}">' in form, name
        assert f'name="{name}"' in form
    assert '<button class="btn btn-primary" type="submit">' in form
