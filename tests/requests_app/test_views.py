"""The pages of requests and assessments: the partner's list and form (drafts, submission,
uploads), request detail with its buttons, the staff triage queue and the assessment editor
(DESIGN.md §9; issue 3 "Pages" and "Bad input")."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from cbportal.accounts.models import Country
from cbportal.core.models import GcmObjective, ThematicArea, TransitionEvent
from requests_app.models import AssistanceRequest, CapacityGap, RequestAttachment
from tests.requests_app.helpers import (
    PDF_BYTES,
    add_attachment,
    fake_pdf_upload,
    make_assessment,
    make_draft,
    make_request,
    pdf_upload,
)

NEW = "/requests/new/"


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


def text(response: Any) -> str:
    return response.content.decode()


def find_testids(response: Any) -> set[str]:
    return set(re.findall(r'data-testid="([^"]+)"', text(response)))


def transition_buttons(response: Any) -> set[str]:
    return {
        t.removeprefix("transition-") for t in find_testids(response) if t.startswith("transition-")
    }


def flashed(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def tag(response: Any, element_id: str) -> str:
    """The opening tag of the element with ``id``."""
    match = re.search(rf'<[a-z]+[^>]*\bid="{re.escape(element_id)}"[^>]*>', text(response))
    assert match, f"no element #{element_id}"
    return match.group(0)


def form_body(**overrides: Any) -> dict[str, Any]:
    start = timezone.localdate() + timedelta(days=40)
    body: dict[str, Any] = {
        "title": "Integrated border management at Ras Jedir",
        "country": "TN",
        "problem_statement": "Long queues and no risk analysis at the crossing.",
        "expected_outcomes": "Risk-based checks and shorter waiting times.",
        "target_institutions": "Border police; Customs",
        "thematic_areas": [ThematicArea.objects.get(slug="border-management").pk],
        "gcm_objectives": [11],
        "languages": ["fr"],
        "preferred_start": start.isoformat(),
        "preferred_end": (start + timedelta(days=60)).isoformat(),
        "attachment_kind": "official_letter",
        "action": "save",
    }
    body.update(overrides)
    return body


# --- the partner's list ---------------------------------------------------------------------


def test_it_lists_only_the_partners_organisation(client, partner, partner2):
    mine = make_draft(partner, title="Our draft on diaspora")
    submitted = make_request("submitted", partner, title="Our border request")
    theirs = make_request("submitted", partner2, title="Their returnees request")
    client.force_login(partner)

    response = client.get("/requests/")

    assert response.status_code == 200
    page = text(response)
    assert mine.title in page
    assert submitted.title in page and submitted.reference in page
    assert theirs.title not in page and theirs.reference not in page
    assert f'href="/requests/{theirs.pk}/"' not in page


def test_it_filters_the_list_by_status(client, partner):
    make_draft(partner, title="Still a draft")
    make_request("submitted", partner, title="Already sent")
    client.force_login(partner)
    page = text(client.get("/requests/?status=submitted"))
    assert "Already sent" in page
    assert "Still a draft" not in page


# --- the request form -----------------------------------------------------------------------


def test_it_saves_an_incomplete_draft(client, partner):
    client.force_login(partner)
    response = client.post(
        NEW,
        {
            "title": "A first idea",
            "country": "TN",
            "attachment_kind": "official_letter",  # the select always sends its value
            "action": "save",
        },
    )

    draft = AssistanceRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/requests/{draft.pk}/"
    assert (draft.status, draft.title, draft.organisation) == (
        "draft",
        "A first idea",
        partner.organisation,
    )
    detail = client.get(response["Location"])
    assert detail.status_code == 200
    assert "Draft saved." in text(detail)


def test_it_shows_field_errors_and_keeps_the_values_when_submitting_an_incomplete_draft(
    client, partner
):
    client.force_login(partner)
    body = form_body(
        problem_statement="",
        expected_outcomes="",
        thematic_areas=[],
        target_institutions="Border police & customs <HQ>",
        action="submit",
    )

    response = client.post(NEW, body)

    assert response.status_code == 400
    # The draft is kept, not submitted.
    draft = AssistanceRequest.objects.get()
    assert (draft.status, draft.reference) == ("draft", None)
    # Errors are tied to their fields.
    for field in ("problem_statement", "expected_outcomes"):
        widget = tag(response, f"id_{field}")
        assert 'aria-invalid="true"' in widget
        assert f"id_{field}_error" in re.search(r'aria-describedby="([^"]*)"', widget).group(1)
        assert tag(response, f"id_{field}_error")
    assert "Describe the problem your institution faces." in text(response)
    fieldset = re.search(r"<fieldset[^>]*id_thematic_areas_error[^>]*>", text(response))
    assert fieldset, "the thematic areas' error is not tied to the choice list"
    assert "Choose at least one thematic area." in text(response)
    # What was typed is still there.
    page = text(response)
    assert 'value="Integrated border management at Ras Jedir"' in page
    assert html.escape("Border police & customs <HQ>") in page
    assert re.search(r'<input[^>]*value="11"[^>]*checked', page)
    assert re.search(r'<option value="fr" selected', page)
    assert body["preferred_start"] in page


def test_it_keeps_the_draft_and_every_value_when_the_upload_is_refused(client, partner):
    client.force_login(partner)
    body = form_body(attachment=fake_pdf_upload("letter.pdf"))

    response = client.post(NEW, body)

    assert response.status_code == 400
    draft = AssistanceRequest.objects.get()
    assert draft.status == "draft"
    assert draft.problem_statement == "Long queues and no risk analysis at the crossing."
    assert list(draft.gcm_objectives.values_list("number", flat=True)) == [11]
    assert not RequestAttachment.objects.exists()
    # The error sits on the attachment field.
    assert 'aria-invalid="true"' in tag(response, "id_attachment")
    error = tag(response, "id_attachment_error")
    assert error
    page = text(response)
    assert "is not an accepted document" in page
    assert "Your draft is saved, but the document was not attached." in page
    # Every typed value is kept.
    for key in ("title", "target_institutions"):
        assert html.escape(body[key]) in page
    assert "Long queues and no risk analysis at the crossing." in page
    assert body["preferred_end"] in page
    assert re.search(r'<input[^>]*value="11"[^>]*checked', page)


@pytest.mark.parametrize("page", ["new", "edit"])
def test_it_ties_a_period_in_the_wrong_order_to_the_end_date(client, partner, page):
    client.force_login(partner)
    path = NEW if page == "new" else f"/requests/{make_draft(partner).pk}/edit/"
    start = timezone.localdate() + timedelta(days=40)
    body = form_body(
        preferred_start=start.isoformat(),
        preferred_end=(start - timedelta(days=5)).isoformat(),
    )

    response = client.post(path, body)

    assert "Constraint" not in text(response)
    assert 'aria-invalid="true"' in tag(response, "id_preferred_end")
    assert "The end must not be before the start." in text(response)


@pytest.mark.parametrize("first_try", ["incomplete", "bad_upload"])
def test_it_does_not_duplicate_the_draft_when_the_corrected_form_is_sent_again(
    client, partner, first_try
):
    client.force_login(partner)
    if first_try == "incomplete":
        first = client.post(NEW, form_body(problem_statement="", action="submit"))
    else:
        first = client.post(NEW, form_body(attachment=fake_pdf_upload()))
    assert first.status_code == 400
    action = re.search(r'<form method="post"[^>]*data-testid="request-form"[^>]*>', text(first))
    target = re.search(r'action="([^"]+)"', action.group(0))
    url = target.group(1) if target else NEW  # a form without action posts to the page's URL

    client.post(url, form_body(attachment=pdf_upload(), action="submit"))

    assert AssistanceRequest.objects.count() == 1
    assert AssistanceRequest.objects.get().status == "submitted"


def test_it_submits_a_complete_request_with_an_attachment(client, partner):
    client.force_login(partner)
    response = client.post(NEW, form_body(attachment=pdf_upload("Lettre.pdf"), action="submit"))

    request = AssistanceRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/requests/{request.pk}/"
    assert request.status == "submitted"
    assert re.fullmatch(r"REQ-\d{4}-\d{4}", request.reference)
    attachment = request.attachments.get()
    assert attachment.kind == "official_letter"

    detail = client.get(response["Location"])
    page = text(detail)
    assert request.reference in page
    assert f'href="/requests/{request.pk}/attachments/{attachment.pk}/"' in page
    assert "Lettre.pdf" in page
    timeline = page[page.index('id="timeline-heading"') :]
    assert partner.display_name in timeline
    assert "Submit" in timeline and "Submitted" in timeline
    assert transition_buttons(detail) == {"withdraw"}
    assert "Your request is submitted." in page

    download = client.get(f"/requests/{request.pk}/attachments/{attachment.pk}/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF_BYTES
    assert download["Content-Disposition"].startswith("attachment")
    assert download["X-Content-Type-Options"] == "nosniff"


def test_it_edits_a_draft_and_refuses_to_edit_a_submitted_request(client, partner):
    draft = make_draft(partner, title="Old title")
    client.force_login(partner)
    edit = client.get(f"/requests/{draft.pk}/edit/")
    assert edit.status_code == 200
    assert 'value="Old title"' in text(edit)

    response = client.post(f"/requests/{draft.pk}/edit/", form_body(title="New title"))
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.title == "New title"

    submitted = make_request("submitted", partner, title="Sent")
    refused = client.get(f"/requests/{submitted.pk}/edit/")
    assert refused.status_code == 302
    assert refused["Location"] == f"/requests/{submitted.pk}/"
    assert "Only drafts can be edited." in flashed(refused)


# --- the triage queue -----------------------------------------------------------------------


@pytest.fixture
def queue(partner, partner2, staff):
    """Open requests with controlled submission times and SLA due dates, and closed ones."""
    now = timezone.now()
    theme = ThematicArea.objects.get
    rows = {
        "tn_overdue": make_request("submitted", partner, title="Tunisia overdue"),
        "fr_due_soon": make_request(
            "submitted",
            partner,
            title="France due soon",
            country=Country.objects.get(code="FR"),
            thematic_areas=[theme(slug="labour-migration")],
        ),
        "ph_on_time": make_request(
            "under_review",
            partner2,
            staff,
            title="Philippines on time",
            country=Country.objects.get(code="PH"),
            gcm_objectives=[GcmObjective.objects.get(number=6)],
        ),
        "sn_info": make_request(
            "info_requested",
            partner2,
            staff,
            title="Senegal info requested",
            country=Country.objects.get(code="SN"),
        ),
    }
    closed = {
        "draft": make_draft(partner, title="Closed draft"),
        "accepted": make_request("accepted", partner, staff, title="Closed accepted"),
        "withdrawn": make_request("withdrawn", partner, title="Closed withdrawn"),
    }
    submitted = {
        "tn_overdue": now - timedelta(days=9),
        "sn_info": now - timedelta(days=7),
        "fr_due_soon": now - timedelta(days=5),
        "ph_on_time": now - timedelta(days=1),
    }
    update = AssistanceRequest.objects.filter
    for key, when in submitted.items():
        update(pk=rows[key].pk).update(submitted_at=when)
    update(pk=rows["tn_overdue"].pk).update(first_response_due_at=now - timedelta(hours=3))
    update(pk=rows["fr_due_soon"].pk).update(first_response_due_at=now + timedelta(hours=3))
    # Under review and info requested: the decision target counts.
    update(pk=rows["ph_on_time"].pk).update(decision_due_at=now + timedelta(days=6))
    update(pk=rows["sn_info"].pk).update(decision_due_at=now - timedelta(days=1))
    return rows, closed


def triage_titles(response: Any) -> list[str]:
    assert response.status_code == 200
    table = re.search(r'data-testid="triage-table".*?</table>', text(response), flags=re.S)
    if not table:
        return []
    return re.findall(r'<a href="/requests/\d+/">([^<]+)</a>', table.group(0))


def test_it_lists_open_requests_oldest_first(client, staff, queue):
    client.force_login(staff)
    titles = triage_titles(client.get("/requests/triage/"))
    assert titles == [
        "Tunisia overdue",
        "Senegal info requested",
        "France due soon",
        "Philippines on time",
    ]


def test_it_sorts_the_queue_newest_first(client, staff, queue):
    client.force_login(staff)
    titles = triage_titles(client.get("/requests/triage/?sort=newest"))
    assert titles == [
        "Philippines on time",
        "France due soon",
        "Senegal info requested",
        "Tunisia overdue",
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=submitted", ["Tunisia overdue", "France due soon"]),
        ("status=under_review", ["Philippines on time"]),
        ("status=info_requested", ["Senegal info requested"]),
        ("country=FR", ["France due soon"]),
        ("country=SN", ["Senegal info requested"]),
        ("region=Africa", ["Tunisia overdue", "Senegal info requested"]),
        ("region=Asia", ["Philippines on time"]),
        ("thematic_area=labour-migration", ["France due soon"]),
        ("gcm_objective=6", ["Philippines on time"]),
        ("sla=overdue", ["Tunisia overdue", "Senegal info requested"]),
        ("sla=due_soon", ["France due soon"]),
        ("sla=on_time", ["Philippines on time"]),
        ("region=Africa&sla=overdue&sort=newest", ["Senegal info requested", "Tunisia overdue"]),
    ],
)
def test_it_filters_the_triage_queue(client, staff, queue, query, expected):
    client.force_login(staff)
    assert triage_titles(client.get(f"/requests/triage/?{query}")) == expected


def test_it_shows_each_requests_sla_state_in_the_queue(client, staff, queue):
    client.force_login(staff)
    page = text(client.get("/requests/triage/"))
    rows = re.findall(r"<tr>.*?</tr>", page, flags=re.S)
    states = {
        re.search(r'<a href="/requests/\d+/">([^<]+)</a>', row).group(1): re.search(
            r"sla sla-(\w+)", row
        ).group(1)
        for row in rows
        if "/requests/" in row
    }
    assert states == {
        "Tunisia overdue": "overdue",
        "Senegal info requested": "overdue",
        "France due soon": "due_soon",
        "Philippines on time": "on_time",
    }


# --- request detail: buttons and transitions -------------------------------------------------


@pytest.mark.parametrize(
    ("state", "role", "buttons"),
    [
        ("draft", "partner", {"submit", "withdraw"}),
        ("submitted", "partner", {"withdraw"}),
        ("submitted", "staff", {"start-review", "request-info"}),
        ("under_review", "staff", {"request-info", "accept", "decline"}),
        ("under_review", "approver", set()),
        ("under_review", "partner", {"withdraw"}),
        ("info_requested", "partner", {"respond", "withdraw"}),
        ("info_requested", "staff", {"decline"}),
        ("accepted", "partner", set()),
        ("accepted", "staff", set()),
        ("declined", "partner", set()),
    ],
)
def test_it_shows_the_buttons_of_the_allowed_transitions_only(
    client, personas, state, role, buttons
):
    request = make_request(state, personas["partner"], personas["staff"])
    client.force_login(personas[role])
    response = client.get(f"/requests/{request.pk}/")
    assert response.status_code == 200
    assert transition_buttons(response) == buttons
    for name in buttons:
        assert f'action="/requests/{request.pk}/do/{name}/"' in text(response)


def test_it_shows_the_decline_reason_to_the_partner(client, partner, staff):
    request = make_request("declined", partner, staff)
    client.force_login(partner)
    assert "Outside the programme&#x27;s mandate." in text(client.get(f"/requests/{request.pk}/"))


def test_it_fires_a_transition_from_the_page(client, partner, staff):
    request = make_request("under_review", partner, staff)
    client.force_login(staff)
    response = client.post(
        f"/requests/{request.pk}/do/decline/", {"text": "Outside the mandate."}, follow=True
    )
    assert response.status_code == 200
    request.refresh_from_db()
    assert request.status == "declined"
    assert request.decision_reason == "Outside the mandate."
    assert "Done: Decline." in text(response)


@pytest.mark.parametrize("name", ["decline", "request-info"])
def test_it_shows_an_error_and_changes_nothing_without_a_reason(client, partner, staff, name):
    request = make_request("under_review", partner, staff)
    count = TransitionEvent.objects.count()
    client.force_login(staff)

    response = client.post(f"/requests/{request.pk}/do/{name}/", {"text": "  "}, follow=True)

    assert response.redirect_chain[-1][0] == f"/requests/{request.pk}/"
    assert "Please give a reason or a message." in text(response)
    request.refresh_from_db()
    assert (request.status, request.decision_reason) == ("under_review", "")
    assert TransitionEvent.objects.count() == count
    assert not request.messages.exists()


def test_it_tells_the_second_reviewer_that_the_review_has_started(client, partner, staff):
    request = make_request("submitted", partner)
    client.force_login(staff)
    first = client.post(f"/requests/{request.pk}/do/start-review/", follow=True)
    assert "Done: Start review." in text(first)

    second = client.post(f"/requests/{request.pk}/do/start-review/", follow=True)

    assert second.status_code == 200
    assert "“Start review” is not possible: this assistance request is under review." in (
        html.unescape(text(second))
    )
    request.refresh_from_db()
    assert request.status == "under_review"
    assert TransitionEvent.objects.filter(transition="start-review").count() == 1


def test_it_shows_the_question_and_answer_thread(client, partner, staff):
    request = make_request("info_requested", partner, staff)
    client.force_login(partner)
    client.post(f"/requests/{request.pk}/do/respond/", {"text": "Tunis and Sfax."})
    page = text(client.get(f"/requests/{request.pk}/"))
    thread = page[page.index('data-testid="thread"') :]
    assert thread.index("Which border posts are concerned?") < thread.index("Tunis and Sfax.")


# --- the assessment editor ------------------------------------------------------------------

FETCH = {"HTTP_X_REQUESTED_WITH": "fetch"}


def gap_post(**values: str) -> dict[str, str]:
    body = {
        "new-level": "organisational",
        "new-description": "No case management system.",
        "new-baseline": "paper files",
        "new-target": "digital files",
        "new-priority": "high",
    }
    body.update({f"new-{k}": v for k, v in values.items()})
    return body


def test_it_shows_the_editor_to_staff(client, partner, staff):
    assessment = make_assessment(partner, staff, gaps=1)
    client.force_login(staff)
    response = client.get(f"/requests/assessments/{assessment.pk}/")
    assert response.status_code == 200
    ids = find_testids(response)
    assert {"assessment-form", "gap-add-form", "level-individual", "gap"} <= ids
    assert transition_buttons(response) == {"share"}
    assert f'action="/requests/assessments/{assessment.pk}/gaps/' in text(response)


def test_it_saves_the_summary_and_methods(client, partner, staff):
    assessment = make_assessment(partner, staff, gaps=0)
    client.force_login(staff)
    response = client.post(
        f"/requests/assessments/{assessment.pk}/",
        {"summary": "Interviews with 12 officers.", "methods": ["interviews", "desk_review"]},
    )
    assert response.status_code == 302
    assessment.refresh_from_db()
    assert assessment.summary == "Interviews with 12 officers."
    assert assessment.methods == ["interviews", "desk_review"]


@pytest.mark.parametrize("inline", [False, True])
def test_it_adds_a_gap(client, partner, staff, inline):
    assessment = make_assessment(partner, staff, gaps=0)
    client.force_login(staff)

    response = client.post(
        f"/requests/assessments/{assessment.pk}/gaps/", gap_post(), **(FETCH if inline else {})
    )

    gap = CapacityGap.objects.get()
    assert (gap.assessment_id, gap.level, gap.priority) == (assessment.pk, "organisational", "high")
    if inline:
        assert response.status_code == 200
        fragment = text(response)
        assert "<html" not in fragment
        assert "No case management system." in fragment
        assert 'data-testid="level-organisational"' in fragment
    else:
        assert response.status_code == 302
        assert response["Location"] == f"/requests/assessments/{assessment.pk}/#gaps"


@pytest.mark.parametrize("inline", [False, True])
def test_it_refuses_a_gap_without_description_with_field_errors(client, partner, staff, inline):
    assessment = make_assessment(partner, staff, gaps=0)
    client.force_login(staff)

    response = client.post(
        f"/requests/assessments/{assessment.pk}/gaps/",
        gap_post(description="", baseline="kept baseline"),
        **(FETCH if inline else {}),
    )

    assert response.status_code == 400
    assert not CapacityGap.objects.exists()
    assert 'aria-invalid="true"' in tag(response, "id_new-description")
    assert tag(response, "id_new-description_error")
    assert "kept baseline" in text(response)
    assert ("<html" in text(response)) is not inline


@pytest.mark.parametrize("inline", [False, True])
def test_it_edits_a_gap(client, partner, staff, inline):
    assessment = make_assessment(partner, staff, gaps=1)
    gap = assessment.gaps.get()
    client.force_login(staff)
    body = {
        f"gap{gap.pk}-level": "enabling_environment",
        f"gap{gap.pk}-description": "The law lacks a data-sharing clause.",
        f"gap{gap.pk}-baseline": "none",
        f"gap{gap.pk}-target": "clause adopted",
        f"gap{gap.pk}-priority": "low",
    }

    response = client.post(
        f"/requests/assessments/{assessment.pk}/gaps/{gap.pk}/", body, **(FETCH if inline else {})
    )

    gap.refresh_from_db()
    assert (gap.level, gap.description, gap.priority) == (
        "enabling_environment",
        "The law lacks a data-sharing clause.",
        "low",
    )
    if inline:
        assert response.status_code == 200
        assert "The law lacks a data-sharing clause." in text(response)
        assert "<html" not in text(response)
    else:
        assert response.status_code == 302


@pytest.mark.parametrize("inline", [False, True])
def test_it_shows_the_field_error_when_a_gap_edit_lacks_a_description(
    client, partner, staff, inline
):
    assessment = make_assessment(partner, staff, gaps=1)
    gap = assessment.gaps.get()
    client.force_login(staff)
    body = {
        f"gap{gap.pk}-level": gap.level,
        f"gap{gap.pk}-description": "",
        f"gap{gap.pk}-baseline": "typed baseline",
        f"gap{gap.pk}-priority": "low",
    }

    response = client.post(
        f"/requests/assessments/{assessment.pk}/gaps/{gap.pk}/", body, **(FETCH if inline else {})
    )

    assert response.status_code == 400
    gap.refresh_from_db()
    assert gap.description == "Border officers lack training in data collection."
    assert 'aria-invalid="true"' in text(response)
    assert "This field is required." in text(response)
    assert "typed baseline" in text(response)


@pytest.mark.parametrize("inline", [False, True])
def test_it_removes_a_gap(client, partner, staff, inline):
    assessment = make_assessment(partner, staff, gaps=2)
    gone, kept = assessment.gaps.order_by("level")
    client.force_login(staff)

    response = client.post(
        f"/requests/assessments/{assessment.pk}/gaps/{gone.pk}/delete/",
        **(FETCH if inline else {}),
    )

    assert list(CapacityGap.objects.values_list("pk", flat=True)) == [kept.pk]
    if inline:
        assert response.status_code == 200
        assert gone.description not in text(response)
        assert kept.description in text(response)
    else:
        assert response.status_code == 302


def test_it_shows_the_partner_the_shared_assessment_read_only(client, partner, staff):
    assessment = make_assessment(partner, staff, gaps=3, state="shared")
    client.force_login(partner)

    response = client.get(f"/requests/assessments/{assessment.pk}/")

    assert response.status_code == 200
    ids = find_testids(response)
    assert "assessment-form" not in ids
    assert "gap-add-form" not in ids
    assert "/gaps/" not in text(response)  # no edit or remove forms
    assert transition_buttons(response) == {"validate", "return"}
    for gap in assessment.gaps.all():
        assert gap.description in text(response)


def test_it_lets_the_partner_validate_and_return_from_the_page(client, partner, staff):
    assessment = make_assessment(partner, staff, gaps=1, state="shared")
    client.force_login(partner)
    path = f"/requests/assessments/{assessment.pk}/do/"

    no_reason = client.post(f"{path}return/", {"text": ""}, follow=True)
    assert "Please give a reason or a message." in text(no_reason)
    assessment.refresh_from_db()
    assert assessment.status == "shared"

    client.post(f"{path}validate/")
    assessment.refresh_from_db()
    assert assessment.status == "validated"
    assert assessment.validated_by == partner


def test_it_answers_404_to_the_attachment_of_another_organisation(client, partner, partner2):
    draft = make_draft(partner)
    attachment = add_attachment(draft, partner)
    client.force_login(partner2)
    response = client.get(f"/requests/{draft.pk}/attachments/{attachment.pk}/")
    assert response.status_code == 404
    assert PDF_BYTES not in response.content


def test_it_tells_staff_why_they_cannot_withdraw(client, partner, staff):
    request = make_request("submitted", partner)
    client.force_login(staff)
    response = client.post(f"/requests/{request.pk}/do/withdraw/")
    assert response.status_code == 302
    assert any(m.strip() for m in flashed(response)), flashed(response)
    request.refresh_from_db()
    assert request.status == "submitted"
