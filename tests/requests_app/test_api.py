"""The v1 API of requests and needs assessments: drafts, submission, every transition,
filters, attachments and the nested capacity gaps (DESIGN.md §2, §5; issue 3)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from cbportal.core.models import TransitionEvent
from requests_app.models import (
    AssistanceRequest,
    CapacityGap,
    NeedsAssessment,
    RequestAttachment,
)
from tests.factories import OrganisationFactory, UserFactory
from tests.requests_app.helpers import (
    ASSESSMENT_URL,
    GAP_DATA,
    PDF_BYTES,
    REQUEST_URL,
    add_attachment,
    assert_error,
    detail_of,
    error_attrs,
    fake_pdf_upload,
    make_assessment,
    make_draft,
    make_request,
    pdf_upload,
)


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


def url(pk: int, action: str = "") -> str:
    return f"{REQUEST_URL}{pk}/{action + '/' if action else ''}"


def aurl(pk: int, action: str = "") -> str:
    return f"{ASSESSMENT_URL}{pk}/{action + '/' if action else ''}"


def events(obj: Any) -> int:
    return TransitionEvent.objects.filter(
        content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk
    ).count()


def future(days: int) -> str:
    return (timezone.localdate() + timedelta(days=days)).isoformat()


COMPLETE_BODY = {
    "title": "Data on labour migration",
    "country": "TN",
    "problem_statement": "Labour migration statistics are scattered across ministries.",
    "expected_outcomes": "A shared dataset published every quarter.",
    "target_institutions": "Ministry of Labour; Statistics Office",
    "thematic_areas": ["data", "labour-migration"],
    "gcm_objectives": [1, 5],
    "languages": ["fr"],
}


def complete_body(**overrides: Any) -> dict[str, Any]:
    body = {**COMPLETE_BODY, "preferred_start": future(45), "preferred_end": future(120)}
    body.update(overrides)
    return body


# --- create -------------------------------------------------------------------------------


def test_it_creates_a_draft_for_the_partners_organisation(api_as, partner):
    response = api_as(partner).post(REQUEST_URL, complete_body(), format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft"
    assert body["reference"] is None
    assert body["organisation"] == partner.organisation_id
    assert body["country"] == "TN"
    assert sorted(body["thematic_areas"]) == ["data", "labour-migration"]
    assert sorted(body["gcm_objectives"]) == [1, 5]
    assert body["languages"] == ["fr"]
    assert {"submit", "withdraw"} <= set(body["allowed_transitions"])
    stored = AssistanceRequest.objects.get(pk=body["id"])
    assert stored.created_by == partner
    assert stored.organisation == partner.organisation
    assert set(stored.thematic_areas.values_list("slug", flat=True)) == {
        "data",
        "labour-migration",
    }


def test_it_defaults_the_country_to_the_organisations(api_as, partner):
    response = api_as(partner).post(REQUEST_URL, {"title": "Only a title"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["country"] == partner.organisation.country_id


def test_it_refuses_an_unknown_field_on_its_attr(api_as, partner):
    response = api_as(partner).post(REQUEST_URL, complete_body(tittle="Typo"), format="json")
    assert_error(response, 400, "unknown_field", attr="tittle")
    assert detail_of(response, "tittle") == "Unknown field."
    assert not AssistanceRequest.objects.exists()


@pytest.mark.parametrize("field", ["status", "reference", "organisation", "case_officer"])
def test_it_refuses_a_read_only_field(api_as, partner, field):
    response = api_as(partner).post(REQUEST_URL, complete_body(**{field: "x"}), format="json")
    assert_error(response, 400, attr=field)
    assert "read-only" in detail_of(response, field)
    assert not AssistanceRequest.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("thematic_areas", ["no-such-theme"]),
        ("languages", ["xx"]),
        ("country", "XX"),
        ("gcm_objectives", [99]),
    ],
)
def test_it_refuses_unknown_reference_data_on_its_attr(api_as, partner, field, value):
    response = api_as(partner).post(REQUEST_URL, complete_body(**{field: value}), format="json")
    assert_error(response, 400, attr=field)
    assert error_attrs(response) == {field}
    assert not AssistanceRequest.objects.exists()


def test_it_refuses_a_period_that_ends_before_it_starts(api_as, partner):
    body = complete_body(preferred_start=future(60), preferred_end=future(30))
    response = api_as(partner).post(REQUEST_URL, body, format="json")
    assert_error(response, 400, attr="preferred_end")


# --- update ---------------------------------------------------------------------------------


def test_it_updates_a_draft(api_as, partner):
    draft = make_draft(partner, title="First title")
    response = api_as(partner).patch(
        url(draft.pk),
        {"title": "Better title", "thematic_areas": ["protection"], "gcm_objectives": [11]},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["title"] == "Better title"
    assert body["thematic_areas"] == ["protection"]
    assert body["gcm_objectives"] == [11]
    draft.refresh_from_db()
    assert draft.title == "Better title"
    assert list(draft.gcm_objectives.values_list("number", flat=True)) == [11]


def test_it_answers_409_to_an_edit_after_submission(api_as, partner):
    submitted = make_request("submitted", partner, title="As submitted")
    response = api_as(partner).patch(url(submitted.pk), {"title": "Changed"}, format="json")
    assert_error(response, 409, "transition_not_allowed")
    assert "cannot be edited" in detail_of(response)
    submitted.refresh_from_db()
    assert submitted.title == "As submitted"


# --- submit ---------------------------------------------------------------------------------


def test_it_lists_every_missing_field_when_submitting_an_incomplete_draft(api_as, partner):
    client = api_as(partner)
    pk = client.post(REQUEST_URL, {"title": "Just an idea"}, format="json").json()["id"]

    response = client.post(url(pk, "submit"), format="json")

    assert_error(response, 400)
    assert error_attrs(response) == {
        "problem_statement",
        "expected_outcomes",
        "target_institutions",
        "preferred_start",
        "preferred_end",
        "thematic_areas",
        "languages",
    }
    draft = AssistanceRequest.objects.get(pk=pk)
    assert (draft.status, draft.reference, draft.submitted_at) == ("draft", None, None)


def test_it_refuses_to_submit_a_period_in_the_past(api_as, partner):
    draft = make_draft(
        partner,
        preferred_start=timezone.localdate() - timedelta(days=3),
        preferred_end=timezone.localdate() + timedelta(days=30),
    )
    response = api_as(partner).post(url(draft.pk, "submit"), format="json")
    assert_error(response, 400, attr="preferred_start")


def test_it_submits_a_complete_draft_with_a_reference(api_as, partner):
    client = api_as(partner)
    pk = client.post(REQUEST_URL, complete_body(), format="json").json()["id"]

    response = client.post(url(pk, "submit"), format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    year = timezone.localtime().year
    assert re.fullmatch(rf"REQ-{year}-\d{{4}}", body["reference"])
    assert body["status"] == "submitted"
    assert body["submitted_at"] is not None
    assert body["first_response_due_at"] is not None
    assert body["allowed_transitions"] == ["withdraw"]


def test_it_numbers_references_without_gaps(api_as, partner):
    client = api_as(partner)
    refs = []
    for _ in range(3):
        pk = client.post(REQUEST_URL, complete_body(), format="json").json()["id"]
        refs.append(client.post(url(pk, "submit"), format="json").json()["reference"])
    numbers = [int(ref.rsplit("-", 1)[1]) for ref in refs]
    assert numbers == [numbers[0], numbers[0] + 1, numbers[0] + 2]


# --- transitions ----------------------------------------------------------------------------

# (transition, state before, actor, body, status after)
TRANSITIONS = [
    ("submit", "draft", "partner", {}, "submitted"),
    ("start-review", "submitted", "staff", {}, "under_review"),
    ("request-info", "under_review", "staff", {"message": "Which posts?"}, "info_requested"),
    ("request-info", "submitted", "staff", {"message": "Which posts?"}, "info_requested"),
    ("respond", "info_requested", "partner", {"message": "Tunis and Sfax."}, "under_review"),
    ("accept", "under_review", "staff", {}, "accepted"),
    ("decline", "under_review", "staff", {"reason": "Outside the mandate."}, "declined"),
    ("decline", "info_requested", "staff", {"reason": "No answer."}, "declined"),
    ("withdraw", "draft", "partner", {}, "withdrawn"),
    ("withdraw", "submitted", "partner", {}, "withdrawn"),
    ("withdraw", "under_review", "partner", {"comment": "Solved locally."}, "withdrawn"),
    ("withdraw", "info_requested", "partner", {}, "withdrawn"),
]


@pytest.mark.parametrize(("name", "before", "actor", "body", "after"), TRANSITIONS)
def test_it_fires_each_transition_and_returns_the_new_status(
    api_as, personas, name, before, actor, body, after
):
    request = make_request(before, personas["partner"], personas["staff"])
    count = events(request)

    response = api_as(personas[actor]).post(url(request.pk, name), body, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == after
    assert response.json()["id"] == request.pk
    request.refresh_from_db()
    assert request.status == after
    assert events(request) == count + 1


def test_it_walks_a_request_from_draft_to_accepted(api_as, partner, staff):
    as_partner, as_staff = api_as(partner), api_as(staff)
    pk = as_partner.post(REQUEST_URL, complete_body(), format="json").json()["id"]
    assert as_partner.post(url(pk, "submit")).json()["status"] == "submitted"

    reviewed = as_staff.post(url(pk, "start-review")).json()
    assert reviewed["case_officer"] == staff.pk
    assert reviewed["first_response_at"] is not None

    asked = as_staff.post(url(pk, "request-info"), {"message": "Which posts?"}, format="json")
    assert asked.json()["messages"][0]["kind"] == "question"
    assert asked.json()["messages"][0]["text"] == "Which posts?"

    answered = as_partner.post(url(pk, "respond"), {"message": "Tunis."}, format="json")
    assert [m["kind"] for m in answered.json()["messages"]] == ["question", "answer"]
    assert answered.json()["status"] == "under_review"

    accepted = as_staff.post(url(pk, "accept"))
    assert accepted.json()["status"] == "accepted"
    assert accepted.json()["decided_at"] is not None
    assert NeedsAssessment.objects.get(request_id=pk).owner == staff


def test_it_keeps_the_decline_reason_for_the_partner(api_as, partner, staff):
    request = make_request("under_review", partner, staff)
    api_as(staff).post(url(request.pk, "decline"), {"reason": "Outside the mandate."})
    response = api_as(partner).get(url(request.pk))
    assert response.json()["decision_reason"] == "Outside the mandate."


# (transition, state the request is in)
WRONG_STATE = [
    ("submit", "submitted"),
    ("start-review", "under_review"),
    ("start-review", "draft"),
    ("request-info", "accepted"),
    ("respond", "under_review"),
    ("accept", "submitted"),
    ("accept", "declined"),
    ("decline", "submitted"),
    ("withdraw", "accepted"),
    ("withdraw", "withdrawn"),
]


@pytest.mark.parametrize(("name", "state"), WRONG_STATE)
def test_it_answers_409_to_a_transition_from_the_wrong_state(api_as, personas, name, state):
    request = make_request(state, personas["partner"], personas["staff"])
    actor = "partner" if name in ("submit", "respond", "withdraw") else "staff"
    count = events(request)

    response = api_as(personas[actor]).post(
        url(request.pk, name), {"comment": "Some text."}, format="json"
    )

    assert_error(response, 409, "transition_not_allowed")
    assert "not possible" in detail_of(response)
    request.refresh_from_db()
    assert request.status == state
    assert events(request) == count


# (transition, state, role that may not fire it)
WRONG_ROLE = [
    ("submit", "draft", "staff"),
    ("start-review", "submitted", "partner"),
    ("request-info", "submitted", "partner"),
    ("respond", "info_requested", "staff"),
    ("accept", "under_review", "partner"),
    ("decline", "under_review", "partner"),
    ("withdraw", "draft", "staff"),
]


@pytest.mark.parametrize(("name", "state", "role"), WRONG_ROLE)
def test_it_answers_403_when_the_role_may_not_fire_the_transition(
    api_as, personas, name, state, role
):
    request = make_request(state, personas["partner"], personas["staff"])
    response = api_as(personas[role]).post(
        url(request.pk, name), {"comment": "Some text."}, format="json"
    )
    assert_error(response, 403, "transition_forbidden")
    assert "role does not allow" in detail_of(response)
    request.refresh_from_db()
    assert request.status == state


@pytest.mark.parametrize(
    ("name", "state", "role"),
    [
        ("request-info", "under_review", "staff"),
        ("respond", "info_requested", "partner"),
        ("decline", "under_review", "staff"),
    ],
)
@pytest.mark.parametrize("body", [{}, {"message": "   "}])
def test_it_requires_the_text_of_a_transition_on_attr_comment(
    api_as, personas, name, state, role, body
):
    request = make_request(state, personas["partner"], personas["staff"])
    response = api_as(personas[role]).post(url(request.pk, name), body, format="json")
    assert_error(response, 400, attr="comment")
    request.refresh_from_db()
    assert request.status == state


def test_it_refuses_an_unknown_field_in_a_transition_body(api_as, partner, staff):
    request = make_request("submitted", partner)
    response = api_as(staff).post(url(request.pk, "start-review"), {"note": "x"}, format="json")
    assert_error(response, 400, attr="note")
    request.refresh_from_db()
    assert request.status == "submitted"


def test_it_lets_only_the_case_officer_decide(api_as, partner, staff, approver):
    request = make_request("under_review", partner, staff)
    response = api_as(approver).post(url(request.pk, "accept"))
    assert_error(response, 409, "transition_not_allowed")
    assert staff.display_name in detail_of(response)


# --- list, filters, search, ordering, pagination ------------------------------------------------


@pytest.fixture
def portfolio(partner, partner2, staff):
    """Requests of two organisations in several states, themes and countries."""
    from cbportal.accounts.models import Country
    from cbportal.core.models import GcmObjective, ThematicArea

    p2_org = partner2.organisation
    p2_org.country = Country.objects.get(code="MA")
    p2_org.save(update_fields=["country"])
    rows = {
        "draft": make_draft(partner, title="Draft on diaspora bonds"),
        "old": make_request("submitted", partner, title="Border data in Tunisia"),
        "new": make_request(
            "under_review",
            partner,
            staff,
            title="Labour mobility schemes",
            problem_statement="Recruitment agencies charge migrants illegal fees.",
            thematic_areas=[ThematicArea.objects.get(slug="labour-migration")],
            gcm_objectives=[GcmObjective.objects.get(number=6)],
        ),
        "other": make_request(
            "submitted",
            partner2,
            title="Reception of returnees",
            country=Country.objects.get(code="MA"),
            thematic_areas=[ThematicArea.objects.get(slug="protection")],
            gcm_objectives=[GcmObjective.objects.get(number=21)],
        ),
    }
    base = timezone.make_aware(datetime(2030, 3, 1, 9, 0))
    AssistanceRequest.objects.filter(pk=rows["old"].pk).update(submitted_at=base)
    AssistanceRequest.objects.filter(pk=rows["other"].pk).update(
        submitted_at=base + timedelta(days=10)
    )
    AssistanceRequest.objects.filter(pk=rows["new"].pk).update(
        submitted_at=base + timedelta(days=20)
    )
    for key, obj in rows.items():
        rows[key] = AssistanceRequest.objects.get(pk=obj.pk)
    return rows


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_it_lists_only_the_partners_organisation(api_as, partner, portfolio):
    listed = ids(api_as(partner).get(REQUEST_URL))
    assert sorted(listed) == sorted(portfolio[k].pk for k in ("draft", "old", "new"))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=submitted", {"old", "other"}),
        ("status=submitted&status=draft", {"old", "other", "draft"}),
        ("country=MA", {"other"}),
        ("country=tn", {"draft", "old", "new"}),
        ("thematic_area=labour-migration", {"new"}),
        ("thematic_area=protection", {"other"}),
        ("gcm_objective=6", {"new"}),
        ("gcm_objective=21", {"other"}),
        ("submitted_after=2030-03-05T00:00:00Z", {"other", "new"}),
        ("submitted_before=2030-03-15T00:00:00Z", {"old", "other"}),
        (
            "submitted_after=2030-03-05T00:00:00Z&submitted_before=2030-03-15T00:00:00Z",
            {"other"},
        ),
        ("search=returnees", {"other"}),
        ("search=illegal fees", {"new"}),
        ("search=diaspora", {"draft"}),
    ],
)
def test_it_filters_the_list(api_as, staff, portfolio, query, expected):
    listed = ids(api_as(staff).get(f"{REQUEST_URL}?{query}"))
    assert sorted(listed) == sorted(portfolio[k].pk for k in expected)


def test_it_filters_by_organisation(api_as, staff, partner2, portfolio):
    response = api_as(staff).get(f"{REQUEST_URL}?organisation={partner2.organisation_id}")
    assert ids(response) == [portfolio["other"].pk]


def test_it_searches_by_reference(api_as, staff, portfolio):
    response = api_as(staff).get(f"{REQUEST_URL}?search={portfolio['old'].reference}")
    assert ids(response) == [portfolio["old"].pk]


def test_it_orders_by_submission(api_as, staff, portfolio):
    client = api_as(staff)
    oldest_first = ids(
        client.get(f"{REQUEST_URL}?status=submitted&status=under_review&ordering=submitted_at")
    )
    assert oldest_first == [portfolio[k].pk for k in ("old", "other", "new")]
    newest_first = ids(
        client.get(f"{REQUEST_URL}?status=submitted&status=under_review&ordering=-submitted_at")
    )
    assert newest_first == [portfolio[k].pk for k in ("new", "other", "old")]


def test_it_paginates_with_count_next_and_previous(api_as, staff, portfolio):
    client = api_as(staff)
    first = client.get(f"{REQUEST_URL}?page_size=3")
    body = first.json()
    assert set(body) == {"count", "count_is_estimate", "next", "previous", "results"}
    assert body["count"] == 4
    assert len(body["results"]) == 3
    assert body["previous"] is None
    assert "page=2" in body["next"]
    second = client.get(body["next"]).json()
    assert len(second["results"]) == 1
    assert second["next"] is None
    assert second["previous"] is not None


def test_it_shows_messages_and_attachments_in_the_detail(api_as, partner, staff):
    request = make_request("info_requested", partner, staff)
    response = api_as(partner).get(url(request.pk))
    body = response.json()
    assert body["messages"][0]["text"] == "Which border posts are concerned?"
    assert body["attachments"] == []
    assert body["allowed_transitions"] == ["respond", "withdraw"]


# --- attachments ----------------------------------------------------------------------------


def test_it_uploads_a_pdf(api_as, partner, tmp_path):
    draft = make_draft(partner)
    response = api_as(partner).post(
        url(draft.pk, "attachments"),
        {"file": pdf_upload("Official letter.pdf"), "kind": "official_letter"},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["original_name"] == "Official_letter.pdf"
    assert body["content_type"] == "application/pdf"
    assert body["size"] == len(PDF_BYTES)
    assert body["kind"] == "official_letter"
    stored = RequestAttachment.objects.get(pk=body["id"])
    assert stored.request_id == draft.pk
    # Stored under MEDIA_ROOT with a random name that reveals nothing.
    assert (tmp_path / stored.file.name).read_bytes() == PDF_BYTES
    assert "letter" not in stored.file.name.lower()


def test_it_refuses_a_text_file_named_pdf_with_a_readable_message(api_as, partner, tmp_path):
    draft = make_draft(partner)
    response = api_as(partner).post(
        url(draft.pk, "attachments"), {"file": fake_pdf_upload("letter.pdf")}, format="multipart"
    )
    assert_error(response, 400, attr="file")
    detail = detail_of(response, "file")
    assert "letter.pdf" in detail
    assert "not an accepted document" in detail
    assert not RequestAttachment.objects.exists()
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_it_refuses_an_empty_file(api_as, partner):
    from django.core.files.uploadedfile import SimpleUploadedFile

    draft = make_draft(partner)
    response = api_as(partner).post(
        url(draft.pk, "attachments"),
        {"file": SimpleUploadedFile("empty.pdf", b"")},
        format="multipart",
    )
    assert_error(response, 400, attr="file")
    assert not RequestAttachment.objects.exists()


def test_it_refuses_a_file_over_the_size_limit(api_as, partner, settings):
    settings.MAX_UPLOAD_BYTES = len(PDF_BYTES) - 1
    draft = make_draft(partner)
    response = api_as(partner).post(
        url(draft.pk, "attachments"), {"file": pdf_upload("big.pdf")}, format="multipart"
    )
    assert_error(response, 400, attr="file")
    assert "the limit is" in detail_of(response, "file")
    assert not RequestAttachment.objects.exists()


def test_it_refuses_a_document_whose_name_lies_about_its_type(api_as, partner):
    draft = make_draft(partner)
    response = api_as(partner).post(
        url(draft.pk, "attachments"), {"file": pdf_upload("scan.png")}, format="multipart"
    )
    assert_error(response, 400, attr="file")
    assert "PDF" in detail_of(response, "file")
    assert not RequestAttachment.objects.exists()


def test_it_lists_and_downloads_attachments_with_the_exact_bytes(api_as, partner):
    draft = make_draft(partner)
    attachment = add_attachment(draft, partner, "Lettre officielle.pdf")
    client = api_as(partner)

    listed = client.get(url(draft.pk, "attachments"))
    assert listed.status_code == 200, listed.content
    assert [a["id"] for a in listed.json()] == [attachment.pk]
    download_url = listed.json()[0]["download_url"]
    assert download_url == f"{url(draft.pk)}attachments/{attachment.pk}/"

    response = client.get(download_url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF_BYTES
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment")
    assert "Lettre_officielle.pdf" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"


def test_it_answers_404_for_an_attachment_of_another_request(api_as, partner):
    first, second = make_draft(partner), make_draft(partner)
    attachment = add_attachment(first, partner)
    response = api_as(partner).get(f"{url(second.pk)}attachments/{attachment.pk}/")
    assert_error(response, 404)


def test_it_refuses_an_upload_once_the_request_is_submitted(api_as, partner):
    submitted = make_request("submitted", partner)
    response = api_as(partner).post(
        url(submitted.pk, "attachments"), {"file": pdf_upload()}, format="multipart"
    )
    assert_error(response, 409, "transition_not_allowed")
    assert not RequestAttachment.objects.exists()


# --- assessments ----------------------------------------------------------------------------


def test_it_finds_the_assessment_of_an_accepted_request(api_as, partner, staff):
    request = make_request("accepted", partner, staff)
    response = api_as(staff).get(f"{ASSESSMENT_URL}?request={request.pk}")
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert len(results) == 1
    assert results[0]["request"] == request.pk
    assert results[0]["reference"] == request.reference
    assert results[0]["status"] == "in_progress"
    assert results[0]["owner"] == staff.pk
    assert results[0]["gaps"] == []
    # No gap yet: sharing is not offered.
    assert "share" not in results[0]["allowed_transitions"]


def test_it_edits_the_nested_gaps(api_as, partner, staff):
    assessment = make_assessment(partner, staff, gaps=0)
    client = api_as(staff)

    added = client.patch(
        aurl(assessment.pk),
        {"summary": "Desk review done.", "methods": ["desk_review"], "gaps": GAP_DATA[:2]},
        format="json",
    )
    assert added.status_code == 200, added.content
    gaps = added.json()["gaps"]
    assert {g["level"] for g in gaps} == {"individual", "organisational"}
    assert all(isinstance(g["id"], int) for g in gaps)
    assert added.json()["summary"] == "Desk review done."
    keep = next(g for g in gaps if g["level"] == "individual")
    drop = next(g for g in gaps if g["level"] == "organisational")

    updated = client.patch(
        aurl(assessment.pk),
        {"gaps": [{**keep, "description": "Officers need data training.", "priority": "low"}]},
        format="json",
    )
    assert updated.status_code == 200, updated.content
    assert [(g["id"], g["description"], g["priority"]) for g in updated.json()["gaps"]] == [
        (keep["id"], "Officers need data training.", "low")
    ]
    assert not CapacityGap.objects.filter(pk=drop["id"]).exists()
    assert CapacityGap.objects.get(pk=keep["id"]).description == "Officers need data training."


def test_it_refuses_a_gap_without_description_or_with_a_bad_level(api_as, partner, staff):
    assessment = make_assessment(partner, staff, gaps=0)
    response = api_as(staff).patch(
        aurl(assessment.pk),
        {"gaps": [{"level": "planetary", "description": "x"}]},
        format="json",
    )
    assert_error(response, 400)
    assert any(a and "level" in a for a in error_attrs(response))
    assert not CapacityGap.objects.exists()


def test_it_refuses_a_gap_of_another_assessment(api_as, partner, staff):
    mine = make_assessment(partner, staff, gaps=0)
    other = make_assessment(partner, staff, gaps=1)
    foreign = other.gaps.get()
    response = api_as(staff).patch(
        aurl(mine.pk), {"gaps": [{**GAP_DATA[0], "id": foreign.pk}]}, format="json"
    )
    assert_error(response, 400, attr="gaps.0.id")
    assert CapacityGap.objects.get(pk=foreign.pk).assessment_id == other.pk


def test_it_refuses_to_share_an_assessment_without_gaps(api_as, partner, staff):
    assessment = make_assessment(partner, staff, gaps=0)
    response = api_as(staff).post(aurl(assessment.pk, "share"))
    assert_error(response, 409, "transition_not_allowed")
    assert "at least one capacity gap" in detail_of(response)
    assessment.refresh_from_db()
    assert assessment.status == "in_progress"


def test_it_shares_returns_and_validates_the_assessment(api_as, partner, staff):
    assessment = make_assessment(partner, staff, gaps=2)
    as_staff, as_partner = api_as(staff), api_as(partner)

    shared = as_staff.post(aurl(assessment.pk, "share"))
    assert shared.status_code == 200, shared.content
    assert shared.json()["status"] == "shared"
    assert shared.json()["shared_at"] is not None

    seen = as_partner.get(aurl(assessment.pk)).json()
    assert seen["allowed_transitions"] == ["return", "validate"]

    no_comment = as_partner.post(aurl(assessment.pk, "return"))
    assert_error(no_comment, 400, attr="comment")

    returned = as_partner.post(
        aurl(assessment.pk, "return"), {"comment": "Add the ministry of labour."}, format="json"
    )
    assert returned.status_code == 200, returned.content
    assert returned.json()["status"] == "in_progress"

    assert as_staff.post(aurl(assessment.pk, "share")).json()["status"] == "shared"
    validated = as_partner.post(aurl(assessment.pk, "validate"))
    assert validated.status_code == 200, validated.content
    assert validated.json()["status"] == "validated"
    assert validated.json()["validated_at"] is not None
    assessment.refresh_from_db()
    assert assessment.validated_by == partner


def test_it_answers_409_to_editing_a_shared_assessment(api_as, partner, staff):
    assessment = make_assessment(partner, staff, gaps=1, state="shared")
    response = api_as(staff).patch(aurl(assessment.pk), {"summary": "Late edit"}, format="json")
    assert_error(response, 409, "transition_not_allowed")
    assessment.refresh_from_db()
    assert assessment.summary == ""


def test_it_lets_another_organisations_partner_see_nothing(api_as, partner, partner2, staff):
    assessment = make_assessment(partner, staff, gaps=1, state="shared")
    client = api_as(partner2)
    assert client.get(ASSESSMENT_URL).json()["count"] == 0
    assert_error(client.get(aurl(assessment.pk)), 404)


def test_it_lets_any_focal_point_of_the_organisation_act_and_hides_it_from_others(
    api_as, partner, staff
):
    colleague = UserFactory(partner=True, organisation=partner.organisation)
    request = make_request("submitted", partner)
    response = api_as(colleague).post(url(request.pk, "withdraw"))
    assert response.status_code == 200, response.content
    stranger = UserFactory(partner=True, organisation=OrganisationFactory())
    assert_error(api_as(stranger).get(url(request.pk)), 404)
