"""The pure scoring module (experts/matching.py): every component and branch, the weights,
the total, the ranking and its deterministic tie-breakers. No database is needed here
(conftest marks every test ``django_db`` anyway; nothing below touches it)."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from django.conf import settings

from experts import matching
from experts.matching import COMPONENTS, Candidate, NeedSpec

STATS, SAMPLING, SURVEYS, LAW = 11, 12, 13, 14

NEED = NeedSpec(
    thematic_area_id=1,
    skill_ids=frozenset({STATS, SAMPLING, SURVEYS}),
    country="TN",
    subregion="Northern Africa",
    region="Africa",
    origin_preference="partner_region_peer",
)
EQUAL = dict.fromkeys(COMPONENTS, 1)


def candidate(expert_id: int = 1, **facts) -> Candidate:
    facts.setdefault("administration_type", "partner_country")
    return Candidate(expert_id=expert_id, **facts)


def need(**changes) -> NeedSpec:
    return replace(NEED, **changes)


# --- thematic ----------------------------------------------------------------------------


@pytest.mark.parametrize(("fit", "value"), [(True, 1.0), (False, 0.0)])
def test_it_scores_thematic_fit(fit, value):
    assert matching.thematic(candidate(has_thematic_area=fit), NEED) == (value, {"fit": fit})


# --- skills ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("has", "value", "matched"),
    [
        (set(), 0.0, []),
        ({LAW}, 0.0, []),  # a skill the need does not ask for counts for nothing
        ({SURVEYS}, 1 / 3, [SURVEYS]),
        ({SURVEYS, STATS, LAW}, 2 / 3, [STATS, SURVEYS]),
        ({STATS, SAMPLING, SURVEYS}, 1.0, [STATS, SAMPLING, SURVEYS]),
    ],
    ids=["none", "only-others", "one-of-three", "two-of-three", "all"],
)
def test_it_scores_the_share_of_the_asked_skills(has, value, matched):
    score, facts = matching.skills(candidate(skill_ids=frozenset(has)), NEED)
    assert score == pytest.approx(value)
    assert facts == {"matched": matched, "asked": 3}


def test_it_gives_full_skill_coverage_when_the_need_asks_for_none():
    no_skills = need(skill_ids=frozenset())
    assert matching.skills(candidate(), no_skills) == (1.0, {"matched": [], "asked": 0})
    assert matching.skills(candidate(skill_ids=frozenset({LAW})), no_skills)[0] == 1.0


# --- experience --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "value"),
    [("country", 1.0), ("subregion", 0.6), ("region", 0.3), ("", 0.0)],
)
def test_it_scores_experience_by_how_close_it_is_to_the_partner(where, value):
    assert matching.experience(candidate(experience=where), NEED) == (value, {"where": where})


def test_it_ranks_country_above_subregion_above_region():
    values = [
        matching.experience(candidate(experience=w), NEED)[0] for w in matching.EXPERIENCE_VALUES
    ]
    assert values == sorted(values, reverse=True)
    assert len(set(values)) == 3


# --- origin ------------------------------------------------------------------------------

ADMINISTRATIONS = (
    "eu_member_state",
    "partner_country",
    "international_organisation",
    "academia_civil_society",
)

# preference → administration type → (score for a national of the partner's region,
#                                      score for a national of another region)
ORIGIN_TABLE = {
    "eu_member_state": {
        "eu_member_state": (1.0, 1.0),
        "partner_country": (0.0, 0.0),
        "international_organisation": (0.0, 0.0),
        "academia_civil_society": (0.0, 0.0),
    },
    "partner_region_peer": {
        "eu_member_state": (0.0, 0.0),
        "partner_country": (1.0, 0.5),  # another region's peer: still South–South
        "international_organisation": (0.0, 0.0),
        "academia_civil_society": (0.0, 0.0),
    },
    "any": dict.fromkeys(ADMINISTRATIONS, (1.0, 1.0)),
}


def _origin_cases():
    for preference, row in ORIGIN_TABLE.items():
        for admin, (same, other) in row.items():
            yield pytest.param(preference, admin, "Africa", same, id=f"{preference}-{admin}-same")
            yield pytest.param(preference, admin, "Europe", other, id=f"{preference}-{admin}-other")


@pytest.mark.parametrize(("preference", "admin", "region", "value"), list(_origin_cases()))
def test_it_scores_origin_for_each_preference_and_administration(preference, admin, region, value):
    spec = need(origin_preference=preference)
    score, facts = matching.origin(
        candidate(administration_type=admin, nationality_region=region), spec
    )
    assert score == value
    assert (facts["preference"], facts["administration_type"]) == (preference, admin)


def test_it_records_whether_a_peer_comes_from_the_partners_region():
    spec = need(origin_preference="partner_region_peer")
    peer = candidate(administration_type="partner_country", nationality_region="Africa")
    far = candidate(administration_type="partner_country", nationality_region="Asia")
    assert matching.origin(peer, spec)[1]["same_region"] is True
    assert matching.origin(far, spec)[1]["same_region"] is False


def test_it_treats_a_peer_of_unknown_nationality_as_from_another_region():
    spec = need(origin_preference="partner_region_peer", region="")
    stateless = candidate(administration_type="partner_country", nationality_region="")
    # An empty region on both sides must not count as "the same region".
    assert matching.origin(stateless, spec) == (
        0.5,
        {
            "preference": "partner_region_peer",
            "administration_type": "partner_country",
            "same_region": False,
        },
    )


# --- track record ------------------------------------------------------------------------


def test_it_gives_a_neutral_track_record_without_ratings():
    assert matching.track_record(candidate(), NEED) == (0.5, {"missions": 0, "average": None})


def test_it_shrinks_a_single_rating_towards_the_neutral_one():
    one_top, facts = matching.track_record(candidate(rating_sum=5, rating_count=1), NEED)
    # (5 + 3 × 2) / (1 + 2) = 11/3 on the 1–5 scale → (11/3 − 1) / 4 on 0–1
    assert one_top == pytest.approx((11 / 3 - 1) / 4)
    assert facts == {"missions": 1, "average": 5.0}
    assert 0.5 < one_top < 1.0
    one_bottom, _facts = matching.track_record(candidate(rating_sum=1, rating_count=1), NEED)
    assert one_bottom == pytest.approx((7 / 3 - 1) / 4)
    assert 0.0 < one_bottom < 0.5


def test_it_trusts_many_ratings_more_than_one():
    one = matching.track_record(candidate(rating_sum=5, rating_count=1), NEED)[0]
    many = matching.track_record(candidate(rating_sum=50, rating_count=10), NEED)[0]
    assert many == pytest.approx((56 / 12 - 1) / 4)
    assert many > one
    low_many = matching.track_record(candidate(rating_sum=10, rating_count=10), NEED)[0]
    low_one = matching.track_record(candidate(rating_sum=1, rating_count=1), NEED)[0]
    assert low_many == pytest.approx((16 / 12 - 1) / 4)
    assert low_many < low_one


@pytest.mark.parametrize(
    ("rating_sum", "count", "average"),
    [(5, 1, 5.0), (7, 2, 3.5), (13, 3, 4.3), (10, 10, 1.0)],
)
def test_it_records_the_missions_and_the_plain_average(rating_sum, count, average):
    value, facts = matching.track_record(candidate(rating_sum=rating_sum, rating_count=count), NEED)
    assert facts == {"missions": count, "average": average}
    assert 0.0 <= value <= 1.0


# --- workload ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("recent", "value"),
    [(0, 1.0), (1, 0.75), (2, 0.5), (3, 0.25), (4, 0.0), (5, 0.0), (12, 0.0)],
)
def test_it_lowers_workload_balance_per_recent_deployment_down_to_zero(recent, value):
    assert matching.workload(candidate(recent_deployments=recent), NEED) == (
        value,
        {"recent": recent},
    )


# --- weights -----------------------------------------------------------------------------


def test_it_normalises_weights_to_shares_summing_to_one():
    shares = matching.normalised_weights(
        {
            "thematic": 30,
            "skills": 25,
            "experience": 15,
            "origin": 10,
            "track_record": 10,
            "workload": 10,
        }
    )
    assert shares == pytest.approx(
        {
            "thematic": 0.3,
            "skills": 0.25,
            "experience": 0.15,
            "origin": 0.1,
            "track_record": 0.1,
            "workload": 0.1,
        }
    )
    assert sum(shares.values()) == pytest.approx(1.0)


def test_it_switches_off_a_component_weighted_zero_or_left_out():
    shares = matching.normalised_weights({"thematic": 3, "skills": 1, "workload": 0})
    assert shares == {
        "thematic": 0.75,
        "skills": 0.25,
        "experience": 0.0,
        "origin": 0.0,
        "track_record": 0.0,
        "workload": 0.0,
    }


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({"thematic": 1, "charisma": 2}, "Unknown matching components"),
        ({"thematic": 5, "skills": -1}, "must not be negative"),
        (dict.fromkeys(COMPONENTS, 0), "must be positive"),
        ({}, "must be positive"),
    ],
    ids=["unknown", "negative", "all-zero", "empty"],
)
def test_it_refuses_bad_weights(weights, message):
    with pytest.raises(ValueError, match=message):
        matching.normalised_weights(weights)
    with pytest.raises(ValueError, match=message):
        matching.rank([candidate()], NEED, weights)


def test_the_configured_weights_are_valid():
    shares = matching.normalised_weights(settings.MATCHING_WEIGHTS)
    assert set(shares) == set(COMPONENTS)
    assert sum(shares.values()) == pytest.approx(1.0)


# --- the score ---------------------------------------------------------------------------

PERFECT = candidate(
    administration_type="partner_country",
    nationality_region="Africa",
    has_thematic_area=True,
    skill_ids=frozenset({STATS, SAMPLING, SURVEYS}),
    experience="country",
    rating_sum=500,
    rating_count=100,
    recent_deployments=0,
)
HOPELESS = candidate(
    administration_type="eu_member_state",
    nationality_region="Europe",
    has_thematic_area=False,
    experience="",
    rating_sum=100,
    rating_count=100,
    recent_deployments=9,
)


def test_it_scores_on_a_zero_to_hundred_scale():
    weights = matching.normalised_weights(EQUAL)
    best = matching.score(PERFECT, NEED, weights)
    worst = matching.score(HOPELESS, NEED, weights)
    assert 99 < best.total <= 100
    assert 0 <= worst.total < 1
    no_track = matching.normalised_weights({**EQUAL, "track_record": 0})
    assert matching.score(PERFECT, NEED, no_track).total == 100.0
    assert matching.score(HOPELESS, NEED, no_track).total == 0.0


def test_it_takes_the_weighted_mean_of_the_components():
    someone = candidate(
        has_thematic_area=True,  # 1
        skill_ids=frozenset({STATS}),  # 1/3
        experience="subregion",  # 0.6
        nationality_region="Asia",  # partner-country peer of another region: 0.5
        recent_deployments=1,  # 0.75
    )  # no rating: 0.5
    weights = {
        "thematic": 30,
        "skills": 25,
        "experience": 15,
        "origin": 10,
        "track_record": 10,
        "workload": 10,
    }
    result = matching.score(someone, NEED, matching.normalised_weights(weights))
    expected = (30 * 1 + 25 * 0.3333 + 15 * 0.6 + 10 * 0.5 + 10 * 0.5 + 10 * 0.75) / 100 * 100
    assert result.total == pytest.approx(expected, abs=0.01)
    assert result.components == {
        "thematic": 1.0,
        "skills": 0.3333,
        "experience": 0.6,
        "origin": 0.5,
        "track_record": 0.5,
        "workload": 0.75,
    }


def test_a_component_weighted_zero_does_not_move_the_total_but_is_still_shown():
    weights = matching.normalised_weights({"thematic": 1, "skills": 1, "workload": 0})
    idle = matching.score(candidate(has_thematic_area=True, recent_deployments=0), NEED, weights)
    busy = matching.score(candidate(has_thematic_area=True, recent_deployments=4), NEED, weights)
    assert idle.total == busy.total == 50.0
    assert (idle.components["workload"], busy.components["workload"]) == (1.0, 0.0)


def test_it_stores_the_facts_behind_every_component():
    someone = candidate(
        7,
        has_thematic_area=True,
        skill_ids=frozenset({SAMPLING, LAW}),
        experience="region",
        nationality_region="Africa",
        rating_sum=9,
        rating_count=2,
        recent_deployments=2,
    )
    result = matching.score(someone, NEED, matching.normalised_weights(EQUAL))
    assert result.expert_id == 7
    assert list(result.components) == list(COMPONENTS)
    assert result.explanation == {
        "thematic": {"fit": True},
        "skills": {"matched": [SAMPLING], "asked": 3},
        "experience": {"where": "region"},
        "origin": {
            "preference": "partner_region_peer",
            "administration_type": "partner_country",
            "same_region": True,
        },
        "track_record": {"missions": 2, "average": 4.5},
        "workload": {"recent": 2},
    }


def test_it_rounds_components_and_total():
    result = matching.score(
        candidate(skill_ids=frozenset({STATS})), NEED, matching.normalised_weights({"skills": 1})
    )
    assert result.components["skills"] == 0.3333
    assert result.total == 33.33


# --- the ranking -------------------------------------------------------------------------


def test_it_ranks_the_best_total_first():
    weights = EQUAL
    good = replace(PERFECT, expert_id=3)
    middling = candidate(2, has_thematic_area=True, experience="region")
    poor = replace(HOPELESS, expert_id=1)
    ranked = matching.rank([poor, middling, good], NEED, weights)
    assert [s.expert_id for s in ranked] == [3, 2, 1]
    totals = [s.total for s in ranked]
    assert totals == sorted(totals, reverse=True) and len(set(totals)) == 3


def test_it_returns_only_the_best_up_to_the_limit():
    people = [
        candidate(i, recent_deployments=i % 5, has_thematic_area=i % 2 == 0) for i in range(1, 11)
    ]
    everyone = matching.rank(people, NEED, EQUAL)
    assert len(everyone) == 10
    assert matching.rank(people, NEED, EQUAL, limit=3) == everyone[:3]
    assert matching.rank(people, NEED, EQUAL, limit=50) == everyone
    assert matching.rank(people, NEED, EQUAL, limit=0) == []
    assert matching.rank([], NEED, EQUAL) == []


# Only experience counts towards the total below: every candidate has the same total, and
# the order is decided by the tie-breakers alone.
TIE = {"experience": 1}


def _order(people: list[Candidate]) -> list[int]:
    ranked = matching.rank(people, NEED, TIE)
    assert len({s.total for s in ranked}) == 1  # a tie, really
    return [s.expert_id for s in ranked]


def test_a_tie_goes_first_to_better_skill_coverage_even_over_thematic_fit():
    skilled = candidate(5, skill_ids=frozenset({STATS, SAMPLING, SURVEYS}))
    thematic = candidate(1, has_thematic_area=True, skill_ids=frozenset({STATS}))
    assert _order([thematic, skilled]) == [5, 1]


def test_a_tie_with_equal_skills_goes_to_thematic_fit_over_track_record():
    fit = candidate(5, has_thematic_area=True)
    rated = candidate(1, rating_sum=50, rating_count=10)
    assert _order([rated, fit]) == [5, 1]


def test_a_tie_with_equal_fit_goes_to_the_better_track_record_over_workload():
    rated = candidate(5, rating_sum=50, rating_count=10, recent_deployments=3)
    idle = candidate(1, rating_sum=20, rating_count=10, recent_deployments=0)
    assert _order([idle, rated]) == [5, 1]


def test_a_tie_with_equal_record_goes_to_the_lighter_workload():
    idle = candidate(5, recent_deployments=0)
    busy = candidate(1, recent_deployments=2)
    assert _order([busy, idle]) == [5, 1]


def test_a_complete_tie_goes_to_the_lower_expert_id():
    assert _order([candidate(9), candidate(2), candidate(5)]) == [2, 5, 9]


def test_the_ranking_does_not_depend_on_the_order_of_the_candidates():
    generator = random.Random(20260301)
    people = [
        candidate(
            expert_id,
            administration_type=generator.choice(ADMINISTRATIONS),
            nationality_region=generator.choice(["Africa", "Europe", ""]),
            has_thematic_area=generator.random() < 0.5,
            skill_ids=frozenset(
                generator.sample([STATS, SAMPLING, SURVEYS, LAW], k=generator.randint(0, 2))
            ),
            experience=generator.choice(["country", "subregion", "region", ""]),
            rating_sum=(count := generator.randint(0, 3)) * generator.randint(1, 5),
            rating_count=count,
            recent_deployments=generator.randint(0, 2),
        )
        for expert_id in range(1, 61)
    ]
    reference = [(s.expert_id, s.total) for s in matching.rank(people, NEED, EQUAL)]
    # Ties exist in this sample, so the tie-breakers matter for the result.
    assert len({total for _id, total in reference}) < len(reference)
    for _attempt in range(10):
        shuffled = people[:]
        generator.shuffle(shuffled)
        assert [(s.expert_id, s.total) for s in matching.rank(shuffled, NEED, EQUAL)] == reference
    ranked = matching.rank(people, NEED, EQUAL)
    assert [s.rank_key for s in ranked] == sorted(s.rank_key for s in ranked)
