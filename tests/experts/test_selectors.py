"""Reads of the roster (experts/selectors.py): the database stage of matching — each hard
exclusion counted under its reason, the facts gathered for the candidates, a fixed number
of queries — roster search with each filter, and what each role may see."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from actions.models import Skill
from cbportal.core.errors import NotFound
from experts import matching, selectors, services
from experts.models import Deployment, Expert
from tests.experts.builders import approved_action, deployment_in, first_need, make_expert

# --- helpers ---------------------------------------------------------------------------------


def other_need(partner: Any, staff: Any, approver: Any) -> Any:
    """A need of another approved action (its activity falls on the same day as ``need``'s:
    both are 30 days from now)."""
    return first_need(approved_action(partner, staff, approver))


def away(expert: Expert, start: Any, end: Any, staff: Any) -> None:
    services.unavailability_add(expert_id=expert.pk, by=staff, start_date=start, end_date=end)


def run(need: Any, **kwargs: Any) -> tuple[dict[int, matching.Candidate], dict[str, int], int]:
    candidates, exclusions, roster = selectors.match_candidates(
        selectors.need_for_matching(need.pk), **kwargs
    )
    by_id = {c.expert_id: c for c in candidates}
    assert len(by_id) == len(candidates)  # nobody twice
    return by_id, exclusions, roster


def complete_in_the_past(need: Any, expert: Expert, staff: Any, days_ago: int) -> Deployment:
    """A completed mission of ``expert`` on ``need`` that ended ``days_ago`` days ago."""
    deployment = deployment_in("completed", need, expert, staff=staff)
    day = timezone.localdate() - timedelta(days=days_ago)
    Deployment.objects.filter(pk=deployment.pk).update(start_date=day, end_date=day)
    return Deployment.objects.get(pk=deployment.pk)


# --- match_candidates: hard exclusions ----------------------------------------------------------


@pytest.fixture
def funnel(
    need, partner, partner2, staff, approver, expert_profile, organisation, other_organisation
):
    """A roster with one or two experts behind each hard exclusion and one or two next to
    each that must stay a candidate."""
    activity = need.activity
    day = timedelta(days=1)
    elsewhere = other_need(partner2, staff, approver)
    people: dict[str, Expert] = {"ok": expert_profile}
    people["inactive"] = make_expert(name="Inactive", active=False, by=staff)
    people["pending"] = make_expert(name="Pending", vetted=False, by=staff)
    people["rejected"] = make_expert(name="Rejected", vetted=False, by=staff)
    services.expert_vet(
        expert_id=people["rejected"].pk, by=staff, decision="reject", note="No references."
    )
    people["inactive_and_no_french"] = make_expert(
        name="Twice out", active=False, languages=(("en", "C2"),), by=staff
    )
    people["no_french"] = make_expert(name="No French", languages=(("en", "C2"),), by=staff)
    people["french_b1"] = make_expert(name="French B1", languages=(("fr", "B1"),), by=staff)
    people["french_b2"] = make_expert(name="French B2", languages=(("fr", "B2"),), by=staff)
    people["away"] = make_expert(name="Away", by=staff)
    away(people["away"], activity.start_date - 3 * day, activity.start_date, staff)
    people["away_before"] = make_expert(name="Away before", by=staff)
    away(people["away_before"], activity.start_date - 9 * day, activity.start_date - day, staff)
    people["away_after"] = make_expert(name="Away after", by=staff)
    away(people["away_after"], activity.end_date + day, activity.end_date + 9 * day, staff)
    people["booked"] = make_expert(name="Booked", by=staff)
    deployment_in("confirmed", elsewhere, people["booked"], staff=staff)
    people["accepted_elsewhere"] = make_expert(name="Accepted elsewhere", by=staff)
    deployment_in("accepted", elsewhere, people["accepted_elsewhere"], staff=staff)
    people["conflict"] = make_expert(name="Conflict", organisation=organisation, by=staff)
    people["other_employer"] = make_expert(
        name="Other employer", organisation=other_organisation, by=staff
    )
    people["invited"] = make_expert(name="Invited", by=staff)
    deployment_in("invited", need, people["invited"], staff=staff)
    people["declined"] = make_expert(name="Declined", by=staff)
    deployment_in("declined", need, people["declined"], staff=staff)
    people["shortlisted"] = make_expert(name="Shortlisted", by=staff)
    deployment_in("shortlisted", need, people["shortlisted"], staff=staff)
    people["anonymised"] = make_expert(name="Anonymised", by=staff)
    services.expert_anonymise(expert_id=people["anonymised"].pk, by=staff)
    return people


CANDIDATES = {
    "ok",
    "french_b2",
    "away_before",
    "away_after",
    "accepted_elsewhere",
    "other_employer",
    "shortlisted",
}


def test_it_keeps_only_the_experts_no_hard_exclusion_applies_to(need, funnel):
    candidates, _exclusions, _roster = run(need)
    expected = {funnel[name].pk for name in CANDIDATES}
    assert set(candidates) == expected, {
        name for name, e in funnel.items() if (e.pk in candidates) != (e.pk in expected)
    }


def test_it_counts_each_excluded_expert_once_under_the_first_reason(need, funnel):
    _candidates, exclusions, roster = run(need)
    assert exclusions == {
        "inactive_or_unvetted": 4,  # inactive, pending, rejected, inactive without French
        "language": 2,  # no French, French B1
        "unavailable": 2,  # an unavailability period, a confirmed mission elsewhere
        "conflict_of_interest": 1,
        "already_invited": 2,  # invited, declined
    }
    assert list(exclusions) == list(matching.EXCLUSION_REASONS)
    # The anonymised entry is not on the roster at all.
    assert roster == len(funnel) - 1 == Expert.objects.filter(anonymised_at__isnull=True).count()
    assert roster == sum(exclusions.values()) + len(CANDIDATES)


@pytest.mark.parametrize(
    ("status", "excluded"),
    [
        ("shortlisted", False),
        ("invited", True),
        ("declined", True),
        ("expired", True),
        ("cancelled", True),
    ],
)
def test_it_excludes_who_was_already_invited_for_this_need(need, staff, status, excluded):
    someone = make_expert(name="Someone", by=staff)
    deployment_in(status, need, someone, staff=staff)
    candidates, exclusions, _roster = run(need)
    assert (someone.pk not in candidates) is excluded
    assert exclusions["already_invited"] == int(excluded)


def test_it_does_not_hold_an_invitation_for_another_need_against_the_expert(
    need, partner, staff, approver, expert_profile
):
    deployment_in("declined", other_need(partner, staff, approver), expert_profile, staff=staff)
    candidates, exclusions, _roster = run(need)
    assert expert_profile.pk in candidates
    assert exclusions["already_invited"] == 0


def test_it_requires_every_language_of_the_need_at_b2(need, staff, expert_profile):
    need.languages.add("en")
    english_b1 = make_expert(name="English B1", languages=(("fr", "C2"), ("en", "B1")), by=staff)
    candidates, exclusions, _roster = run(need)
    assert expert_profile.pk in candidates  # French C1, English B2
    assert english_b1.pk not in candidates
    assert exclusions["language"] == 1


def test_it_asks_for_no_language_when_the_need_names_none(need, staff):
    need.languages.clear()
    polyglot_not = make_expert(name="Only Czech", languages=(("cs", "A1"),), by=staff)
    candidates, _exclusions, _roster = run(need)
    assert polyglot_not.pk in candidates


def test_it_sees_an_unavailability_that_only_touches_the_window(need, staff, expert_profile):
    activity = need.activity
    away(expert_profile, activity.end_date, activity.end_date + timedelta(days=5), staff)
    candidates, exclusions, _roster = run(need)
    assert expert_profile.pk not in candidates
    assert exclusions["unavailable"] == 1


@pytest.mark.parametrize("state", ["confirmed", "completed"])
def test_only_a_booked_mission_makes_an_expert_unavailable(
    need, partner2, staff, approver, expert_profile, state
):
    elsewhere = other_need(partner2, staff, approver)
    deployment = deployment_in(state, elsewhere, expert_profile, staff=staff)
    activity = need.activity
    # Whatever the builder did with its dates, put the mission over the need's activity.
    Deployment.objects.filter(pk=deployment.pk).update(
        start_date=activity.start_date, end_date=activity.end_date
    )
    candidates, exclusions, _roster = run(need)
    assert expert_profile.pk not in candidates
    assert exclusions["unavailable"] == 1


def test_a_cancelled_mission_frees_the_expert(need, partner2, staff, approver, expert_profile):
    deployment_in("cancelled", other_need(partner2, staff, approver), expert_profile, staff=staff)
    candidates, _exclusions, _roster = run(need)
    assert expert_profile.pk in candidates


def test_it_finds_no_candidate_on_an_empty_roster(need):
    assert selectors.match_candidates(need) == (
        [],
        dict.fromkeys(matching.EXCLUSION_REASONS, 0),
        0,
    )


# --- match_candidates: the facts -----------------------------------------------------------------


@pytest.fixture
def roster_with_facts(need, partner, partner2, staff, approver, expert_profile):
    sampling = Skill.objects.create(name="sampling")
    need.skills.add(sampling)
    people = {"amina": expert_profile}
    people["jan"] = make_expert(
        name="Jan Novak",
        administration_type="eu_member_state",
        nationality="CZ",
        areas=("governance",),
        skills=("statistics", "sampling", "criminal law"),
        countries=("MA", "FR"),
        by=staff,
    )
    people["chen"] = make_expert(
        name="Chen Li",
        administration_type="international_organisation",
        nationality=None,
        skills=(),
        countries=("SN",),
        by=staff,
    )
    people["nowhere"] = make_expert(name="Nowhere", countries=("FR", "BR"), by=staff)
    people["tunis"] = make_expert(name="Tunis", countries=("MA", "SN", "TN"), by=staff)
    # Amina: one mission 400 days ago (rated 2), one 10 days ago (rated 5).
    old = complete_in_the_past(other_need(partner, staff, approver), expert_profile, staff, 400)
    services.deployment_rate(deployment_id=old.pk, by=staff, rating=2)
    recent = complete_in_the_past(other_need(partner2, staff, approver), expert_profile, staff, 10)
    services.deployment_rate(deployment_id=recent.pk, by=staff, rating=5)
    # Jan: an accepted (not booked) deployment does not count as workload.
    deployment_in("accepted", other_need(partner2, staff, approver), people["jan"], staff=staff)
    return people, sampling


def test_it_gathers_the_facts_scoring_needs(need, roster_with_facts):
    people, sampling = roster_with_facts
    statistics = Skill.objects.get(name="statistics")
    candidates, _exclusions, _roster = run(need)
    assert set(candidates) == {e.pk for e in people.values()}
    amina, jan, chen = (candidates[people[n].pk] for n in ("amina", "jan", "chen"))
    nowhere, tunis = candidates[people["nowhere"].pk], candidates[people["tunis"].pk]

    assert (amina.has_thematic_area, jan.has_thematic_area, chen.has_thematic_area) == (
        True,
        False,
        True,
    )
    assert amina.skill_ids == {statistics.pk}
    assert jan.skill_ids == {statistics.pk, sampling.pk}  # criminal law is not asked for
    assert chen.skill_ids == frozenset()
    assert (amina.experience, jan.experience, chen.experience) == ("country", "subregion", "region")
    assert (nowhere.experience, tunis.experience) == ("", "country")
    assert (amina.administration_type, jan.administration_type) == (
        "partner_country",
        "eu_member_state",
    )
    assert (amina.nationality_region, jan.nationality_region, chen.nationality_region) == (
        "Africa",
        "Europe",
        "",
    )
    assert (amina.rating_sum, amina.rating_count) == (7, 2)
    assert (jan.rating_sum, jan.rating_count) == (0, 0)
    assert amina.recent_deployments == 1  # the one 400 days ago is outside the window
    assert jan.recent_deployments == 0


def test_it_counts_recent_deployments_over_the_configured_window(need, roster_with_facts, settings):
    people, _sampling = roster_with_facts
    settings.MATCH_WORKLOAD_DAYS = 500
    assert run(need)[0][people["amina"].pk].recent_deployments == 2
    settings.MATCH_WORKLOAD_DAYS = 5
    assert run(need)[0][people["amina"].pk].recent_deployments == 0


def test_it_counts_recent_deployments_from_the_given_day(need, roster_with_facts):
    people, _sampling = roster_with_facts
    later = timezone.localdate() + timedelta(days=360)
    assert run(need, today=later)[0][people["amina"].pk].recent_deployments == 0


def test_it_describes_the_need_as_matching_sees_it(need):
    need.skills.add(Skill.objects.create(name="sampling"))
    spec = selectors.need_spec(selectors.need_for_matching(need.pk))
    assert spec == matching.NeedSpec(
        thematic_area_id=need.thematic_area_id,
        skill_ids=frozenset(
            Skill.objects.filter(name__in=["statistics", "sampling"]).values_list("pk", flat=True)
        ),
        country="TN",
        subregion="Northern Africa",
        region="Africa",
        origin_preference="partner_region_peer",
    )


def test_it_answers_404_for_an_unknown_need():
    with pytest.raises(NotFound):
        selectors.need_for_matching(987654)


def _grow_roster(n: int, staff: Any, elsewhere: Any) -> None:
    for i in range(n):
        person = make_expert(
            name=f"Expert {i}",
            skills=("statistics", f"skill {i}"),
            countries=("TN", "MA") if i % 2 else ("SN",),
            by=staff,
        )
        if i % 3 == 0:
            complete_in_the_past(elsewhere[i % len(elsewhere)], person, staff, 20)


def test_it_runs_a_fixed_number_of_queries_whatever_the_roster_size(
    need, partner, partner2, staff, approver, expert_profile, settings
):
    elsewhere = [other_need(partner2, staff, approver) for _ in range(2)]
    need = selectors.need_for_matching(need.pk)
    cut = {"weights": settings.MATCHING_WEIGHTS, "limit": 2}

    _grow_roster(2, staff, elsewhere)
    with CaptureQueriesContext(connection) as small:
        few, _exclusions, _roster = selectors.match_candidates(need)
    with CaptureQueriesContext(connection) as small_cut:
        selectors.match_candidates(need, **cut)
    _grow_roster(7, staff, elsewhere)
    with CaptureQueriesContext(connection) as large:
        many, _exclusions, _roster = selectors.match_candidates(need)
    with CaptureQueriesContext(connection) as large_cut:
        selectors.match_candidates(need, **cut)

    assert (len(few), len(many)) == (3, 10)
    assert len(large) == len(small), [q["sql"] for q in large.captured_queries]
    assert len(large_cut) == len(small_cut), [q["sql"] for q in large_cut.captured_queries]
    assert len(small) <= 8
    assert len(small_cut) <= 8


# --- roster search -----------------------------------------------------------------------------


@pytest.fixture
def roster(partner, partner2, staff, approver, expert_profile, expert2_profile):
    """Amina (the expert persona), Jan (expert2), Lucía (pending, inactive) and an
    anonymised entry."""
    lucia = make_expert(
        name="Lucía Pérez",
        languages=(("es", "C2"), ("en", "B1")),
        areas=("border-management",),
        skills=("risk analysis",),
        countries=("BR",),
        administration_type="international_organisation",
        nationality="BR",
        biography="Former customs officer.",
        home_institution="Federal Police",
        vetted=False,
        active=False,
        by=staff,
    )
    gone = make_expert(name="Amina Gone", by=staff)
    services.expert_anonymise(expert_id=gone.pk, by=staff)
    return {"amina": expert_profile, "jan": expert2_profile, "lucia": lucia}


def search(user: Any, **params: Any) -> list[str]:
    return sorted(e.full_name for e in selectors.roster_search(user, params))


ALL = ["Amina Diallo", "Jan Novak", "Lucía Pérez"]


def test_it_lists_the_roster_without_anonymised_entries(staff, roster):
    assert search(staff) == ALL
    assert Expert.objects.filter(anonymised_at__isnull=False).count() == 1


@pytest.mark.parametrize(
    ("q", "found"),
    [
        ("novak", ["Jan Novak"]),  # the name
        ("CUSTOMS", ["Lucía Pérez"]),  # the biography, whatever the case
        ("risk analysis", ["Lucía Pérez"]),  # a skill: both words
        ("statistics", ["Amina Diallo", "Jan Novak"]),
        ("amina statistics", ["Amina Diallo"]),  # every word must be found
        ("amina customs", []),
        ("", ALL),
    ],
)
def test_it_searches_words_over_name_biography_and_skills(staff, roster, q, found):
    assert search(staff, q=q) == found


@pytest.mark.parametrize(
    ("params", "found"),
    [
        ({"thematic_area": "data"}, ["Amina Diallo", "Jan Novak"]),
        ({"thematic_area": "border-management"}, ["Lucía Pérez"]),
        ({"skill": "Risk Analysis"}, ["Lucía Pérez"]),
        ({"skill": "statistics"}, ["Amina Diallo", "Jan Novak"]),
        ({"language": "fr"}, ["Amina Diallo", "Jan Novak"]),
        ({"language": "fr", "min_level": "C1"}, ["Amina Diallo"]),
        ({"language": "en", "min_level": "B2"}, ["Amina Diallo"]),
        ({"language": "en", "min_level": "A1"}, ["Amina Diallo", "Lucía Pérez"]),
        ({"language": "cs", "min_level": "C2"}, ["Jan Novak"]),
        ({"country": "TN"}, ["Amina Diallo"]),
        ({"country": "MA"}, ["Jan Novak"]),
        ({"region": "Africa"}, ["Amina Diallo", "Jan Novak"]),
        ({"region": "Americas"}, ["Lucía Pérez"]),
        ({"region": "Oceania"}, []),
        ({"administration_type": "eu_member_state"}, ["Jan Novak"]),
        ({"administration_type": "partner_country"}, ["Amina Diallo"]),
        ({"nationality": "CZ"}, ["Jan Novak"]),
        ({"nationality": "SN"}, ["Amina Diallo"]),
        ({"vetting_status": "pending"}, ["Lucía Pérez"]),
        ({"vetting_status": "approved"}, ["Amina Diallo", "Jan Novak"]),
        ({"is_active": False}, ["Lucía Pérez"]),
        ({"is_active": True}, ["Amina Diallo", "Jan Novak"]),
        ({"is_active": ""}, ALL),
        ({"thematic_area": "data", "nationality": "CZ", "language": "fr"}, ["Jan Novak"]),
    ],
)
def test_it_filters_the_roster(staff, roster, params, found):
    assert search(staff, **params) == found


def test_it_finds_who_is_available_in_a_window(need, partner2, staff, approver, roster):
    start = timezone.localdate() + timedelta(days=60)
    end = start + timedelta(days=4)
    away(roster["amina"], end, end + timedelta(days=3), staff)  # touches the last day
    elsewhere = other_need(partner2, staff, approver)
    deployment_in(
        "confirmed",
        elsewhere,
        roster["jan"],
        staff=staff,
        start=start - timedelta(days=2),
        end=start,
    )
    assert search(staff, available_from=start, available_to=end) == ["Lucía Pérez"]
    # A window after both: everyone is free.
    later = end + timedelta(days=30)
    assert search(staff, available_from=later, available_to=later) == ALL
    # One bound only: that single day.
    assert search(staff, available_from=start) == ["Amina Diallo", "Lucía Pérez"]
    assert search(staff, available_to=end) == ["Jan Novak", "Lucía Pérez"]


def test_it_lists_each_expert_once(staff, roster):
    names = [e.full_name for e in selectors.roster_search(staff, {"region": "Africa"})]
    assert sorted(names) == ["Amina Diallo", "Jan Novak"]


@pytest.mark.parametrize("persona", ["partner", "partner2", "evaluator"])
def test_roster_search_shows_nothing_to_other_roles(personas, roster, persona):
    assert search(personas[persona]) == []


def test_roster_search_shows_an_expert_only_themselves(expert, roster):
    assert search(expert) == ["Amina Diallo"]


# --- scoping -------------------------------------------------------------------------------------


def test_staff_and_approvers_see_the_whole_roster(staff, approver, roster):
    for user in (staff, approver):
        assert set(selectors.experts_for(user)) == set(Expert.objects.all())


def test_an_expert_sees_only_their_own_profile(expert, expert2, roster):
    assert list(selectors.experts_for(expert)) == [roster["amina"]]
    assert list(selectors.experts_for(expert2)) == [roster["jan"]]
    assert selectors.expert_detail(expert, roster["amina"].pk) == roster["amina"]
    with pytest.raises(NotFound):
        selectors.expert_detail(expert, roster["jan"].pk)
    assert selectors.own_profile(expert) == roster["amina"]


@pytest.mark.parametrize("persona", ["partner", "partner2", "evaluator"])
def test_other_roles_see_no_profile(personas, roster, persona):
    user = personas[persona]
    assert not selectors.experts_for(user).exists()
    with pytest.raises(NotFound):
        selectors.expert_detail(user, roster["amina"].pk)
    assert selectors.own_profile(user) is None


def test_nobody_anonymous_sees_a_profile(roster):
    from django.contrib.auth.models import AnonymousUser

    assert not selectors.experts_for(AnonymousUser()).exists()
    assert not selectors.deployments_for(AnonymousUser()).exists()


@pytest.fixture
def deployments(need, partner, partner2, staff, approver, expert_profile, expert2_profile):
    """On ``need`` (partner's action): Amina confirmed, Jan invited, a third expert
    shortlisted. On partner2's action: Amina completed, Jan confirmed."""
    third = make_expert(name="Third", by=staff)
    theirs = other_need(partner2, staff, approver)
    completed = complete_in_the_past(theirs, expert_profile, staff, 30)
    later = timezone.localdate() + timedelta(days=90)
    return {
        "amina_confirmed": deployment_in("confirmed", need, expert_profile, staff=staff),
        "jan_invited": deployment_in("invited", need, expert2_profile, staff=staff),
        "third_shortlisted": deployment_in("shortlisted", need, third, staff=staff),
        "amina_completed_p2": completed,
        "jan_confirmed_p2": deployment_in(
            "confirmed", theirs, expert2_profile, staff=staff, start=later, end=later
        ),
    }


def visible(user: Any, deployments: dict[str, Deployment]) -> set[str]:
    pks = set(selectors.deployments_for(user).values_list("pk", flat=True))
    return {name for name, d in deployments.items() if d.pk in pks}


def test_staff_see_every_deployment(staff, approver, deployments):
    assert visible(staff, deployments) == set(deployments)
    assert visible(approver, deployments) == set(deployments)


def test_a_partner_sees_only_the_booked_deployments_of_its_own_actions(
    partner, partner2, deployments
):
    assert visible(partner, deployments) == {"amina_confirmed"}
    assert visible(partner2, deployments) == {"amina_completed_p2", "jan_confirmed_p2"}
    with pytest.raises(NotFound):
        selectors.deployment_detail(partner2, deployments["amina_confirmed"].pk)
    with pytest.raises(NotFound):
        selectors.deployment_detail(partner, deployments["jan_invited"].pk)
    assert selectors.deployment_detail(partner, deployments["amina_confirmed"].pk).pk == (
        deployments["amina_confirmed"].pk
    )


def test_an_expert_sees_only_their_own_deployments_once_invited(
    expert, expert2, staff, deployments
):
    assert visible(expert, deployments) == {"amina_confirmed", "amina_completed_p2"}
    assert visible(expert2, deployments) == {"jan_invited", "jan_confirmed_p2"}
    third_user = deployments["third_shortlisted"].expert.user
    assert visible(third_user, deployments) == set()  # shortlisted: not told yet
    with pytest.raises(NotFound):
        selectors.deployment_detail(expert, deployments["jan_invited"].pk)
    assert [d.pk for d in selectors.invitations_for(expert2)] == [deployments["jan_invited"].pk]
    assert list(selectors.invitations_for(expert)) == []


@pytest.mark.parametrize(("state", "seen"), [("shortlisted", False), ("invited", True)])
def test_an_expert_never_learns_of_a_cancelled_shortlist_line(
    need, expert, expert_profile, staff, state, seen
):
    from experts.permissions import can_view_deployment

    deployment = deployment_in(state, need, expert_profile, staff=staff)
    services.deployment_cancel(deployment_id=deployment.pk, by=staff, reason="Plans changed.")
    deployment = Deployment.objects.get(pk=deployment.pk)
    assert selectors.deployments_for(expert).filter(pk=deployment.pk).exists() is seen
    assert can_view_deployment(expert, deployment) is seen


def test_an_evaluator_sees_no_deployment(evaluator, deployments):
    assert visible(evaluator, deployments) == set()
    with pytest.raises(NotFound):
        selectors.deployment_detail(evaluator, deployments["amina_confirmed"].pk)


def test_the_board_groups_an_actions_deployments_by_need(staff, need, deployments):
    board = selectors.deployment_board(staff, need.activity.action_id)
    assert list(board) == [need.pk]
    assert {d.pk for d in board[need.pk]} == {
        deployments[n].pk for n in ("amina_confirmed", "jan_invited", "third_shortlisted")
    }


@pytest.mark.parametrize("roster_fixture", ["funnel", "roster_with_facts"])
def test_the_sql_and_orm_forms_of_the_database_stage_agree(need, roster_fixture, request):
    # PostgreSQL runs the set-based SQL form; the ORM form (SQLite's) must give the same
    # candidates, facts, exclusion counts and roster size on the same data.
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: the SQL form of the database stage runs only there")
    request.getfixturevalue(roster_fixture)
    need = selectors.need_for_matching(need.pk)
    by_id = lambda c: c.expert_id  # noqa: E731
    sql = selectors.match_candidates(need)
    orm = selectors._match_candidates_orm(need)
    assert sorted(sql[0], key=by_id) == sorted(orm[0], key=by_id)
    assert sql[1:] == orm[1:]
    assert sql[0], "the fixture must leave candidates to compare"


# --- match_candidates with the shortlist's cut -----------------------------------------------
# With weights and a limit, PostgreSQL scores the candidates itself and returns only those
# who can reach the best ``limit``; ranking them must give exactly the ranking of all of them.

SKEWED_WEIGHTS = {"workload": 1, "track_record": 3, "experience": 0.5}


@pytest.fixture
def twins(need, staff):
    """Four experts whose facts are the same: their scores tie."""
    return [make_expert(name=f"Twin {i}", countries=("SN",), by=staff) for i in range(4)]


def rank_both_ways(need: Any, weights: Any, limit: int) -> tuple[Any, Any, int]:
    need = selectors.need_for_matching(need.pk)
    spec = selectors.need_spec(need)
    every, exclusions, roster = selectors.match_candidates(need)
    kept, kept_exclusions, kept_roster = selectors.match_candidates(
        need, weights=weights, limit=limit
    )
    assert (kept_exclusions, kept_roster) == (exclusions, roster)
    assert roster - sum(exclusions.values()) == len(every)
    assert {c.expert_id for c in kept} <= {c.expert_id for c in every}
    return (
        matching.rank(kept, spec, weights, limit=limit),
        matching.rank(every, spec, weights, limit=limit),
        len(kept),
    )


@pytest.mark.parametrize("origin", ["any", "eu_member_state", "partner_region_peer"])
@pytest.mark.parametrize("weights", ["default", "skewed"])
@pytest.mark.parametrize("limit", [1, 2, 3, 50])
def test_the_shortlists_cut_leaves_the_ranking_as_it_is(
    need, roster_with_facts, twins, settings, origin, weights, limit
):
    need.origin_preference = origin
    need.save(update_fields=["origin_preference"])
    chosen = settings.MATCHING_WEIGHTS if weights == "default" else SKEWED_WEIGHTS

    cut, full, kept = rank_both_ways(need, chosen, limit)

    assert cut == full  # the same experts, scores, components and explanations, in order
    assert len(cut) == min(limit, 9)  # 5 experts of roster_with_facts and 4 twins
    if connection.vendor == "postgresql" and limit == 1:
        assert kept < 9, "the database kept every candidate: the cut was not made"


def test_the_cut_keeps_every_candidate_tied_at_its_edge(need, staff, twins, settings):
    # Only the twins are candidates: all four tie, so all four are kept for two places, and
    # ranking gives the places to the older roster entries.
    cut, full, kept = rank_both_ways(need, settings.MATCHING_WEIGHTS, 2)
    assert cut == full
    assert [s.expert_id for s in cut] == [twins[0].pk, twins[1].pk]
    assert kept == 4


def test_the_cut_on_an_empty_roster_keeps_the_funnels_counts(need, settings):
    cut, full, kept = rank_both_ways(need, settings.MATCHING_WEIGHTS, 50)
    assert (cut, full, kept) == ([], [], 0)


def test_a_cut_without_weights_is_refused(need):
    with pytest.raises(ValueError, match="weights"):
        selectors.match_candidates(selectors.need_for_matching(need.pk), limit=10)
