"""The roster, deployments and matching API (DESIGN.md §2, §5, §6; issue 5 "API", "Bad
input" and "Done when": object scoping, the role × transition matrix, expired and cancelled
invitations, matching, data export, query counts).

Error bodies are ``{"type", "errors": [{"code", "detail", "attr"}]}``; ``errors(response)``
checks that shape and returns ``{attr: [detail, ...]}``.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from experts.models import Deployment, Expert, MatchJob, Unavailability
from tests.actions.api_helpers import errors
from tests.experts.builders import (
    REASON,
    approved_action,
    deployment_in,
    first_need,
    make_expert,
)
from tests.requests_app.helpers import PDF_BYTES, fake_pdf_upload, pdf_upload

EXPERTS = "/api/v1/experts/"
DEPLOYMENTS = "/api/v1/deployments/"
NEEDS = "/api/v1/expertise-needs/"
JOBS = "/api/v1/match-jobs/"


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def staff_api(api_as: Any, staff: Any) -> Any:
    return api_as(staff)


def expert_body(**extra: Any) -> dict[str, Any]:
    return {
        "full_name": "Lina Haddad",
        "email": "lina@example.org",
        "phone": "+216 71 000 000",
        "home_institution": "National Institute of Statistics",
        "administration_type": "partner_country",
        "nationality": "TN",
        "residence": "TN",
        "languages": [{"code": "en", "level": "B2"}, {"code": "fr", "level": "C2"}],
        "thematic_areas": ["data"],
        "skills": ["statistics", "census methods"],
        "countries_of_experience": ["SN", "MA"],
        "years_experience": 12,
        "biography": "Leads the migration statistics unit.",
        "consent_contact": True,
        "consent_retention": True,
        **extra,
    }


def url(base: str, obj: Any, suffix: str = "") -> str:
    pk = obj if isinstance(obj, int) else obj.pk
    return f"{base}{pk}/{suffix + '/' if suffix else ''}"


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content[:300]
    return [item["id"] for item in response.json()["results"]]


def status_of(deployment: Deployment) -> str:
    return Deployment.objects.values_list("status", flat=True).get(pk=deployment.pk)


# --- experts: creating and editing ---------------------------------------------------------


def test_it_lets_staff_add_an_expert_to_the_roster(staff_api, organisation):
    response = staff_api.post(EXPERTS, expert_body(organisation=organisation.pk))

    assert response.status_code == 201, response.json()
    data = response.json()
    expert = Expert.objects.get(pk=data["id"])
    assert expert.full_name == "Lina Haddad"
    assert data["vetting_status"] == "pending"
    assert data["allowed_transitions"] == ["approve", "reject"]
    assert data["languages"] == [{"code": "fr", "level": "C2"}, {"code": "en", "level": "B2"}]
    assert data["skills"] == ["census methods", "statistics"]
    assert sorted(data["countries_of_experience"]) == ["MA", "SN"]
    assert (data["nationality"], data["residence"], data["organisation"]) == (
        "TN",
        "TN",
        organisation.pk,
    )
    assert data["consent_at"] is not None
    assert (data["has_cv"], data["cv_url"], data["average_rating"]) == (False, None, None)
    assert data["user"] is None


def test_it_lets_an_expert_create_their_own_profile_once(api_as, expert):
    api = api_as(expert)

    response = api.post(EXPERTS, expert_body())

    assert response.status_code == 201, response.json()
    assert response.json()["user"] == expert.pk
    assert response.json()["allowed_transitions"] == []
    again = api.post(EXPERTS, expert_body(full_name="Someone else"))
    assert again.status_code == 409
    assert Expert.objects.filter(user=expert).count() == 1


def test_it_refuses_an_expert_who_links_an_account(api_as, expert, expert2):
    response = api_as(expert).post(EXPERTS, expert_body(user=expert2.pk))

    assert response.status_code == 403
    assert not Expert.objects.exists()


@pytest.mark.parametrize("who", ["partner", "evaluator"])
def test_it_refuses_a_profile_from_partners_and_evaluators(api_as, personas, who):
    response = api_as(personas[who]).post(EXPERTS, expert_body())

    assert response.status_code == 403
    assert not Expert.objects.exists()


@pytest.mark.parametrize(
    ("change", "attr"),
    [
        ({"languages": [{"code": "fr", "level": "D1"}]}, "languages.0.level"),
        ({"languages": [{"code": "fr", "level": "c1"}]}, "languages.0.level"),
        ({"languages": [{"code": "xx", "level": "B2"}]}, "languages"),
        ({"languages": [{"code": "fr"}]}, "languages.0.level"),
        (
            {"languages": [{"code": "fr", "level": "B2"}, {"code": "fr", "level": "C1"}]},
            "languages",
        ),
        ({"nationality": "XX"}, "nationality"),
        ({"residence": "ZZ"}, "residence"),
        ({"countries_of_experience": ["TN", "QQ"]}, "countries_of_experience"),
        ({"thematic_areas": ["astrology"]}, "thematic_areas"),
        ({"administration_type": "ministry"}, "administration_type"),
        ({"years_experience": 200}, "years_experience"),
        ({"email": "not-an-email"}, "email"),
        ({"nickname": "Lulu"}, "nickname"),
        ({"vetting_status": "approved"}, "vetting_status"),
    ],
)
def test_it_answers_bad_profile_input_with_field_errors(staff_api, change, attr):
    response = staff_api.post(EXPERTS, expert_body(**change))

    assert response.status_code == 400, response.json()
    assert attr in errors(response), errors(response)
    assert not Expert.objects.exists()


def test_it_says_which_language_code_is_unknown(staff_api):
    body = expert_body(languages=[{"code": "xx", "level": "B2"}])

    response = staff_api.post(EXPERTS, body)

    assert errors(response) == {"languages": ["Unknown language code: xx."]}


def test_it_names_unknown_and_read_only_fields(staff_api):
    response = staff_api.post(EXPERTS, expert_body(nickname="x", rating_count=9))

    assert errors(response) == {
        "nickname": ["Unknown field."],
        "rating_count": ["This field is read-only."],
    }


def test_it_lets_an_expert_edit_their_own_profile(api_as, expert, expert_profile):
    response = api_as(expert).patch(
        url(EXPERTS, expert_profile),
        {"biography": "Now heads the unit.", "languages": [{"code": "ar", "level": "B2"}]},
    )

    assert response.status_code == 200, response.json()
    assert response.json()["biography"] == "Now heads the unit."
    assert response.json()["languages"] == [{"code": "ar", "level": "B2"}]
    # Vetting is kept; only staff change it.
    assert response.json()["vetting_status"] == "approved"


@pytest.mark.parametrize("field", [("is_active", False), ("user", None)])
def test_it_keeps_the_status_fields_for_staff(api_as, expert, expert_profile, field):
    name, value = field

    response = api_as(expert).patch(url(EXPERTS, expert_profile), {name: value})

    assert response.status_code == 403
    assert Expert.objects.get(pk=expert_profile.pk).is_active


def test_it_lets_staff_deactivate_an_expert(staff_api, expert_profile):
    response = staff_api.patch(url(EXPERTS, expert_profile), {"is_active": False})

    assert response.status_code == 200
    assert response.json()["is_active"] is False


def test_it_refuses_to_link_an_account_that_is_not_an_expert(staff_api, expert_profile, partner):
    response = staff_api.patch(url(EXPERTS, expert_profile), {"user": partner.pk})

    assert response.status_code == 400
    assert list(errors(response)) == ["user"]


def test_it_replaces_the_whole_profile_on_put(staff_api, expert_profile):
    response = staff_api.put(url(EXPERTS, expert_profile), expert_body(full_name="Amina D."))

    assert response.status_code == 200, response.json()
    assert response.json()["full_name"] == "Amina D."
    assert staff_api.put(url(EXPERTS, expert_profile), {"biography": "x"}).status_code == 400


# --- experts: who sees what ----------------------------------------------------------------


def test_it_scopes_the_roster_to_each_role(
    api_as, personas, expert_profile, expert2, expert2_profile
):
    both = sorted([expert_profile.pk, expert2_profile.pk])
    assert sorted(ids(api_as(personas["staff"]).get(EXPERTS))) == both
    assert sorted(ids(api_as(personas["approver"]).get(EXPERTS))) == both
    assert ids(api_as(personas["expert"]).get(EXPERTS)) == [expert_profile.pk]
    assert ids(api_as(expert2).get(EXPERTS)) == [expert2_profile.pk]
    for who in ("partner", "partner2", "evaluator"):
        assert ids(api_as(personas[who]).get(EXPERTS)) == [], who


@pytest.mark.parametrize("who", ["expert2", "partner", "partner2", "evaluator"])
def test_it_hides_a_profile_from_everyone_but_staff_and_its_expert(
    api_as, personas, expert2, expert_profile, who
):
    user = expert2 if who == "expert2" else personas[who]
    api = api_as(user)
    target = url(EXPERTS, expert_profile)

    assert api.get(target).status_code == 404
    assert api.patch(target, {"biography": "x"}).status_code == 404
    for suffix in ("cv", "unavailability", "export"):
        assert api.get(url(EXPERTS, expert_profile, suffix)).status_code == 404, suffix
    for suffix in ("approve", "request-deletion", "anonymise"):
        assert api.post(url(EXPERTS, expert_profile, suffix)).status_code == 404, suffix
    assert Expert.objects.get(pk=expert_profile.pk).biography != "x"


def test_it_answers_404_for_an_expert_that_does_not_exist(staff_api):
    assert staff_api.get(url(EXPERTS, 999999)).status_code == 404


# --- experts: roster search ----------------------------------------------------------------


@pytest.fixture
def roster(staff: Any) -> dict[str, Expert]:
    """Four entries that differ in one way each from ``amina``."""
    return {
        "amina": make_expert(name="Amina Diallo", by=staff),
        "jan": make_expert(
            name="Jan Novak",
            by=staff,
            languages=(("fr", "B1"), ("cs", "C2")),
            areas=("governance",),
            skills=("border management",),
            countries=("DE",),
            administration_type="eu_member_state",
            nationality="CZ",
            biography="Border police trainer.",
        ),
        "pending": make_expert(name="Rosa Pérez", by=staff, vetted=False, nationality="ES"),
        "inactive": make_expert(name="Omar Khalil", by=staff, active=False, nationality="EG"),
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["amina", "inactive", "jan", "pending"]),
        ({"q": "border trainer"}, ["jan"]),
        ({"search": "novak"}, ["jan"]),
        ({"thematic_area": "governance"}, ["jan"]),
        ({"skill": "Border Management"}, ["jan"]),
        ({"language": "fr"}, ["amina", "inactive", "jan", "pending"]),
        ({"language": "fr", "min_level": "B2"}, ["amina", "inactive", "pending"]),
        ({"language": "cs", "min_level": "C2"}, ["jan"]),
        ({"country": "de"}, ["jan"]),
        ({"region": "Africa"}, ["amina", "inactive", "pending"]),
        ({"administration_type": "eu_member_state"}, ["jan"]),
        ({"nationality": "CZ"}, ["jan"]),
        ({"vetting_status": "pending"}, ["pending"]),
        ({"is_active": "false"}, ["inactive"]),
        ({"vetting_status": "approved", "is_active": "true"}, ["amina", "jan"]),
    ],
)
def test_it_searches_the_roster(staff_api, roster, params, expected):
    names = {e.pk: key for key, e in roster.items()}

    found = ids(staff_api.get(EXPERTS, params))

    assert sorted(names[pk] for pk in found) == expected


def test_it_finds_experts_free_over_a_window(staff_api, roster):
    day = timezone.localdate() + timedelta(days=20)
    Unavailability.objects.create(expert=roster["jan"], start_date=day, end_date=day)
    window = {"available_from": day.isoformat(), "available_to": day.isoformat()}
    names = {e.pk: key for key, e in roster.items()}

    found = ids(staff_api.get(EXPERTS, window))

    assert sorted(names[pk] for pk in found) == ["amina", "inactive", "pending"]


def test_it_orders_the_roster(staff_api, roster):
    found = ids(staff_api.get(EXPERTS, {"ordering": "-full_name"}))

    assert found == [roster[k].pk for k in ("pending", "inactive", "jan", "amina")]


@pytest.mark.parametrize(
    ("params", "attr"),
    [
        ({"language": "xx"}, "language"),
        ({"language": "fr", "min_level": "Z9"}, "min_level"),
        ({"min_level": "B2"}, "language"),
        ({"country": "QQ"}, "country"),
        ({"nationality": "Atlantis"}, "nationality"),
        ({"region": "Atlantis"}, "region"),
        ({"thematic_area": "astrology"}, "thematic_area"),
        ({"administration_type": "ministry"}, "administration_type"),
        ({"vetting_status": "maybe"}, "vetting_status"),
        ({"available_from": "next week"}, "available_from"),
        ({"available_from": "2031-05-02", "available_to": "2031-05-01"}, "available_to"),
    ],
)
def test_it_refuses_bad_search_parameters(staff_api, roster, params, attr):
    response = staff_api.get(EXPERTS, params)

    assert response.status_code == 400
    assert attr in errors(response)


# --- experts: vetting ----------------------------------------------------------------------


def test_it_lets_staff_vet_a_profile(staff_api, expert, api_as, staff):
    pending = make_expert(expert, by=staff, vetted=False)

    refused = staff_api.post(url(EXPERTS, pending, "reject"), {})
    rejected = staff_api.post(url(EXPERTS, pending, "reject"), {"reason": "No CV yet."})
    approved = staff_api.post(url(EXPERTS, pending, "approve"), {"comment": "CV checked."})

    assert refused.status_code == 400
    assert list(errors(refused)) == ["comment"]
    assert rejected.status_code == 200
    assert (rejected.json()["vetting_status"], rejected.json()["vetting_note"]) == (
        "rejected",
        "No CV yet.",
    )
    assert rejected.json()["allowed_transitions"] == ["approve"]
    assert approved.json()["vetting_status"] == "approved"
    # The expert reads the decision on their own profile.
    mine = api_as(expert).get(url(EXPERTS, pending)).json()
    assert (mine["vetting_status"], mine["vetting_note"]) == ("approved", "CV checked.")


@pytest.mark.parametrize(
    ("who", "transition", "code"),
    [
        ("staff", "approve", 409),  # already approved
        ("approver", "approve", 409),
        ("staff", "reject", 200),
        ("expert", "approve", 403),  # their own profile: visible, not theirs to vet
        ("expert", "reject", 403),
        ("expert2", "approve", 404),
        ("partner", "approve", 404),
        ("partner2", "reject", 404),
        ("evaluator", "approve", 404),
    ],
)
def test_it_lets_only_staff_vet(api_as, personas, expert2, expert_profile, who, transition, code):
    user = expert2 if who == "expert2" else personas[who]

    response = api_as(user).post(url(EXPERTS, expert_profile, transition), {"reason": REASON})

    assert response.status_code == code, response.json()
    if code == 409:
        assert "approved" in errors(response)[None][0]


# --- experts: CV ---------------------------------------------------------------------------


def test_it_stores_serves_and_removes_a_cv(api_as, expert, staff, expert_profile):
    api = api_as(expert)
    cv_url = url(EXPERTS, expert_profile, "cv")

    uploaded = api.post(cv_url, {"file": pdf_upload("my-cv.pdf")}, format="multipart")

    assert uploaded.status_code == 200, uploaded.json()
    assert (uploaded.json()["has_cv"], uploaded.json()["cv_url"]) == (True, cv_url)
    for who in (expert, staff):
        response = api_as(who).get(cv_url)
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == PDF_BYTES
        assert response["Content-Type"] == "application/pdf"
        assert 'filename="my-cv.pdf"' in response["Content-Disposition"]
    replaced = api_as(staff).put(cv_url, {"file": pdf_upload("cv-2026.pdf")}, format="multipart")
    assert replaced.status_code == 200
    assert Expert.objects.get(pk=expert_profile.pk).cv_name == "cv-2026.pdf"

    removed = api.delete(cv_url)

    assert removed.status_code == 204
    assert api.get(cv_url).status_code == 404
    assert api.get(url(EXPERTS, expert_profile)).json()["has_cv"] is False


def test_it_refuses_a_cv_that_is_not_a_document(api_as, expert, expert_profile):
    cv_url = url(EXPERTS, expert_profile, "cv")

    disguised = api_as(expert).post(cv_url, {"file": fake_pdf_upload()}, format="multipart")
    missing = api_as(expert).post(cv_url, {}, format="multipart")

    assert disguised.status_code == 400
    assert missing.status_code == 400
    assert list(errors(missing)) == ["file"]
    assert not Expert.objects.get(pk=expert_profile.pk).cv


def test_it_keeps_the_cv_from_partners(api_as, expert, partner, expert_profile):
    api_as(expert).post(
        url(EXPERTS, expert_profile, "cv"), {"file": pdf_upload()}, format="multipart"
    )

    assert api_as(partner).get(url(EXPERTS, expert_profile, "cv")).status_code == 404


# --- experts: unavailability -----------------------------------------------------------------


def test_it_merges_overlapping_unavailability(api_as, expert, expert_profile):
    api = api_as(expert)
    periods = url(EXPERTS, expert_profile, "unavailability")
    first = api.post(
        periods, {"start_date": "2031-03-01", "end_date": "2031-03-10", "note": "Leave"}
    )
    apart = api.post(periods, {"start_date": "2031-04-01", "end_date": "2031-04-02"})

    merged = api.post(periods, {"start_date": "2031-03-08", "end_date": "2031-03-20"})

    assert (first.status_code, first.json()["merged"]) == (201, 0)
    assert (apart.status_code, apart.json()["merged"]) == (201, 0)
    assert merged.status_code == 201
    assert merged.json() == {
        "id": first.json()["id"],
        "start_date": "2031-03-01",
        "end_date": "2031-03-20",
        "note": "Leave",
        "merged": 1,
    }
    listed = api.get(periods).json()
    assert [(p["start_date"], p["end_date"]) for p in listed] == [
        ("2031-03-01", "2031-03-20"),
        ("2031-04-01", "2031-04-02"),
    ]

    assert api.delete(f"{periods}{apart.json()['id']}/").status_code == 204
    assert api.delete(f"{periods}{apart.json()['id']}/").status_code == 404
    assert len(api.get(periods).json()) == 1


@pytest.mark.parametrize(
    ("body", "attr"),
    [
        ({"start_date": "2031-03-10", "end_date": "2031-03-01"}, "end_date"),
        ({"start_date": "soon", "end_date": "2031-03-01"}, "start_date"),
        ({"start_date": "2031-03-10"}, "end_date"),
        ({"start_date": "2031-03-01", "end_date": "2031-03-02", "why": "x"}, "why"),
    ],
)
def test_it_refuses_bad_unavailability(api_as, expert, expert_profile, body, attr):
    response = api_as(expert).post(url(EXPERTS, expert_profile, "unavailability"), body)

    assert response.status_code == 400
    assert attr in errors(response)
    assert not Unavailability.objects.exists()


def test_it_keeps_another_experts_periods_out_of_reach(api_as, expert2, expert_profile, staff):
    period = Unavailability.objects.create(
        expert=expert_profile, start_date=timezone.localdate(), end_date=timezone.localdate()
    )
    target = f"{url(EXPERTS, expert_profile, 'unavailability')}{period.pk}/"

    assert api_as(expert2).delete(target).status_code == 404
    assert Unavailability.objects.filter(pk=period.pk).exists()
    assert api_as(staff).delete(target).status_code == 204


# --- experts: personal data ----------------------------------------------------------------


def test_it_exports_everything_about_the_expert(
    api_as, expert, staff, expert_profile, need, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        deployment_in("invited", need, expert_profile, staff=staff)
    Unavailability.objects.create(
        expert=expert_profile, start_date=timezone.localdate(), end_date=timezone.localdate()
    )

    response = api_as(expert).get(url(EXPERTS, expert_profile, "export"))

    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["profile"]["full_name"] == "Amina Diallo"
    assert data["profile"]["languages"] == [
        {"code": "fr", "level": "C1"},
        {"code": "en", "level": "B2"},
    ]
    assert len(data["profile"]["unavailability"]) == 1
    assert data["account"]["username"] == "expert"
    assert [d["status"] for d in data["deployments"]] == ["invited"]
    assert [e["transition"] for e in data["profile_history"]] == ["approve"]
    assert any(n["event"] == "deployment_invited" for n in data["notifications"])
    assert api_as(staff).get(url(EXPERTS, expert_profile, "export")).status_code == 200


def test_it_takes_a_deletion_request_and_staff_anonymise(api_as, expert, staff, expert_profile):
    asked = api_as(expert).post(url(EXPERTS, expert_profile, "request-deletion"))
    not_staffs = api_as(staff).post(url(EXPERTS, expert_profile, "request-deletion"))
    not_experts = api_as(expert).post(url(EXPERTS, expert_profile, "anonymise"))

    assert asked.status_code == 200
    assert asked.json()["deletion_requested_at"] is not None
    assert not_staffs.status_code == 403
    assert not_experts.status_code == 403

    done = api_as(staff).post(url(EXPERTS, expert_profile, "anonymise"))

    assert done.status_code == 200, done.json()
    data = done.json()
    assert data["full_name"] == f"Former expert #{expert_profile.pk}"
    assert (data["email"], data["user"], data["is_active"]) == ("", None, False)
    assert data["anonymised_at"] is not None
    assert api_as(staff).post(url(EXPERTS, expert_profile, "anonymise")).status_code == 409
    assert api_as(staff).patch(url(EXPERTS, expert_profile), {"phone": "1"}).status_code == 409
    # Anonymised entries leave the roster search.
    assert expert_profile.pk not in ids(api_as(staff).get(EXPERTS))


# --- deployments: shortlisting and reading ------------------------------------------------


def test_it_lets_staff_shortlist_an_expert(staff_api, need, expert_profile, action):
    body = {"expertise_need": need.pk, "expert": expert_profile.pk}

    response = staff_api.post(DEPLOYMENTS, body)

    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["status"] == "shortlisted"
    assert (data["expertise_need"], data["expert"], data["expert_name"]) == (
        need.pk,
        expert_profile.pk,
        "Amina Diallo",
    )
    assert (data["action"], data["activity"]) == (action.pk, need.activity_id)
    assert data["allowed_transitions"] == ["invite", "cancel"]
    assert data["has_report"] is False
    # Shortlisting again returns the same deployment.
    assert staff_api.post(DEPLOYMENTS, body).json()["id"] == data["id"]
    assert Deployment.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "attr"),
    [
        ({"expertise_need": 999999}, "expertise_need"),
        ({"expert": 999999}, "expert"),
        ({"expert": "amina"}, "expert"),
        ({"status": "confirmed"}, "status"),
        ({"note": "x"}, "note"),
    ],
)
def test_it_refuses_a_bad_shortlist_entry(staff_api, need, expert_profile, body, attr):
    full = {"expertise_need": need.pk, "expert": expert_profile.pk, **body}

    response = staff_api.post(DEPLOYMENTS, full)

    assert response.status_code == 400
    assert attr in errors(response)
    assert not Deployment.objects.exists()


@pytest.mark.parametrize("who", ["partner", "partner2", "expert", "evaluator"])
def test_it_lets_only_staff_shortlist(api_as, personas, need, expert_profile, who):
    body = {"expertise_need": need.pk, "expert": expert_profile.pk}

    response = api_as(personas[who]).post(DEPLOYMENTS, body)

    # Staff only: the role is refused (403) before the body is read, as on every
    # collection a role may not write to (tests/security/test_api_matrix.py).
    assert response.status_code == 403
    assert not Deployment.objects.exists()


def test_it_scopes_deployments_to_each_role(
    api_as, personas, expert, expert2, expert_profile, expert2_profile, need, staff
):
    mine = {
        state: deployment_in(state, need, e, staff=staff)
        for state, e in (("invited", expert_profile), ("confirmed", expert2_profile))
    }
    shortlisted = deployment_in(
        "shortlisted", need, make_expert(by=staff, name="Short Listed"), staff=staff
    )
    everything = sorted([mine["invited"].pk, mine["confirmed"].pk, shortlisted.pk])

    assert sorted(ids(api_as(personas["staff"]).get(DEPLOYMENTS))) == everything
    assert ids(api_as(expert).get(DEPLOYMENTS)) == [mine["invited"].pk]
    assert ids(api_as(expert2).get(DEPLOYMENTS)) == [mine["confirmed"].pk]
    # The partner sees the confirmed mission on its approved action, nothing before.
    assert ids(api_as(personas["partner"]).get(DEPLOYMENTS)) == [mine["confirmed"].pk]
    for who in ("partner2", "evaluator"):
        assert ids(api_as(personas[who]).get(DEPLOYMENTS)) == [], who

    assert api_as(expert).get(url(DEPLOYMENTS, mine["confirmed"])).status_code == 404
    assert api_as(expert2).get(url(DEPLOYMENTS, mine["invited"])).status_code == 404
    assert api_as(personas["partner"]).get(url(DEPLOYMENTS, mine["invited"])).status_code == 404
    assert api_as(personas["partner2"]).get(url(DEPLOYMENTS, mine["confirmed"])).status_code == 404
    assert api_as(personas["evaluator"]).get(url(DEPLOYMENTS, mine["confirmed"])).status_code == 404
    # An expert never sees that they were only shortlisted.
    other_need = first_need(approved_action(personas["partner"], staff, personas["approver"]))
    own_shortlist = deployment_in("shortlisted", other_need, expert_profile, staff=staff)
    assert api_as(expert).get(url(DEPLOYMENTS, own_shortlist)).status_code == 404


def test_it_filters_deployments(
    staff_api, need, staff, partner, approver, expert_profile, expert2_profile
):
    invited = deployment_in("invited", need, expert_profile, staff=staff)
    declined = deployment_in("declined", need, expert2_profile, staff=staff)
    elsewhere = approved_action(partner, staff, approver)
    other = deployment_in("shortlisted", first_need(elsewhere), expert_profile, staff=staff)

    assert sorted(ids(staff_api.get(DEPLOYMENTS, {"status": ["invited", "declined"]}))) == sorted(
        [invited.pk, declined.pk]
    )
    assert sorted(ids(staff_api.get(DEPLOYMENTS, {"expert": expert_profile.pk}))) == sorted(
        [invited.pk, other.pk]
    )
    assert sorted(ids(staff_api.get(DEPLOYMENTS, {"expertise_need": need.pk}))) == sorted(
        [invited.pk, declined.pk]
    )
    assert ids(staff_api.get(DEPLOYMENTS, {"action": elsewhere.pk})) == [other.pk]
    assert ids(
        staff_api.get(DEPLOYMENTS, {"activity": need.activity_id, "status": "declined"})
    ) == [declined.pk]
    assert ids(staff_api.get(DEPLOYMENTS, {"ordering": "created_at"}))[0] == invited.pk
    bad = staff_api.get(DEPLOYMENTS, {"status": "lost"})
    assert bad.status_code == 400
    assert list(errors(bad)) == ["status"]


# --- deployments: the role × transition matrix --------------------------------------------

# Who may fire each transition from the state it starts from (the deployment belongs to the
# ``expert`` persona, on an approved action of ``partner``): 200 fired; 403 visible but not
# theirs to fire; 404 not visible to them.
MATRIX: dict[str, tuple[str, dict[str, int]]] = {
    "invite": (
        "shortlisted",
        {
            "staff": 200,
            "approver": 200,
            "expert": 404,
            "expert2": 404,
            "partner": 404,
            "partner2": 404,
            "evaluator": 404,
        },
    ),
    "accept": (
        "invited",
        {
            "staff": 403,
            "approver": 403,
            "expert": 200,
            "expert2": 404,
            "partner": 404,
            "partner2": 404,
            "evaluator": 404,
        },
    ),
    "decline": (
        "invited",
        {
            "staff": 403,
            "approver": 403,
            "expert": 200,
            "expert2": 404,
            "partner": 404,
            "partner2": 404,
            "evaluator": 404,
        },
    ),
    "confirm": (
        "accepted",
        {
            "staff": 200,
            "approver": 200,
            "expert": 403,
            "expert2": 404,
            "partner": 404,
            "partner2": 404,
            "evaluator": 404,
        },
    ),
    "complete": (
        "reported",
        {
            "staff": 200,
            "approver": 200,
            "expert": 403,
            "expert2": 404,
            "partner": 403,
            "partner2": 404,
            "evaluator": 404,
        },
    ),
    "cancel": (
        "confirmed",
        {
            "staff": 200,
            "approver": 200,
            "expert": 403,
            "expert2": 404,
            "partner": 403,
            "partner2": 404,
            "evaluator": 404,
        },
    ),
}
TARGETS = {
    "invite": "invited",
    "accept": "accepted",
    "decline": "declined",
    "confirm": "confirmed",
    "complete": "completed",
    "cancel": "cancelled",
}


def body_for(transition: str) -> dict[str, Any]:
    # The need asks for 5 expert-days; the training lasts one day.
    return {"reason": REASON, **({"expert_days": 1} if transition == "confirm" else {})}


CASES = [
    (transition, who, code)
    for transition, (_state, codes) in MATRIX.items()
    for who, code in codes.items()
]


@pytest.mark.parametrize(("transition", "who", "code"), CASES)
def test_it_lets_each_role_fire_only_its_transitions(
    api_as, personas, expert2, expert_profile, need, staff, transition, who, code
):
    state = MATRIX[transition][0]
    deployment = deployment_in(state, need, expert_profile, staff=staff)
    user = expert2 if who == "expert2" else personas[who]

    response = api_as(user).post(url(DEPLOYMENTS, deployment, transition), body_for(transition))

    assert response.status_code == code, response.json()
    expected = (
        TARGETS[transition] if code == 200 else ("confirmed" if state == "reported" else state)
    )
    assert status_of(deployment) == expected
    if code == 200:
        assert response.json()["status"] == expected


# What each transition's rightful actor gets from every state: 200 where the table allows
# it, 409 where the state does not, 404 where the actor cannot see the deployment.
STAFF_FROM = {
    "invite": {"shortlisted"},
    "confirm": {"accepted"},
    "complete": {"reported"},  # confirmed without a report: refused by a guard (409)
    "cancel": {"shortlisted", "invited", "accepted", "confirmed", "reported"},
}
ALL_STATES = [
    "shortlisted",
    "invited",
    "accepted",
    "declined",
    "expired",
    "confirmed",
    "reported",
    "completed",
    "cancelled",
]
STATE_CASES = [
    (transition, state, 200 if state in allowed else 409)
    for transition, allowed in STAFF_FROM.items()
    for state in ALL_STATES
] + [
    (transition, state, 404 if state == "shortlisted" else 200 if state == "invited" else 409)
    for transition in ("accept", "decline")
    for state in ALL_STATES
]


@pytest.mark.parametrize(("transition", "state", "code"), STATE_CASES)
def test_it_fires_each_transition_only_from_its_states(
    api_as, expert, staff, expert_profile, need, transition, state, code
):
    deployment = deployment_in(state, need, expert_profile, staff=staff)
    actor = expert if transition in ("accept", "decline") else staff

    response = api_as(actor).post(url(DEPLOYMENTS, deployment, transition), body_for(transition))

    assert response.status_code == code, response.json()
    if code == 409:
        assert errors(response)[None][0]  # a sentence that says why


def test_it_refuses_to_accept_an_invitation_past_its_expiry(
    api_as, expert, staff, expert_profile, need
):
    deployment = deployment_in("invited", need, expert_profile, staff=staff)
    Deployment.objects.filter(pk=deployment.pk).update(
        expires_at=timezone.now() - timedelta(hours=1)
    )

    response = api_as(expert).post(url(DEPLOYMENTS, deployment, "accept"))

    assert response.status_code == 409
    assert "expired on" in errors(response)[None][0]
    assert status_of(deployment) == "invited"


@pytest.mark.parametrize(
    ("state", "words"),
    [("expired", "invitation expired"), ("cancelled", "cancelled"), ("declined", "declined")],
)
def test_it_refuses_to_accept_a_closed_invitation(
    api_as, expert, staff, expert_profile, need, state, words
):
    deployment = deployment_in(state, need, expert_profile, staff=staff)

    response = api_as(expert).post(url(DEPLOYMENTS, deployment, "accept"))

    assert response.status_code == 409
    body = response.json()
    assert body["errors"][0]["code"] == "transition_not_allowed"
    assert words in body["errors"][0]["detail"]
    assert status_of(deployment) == state


def test_it_shows_the_expert_what_they_may_do(api_as, expert, staff, expert_profile, need):
    deployment = deployment_in("invited", need, expert_profile, staff=staff)

    mine = api_as(expert).get(url(DEPLOYMENTS, deployment)).json()
    listed = api_as(expert).get(DEPLOYMENTS).json()["results"][0]
    staffs = api_as(staff).get(url(DEPLOYMENTS, deployment)).json()

    assert mine["allowed_transitions"] == listed["allowed_transitions"] == ["accept", "decline"]
    assert staffs["allowed_transitions"] == ["cancel"]
    assert mine["expires_at"] is not None


@pytest.mark.parametrize("transition", ["decline", "cancel"])
def test_it_needs_a_reason_to_decline_or_cancel(
    api_as, expert, staff, expert_profile, need, transition
):
    deployment = deployment_in("invited", need, expert_profile, staff=staff)
    actor = expert if transition == "decline" else staff

    response = api_as(actor).post(url(DEPLOYMENTS, deployment, transition), {"reason": "  "})

    assert response.status_code == 400
    assert list(errors(response)) == ["comment"]
    assert status_of(deployment) == "invited"


def test_it_records_the_reason_for_declining(api_as, expert, staff, expert_profile, need):
    deployment = deployment_in("invited", need, expert_profile, staff=staff)

    response = api_as(expert).post(url(DEPLOYMENTS, deployment, "decline"), {"reason": REASON})

    assert response.json()["decline_reason"] == REASON
    assert response.json()["responded_at"] is not None


# --- deployments: confirming --------------------------------------------------------------


def test_it_confirms_with_the_activitys_dates_by_default(staff_api, staff, expert_profile, need):
    deployment = deployment_in("accepted", need, expert_profile, staff=staff)
    confirm = url(DEPLOYMENTS, deployment, "confirm")

    # The need asks for 5 expert-days but the training lasts one day: the default fits it.
    response = staff_api.post(confirm, {})

    assert response.status_code == 200, response.json()
    data = response.json()
    day = need.activity.start_date.isoformat()
    assert (data["status"], data["start_date"], data["end_date"], data["expert_days"]) == (
        "confirmed",
        day,
        day,
        1,
    )


def test_it_confirms_the_mission_dates_given(staff_api, staff, expert_profile, need):
    deployment = deployment_in("accepted", need, expert_profile, staff=staff)
    start = need.activity.start_date

    response = staff_api.post(
        url(DEPLOYMENTS, deployment, "confirm"),
        {
            "start_date": (start - timedelta(days=1)).isoformat(),
            "end_date": (start + timedelta(days=1)).isoformat(),
            "expert_days": 3,
            "comment": "Travel days included.",
        },
    )

    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["status"] == "confirmed"
    assert (data["start_date"], data["end_date"], data["expert_days"]) == (
        (start - timedelta(days=1)).isoformat(),
        (start + timedelta(days=1)).isoformat(),
        3,
    )
    assert data["allowed_transitions"] == ["cancel"]  # complete waits for the report


@pytest.mark.parametrize(
    ("body", "attr"),
    [
        ({"start_date": "tomorrow"}, "start_date"),
        ({"end_date": "2031-13-01"}, "end_date"),
        ({"expert_days": "three"}, "expert_days"),
        ({"expert_days": 0}, "expert_days"),
        ({"start_date": "2031-05-02", "end_date": "2031-05-01"}, "end_date"),
        ({"start_date": "2031-05-01", "end_date": "2031-05-02", "expert_days": 9}, "expert_days"),
        ({"days": 3}, "days"),
    ],
)
def test_it_refuses_bad_mission_dates(staff_api, staff, expert_profile, need, body, attr):
    deployment = deployment_in("accepted", need, expert_profile, staff=staff)

    response = staff_api.post(url(DEPLOYMENTS, deployment, "confirm"), body)

    assert response.status_code == 400, response.json()
    assert attr in errors(response)
    assert status_of(deployment) == "accepted"


def test_it_refuses_to_double_book_an_expert(
    staff_api, staff, partner, approver, expert_profile, need
):
    deployment_in("confirmed", need, expert_profile, staff=staff)
    other_need = first_need(approved_action(partner, staff, approver))
    second = deployment_in("accepted", other_need, expert_profile, staff=staff)
    day = need.activity.start_date.isoformat()

    response = staff_api.post(
        url(DEPLOYMENTS, second, "confirm"), {"start_date": day, "end_date": day, "expert_days": 1}
    )

    assert response.status_code == 409
    assert "already booked" in errors(response)[None][0]
    assert status_of(second) == "accepted"


# --- deployments: mission report and rating -------------------------------------------------


def _into_the_past(deployment: Deployment) -> None:
    day = timezone.localdate() - timedelta(days=3)
    Deployment.objects.filter(pk=deployment.pk).update(start_date=day, end_date=day)


REPORT = {
    "summary": "Trained 15 analysts.",
    "outputs": "Training materials; a data protocol draft.",
    "recommendations": "Repeat in a year.",
    "days_worked": 1,
}


def test_it_takes_the_mission_report_and_completes(
    api_as, expert, staff, partner, expert_profile, need
):
    deployment = deployment_in("confirmed", need, expert_profile, staff=staff)
    report_url = url(DEPLOYMENTS, deployment, "report")
    api = api_as(expert)

    assert api.get(report_url).status_code == 404
    early = api.post(report_url, REPORT)
    assert early.status_code == 409  # the mission has not taken place yet
    _into_the_past(deployment)
    attachment = SimpleUploadedFile("slides.pdf", PDF_BYTES, content_type="application/pdf")

    filed = api.post(report_url, {**REPORT, "attachments": [attachment]}, format="multipart")

    assert filed.status_code == 201, filed.json()
    data = filed.json()
    assert (data["summary"], data["days_worked"]) == (REPORT["summary"], 1)
    assert [a["original_name"] for a in data["attachments"]] == ["slides.pdf"]
    download = api_as(staff).get(data["attachments"][0]["download_url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF_BYTES
    corrected = api.post(report_url, {**REPORT, "summary": "Trained 16 analysts."})
    assert corrected.status_code == 200
    assert api_as(staff).get(report_url).json()["summary"] == "Trained 16 analysts."
    assert api_as(staff).get(url(DEPLOYMENTS, deployment)).json()["has_report"] is True

    completed = api_as(staff).post(url(DEPLOYMENTS, deployment, "complete"))
    assert completed.status_code == 200
    assert completed.json()["status"] == "completed"
    rated = api_as(staff).post(url(DEPLOYMENTS, deployment, "rate"), {"rating": 4, "note": "Good"})
    assert rated.status_code == 200
    assert rated.json()["rating"] == 4
    assert api_as(staff).get(url(EXPERTS, expert_profile)).json()["average_rating"] == 4.0


@pytest.mark.parametrize(
    ("change", "attr"),
    [
        ({"summary": ""}, "summary"),
        ({"days_worked": 0}, "days_worked"),
        ({"days_worked": 5}, "days_worked"),  # a one-day mission
        ({"outputs": None}, "outputs"),
        ({"rating": 5}, "rating"),
    ],
)
def test_it_refuses_an_incomplete_report(api_as, expert, staff, expert_profile, need, change, attr):
    deployment = deployment_in("confirmed", need, expert_profile, staff=staff)
    _into_the_past(deployment)

    response = api_as(expert).post(url(DEPLOYMENTS, deployment, "report"), {**REPORT, **change})

    assert response.status_code == 400, response.json()
    assert attr in errors(response)
    assert not hasattr(Deployment.objects.get(pk=deployment.pk), "report")


@pytest.mark.parametrize(("who", "code"), [("staff", 403), ("partner", 403), ("expert2", 404)])
def test_it_takes_the_report_from_the_deployed_expert_only(
    api_as, personas, expert2, expert_profile, need, staff, who, code
):
    deployment = deployment_in("confirmed", need, expert_profile, staff=staff)
    _into_the_past(deployment)
    user = expert2 if who == "expert2" else personas[who]

    response = api_as(user).post(url(DEPLOYMENTS, deployment, "report"), REPORT)

    assert response.status_code == code


@pytest.mark.parametrize(
    ("who", "state", "body", "code"),
    [
        ("staff", "completed", {"rating": 0}, 400),
        ("staff", "completed", {"rating": 6}, 400),
        ("staff", "completed", {"rating": "great"}, 400),
        ("staff", "completed", {}, 400),
        ("staff", "confirmed", {"rating": 4}, 409),
        ("expert", "completed", {"rating": 5}, 403),
        ("partner", "completed", {"rating": 5}, 403),
        ("partner2", "completed", {"rating": 5}, 404),
    ],
)
def test_it_lets_only_staff_rate_a_completed_mission(
    api_as, personas, expert_profile, need, staff, who, state, body, code
):
    deployment = deployment_in(state, need, expert_profile, staff=staff)

    response = api_as(personas[who]).post(url(DEPLOYMENTS, deployment, "rate"), body)

    assert response.status_code == code
    assert Deployment.objects.get(pk=deployment.pk).rating is None


# --- matching -----------------------------------------------------------------------------


@pytest.fixture
def candidates(staff: Any, expert_profile: Any, organisation: Any) -> dict[str, Expert]:
    """The ``need`` asks for thematic area ``data``, skill ``statistics`` and French, for a
    training in Tunisia, with a preference for peers from the partner's region."""
    return {
        "amina": expert_profile,  # Senegalese partner-country administration, TN experience
        "jan": make_expert(
            name="Jan Novak",
            by=staff,
            languages=(("fr", "B2"),),
            areas=("governance",),
            skills=(),
            countries=("DE",),
            administration_type="eu_member_state",
            nationality="CZ",
        ),
        "pending": make_expert(name="Rosa Pérez", by=staff, vetted=False),
        "no_french": make_expert(name="Ana Silva", by=staff, languages=(("pt", "C2"),)),
        "weak_french": make_expert(name="Li Wei", by=staff, languages=(("fr", "B1"),)),
        "conflict": make_expert(name="Karim Ben Ali", by=staff, organisation=organisation),
    }


def test_it_matches_the_roster_against_a_need(
    staff_api, need, candidates, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        queued = staff_api.post(url(NEEDS, need, "match"))

    assert queued.status_code == 202, queued.json()
    job_id = queued.json()["job"]
    assert queued.json()["url"] == f"{JOBS}{job_id}/"
    assert queued["Location"] == queued.json()["url"]

    job = staff_api.get(queued.json()["url"])
    assert job.status_code == 200
    data = job.json()
    assert data["status"] == "done"
    assert (data["expertise_need"], data["roster_size"], data["candidates"]) == (need.pk, 6, 2)
    assert data["exclusions"] == {
        "inactive_or_unvetted": 1,
        "language": 2,
        "unavailable": 0,
        "conflict_of_interest": 1,
        "already_invited": 0,
    }
    assert data["finished_at"] is not None and data["duration_ms"] is not None
    assert set(data["weights"]) == {
        "thematic",
        "skills",
        "experience",
        "origin",
        "track_record",
        "workload",
    }

    matches = staff_api.get(url(NEEDS, need, "matches"))
    assert matches.status_code == 200
    body = matches.json()
    assert body["job"]["id"] == body["results_job"] == job_id
    results = body["results"]
    assert [(r["rank"], r["expert"]) for r in results] == [
        (1, candidates["amina"].pk),
        (2, candidates["jan"].pk),
    ]
    assert results[0]["expert_name"] == "Amina Diallo"
    assert results[0]["score"] > results[1]["score"]
    first = results[0]["components"]
    assert set(first) == set(data["weights"])
    assert first["thematic"] == {"score": 1.0, "facts": {"fit": True}}
    assert first["experience"] == {"score": 1.0, "facts": {"where": "country"}}
    assert results[1]["components"]["thematic"]["score"] == 0.0
    assert results[1]["components"]["origin"]["facts"]["administration_type"] == "eu_member_state"
    assert results[0]["deployment"] is None and results[0]["deployment_status"] is None


def test_it_shows_each_matched_experts_deployment(
    staff_api, staff, need, candidates, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        staff_api.post(url(NEEDS, need, "match"))
    shortlisted = staff_api.post(
        DEPLOYMENTS, {"expertise_need": need.pk, "expert": candidates["jan"].pk}
    ).json()

    results = staff_api.get(url(NEEDS, need, "matches")).json()["results"]

    jan = next(r for r in results if r["expert"] == candidates["jan"].pk)
    assert (jan["deployment"], jan["deployment_status"]) == (shortlisted["id"], "shortlisted")
    # The shortlist keeps the match score.
    assert shortlisted["score"] == jan["score"]


def test_it_answers_matches_before_any_run(staff_api, need):
    body = staff_api.get(url(NEEDS, need, "matches")).json()

    assert body == {"expertise_need": need.pk, "job": None, "results_job": None, "results": []}


def test_it_queues_a_job_that_a_worker_picks_up(staff_api, need, candidates):
    # Without the commit (as in a request whose transaction is still open), the job waits.
    response = staff_api.post(url(NEEDS, need, "match"))

    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    assert MatchJob.objects.get(pk=response.json()["job"]).status == "queued"


@pytest.mark.parametrize(
    ("who", "match", "matches", "job"),
    [
        ("staff", 202, 200, 200),
        ("approver", 202, 200, 200),
        ("partner", 403, 403, 404),  # their own action's need: visible, not theirs to match
        ("partner2", 404, 404, 404),
        ("expert", 404, 404, 404),
        ("evaluator", 404, 404, 404),
    ],
)
def test_it_runs_matching_for_staff_only(api_as, personas, need, staff, who, match, matches, job):
    existing = MatchJob.objects.create(need=need, requested_by=staff)
    api = api_as(personas[who])

    assert api.post(url(NEEDS, need, "match")).status_code == match
    assert api.get(url(NEEDS, need, "matches")).status_code == matches
    assert api.get(f"{JOBS}{existing.pk}/").status_code == job


def test_it_answers_404_for_unknown_needs_and_jobs(staff_api):
    assert staff_api.post(url(NEEDS, 999999, "match")).status_code == 404
    assert staff_api.get(url(NEEDS, 999999, "matches")).status_code == 404
    assert staff_api.get(f"{JOBS}999999/").status_code == 404


def test_it_does_not_match_for_a_cancelled_action(staff_api, staff, need, action):
    from actions import services as action_services

    action_services.action_transition(action_id=action.pk, name="cancel", by=staff, text=REASON)

    response = staff_api.post(url(NEEDS, need, "match"))

    assert response.status_code == 409
    assert "cancelled" in errors(response)[None][0]
    assert not MatchJob.objects.exists()


def test_it_keeps_the_need_detail_route(staff_api, need):
    response = staff_api.get(url(NEEDS, need))

    assert response.status_code == 200
    assert response.json()["id"] == need.pk


# --- query counts -------------------------------------------------------------------------


def _count(api: Any, path: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(path, {"page_size": 50})
    assert response.status_code == 200, response.content[:300]
    return len(ctx.captured_queries)


def test_it_lists_experts_in_constant_queries(staff_api, staff, organisation):
    for i in range(3):
        make_expert(name=f"Small {i}", by=staff, organisation=organisation)
    _count(staff_api, EXPERTS)  # warm the per-process caches
    small = _count(staff_api, EXPERTS)
    for i in range(9):
        make_expert(
            name=f"Large {i}",
            by=staff,
            languages=(("fr", "C1"), ("en", "B2"), ("ar", "A2")),
            countries=("TN", "SN", "MA"),
            skills=("statistics", "training"),
        )

    large = _count(staff_api, EXPERTS)

    # count, page, then languages, thematic areas, skills, countries of experience
    assert large == small == 6, (small, large)
    assert len(ids(staff_api.get(EXPERTS))) == 12


@pytest.mark.parametrize("who", ["staff", "expert", "partner"])
def test_it_lists_deployments_in_constant_queries(
    api_as, personas, staff, partner, approver, expert_profile, who
):
    api = api_as(personas[who])

    days = iter(range(100, 200, 3))

    def populate(n: int) -> None:
        for _i in range(n):
            need = first_need(approved_action(partner, staff, approver))
            # The persona's own mission (seen by all three; one expert's missions may not
            # overlap) and another expert's invitation (seen by staff only).
            day = timezone.localdate() + timedelta(days=next(days))
            deployment_in("confirmed", need, expert_profile, staff=staff, start=day, end=day)
            deployment_in("invited", need, make_expert(by=staff), staff=staff)

    populate(2)
    _count(api, DEPLOYMENTS)
    small = _count(api, DEPLOYMENTS)
    populate(4)

    large = _count(api, DEPLOYMENTS)

    # count and page: allowed_transitions reads only what the page query joined
    assert large == small == 2, (small, large)
    assert len(ids(api.get(DEPLOYMENTS))) == {"staff": 12, "expert": 6, "partner": 6}[who]


def test_it_never_shows_an_expert_a_shortlist_that_was_cancelled(
    api_as, expert, staff, expert_profile, need
):
    deployment = deployment_in("shortlisted", need, expert_profile, staff=staff)
    api_as(staff).post(url(DEPLOYMENTS, deployment, "cancel"), {"reason": REASON})

    assert ids(api_as(expert).get(DEPLOYMENTS)) == []
    assert api_as(expert).get(url(DEPLOYMENTS, deployment)).status_code == 404


def test_it_shows_the_match_score_to_staff_only_and_the_rating_not_to_partners(
    api_as, partner, staff, expert, expert_profile, need
):
    deployment = deployment_in("completed", need, expert_profile, staff=staff)
    Deployment.objects.filter(pk=deployment.pk).update(score=88.5)
    api_as(staff).post(url(DEPLOYMENTS, deployment, "rate"), {"rating": 4})

    seen = {
        who: api_as(user).get(url(DEPLOYMENTS, deployment)).json()
        for who, user in (("staff", staff), ("expert", expert), ("partner", partner))
    }
    assert (seen["staff"]["score"], seen["staff"]["rating"]) == (88.5, 4)
    assert (seen["expert"]["score"], seen["expert"]["rating"]) == (None, 4)
    assert (seen["partner"]["score"], seen["partner"]["rating"]) == (None, None)


def test_it_answers_options_on_the_matching_routes(staff_api, need):
    # Found by .ci/fuzz-api: OPTIONS described a request body from a serializer the
    # matching views do not have, and answered 500.
    for url in (f"{NEEDS}{need.pk}/match/", f"{NEEDS}{need.pk}/matches/"):
        response = staff_api.options(url)
        assert response.status_code == 200, response.content
        assert "actions" not in response.json()
