"""actions/plan.py: the plan as data — the pure editing functions, the checks, snapshot and
apply (the plan written to the tables) and the readable diff of an amendment."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from actions import plan, services
from actions.models import Action, Activity, ExpertiseNeed, Objective, Skill
from cbportal.accounts.models import Country
from cbportal.core.errors import ApplicationError
from cbportal.core.models import Language, ThematicArea
from tests.actions.builders import make_action, make_assessment


@pytest.fixture
def action(validated_assessment, staff):
    """An action in design with an empty plan (period from the request)."""
    return services.action_create(assessment_id=validated_assessment.pk, by=staff)


@pytest.fixture
def empty(action):
    return plan.snapshot(action)


@pytest.fixture
def gaps(action):
    return list(action.assessment.gaps.order_by("position").values_list("pk", flat=True))


@pytest.fixture
def full(designed_action):
    """The stored plan of an action with one objective, one activity and one need."""
    return plan.snapshot(designed_action)


def day(p: plan.Plan, offset: int = 0, edge: str = "start_date") -> str:
    return (date.fromisoformat(p[edge]) + timedelta(days=offset)).isoformat()


def activity_data(p: plan.Plan, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": "study_visit",
        "title": "Study visit to Lisbon",
        "start_date": day(p, 10),
        "end_date": day(p, 12),
        "modality": "onsite",
        "country": "PT",
        "city": "Lisbon",
        "expected_participants": 6,
        "participants_women": 3,
        "participants_men": 3,
    }
    data.update(overrides)
    return data


def need_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "thematic_area": "labour-migration",
        "skills": ["labour inspection"],
        "languages": ["fr"],
        "experts_needed": 1,
        "expert_days": 3,
        "origin_preference": "eu_member_state",
    }
    data.update(overrides)
    return data


def refused(excinfo: pytest.ExceptionInfo[ApplicationError]) -> set[str]:
    assert type(excinfo.value) is ApplicationError
    return set(excinfo.value.errors)


# --- set_period -------------------------------------------------------------------------


def test_it_sets_the_period_as_iso_dates(empty):
    new = plan.set_period(empty, date(2031, 1, 1), "2031-06-30")
    assert (new["start_date"], new["end_date"]) == ("2031-01-01", "2031-06-30")
    assert empty["start_date"] != "2031-01-01"  # the input plan is left alone


def test_it_accepts_a_one_day_period(empty):
    new = plan.set_period(empty, "2031-01-01", "2031-01-01")
    assert new["end_date"] == "2031-01-01"


def test_it_refuses_a_period_out_of_order(empty):
    with pytest.raises(ApplicationError) as excinfo:
        plan.set_period(empty, "2031-06-30", "2031-01-01")
    assert refused(excinfo) == {"end_date"}


@pytest.mark.parametrize(
    ("start", "end", "fields"),
    [
        (None, "2031-06-30", {"start_date"}),
        ("2031-01-01", "", {"end_date"}),
        ("", None, {"start_date", "end_date"}),
        ("31/01/2031", "2031-06-30", {"start_date"}),
    ],
)
def test_it_requires_both_dates_of_the_period(empty, start, end, fields):
    with pytest.raises(ApplicationError) as excinfo:
        plan.set_period(empty, start, end)
    assert refused(excinfo) == fields


@pytest.mark.parametrize(
    ("start_shift", "end_shift"),
    [(11, 0), (0, -3)],  # the start moves past an activity; the end moves before one
)
def test_it_names_the_activities_a_new_period_would_leave_outside(empty, start_shift, end_shift):
    p = plan.save_activity(empty, key=None, data=activity_data(empty, title="Study visit"))
    p = plan.save_activity(
        p,
        key=None,
        data=activity_data(p, title="Workshop", start_date=day(p, 20), end_date=day(p, 20)),
    )
    p = plan.save_activity(
        p,
        key=None,
        data=activity_data(p, title="Closing", start_date=day(p, 178), end_date=day(p, 178)),
    )
    with pytest.raises(ApplicationError) as excinfo:
        plan.set_period(p, day(p, start_shift), day(p, end_shift, "end_date"))
    message = excinfo.value.message
    if start_shift:
        assert "Study visit" in message and "Workshop" not in message
    else:
        assert "Closing" in message and "Study visit" not in message
    assert "outside the new period" in message


def test_it_keeps_activities_on_the_edges_of_a_new_period(empty):
    p = plan.save_activity(empty, key=None, data=activity_data(empty))
    a = p["activities"][0]
    new = plan.set_period(p, a["start_date"], a["end_date"])
    assert (new["start_date"], new["end_date"]) == (a["start_date"], a["end_date"])


# --- objectives -------------------------------------------------------------------------


def test_it_adds_an_objective_with_a_new_key(empty, action, gaps):
    p = plan.save_objective(empty, action, key=None, text="  Analysts use SOPs  ", gaps=gaps[::-1])
    (objective,) = p["objectives"]
    assert objective["key"].startswith("new-")
    assert objective["text"] == "Analysts use SOPs"
    assert objective["gaps"] == sorted(gaps)
    assert empty["objectives"] == []


def test_it_gives_each_new_item_its_own_key(empty, action, gaps):
    p = plan.save_objective(empty, action, key=None, text="One", gaps=gaps[:1])
    p = plan.save_objective(p, action, key=None, text="Two", gaps=gaps[:1])
    keys = [o["key"] for o in p["objectives"]]
    assert len(set(keys)) == 2 and all(k.startswith("new-") for k in keys)


@pytest.mark.parametrize("text", ["", "   \n"])
def test_it_requires_the_objective_text(empty, action, gaps, text):
    with pytest.raises(ApplicationError) as excinfo:
        plan.save_objective(empty, action, key=None, text=text, gaps=gaps)
    assert refused(excinfo) == {"text"}


def test_it_requires_at_least_one_gap(empty, action):
    with pytest.raises(ApplicationError) as excinfo:
        plan.save_objective(empty, action, key=None, text="Analysts use SOPs", gaps=[])
    assert refused(excinfo) == {"gaps"}


def test_it_links_only_gaps_of_the_actions_assessment(empty, action, gaps, partner, staff):
    other = make_assessment(partner, staff, title="Another request")
    foreign = other.gaps.first().pk
    with pytest.raises(ApplicationError) as excinfo:
        plan.save_objective(empty, action, key=None, text="Analysts", gaps=[gaps[0], foreign])
    assert refused(excinfo) == {"gaps"}
    assert "assessment" in excinfo.value.errors["gaps"][0]


def test_it_updates_an_objective_by_key(full, designed_action):
    gaps = sorted(designed_action.assessment.gaps.values_list("pk", flat=True))
    key = full["objectives"][0]["key"]
    p = plan.save_objective(full, designed_action, key=key, text="Revised", gaps=gaps)
    assert p["objectives"] == [{"key": key, "text": "Revised", "gaps": gaps}]
    assert full["objectives"][0]["text"] == "Analysts run the register"


def test_it_refuses_to_update_an_objective_that_is_gone(full, designed_action):
    gap = designed_action.assessment.gaps.first().pk
    with pytest.raises(ApplicationError) as excinfo:
        plan.save_objective(full, designed_action, key="o999999", text="X", gaps=[gap])
    assert refused(excinfo) == {"key"}


def test_it_removes_an_objective_and_unlinks_it_from_activities(full, designed_action):
    gap = designed_action.assessment.gaps.first().pk
    p = plan.save_objective(full, designed_action, key=None, text="Second", gaps=[gap])
    first, second = (o["key"] for o in p["objectives"])
    activity = p["activities"][0]
    p = plan.save_activity(p, key=activity["key"], data={**activity, "objectives": [first, second]})

    p = plan.remove_objective(p, first)

    assert [o["key"] for o in p["objectives"]] == [second]
    assert p["activities"][0]["objectives"] == [second]
    assert p["activities"][0]["needs"] == activity["needs"]


def test_it_refuses_to_remove_an_unknown_objective(full):
    with pytest.raises(ApplicationError):
        plan.remove_objective(full, "o999999")


# --- activities -------------------------------------------------------------------------


def test_it_adds_an_activity(empty):
    p = plan.save_activity(empty, key=None, data=activity_data(empty, country="PT"))
    (a,) = p["activities"]
    assert a["key"].startswith("new-")
    assert a["needs"] == [] and a["objectives"] == []
    assert a["status"] == "planned" and a["participants_other"] == 0
    assert (a["type"], a["title"], a["country"]) == ("study_visit", "Study visit to Lisbon", "PT")


def test_it_stores_dates_and_countries_as_plain_data(empty):
    portugal = Country.objects.get(code="PT")
    start = date.fromisoformat(day(empty, 10))
    p = plan.save_activity(
        empty,
        key=None,
        data=activity_data(empty, start_date=start, end_date=start, country=portugal),
    )
    a = p["activities"][0]
    assert (a["start_date"], a["end_date"], a["country"]) == (
        start.isoformat(),
        start.isoformat(),
        "PT",
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("type", ""),
        ("type", "picnic"),
        ("title", ""),
        ("title", "   "),
        ("modality", ""),
        ("modality", "carrier pigeon"),
    ],
)
def test_it_requires_type_title_and_modality(empty, field, value):
    with pytest.raises(ApplicationError) as excinfo:
        plan.save_activity(empty, key=None, data=activity_data(empty, **{field: value}))
    assert refused(excinfo) == {field}


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        ({"start_date": ""}, {"start_date"}),
        ({"end_date": None}, {"end_date"}),
        ({"start_date": "soon", "end_date": "later"}, {"start_date", "end_date"}),
    ],
)
def test_it_requires_the_activity_dates(empty, overrides, fields):
    with pytest.raises(ApplicationError) as excinfo:
        plan.save_activity(empty, key=None, data=activity_data(empty, **overrides))
    assert refused(excinfo) == fields


def test_it_refuses_activity_dates_out_of_order(empty):
    with pytest.raises(ApplicationError) as excinfo:
        plan.save_activity(
            empty,
            key=None,
            data=activity_data(empty, start_date=day(empty, 5), end_date=day(empty, 4)),
        )
    assert refused(excinfo) == {"end_date"}


def test_it_accepts_an_activity_on_both_edges_of_the_period(empty):
    p = plan.save_activity(
        empty,
        key=None,
        data=activity_data(empty, start_date=empty["start_date"], end_date=empty["end_date"]),
    )
    assert p["activities"][0]["start_date"] == empty["start_date"]


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        ((-1, "start_date"), (0, "start_date"), "start_date"),
        ((0, "end_date"), (1, "end_date"), "end_date"),
    ],
)
def test_it_keeps_activities_inside_the_action_period(empty, start, end, field):
    data = activity_data(empty, start_date=day(empty, *start), end_date=day(empty, *end))
    with pytest.raises(ApplicationError) as excinfo:
        plan.save_activity(empty, key=None, data=data)
    assert refused(excinfo) == {field}
    assert "the action" in excinfo.value.errors[field][0]


@pytest.mark.parametrize(
    "field",
    ["expected_participants", "participants_women", "participants_men", "participants_other"],
)
@pytest.mark.parametrize(("value", "message"), [(-1, "negative"), ("many", "whole number")])
def test_it_refuses_bad_participant_counts(empty, field, value, message):
    with pytest.raises(ApplicationError) as excinfo:
        plan.save_activity(empty, key=None, data=activity_data(empty, **{field: value}))
    assert refused(excinfo) == {field}
    assert message in excinfo.value.errors[field][0]


def test_it_refuses_more_women_men_and_other_than_expected(empty):
    data = activity_data(
        empty,
        expected_participants=10,
        participants_women=5,
        participants_men=4,
        participants_other=2,
    )
    with pytest.raises(ApplicationError) as excinfo:
        plan.save_activity(empty, key=None, data=data)
    assert refused(excinfo) == {"participants_women"}


def test_it_accepts_a_split_that_adds_up_to_the_expected_participants(empty):
    data = activity_data(
        empty,
        expected_participants=10,
        participants_women=5,
        participants_men=4,
        participants_other=1,
    )
    p = plan.save_activity(empty, key=None, data=data)
    assert p["activities"][0]["participants_other"] == 1


def test_it_links_only_objectives_of_the_plan(full):
    with pytest.raises(ApplicationError) as excinfo:
        plan.save_activity(
            full,
            key=None,
            data=activity_data(full, objectives=[full["objectives"][0]["key"], "o999999"]),
        )
    assert refused(excinfo) == {"objectives"}


def test_it_refuses_an_unknown_country(empty):
    with pytest.raises(ApplicationError) as excinfo:
        plan.save_activity(empty, key=None, data=activity_data(empty, country="XX"))
    assert refused(excinfo) == {"country"}


def test_it_accepts_an_activity_without_a_country(empty):
    p = plan.save_activity(
        empty, key=None, data=activity_data(empty, country="", modality="remote")
    )
    assert p["activities"][0]["country"] == ""


def test_it_updates_an_activity_by_key_and_keeps_its_needs(full):
    activity = full["activities"][0]
    p = plan.save_activity(full, key=activity["key"], data={**activity, "city": "Sousse"})
    (updated,) = p["activities"]
    assert (updated["key"], updated["city"]) == (activity["key"], "Sousse")
    assert updated["needs"] == activity["needs"]
    assert full["activities"][0]["city"] == "Tunis"


def test_it_refuses_to_update_an_activity_that_is_gone(full):
    with pytest.raises(ApplicationError) as excinfo:
        plan.save_activity(full, key="a999999", data=activity_data(full))
    assert refused(excinfo) == {"key"}


def test_it_removes_an_activity(full):
    p = plan.save_activity(full, key=None, data=activity_data(full))
    first = full["activities"][0]["key"]
    p = plan.remove_activity(p, first)
    assert [a["title"] for a in p["activities"]] == ["Study visit to Lisbon"]
    with pytest.raises(ApplicationError):
        plan.remove_activity(p, first)


# --- expertise needs --------------------------------------------------------------------


def test_it_adds_a_need_with_clean_skills(full):
    activity = full["activities"][0]["key"]
    p = plan.save_need(
        full,
        activity_key=activity,
        key=None,
        data=need_data(
            skills=["  statistics ", "GIS", "statistics", "", "   ", "data protection"],
            languages=["fr", Language.objects.get(code="en"), "fr"],
            thematic_area=ThematicArea.objects.get(slug="data"),
            experts_needed="2",
            expert_days="10",
            origin_preference="",
        ),
    )
    need = p["activities"][0]["needs"][-1]
    assert need["key"].startswith("new-")
    assert need["skills"] == ["GIS", "data protection", "statistics"]
    assert need["languages"] == ["en", "fr"]
    assert need["thematic_area"] == "data"
    assert (need["experts_needed"], need["expert_days"]) == (2, 10)
    assert (need["origin_preference"], need["notes"]) == ("any", "")
    assert len(full["activities"][0]["needs"]) == 1


@pytest.mark.parametrize("slug", ["", None, "astrology"])
def test_it_requires_an_existing_thematic_area(full, slug):
    with pytest.raises(ApplicationError) as excinfo:
        plan.save_need(
            full,
            activity_key=full["activities"][0]["key"],
            key=None,
            data=need_data(thematic_area=slug),
        )
    assert refused(excinfo) == {"thematic_area"}


@pytest.mark.parametrize("field", ["experts_needed", "expert_days"])
@pytest.mark.parametrize("value", [0, -1, "0", None, "two"])
def test_it_needs_at_least_one_expert_and_one_day(full, field, value):
    with pytest.raises(ApplicationError) as excinfo:
        plan.save_need(
            full,
            activity_key=full["activities"][0]["key"],
            key=None,
            data=need_data(**{field: value}),
        )
    assert refused(excinfo) == {field}


def test_it_refuses_an_unknown_language_code(full):
    with pytest.raises(ApplicationError) as excinfo:
        plan.save_need(
            full,
            activity_key=full["activities"][0]["key"],
            key=None,
            data=need_data(languages=["fr", "xx"]),
        )
    assert refused(excinfo) == {"languages"}


def test_it_refuses_an_unknown_origin_preference(full):
    with pytest.raises(ApplicationError) as excinfo:
        plan.save_need(
            full,
            activity_key=full["activities"][0]["key"],
            key=None,
            data=need_data(origin_preference="anywhere"),
        )
    assert refused(excinfo) == {"origin_preference"}


def test_it_refuses_a_need_of_an_unknown_activity(full):
    with pytest.raises(ApplicationError) as excinfo:
        plan.save_need(full, activity_key="a999999", key=None, data=need_data())
    assert refused(excinfo) == {"key"}


def test_it_updates_a_need_by_key(full):
    activity = full["activities"][0]
    need = activity["needs"][0]
    p = plan.save_need(
        full, activity_key=activity["key"], key=need["key"], data={**need, "expert_days": 8}
    )
    assert p["activities"][0]["needs"] == [{**need, "expert_days": 8}]
    assert full["activities"][0]["needs"][0]["expert_days"] == 5


def test_it_removes_a_need(full):
    activity = full["activities"][0]
    p = plan.remove_need(full, activity_key=activity["key"], key=activity["needs"][0]["key"])
    assert p["activities"][0]["needs"] == []
    assert len(full["activities"][0]["needs"]) == 1
    with pytest.raises(ApplicationError):
        plan.remove_need(p, activity_key=activity["key"], key=activity["needs"][0]["key"])


# --- row_id -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "prefix", "expected"),
    [
        ("o12", "o", 12),
        ("a5", "a", 5),
        ("n7", "n", 7),
        ("a12", "o", None),
        ("new-0a1b2c3d4e", "o", None),
        ("o12x", "o", None),
        ("xo12", "o", None),
        ("o", "o", None),
        ("", "o", None),
        (None, "o", None),
    ],
)
def test_it_reads_the_row_id_of_a_key(key, prefix, expected):
    assert plan.row_id(key, prefix) == expected


# --- plan_problems ----------------------------------------------------------------------


def test_it_finds_no_problem_in_a_complete_plan(full, designed_action):
    assert plan.plan_problems(full, designed_action) == []


def test_it_lists_what_an_empty_plan_lacks(empty, action):
    assert plan.plan_problems(empty, action) == [
        "Add at least one objective.",
        "Add at least one activity.",
    ]


def test_it_lists_each_problem_of_a_broken_plan(full, designed_action, partner, staff):
    foreign = make_assessment(partner, staff, title="Another request").gaps.first().pk
    activity, need = full["activities"][0], full["activities"][0]["needs"][0]
    broken = {
        **full,
        "start_date": full["end_date"],
        "end_date": full["start_date"],
        "objectives": [
            {"key": "new-a", "text": "Closes nothing", "gaps": []},
            {"key": "new-b", "text": "Closes a foreign gap", "gaps": [foreign]},
        ],
        "activities": [
            {**activity, "title": "Broken activity", "modality": "telepathy", "needs": []},
            {
                **activity,
                "key": "new-c",
                "title": "Broken need",
                "needs": [{**need, "experts_needed": 0}],
            },
        ],
    }
    problems = plan.plan_problems(broken, designed_action)
    assert problems[0] == "Give the action a period in order."
    assert "Objective “Closes nothing” closes no capacity gap." in problems
    assert "Objective “Closes a foreign gap” links a gap of another assessment." in problems
    assert "Activity “Broken activity” needs correcting." in problems
    assert "An expertise need of “Broken need” needs correcting." in problems


def test_it_says_when_a_plan_has_no_activities(full, designed_action):
    assert plan.plan_problems({**full, "activities": []}, designed_action) == [
        "Add at least one activity."
    ]


def test_it_says_when_a_plan_has_no_objectives(full, designed_action):
    p = plan.remove_objective(full, full["objectives"][0]["key"])
    assert plan.plan_problems(p, designed_action) == ["Add at least one objective."]


def test_it_finds_an_activity_outside_the_period(full, designed_action):
    activity = full["activities"][0]
    outside = {**activity, "start_date": day(full, -3), "end_date": day(full, -2)}
    problems = plan.plan_problems({**full, "activities": [outside]}, designed_action)
    assert problems == ["Activity “Training of analysts” needs correcting."]


# --- snapshot and apply -----------------------------------------------------------------


def normalised(p: plan.Plan) -> plan.Plan:
    """The plan without its keys: objectives are named by their text."""
    names = {o["key"]: o["text"] for o in p["objectives"]}
    return {
        "start_date": p["start_date"],
        "end_date": p["end_date"],
        "objectives": [{k: v for k, v in o.items() if k != "key"} for o in p["objectives"]],
        "activities": [
            {
                **{k: v for k, v in a.items() if k not in ("key", "needs", "objectives")},
                "objectives": sorted(names[k] for k in a["objectives"]),
                "needs": [{k: v for k, v in n.items() if k != "key"} for n in a["needs"]],
            }
            for a in p["activities"]
        ],
    }


def row_ids(action: Any) -> tuple[list[int], list[int], list[int]]:
    return (
        sorted(Objective.objects.filter(action=action).values_list("pk", flat=True)),
        sorted(Activity.objects.filter(action=action).values_list("pk", flat=True)),
        sorted(ExpertiseNeed.objects.filter(activity__action=action).values_list("pk", flat=True)),
    )


def test_it_snapshots_the_stored_plan(designed_action):
    p = plan.snapshot(designed_action)
    objective = Objective.objects.get()
    activity = Activity.objects.get()
    need = ExpertiseNeed.objects.get()
    assert p["objectives"] == [
        {
            "key": f"o{objective.pk}",
            "text": "Analysts run the register",
            "gaps": [designed_action.assessment.gaps.first().pk],
        }
    ]
    assert p["activities"][0]["key"] == f"a{activity.pk}"
    assert p["activities"][0]["objectives"] == [f"o{objective.pk}"]
    assert p["activities"][0]["country"] == "TN"
    assert p["activities"][0]["needs"] == [
        {
            "key": f"n{need.pk}",
            "thematic_area": "data",
            "skills": ["statistics"],
            "languages": ["fr"],
            "experts_needed": 2,
            "expert_days": 5,
            "origin_preference": "partner_region_peer",
            "notes": "",
        }
    ]


def test_it_round_trips_snapshot_and_apply(designed_action):
    before, ids = plan.snapshot(designed_action), row_ids(designed_action)
    plan.apply(designed_action, before)
    assert plan.snapshot(designed_action) == before
    assert row_ids(designed_action) == ids


def test_it_applies_new_items(designed_action):
    action = designed_action
    gap = action.assessment.gaps.last().pk
    p = plan.snapshot(action)
    p = plan.set_period(p, p["start_date"], day(p, 30, "end_date"))
    p = plan.save_objective(p, action, key=None, text="The law allows data sharing", gaps=[gap])
    new_objective = p["objectives"][-1]["key"]
    p = plan.save_activity(
        p,
        key=None,
        data=activity_data(
            p,
            type="legislation_review",
            title="Review of the data law",
            start_date=day(p, 40),
            end_date=day(p, 60),
            modality="hybrid",
            objectives=[new_objective, p["objectives"][0]["key"]],
        ),
    )
    p = plan.save_need(
        p,
        activity_key=p["activities"][-1]["key"],
        key=None,
        data=need_data(skills=["legal drafting", "statistics"], languages=["en", "fr"]),
    )
    assert not Skill.objects.filter(name="legal drafting").exists()

    plan.apply(action, p)

    stored = plan.snapshot(action)
    assert normalised(stored) == normalised(p)
    assert stored["end_date"] == p["end_date"]
    assert (Objective.objects.count(), Activity.objects.count(), ExpertiseNeed.objects.count()) == (
        2,
        2,
        2,
    )
    review = Activity.objects.get(title="Review of the data law")
    assert sorted(o.text for o in review.objectives.all()) == [
        "Analysts run the register",
        "The law allows data sharing",
    ]
    need = review.needs.get()
    assert sorted(s.name for s in need.skills.all()) == ["legal drafting", "statistics"]
    assert sorted(lang.code for lang in need.languages.all()) == ["en", "fr"]
    assert Skill.objects.filter(name="statistics").count() == 1  # reused, not duplicated
    action.refresh_from_db()
    assert action.end_date.isoformat() == p["end_date"]


def test_it_applies_removed_items(designed_action, staff):
    action = designed_action
    p = plan.snapshot(action)
    gap = action.assessment.gaps.first().pk
    p = plan.save_objective(p, action, key=None, text="Second objective", gaps=[gap])
    p = plan.save_activity(p, key=None, data=activity_data(p))
    p = plan.save_need(p, activity_key=p["activities"][-1]["key"], key=None, data=need_data())
    plan.apply(action, p)
    p = plan.snapshot(action)
    first_activity = p["activities"][0]
    visit = next(a for a in p["activities"] if a["title"] == "Study visit to Lisbon")

    p = plan.remove_need(
        p, activity_key=first_activity["key"], key=first_activity["needs"][0]["key"]
    )
    p = plan.remove_activity(p, visit["key"])
    p = plan.remove_objective(p, p["objectives"][1]["key"])
    plan.apply(action, p)

    assert plan.snapshot(action) == p
    assert list(Objective.objects.values_list("text", flat=True)) == ["Analysts run the register"]
    assert list(Activity.objects.values_list("title", flat=True)) == ["Training of analysts"]
    assert not ExpertiseNeed.objects.exists()


def test_it_applies_changed_items_in_place(designed_action):
    action = designed_action
    ids = row_ids(action)
    p = plan.snapshot(action)
    gaps = sorted(action.assessment.gaps.values_list("pk", flat=True))
    objective = p["objectives"][0]
    activity = p["activities"][0]
    need = activity["needs"][0]
    p = plan.save_objective(p, action, key=objective["key"], text="Revised objective", gaps=gaps)
    p = plan.save_activity(
        p,
        key=activity["key"],
        data={**activity, "title": "Advanced training", "city": "Sfax", "status": "done"},
    )
    p = plan.save_need(
        p,
        activity_key=activity["key"],
        key=need["key"],
        data={**need, "skills": ["GIS"], "languages": ["ar", "en"], "expert_days": 9},
    )

    plan.apply(action, p)

    assert plan.snapshot(action) == p
    assert row_ids(action) == ids
    stored = Activity.objects.get()
    assert (stored.title, stored.city, stored.status) == ("Advanced training", "Sfax", "done")
    assert sorted(g.pk for g in Objective.objects.get().gaps.all()) == gaps
    assert Skill.objects.filter(name="GIS").exists()


def test_it_never_takes_over_rows_of_another_action(designed_action, partner, staff):
    other = make_action(partner, staff, title="Another request")
    theirs = plan.snapshot(other)
    p = plan.snapshot(designed_action)
    # Keys that name the other action's rows: apply must create rows of its own.
    p["objectives"][0]["key"] = theirs["objectives"][0]["key"]
    p["activities"][0]["objectives"] = [theirs["objectives"][0]["key"]]
    p["activities"][0]["key"] = theirs["activities"][0]["key"]
    p["activities"][0]["needs"][0]["key"] = theirs["activities"][0]["needs"][0]["key"]
    p["activities"][0]["city"] = "Hijacked"

    plan.apply(designed_action, p)

    assert plan.snapshot(other) == theirs
    assert Activity.objects.get(action=designed_action).city == "Hijacked"
    assert (Objective.objects.count(), Activity.objects.count(), ExpertiseNeed.objects.count()) == (
        2,
        2,
        2,
    )


# --- diff -------------------------------------------------------------------------------


@pytest.fixture
def amended(full, designed_action):
    """``edit(fn)`` → (before, after) with ``after = fn(before, action)``."""

    def edit(fn: Any) -> tuple[plan.Plan, plan.Plan]:
        return full, fn(full, designed_action)

    return edit


def test_it_finds_no_difference_in_an_unchanged_plan(full):
    assert plan.diff(full, full) == []
    assert plan.diff(full, plan.snapshot(Action.objects.get())) == []


def test_it_shows_nothing_without_a_plan_on_either_side(full):
    assert plan.diff({}, full) == [] and plan.diff(full, {}) == []


def test_it_shows_a_period_change(amended):
    before, after = amended(
        lambda p, a: plan.set_period(p, p["start_date"], day(p, 10, "end_date"))
    )
    assert plan.diff(before, after) == [
        {
            "what": "Period",
            "before": f"{before['start_date']} → {before['end_date']}",
            "after": f"{after['start_date']} → {after['end_date']}",
        }
    ]


def test_it_shows_objectives_added_changed_and_removed(full, designed_action):
    gap = designed_action.assessment.gaps.first()
    closes = f"({gap.get_level_display()}: {gap.description})"
    key = full["objectives"][0]["key"]
    changed = plan.save_objective(full, designed_action, key=key, text="Reworded", gaps=[gap.pk])
    added = plan.save_objective(full, designed_action, key=None, text="New one", gaps=[gap.pk])
    removed = plan.remove_objective(full, key)

    assert plan.diff(full, changed) == [
        {
            "what": "Objective changed",
            "before": f"Analysts run the register {closes}",
            "after": f"Reworded {closes}",
        }
    ]
    assert plan.diff(full, added) == [
        {"what": "Objective added", "before": "", "after": f"New one {closes}"}
    ]
    rows = plan.diff(full, removed)
    assert rows[0] == {
        "what": "Objective removed",
        "before": f"Analysts run the register {closes}",
        "after": "",
    }
    # The activity no longer serves it: shown too.
    assert [r["what"] for r in rows] == ["Objective removed", "“Training of analysts”: objectives"]


def test_it_shows_an_added_activity_with_its_needs(amended):
    def edit(p, a):
        p = plan.save_activity(p, key=None, data=activity_data(p))
        return plan.save_need(
            p, activity_key=p["activities"][-1]["key"], key=None, data=need_data()
        )

    before, after = amended(edit)
    start, end = after["activities"][-1]["start_date"], after["activities"][-1]["end_date"]
    assert plan.diff(before, after) == [
        {
            "what": "Activity added",
            "before": "",
            "after": f"Study visit — Study visit to Lisbon ({start} → {end})",
        },
        {"what": "Expertise need added", "before": "", "after": LISBON_NEED},
    ]


def test_it_shows_one_row_per_changed_activity_field(amended):
    def edit(p, a):
        activity = p["activities"][0]
        return plan.save_activity(
            p,
            key=activity["key"],
            data={
                **activity,
                "title": "Training of trainers",
                "city": "Sfax",
                "modality": "hybrid",
            },
        )

    before, after = amended(edit)
    assert plan.diff(before, after) == [
        {
            "what": "“Training of trainers”: title",
            "before": "Training of analysts",
            "after": "Training of trainers",
        },
        {"what": "“Training of trainers”: modality", "before": "onsite", "after": "hybrid"},
        {"what": "“Training of trainers”: city", "before": "Tunis", "after": "Sfax"},
    ]


LISBON_NEED = (
    "Labour migration: 1 expert(s), 3 expert-day(s); EU member state; labour inspection; fr"
)


def test_it_shows_needs_added_changed_and_removed(full):
    activity = full["activities"][0]
    need = activity["needs"][0]
    changed = plan.save_need(
        full, activity_key=activity["key"], key=need["key"], data={**need, "experts_needed": 3}
    )
    added = plan.save_need(full, activity_key=activity["key"], key=None, data=need_data())
    removed = plan.remove_need(full, activity_key=activity["key"], key=need["key"])
    line = (
        "Data production, collection and analysis: %s expert(s), 5 expert-day(s); "
        "Peer from the partner's region; statistics; fr"
    )

    assert plan.diff(full, changed) == [
        {"what": "Expertise need changed", "before": line % 2, "after": line % 3}
    ]
    assert plan.diff(full, added) == [
        {"what": "Expertise need added", "before": "", "after": LISBON_NEED}
    ]
    assert plan.diff(full, removed) == [
        {"what": "Expertise need removed", "before": line % 2, "after": ""}
    ]


def test_it_shows_a_removed_activity(full):
    activity = full["activities"][0]
    after = plan.remove_activity(full, activity["key"])
    assert plan.diff(full, after) == [
        {
            "what": "Activity removed",
            "before": f"Training — Training of analysts ({activity['start_date']} → {activity['end_date']})",
            "after": "",
        }
    ]


@pytest.mark.parametrize("what", ["objective gaps", "need skills"])
def test_it_shows_what_changes_in_an_objective_or_a_need(full, designed_action, what):
    if what == "objective gaps":
        objective = full["objectives"][0]
        gaps = sorted(designed_action.assessment.gaps.values_list("pk", flat=True))
        after = plan.save_objective(
            full, designed_action, key=objective["key"], text=objective["text"], gaps=gaps
        )
    else:
        activity = full["activities"][0]
        need = activity["needs"][0]
        after = plan.save_need(
            full,
            activity_key=activity["key"],
            key=need["key"],
            data={**need, "skills": ["GIS"], "languages": ["en"]},
        )
    (row,) = plan.diff(full, after)
    # Found by these tests (the rows once read the same before and after).
    assert row["before"] != row["after"]
    if what == "objective gaps":
        for gap in designed_action.assessment.gaps.all():
            assert gap.description in row["after"]
    else:
        assert "GIS; en" in row["after"] and "statistics; fr" in row["before"]


@pytest.mark.parametrize(
    ("what", "field"),
    [("activity", "city"), ("need", "experts_needed"), ("need", "expert_days")],
)
def test_it_refuses_what_the_tables_cannot_store(full, what, field):
    activity = full["activities"][0]
    with pytest.raises(ApplicationError) as excinfo:
        if what == "activity":
            plan.save_activity(full, key=activity["key"], data={**activity, field: "c" * 101})
        else:
            plan.save_need(
                full,
                activity_key=activity["key"],
                key=None,
                data=need_data(**{field: 32768}),
            )
    assert refused(excinfo) == {field}
