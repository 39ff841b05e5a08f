"""The pages of the roster, matching and deployments (issue 5 "Pages"; DESIGN.md §9): who
sees which page, roster search, the vetting queue, profiles with their languages, periods,
CV and personal data, the shortlist with its explained breakdown, one-click invitations,
answering invitations (page and signed link), confirming, mission reports and the partner's
view of the experts of its actions."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cbportal.accounts.models import Country
from experts import services
from experts.models import (
    Deployment,
    Expert,
    MatchResult,
    MissionReport,
    Unavailability,
    VettingStatus,
)
from tests.actions.api_helpers import find_testids
from tests.experts.builders import REASON, deployment_in, make_expert
from tests.factories import UserFactory
from tests.requests_app.helpers import PDF_BYTES


def text(response: Any) -> str:
    return html.unescape(response.content.decode())


def flashed(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def tag(response: Any, element_id: str) -> str:
    """The opening tag of the element with ``id``."""
    match = re.search(
        rf'<[a-z]+[^>]*\bid="{re.escape(element_id)}"[^>]*>', response.content.decode()
    )
    assert match, f"no element #{element_id}"
    return match.group(0)


def run_matching(need: Any, staff: Any, capture: Any) -> None:
    with capture(execute=True):
        services.match_queue(need_id=need.pk, by=staff)


@pytest.fixture
def media(settings: Any, tmp_path: Any) -> Any:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def invited(need: Any, expert_profile: Any, staff: Any) -> Deployment:
    return deployment_in("invited", need, expert_profile, staff=staff)


def pdf(name: str = "cv.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def profile_post(**overrides: Any) -> dict[str, Any]:
    """The profile form as a browser posts it, with two language rows (and one empty)."""
    data: dict[str, Any] = {
        "full_name": "Fatou Ndiaye",
        "email": "fatou@example.org",
        "phone": "",
        "home_institution": "Direction de la statistique",
        "organisation": "",
        "administration_type": "partner_country",
        "nationality": "SN",
        "residence": "SN",
        "years_experience": "12",
        "biography": "Heads the migration statistics unit.",
        "thematic_areas": ["data"],
        "skills": "statistics, census design",
        "countries_of_experience": ["TN", "MA"],
        "consent_contact": "on",
        "consent_retention": "on",
        "languages-TOTAL_FORMS": "3",
        "languages-INITIAL_FORMS": "0",
        "languages-MIN_NUM_FORMS": "0",
        "languages-MAX_NUM_FORMS": "30",
        "languages-0-language": "fr",
        "languages-0-level": "C2",
        "languages-1-language": "en",
        "languages-1-level": "B2",
        "languages-2-language": "",
        "languages-2-level": "",
    }
    data.update(overrides)
    return data


# --- who sees what ------------------------------------------------------------------------------

STAFF_ONLY = ["/experts/", "/experts/new/", "/experts/vetting/"]


@pytest.mark.parametrize("url", STAFF_ONLY)
def test_it_shows_staff_pages_to_staff_only(client, staff, partner, expert, url):
    client.force_login(staff)
    assert client.get(url).status_code == 200
    for other in (partner, expert):
        client.force_login(other)
        assert client.get(url).status_code == 403


def test_it_shows_the_expert_their_profile_and_hides_others(
    client, expert, expert_profile, expert2_profile, partner
):
    client.force_login(expert)
    assert client.get("/experts/profile/")["Location"] == f"/experts/{expert_profile.pk}/"
    page = client.get(f"/experts/{expert_profile.pk}/")
    assert page.status_code == 200
    assert "Amina Diallo" in text(page)
    assert client.get(f"/experts/{expert2_profile.pk}/").status_code == 404
    assert client.get(f"/experts/{expert2_profile.pk}/edit/").status_code == 404
    client.force_login(partner)
    assert client.get(f"/experts/{expert_profile.pk}/").status_code == 404


def test_it_shows_staff_the_profile_with_deployments_and_ratings(
    client, staff, need, expert_profile
):
    deployment_in("completed", need, expert_profile, staff=staff)
    services.deployment_rate(deployment_id=Deployment.objects.get().pk, by=staff, rating=4)
    client.force_login(staff)
    page = client.get(f"/experts/{expert_profile.pk}/")
    assert page.status_code == 200
    body = text(page)
    assert "Training of analysts" in body
    assert "4 / 5" in body
    assert "French C1" in body
    assert {"vet-form", "export", "anonymise", "expert-deployments"} <= set(find_testids(page))


def test_it_scopes_deployment_pages(
    client, staff, partner, partner2, expert, expert2, need, expert_profile, expert2_profile
):
    mine = deployment_in("confirmed", need, expert_profile, staff=staff)
    shortlisted = deployment_in("shortlisted", need, expert2_profile, staff=staff)
    client.force_login(expert)
    assert client.get(f"/experts/deployments/{mine.pk}/").status_code == 200
    assert client.get(f"/experts/deployments/{shortlisted.pk}/").status_code == 404
    client.force_login(expert2)
    assert client.get(f"/experts/deployments/{mine.pk}/").status_code == 404
    assert client.get(f"/experts/deployments/{shortlisted.pk}/").status_code == 404
    client.force_login(partner)
    assert client.get(f"/experts/deployments/{mine.pk}/").status_code == 200
    assert client.get(f"/experts/deployments/{shortlisted.pk}/").status_code == 404
    client.force_login(partner2)
    assert client.get(f"/experts/deployments/{mine.pk}/").status_code == 404
    assert client.get(f"/experts/actions/{need.activity.action_id}/experts/").status_code == 404


def test_it_lists_each_role_its_deployments(
    client, staff, partner, partner2, expert, need, expert_profile, expert2_profile
):
    deployment_in("confirmed", need, expert_profile, staff=staff)
    deployment_in("invited", need, expert2_profile, staff=staff)

    def names(user: Any, query: str = "") -> list[str]:
        client.force_login(user)
        page = client.get(f"/experts/deployments/{query}")
        assert page.status_code == 200
        return sorted(d.expert.full_name for d in page.context["page"].object_list)

    assert names(staff) == ["Amina Diallo", "Jan Novak"]
    assert names(staff, "?status=invited") == ["Jan Novak"]
    assert names(expert) == ["Amina Diallo"]
    assert names(partner) == ["Amina Diallo"]
    assert names(partner2) == []


# --- roster search ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["Amina Diallo", "Jan Novak"]),
        ("?q=novak", ["Jan Novak"]),
        ("?language=cs&min_level=C1", ["Jan Novak"]),
        ("?language=fr&min_level=C1", ["Amina Diallo"]),
        ("?administration_type=eu_member_state", ["Jan Novak"]),
        ("?nationality=SN", ["Amina Diallo"]),
        ("?country=MA", ["Jan Novak"]),
        ("?region=Africa&thematic_area=data&skill=statistics", ["Amina Diallo", "Jan Novak"]),
        ("?vetting_status=pending", []),
    ],
)
def test_it_filters_the_roster(client, staff, expert_profile, expert2_profile, query, expected):
    client.force_login(staff)
    page = client.get(f"/experts/{query}")
    assert page.status_code == 200
    assert [e.full_name for e in page.context["page"].object_list] == expected


def test_it_filters_the_roster_by_availability(client, staff, expert_profile, expert2_profile):
    start = timezone.localdate() + timedelta(days=10)
    services.unavailability_add(
        expert_id=expert_profile.pk, by=staff, start_date=start, end_date=start + timedelta(days=5)
    )
    client.force_login(staff)
    page = client.get(
        f"/experts/?available_from={start + timedelta(days=2)}&available_to={start + timedelta(days=3)}"
    )
    assert [e.full_name for e in page.context["page"].object_list] == ["Jan Novak"]


def test_it_shows_the_roster_columns(client, staff, expert_profile):
    client.force_login(staff)
    body = text(client.get("/experts/"))
    for expected in (
        "Amina Diallo",
        "Partner-country administration",
        "Senegal",
        "French C1",
        "English B2",
        "Approved",
        "not rated",
    ):
        assert expected in body


def test_it_shows_field_errors_for_bad_filters(client, staff, expert_profile):
    client.force_login(staff)
    page = client.get("/experts/?available_from=someday&min_level=Z9&nationality=XX")
    assert page.status_code == 400
    for field in ("available_from", "min_level", "nationality"):
        assert 'aria-invalid="true"' in tag(page, f"id_{field}")
    assert page.context["page"] is None
    assert 'value="someday"' in page.content.decode()


def test_both_country_filters_list_every_country_from_one_query(client, staff):
    client.force_login(staff)
    with CaptureQueriesContext(connection) as ctx:
        page = client.get("/experts/?country=TN&nationality=SN")
    body = page.content.decode()
    selects = {
        name: re.search(rf'<select name="{name}".*?</select>', body, re.S).group(0)
        for name in ("country", "nationality")
    }
    options = {name: re.findall(r'<option value="(\w*)"', html) for name, html in selects.items()}
    assert options["country"] == options["nationality"]
    assert len(options["country"]) == Country.objects.count() + 1  # and "Any"
    assert '<option value="TN" selected>' in selects["country"]
    assert '<option value="SN" selected>' in selects["nationality"]
    assert " selected" not in selects["country"].replace('value="TN" selected', "")
    # Validation still reads each country: the page of results lists whoever matches.
    country_reads = [q for q in ctx.captured_queries if 'FROM "accounts_country"' in q["sql"]]
    listing = [q for q in country_reads if "WHERE" not in q["sql"]]
    assert len(listing) == 1, listing


def test_it_asks_for_the_language_of_a_minimum_level(client, staff):
    client.force_login(staff)
    page = client.get("/experts/?min_level=B2")
    assert page.status_code == 400
    assert "Choose the language the level is for." in text(page)


def test_it_paginates_the_roster_keeping_the_filters(client, staff):
    for i in range(27):
        make_expert(name=f"Expert {i:02d}", by=staff)
    client.force_login(staff)
    page = client.get("/experts/?thematic_area=data")
    assert len(page.context["page"].object_list) == 25
    assert "?thematic_area=data&amp;page=2" in page.content.decode()
    second = client.get("/experts/?thematic_area=data&page=2")
    assert len(second.context["page"].object_list) == 2


def _count_queries(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_it_keeps_roster_queries_bounded(client, staff):
    for i in range(3):
        make_expert(name=f"Small {i}", by=staff, skills=("statistics", f"s{i}"))
    client.force_login(staff)
    small = _count_queries(client, "/experts/?q=small")
    for i in range(12):
        make_expert(name=f"Large {i}", by=staff, skills=("statistics", f"l{i}"))
    large = _count_queries(client, "/experts/?q=large")
    assert small == large


# --- profiles -----------------------------------------------------------------------------------


def test_it_creates_a_roster_entry_with_language_rows(client, staff):
    client.force_login(staff)
    form = client.get("/experts/new/")
    assert 'name="languages-0-language"' in form.content.decode()
    assert 'name="languages-0-level"' in form.content.decode()
    assert 'name="is_active"' in form.content.decode()

    response = client.post("/experts/new/", profile_post(is_active="on"))

    expert = Expert.objects.get(full_name="Fatou Ndiaye")
    assert response.status_code == 302
    assert response["Location"] == f"/experts/{expert.pk}/"
    assert sorted(expert.languages.values_list("language_id", "level")) == [
        ("en", "B2"),
        ("fr", "C2"),
    ]
    assert sorted(expert.skills.values_list("name", flat=True)) == ["census design", "statistics"]
    assert sorted(expert.countries_of_experience.values_list("code", flat=True)) == ["MA", "TN"]
    assert expert.vetting_status == VettingStatus.PENDING
    assert expert.consent_contact and expert.consent_at is not None


@pytest.mark.parametrize(
    ("rows", "field_id", "message"),
    [
        ({"languages-1-language": "fr"}, None, "Give each language once."),
        ({"languages-1-level": ""}, "id_languages-1-level", "Give your level in this language."),
        ({"languages-1-level": "D1"}, "id_languages-1-level", "Select a valid choice."),
        ({"languages-1-language": "xx"}, "id_languages-1-language", "Select a valid choice."),
    ],
)
def test_it_shows_language_errors_and_keeps_the_input(client, staff, rows, field_id, message):
    client.force_login(staff)
    response = client.post("/experts/new/", profile_post(**rows))
    assert response.status_code == 400
    assert message in text(response)
    if field_id:
        assert 'aria-invalid="true"' in tag(response, field_id)
    assert 'value="Fatou Ndiaye"' in response.content.decode()
    assert not Expert.objects.filter(full_name="Fatou Ndiaye").exists()


def test_it_lets_an_expert_create_their_own_profile_once(client, expert):
    client.force_login(expert)
    form = client.get("/experts/profile/")
    assert form.status_code == 200
    assert 'name="is_active"' not in form.content.decode()
    assert 'name="user"' not in form.content.decode()

    response = client.post("/experts/profile/", profile_post())

    mine = Expert.objects.get(user=expert)
    assert response["Location"] == f"/experts/{mine.pk}/"
    assert mine.vetting_status == VettingStatus.PENDING
    assert client.get("/experts/profile/")["Location"] == f"/experts/{mine.pk}/"


def test_it_lets_the_expert_edit_their_profile(client, expert, expert_profile):
    client.force_login(expert)
    form = client.get(f"/experts/{expert_profile.pk}/edit/")
    assert form.status_code == 200
    assert 'value="Amina Diallo"' in form.content.decode()
    assert 'name="is_active"' not in form.content.decode()

    response = client.post(
        f"/experts/{expert_profile.pk}/edit/",
        profile_post(
            full_name="Amina Diallo",
            share_contact="on",
            **{"languages-0-language": "ar", "languages-0-level": "B1"},
        ),
    )

    assert response.status_code == 302
    expert_profile.refresh_from_db()
    assert expert_profile.share_contact is True
    assert expert_profile.vetting_status == VettingStatus.APPROVED
    assert sorted(expert_profile.languages.values_list("language_id", "level")) == [
        ("ar", "B1"),
        ("en", "B2"),
    ]


def test_it_lets_staff_deactivate_an_expert(client, staff, expert_profile):
    client.force_login(staff)
    data = profile_post(full_name="Amina Diallo", user=str(expert_profile.user_id))
    response = client.post(f"/experts/{expert_profile.pk}/edit/", data)
    assert response.status_code == 302
    expert_profile.refresh_from_db()
    assert expert_profile.is_active is False
    assert expert_profile.user_id is not None


def test_it_adds_an_unavailability_period_and_says_when_periods_merge(
    client, expert, expert_profile
):
    start = timezone.localdate() + timedelta(days=40)
    client.force_login(expert)
    url = f"/experts/{expert_profile.pk}/unavailability/"
    first = client.post(url, {"period-start_date": start, "period-end_date": start})
    assert first.status_code == 302
    assert "Unavailability period added." in flashed(first)

    second = client.post(
        url,
        {
            "period-start_date": start + timedelta(days=1),
            "period-end_date": start + timedelta(days=3),
        },
    )

    period = Unavailability.objects.get(expert=expert_profile)
    assert (period.start_date, period.end_date) == (start, start + timedelta(days=3))
    assert any("merged" in m for m in flashed(second))


def test_it_keeps_a_backwards_period_on_the_form(client, expert, expert_profile):
    start = timezone.localdate() + timedelta(days=40)
    client.force_login(expert)
    response = client.post(
        f"/experts/{expert_profile.pk}/unavailability/",
        {
            "period-start_date": start,
            "period-end_date": start - timedelta(days=2),
            "period-note": "Leave",
        },
    )
    assert response.status_code == 400
    assert 'aria-invalid="true"' in tag(response, "id_period-end_date")
    assert 'value="Leave"' in response.content.decode()
    assert not Unavailability.objects.exists()


def test_it_removes_a_period_and_404s_another_experts(
    client, expert, expert_profile, expert2_profile, staff
):
    start = timezone.localdate() + timedelta(days=40)
    mine, _ = services.unavailability_add(
        expert_id=expert_profile.pk, by=staff, start_date=start, end_date=start
    )
    theirs, _ = services.unavailability_add(
        expert_id=expert2_profile.pk, by=staff, start_date=start, end_date=start
    )
    client.force_login(expert)
    url = f"/experts/{expert_profile.pk}/unavailability/{theirs.pk}/remove/"
    assert client.post(url).status_code == 404
    assert (
        client.post(f"/experts/{expert_profile.pk}/unavailability/{mine.pk}/remove/").status_code
        == 302
    )
    assert list(Unavailability.objects.values_list("pk", flat=True)) == [theirs.pk]


def test_it_serves_the_cv_to_staff_and_the_expert_only(
    client, media, staff, expert, expert2, partner, expert_profile
):
    client.force_login(expert)
    response = client.post(
        f"/experts/{expert_profile.pk}/cv/upload/", {"cv-file": pdf("my cv.pdf")}
    )
    assert response.status_code == 302
    url = f"/experts/{expert_profile.pk}/cv/"
    assert "cv-link" in find_testids(client.get(f"/experts/{expert_profile.pk}/"))

    for user in (expert, staff):
        client.force_login(user)
        download = client.get(url)
        assert download.status_code == 200
        assert b"".join(download.streaming_content) == PDF_BYTES
        assert "attachment" in download["Content-Disposition"]
    for user in (expert2, partner):
        client.force_login(user)
        assert client.get(url).status_code == 404


def test_it_refuses_a_fake_cv_on_the_form(client, media, expert, expert_profile):
    client.force_login(expert)
    fake = SimpleUploadedFile("cv.pdf", b"just text", content_type="application/pdf")
    response = client.post(f"/experts/{expert_profile.pk}/cv/upload/", {"cv-file": fake})
    assert response.status_code == 400
    assert 'aria-invalid="true"' in tag(response, "id_cv-file")
    expert_profile.refresh_from_db()
    assert not expert_profile.cv


def test_it_removes_the_cv(client, media, expert, expert_profile):
    services.expert_cv_upload(expert_id=expert_profile.pk, by=expert, upload=pdf())
    client.force_login(expert)
    assert client.post(f"/experts/{expert_profile.pk}/cv/remove/").status_code == 302
    expert_profile.refresh_from_db()
    assert not expert_profile.cv
    assert client.get(f"/experts/{expert_profile.pk}/cv/").status_code == 404


def test_it_exports_the_experts_data_as_json(client, staff, expert, expert2, expert_profile, need):
    deployment_in("declined", need, expert_profile, staff=staff)
    client.force_login(expert)
    response = client.get(f"/experts/{expert_profile.pk}/export/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert (
        response["Content-Disposition"] == f'attachment; filename="expert-{expert_profile.pk}.json"'
    )
    data = json.loads(response.content)
    assert data["profile"]["full_name"] == "Amina Diallo"
    assert {"code": "fr", "level": "C1"} in data["profile"]["languages"]
    assert data["account"]["username"] == "expert"
    assert [d["status"] for d in data["deployments"]] == ["declined"]
    assert data["deployments"][0]["decline_reason"] == REASON
    client.force_login(staff)
    assert client.get(f"/experts/{expert_profile.pk}/export/").status_code == 200
    client.force_login(expert2)
    assert client.get(f"/experts/{expert_profile.pk}/export/").status_code == 404


def test_it_records_a_deletion_request_and_staff_anonymise_after_confirming(
    client, staff, expert, expert_profile, need
):
    deployment_in("completed", need, expert_profile, staff=staff)
    client.force_login(expert)
    response = client.post(f"/experts/{expert_profile.pk}/request-deletion/")
    assert response.status_code == 302
    expert_profile.refresh_from_db()
    assert expert_profile.deletion_requested_at is not None

    client.force_login(staff)
    queue = client.get("/experts/vetting/")
    assert "Amina Diallo" in text(queue)
    assert "deletion-requests" in find_testids(queue)
    url = f"/experts/{expert_profile.pk}/anonymise/"
    assert client.get(url).status_code == 200
    unconfirmed = client.post(url, {})
    assert unconfirmed.status_code == 400
    assert Expert.objects.get(pk=expert_profile.pk).anonymised_at is None

    done = client.post(url, {"confirm": "on"})

    assert done.status_code == 302
    gone = Expert.objects.get(pk=expert_profile.pk)
    assert gone.anonymised_at is not None
    assert "Amina" not in gone.full_name
    assert Deployment.objects.get().expert_id == gone.pk  # the history stays
    assert "anonymised" in find_testids(client.get(f"/experts/{gone.pk}/"))


def test_it_does_not_let_staff_ask_deletion_or_experts_anonymise(
    client, staff, expert, expert_profile
):
    client.force_login(staff)
    client.post(f"/experts/{expert_profile.pk}/request-deletion/")
    assert Expert.objects.get(pk=expert_profile.pk).deletion_requested_at is None
    client.force_login(expert)
    assert (
        client.post(f"/experts/{expert_profile.pk}/anonymise/", {"confirm": "on"}).status_code
        == 403
    )
    assert Expert.objects.get(pk=expert_profile.pk).anonymised_at is None


# --- vetting ------------------------------------------------------------------------------------


def test_it_vets_from_the_queue_oldest_first(client, staff):
    older = make_expert(name="Older Entry", vetted=False, by=staff)
    newer = make_expert(name="Newer Entry", vetted=False, by=staff)
    Expert.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(days=3))
    client.force_login(staff)
    queue = client.get("/experts/vetting/")
    assert [e.full_name for e in queue.context["page"].object_list] == [
        "Older Entry",
        "Newer Entry",
    ]

    approve = client.post(
        f"/experts/{older.pk}/vet/", {"vet-decision": "approve", "next": "/experts/vetting/"}
    )
    refused = client.post(
        f"/experts/{newer.pk}/vet/", {"vet-decision": "reject", "next": "/experts/vetting/"}
    )
    rejected = client.post(
        f"/experts/{newer.pk}/vet/",
        {
            "vet-decision": "reject",
            "vet-note": "No migration experience.",
            "next": "/experts/vetting/",
        },
    )

    assert approve["Location"] == "/experts/vetting/"
    assert Expert.objects.get(pk=older.pk).vetting_status == VettingStatus.APPROVED
    assert any("Say why" in m for m in flashed(refused))
    assert rejected["Location"] == "/experts/vetting/"
    newer.refresh_from_db()
    assert (newer.vetting_status, newer.vetting_note) == ("rejected", "No migration experience.")
    page = client.get(f"/experts/{newer.pk}/")
    assert "No migration experience." in text(page)  # on the timeline and the vetting card


def test_it_keeps_a_rejection_without_note_on_the_profile_form(client, staff):
    pending = make_expert(name="Pending Person", vetted=False, by=staff)
    client.force_login(staff)
    response = client.post(f"/experts/{pending.pk}/vet/", {"vet-decision": "reject"})
    assert response.status_code == 400
    assert 'aria-invalid="true"' in tag(response, "id_vet-note")
    assert Expert.objects.get(pk=pending.pk).vetting_status == VettingStatus.PENDING


# --- matching -----------------------------------------------------------------------------------


def test_it_runs_matching_and_shows_the_breakdown(
    client, staff, need, expert_profile, expert2_profile, django_capture_on_commit_callbacks
):
    make_expert(name="Not Vetted", vetted=False, by=staff)
    make_expert(name="No French", languages=(("en", "C2"),), by=staff)
    client.force_login(staff)
    before = client.get(f"/experts/needs/{need.pk}/shortlist/")
    assert before.status_code == 200
    assert "Matching has not run for this need yet." in text(before)
    assert "need-summary" in find_testids(before)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/experts/needs/{need.pk}/match/")
    assert response["Location"] == f"/experts/needs/{need.pk}/shortlist/"

    page = client.get(f"/experts/needs/{need.pk}/shortlist/")
    body = text(page)
    rows = page.context["rows"]
    assert [r["expert"].full_name for r in rows] == ["Amina Diallo", "Jan Novak"]
    first = {c["name"]: c for c in rows[0]["components"]}
    assert first["thematic"]["percent"] == 100
    assert first["thematic"]["text"] == "Works in the thematic area of the need."
    assert first["skills"]["text"] == "Has 1 of the 1 skill asked for: statistics."
    assert first["experience"]["text"] == "Has worked in the partner country."
    assert "partner's region" in first["origin"]["text"]
    assert first["track_record"]["text"] == "No rated mission yet: a neutral score."
    second = {c["name"]: c for c in rows[1]["components"]}
    assert second["experience"]["text"] == "Has worked in the partner country's sub-region."
    assert second["origin"]["percent"] == 0
    assert "Not from a partner-country administration" in second["origin"]["text"]
    assert "2 candidates left out of 4 experts on the roster" in body
    assert re.search(r"Inactive or not vetted</th><td[^>]*>1<", body)
    assert re.search(r"Missing a required language at B2 or above</th><td[^>]*>1<", body)
    assert "<meter" in body  # a visual bar, next to the figures
    assert "Thematic fit" in body and "(30 %)" in body


def test_it_shortlists_and_invites_in_one_click(
    client, staff, need, expert_profile, expert2_profile, django_capture_on_commit_callbacks
):
    run_matching(need, staff, django_capture_on_commit_callbacks)
    client.force_login(staff)
    url = f"/experts/needs/{need.pk}/experts/{expert_profile.pk}/"

    response = client.post(url, {"do": "invite"})

    assert response["Location"] == f"/experts/needs/{need.pk}/shortlist/#expert-{expert_profile.pk}"
    deployment = Deployment.objects.get(expert=expert_profile, need=need)
    assert deployment.status == "invited"
    assert deployment.score == MatchResult.objects.get(expert=expert_profile).score
    assert any("is invited" in m for m in flashed(response))
    client.post(f"/experts/needs/{need.pk}/experts/{expert2_profile.pk}/", {"do": "shortlist"})
    assert Deployment.objects.get(expert=expert2_profile).status == "shortlisted"
    page = client.get(f"/experts/needs/{need.pk}/shortlist/")
    statuses = {r["expert"].full_name: r["deployment"].status for r in page.context["rows"]}
    assert statuses == {"Amina Diallo": "invited", "Jan Novak": "shortlisted"}
    assert f"invite-{expert2_profile.pk}" in find_testids(page)
    assert f"invite-{expert_profile.pk}" not in find_testids(page)


def test_it_explains_an_invitation_refused(client, staff, need, django_capture_on_commit_callbacks):
    no_consent = make_expert(name="No Consent", consent=False, by=staff)
    client.force_login(staff)
    response = client.post(f"/experts/needs/{need.pk}/experts/{no_consent.pk}/", {"do": "invite"})
    assert response.status_code == 302
    assert any("agreed to be contacted" in m for m in flashed(response))
    assert not Deployment.objects.filter(status="invited").exists()


def test_it_keeps_the_shortlist_page_staff_only(client, partner, expert, need):
    for user in (partner, expert):
        client.force_login(user)
        assert client.get(f"/experts/needs/{need.pk}/shortlist/").status_code == 403
        assert client.post(f"/experts/needs/{need.pk}/match/").status_code == 403


def test_it_answers_404_for_an_unknown_need(client, staff):
    client.force_login(staff)
    assert client.get("/experts/needs/999999/shortlist/").status_code == 404


def test_it_keeps_shortlist_queries_bounded(
    client, staff, need, django_capture_on_commit_callbacks
):
    def grow(count: int, prefix: str) -> None:
        for i in range(count):
            make_expert(name=f"{prefix} {i}", by=staff, skills=("statistics", f"{prefix}{i}"))

    grow(3, "Small")
    run_matching(need, staff, django_capture_on_commit_callbacks)
    first = MatchResult.objects.order_by("rank").first()
    services.deployment_shortlist(need_id=need.pk, expert_id=first.expert_id, by=staff)
    client.force_login(staff)
    url = f"/experts/needs/{need.pk}/shortlist/"
    small = _count_queries(client, url)
    assert len(client.get(url).context["rows"]) == 3

    grow(9, "Large")
    run_matching(need, staff, django_capture_on_commit_callbacks)
    large = _count_queries(client, url)
    assert len(client.get(url).context["rows"]) == 12
    assert small == large


# --- deployment board and transitions -----------------------------------------------------------


def test_it_shows_the_board_and_confirms_with_dates(
    client, staff, expert, need, expert_profile, expert2_profile
):
    accepted = deployment_in("accepted", need, expert_profile, staff=staff)
    deployment_in("invited", need, expert2_profile, staff=staff)
    activity = need.activity
    client.force_login(staff)
    board = client.get(f"/experts/actions/{activity.action_id}/board/")
    assert board.status_code == 200
    ids = find_testids(board)
    assert f"transition-confirm-{accepted.pk}" in ids
    assert f"transition-cancel-{accepted.pk}" in ids
    assert f'value="{activity.start_date.isoformat()}"' in tag(
        board, f"confirm-{accepted.pk}-start_date"
    )
    # The need asks for 5 expert-days but the activity lasts one day: the form proposes
    # what fits (the service would refuse 5).
    assert 'value="1"' in tag(board, f"confirm-{accepted.pk}-expert_days")
    assert "Confirmed: 0 · completed: 0 · accepted: 1 · invited: 1" in text(board)

    end = activity.start_date + timedelta(days=4)
    response = client.post(
        f"/experts/deployments/{accepted.pk}/confirm/",
        {
            "start_date": activity.start_date,
            "end_date": end,
            "expert_days": 4,
            "next": f"/experts/actions/{activity.action_id}/board/",
        },
    )

    assert response["Location"] == f"/experts/actions/{activity.action_id}/board/"
    accepted.refresh_from_db()
    assert (accepted.status, accepted.end_date, accepted.expert_days) == ("confirmed", end, 4)


def test_it_keeps_confirm_dates_on_the_form_when_refused(client, staff, need, expert_profile):
    accepted = deployment_in("accepted", need, expert_profile, staff=staff)
    start = need.activity.start_date
    client.force_login(staff)
    response = client.post(
        f"/experts/deployments/{accepted.pk}/confirm/",
        {"start_date": start, "end_date": start, "expert_days": 5},
    )
    assert response.status_code == 400
    assert "do not fit" in text(response)
    assert 'aria-invalid="true"' in tag(response, "id_expert_days")
    assert 'value="5"' in tag(response, "id_expert_days")
    assert Deployment.objects.get(pk=accepted.pk).status == "accepted"


def test_it_needs_a_reason_to_cancel(client, staff, need, expert_profile):
    invited = deployment_in("invited", need, expert_profile, staff=staff)
    client.force_login(staff)
    refused = client.post(f"/experts/deployments/{invited.pk}/cancel/", {"text": ""})
    assert any("reason" in m for m in flashed(refused))
    assert Deployment.objects.get(pk=invited.pk).status == "invited"
    client.post(f"/experts/deployments/{invited.pk}/cancel/", {"text": "Activity moved online."})
    assert Deployment.objects.get(pk=invited.pk).status == "cancelled"


def test_it_answers_404_for_an_unknown_or_system_transition(client, staff, invited):
    client.force_login(staff)
    assert client.post(f"/experts/deployments/{invited.pk}/teleport/").status_code == 404
    assert client.post(f"/experts/deployments/{invited.pk}/expire/").status_code == 404
    assert Deployment.objects.get(pk=invited.pk).status == "invited"


def test_it_refuses_staff_transitions_to_the_expert(client, expert, need, expert_profile, staff):
    accepted = deployment_in("accepted", need, expert_profile, staff=staff)
    start = accepted.need.activity.start_date
    client.force_login(expert)
    page = client.get(f"/experts/deployments/{accepted.pk}/")
    assert not [t for t in find_testids(page) if t.startswith("transition-")]

    response = client.post(
        f"/experts/deployments/{accepted.pk}/confirm/",
        {"start_date": start, "end_date": start, "expert_days": 1},
    )

    assert response["Location"] == f"/experts/deployments/{accepted.pk}/"
    assert any("Your role does not allow" in m for m in flashed(response))
    assert Deployment.objects.get(pk=accepted.pk).status == "accepted"


def test_it_keeps_the_dates_when_the_expert_is_already_booked(
    client, staff, partner2, approver, need, expert_profile
):
    from tests.experts.builders import approved_action, first_need

    other = first_need(approved_action(partner2, staff, approver))
    start = need.activity.start_date
    deployment_in("confirmed", other, expert_profile, staff=staff, start=start, end=start)
    accepted = deployment_in("accepted", need, expert_profile, staff=staff)
    client.force_login(staff)

    response = client.post(
        f"/experts/deployments/{accepted.pk}/confirm/",
        {"start_date": start, "end_date": start + timedelta(days=1), "expert_days": 2},
    )

    assert response.status_code == 409
    assert "already booked" in text(response)
    assert f'value="{(start + timedelta(days=1)).isoformat()}"' in tag(response, "id_end_date")
    assert Deployment.objects.get(pk=accepted.pk).status == "accepted"


# --- answering invitations ----------------------------------------------------------------------


def test_it_lists_open_invitations_with_their_deadline(client, expert, invited):
    client.force_login(expert)
    page = client.get("/experts/invitations/")
    assert page.status_code == 200
    assert [d.pk for d in page.context["invitations"]] == [invited.pk]
    assert {f"accept-{invited.pk}", f"decline-{invited.pk}", "expires"} <= set(find_testids(page))
    home = client.get("/")
    assert "my-invitations" in find_testids(home)
    assert "Training of analysts" in text(home)


def test_it_accepts_from_my_invitations(client, expert, invited):
    client.force_login(expert)
    response = client.post(
        f"/experts/deployments/{invited.pk}/accept/", {"next": "/experts/invitations/"}
    )
    assert response["Location"] == "/experts/invitations/"
    assert Deployment.objects.get(pk=invited.pk).status == "accepted"


def test_it_declines_from_my_invitations_with_a_reason(client, expert, invited):
    client.force_login(expert)
    without = client.post(
        f"/experts/deployments/{invited.pk}/decline/",
        {"next": "/experts/invitations/", "text": " "},
    )
    assert any("reason" in m for m in flashed(without))
    assert Deployment.objects.get(pk=invited.pk).status == "invited"
    client.post(
        f"/experts/deployments/{invited.pk}/decline/",
        {"next": "/experts/invitations/", "text": REASON},
    )
    declined = Deployment.objects.get(pk=invited.pk)
    assert (declined.status, declined.decline_reason) == ("declined", REASON)


def test_it_refuses_another_experts_invitation_with_404(client, expert2, expert2_profile, invited):
    client.force_login(expert2)
    assert client.post(f"/experts/deployments/{invited.pk}/accept/").status_code == 404
    assert Deployment.objects.get(pk=invited.pk).status == "invited"


def test_it_shows_the_signed_link_without_changing_anything(client, expert, invited):
    token = services.invitation_token(invited)
    client.force_login(expert)
    page = client.get(f"/experts/invitations/answer/{token}/")
    assert page.status_code == 200
    assert {"link-accept", "link-decline", "need-summary"} <= set(find_testids(page))
    after = Deployment.objects.get(pk=invited.pk)
    assert (after.status, after.invitation_nonce) == ("invited", invited.invitation_nonce)


def test_it_accepts_through_the_signed_link_once(client, expert, invited):
    token = services.invitation_token(invited)
    client.force_login(expert)
    url = f"/experts/invitations/answer/{token}/"

    response = client.post(url, {"answer": "accept"})

    assert response["Location"] == f"/experts/deployments/{invited.pk}/"
    assert Deployment.objects.get(pk=invited.pk).status == "accepted"
    again = client.post(url, {"answer": "decline", "decline-text": REASON})
    assert again.status_code == 409
    assert "refusal" in find_testids(again)
    assert client.get(url).status_code == 409
    assert Deployment.objects.get(pk=invited.pk).status == "accepted"


def test_it_declines_through_the_signed_link_with_a_reason(client, expert, invited):
    token = services.invitation_token(invited)
    client.force_login(expert)
    url = f"/experts/invitations/answer/{token}/"
    missing = client.post(url, {"answer": "decline", "decline-text": ""})
    assert missing.status_code == 400
    assert 'aria-invalid="true"' in tag(missing, "id_decline-text")
    assert Deployment.objects.get(pk=invited.pk).status == "invited"

    client.post(url, {"answer": "decline", "decline-text": REASON})

    assert Deployment.objects.get(pk=invited.pk).status == "declined"


def test_it_refuses_a_link_answered_on_the_page(client, expert, invited):
    token = services.invitation_token(invited)
    services.deployment_accept(deployment_id=invited.pk, by=expert)
    client.force_login(expert)
    response = client.post(
        f"/experts/invitations/answer/{token}/", {"answer": "decline", "decline-text": REASON}
    )
    assert response.status_code == 409
    assert Deployment.objects.get(pk=invited.pk).status == "accepted"


def test_it_refuses_a_tampered_link(client, expert, invited):
    token = services.invitation_token(invited)
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    client.force_login(expert)
    for method in (client.get, client.post):
        response = method(f"/experts/invitations/answer/{tampered}/", {"answer": "accept"})
        assert response.status_code == 400
        assert "refusal" in find_testids(response)
    assert Deployment.objects.get(pk=invited.pk).status == "invited"


def test_it_refuses_someone_elses_link(client, expert2, expert2_profile, invited):
    token = services.invitation_token(invited)
    client.force_login(expert2)
    response = client.post(f"/experts/invitations/answer/{token}/", {"answer": "accept"})
    assert response.status_code == 400
    assert "sent to someone else" in text(response)
    assert Deployment.objects.get(pk=invited.pk).status == "invited"


def test_the_signed_link_needs_sign_in(client, invited):
    token = services.invitation_token(invited)
    response = client.get(f"/experts/invitations/answer/{token}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# --- mission reports and ratings ----------------------------------------------------------------


@pytest.fixture
def mission(need: Any, expert_profile: Any, staff: Any) -> Deployment:
    """A confirmed mission that has taken place (dates moved into the past)."""
    deployment = deployment_in("confirmed", need, expert_profile, staff=staff)
    past = timezone.localdate() - timedelta(days=5)
    Deployment.objects.filter(pk=deployment.pk).update(
        start_date=past, end_date=past + timedelta(days=2)
    )
    return Deployment.objects.get(pk=deployment.pk)


def test_it_keeps_the_report_input_on_validation_errors(client, expert, mission):
    client.force_login(expert)
    response = client.post(
        f"/experts/deployments/{mission.pk}/report/",
        {
            "summary": "Trained 15 analysts.",
            "outputs": "",
            "recommendations": "Repeat.",
            "days_worked": 9,
        },
    )
    assert response.status_code == 400
    assert 'aria-invalid="true"' in tag(response, "id_outputs")
    assert "Trained 15 analysts." in text(response)
    assert not MissionReport.objects.exists()

    response = client.post(
        f"/experts/deployments/{mission.pk}/report/",
        {
            "summary": "Trained 15 analysts.",
            "outputs": "Slides.",
            "recommendations": "Repeat.",
            "days_worked": 9,
        },
    )
    assert response.status_code == 400
    assert "The mission lasted 3 calendar days." in text(response)
    assert 'aria-invalid="true"' in tag(response, "id_days_worked")


def test_it_files_the_report_then_staff_complete_and_rate(
    client, media, staff, expert, partner, mission
):
    client.force_login(expert)
    assert "report-link" in find_testids(client.get(f"/experts/deployments/{mission.pk}/"))
    response = client.post(
        f"/experts/deployments/{mission.pk}/report/",
        {
            "summary": "Trained 15 analysts.",
            "outputs": "Slides.",
            "recommendations": "Repeat next year.",
            "days_worked": 3,
            "attachments": [pdf("slides.pdf"), pdf("agenda.pdf")],
        },
    )
    assert response["Location"] == f"/experts/deployments/{mission.pk}/"
    report = MissionReport.objects.get()
    assert sorted(a.original_name for a in report.attachments.all()) == ["agenda.pdf", "slides.pdf"]
    correcting = client.get(f"/experts/deployments/{mission.pk}/report/")
    assert "Repeat next year." in text(correcting)

    client.force_login(staff)
    page = client.get(f"/experts/deployments/{mission.pk}/")
    assert f"transition-complete-{mission.pk}" in find_testids(page)
    client.post(f"/experts/deployments/{mission.pk}/complete/")
    assert Deployment.objects.get(pk=mission.pk).status == "completed"
    assert "rate-form" in find_testids(client.get(f"/experts/deployments/{mission.pk}/"))
    bad = client.post(f"/experts/deployments/{mission.pk}/rate/", {"rating": 9})
    assert bad.status_code == 400
    client.post(f"/experts/deployments/{mission.pk}/rate/", {"rating": 5, "note": "Excellent."})
    assert Deployment.objects.get(pk=mission.pk).rating == 5
    assert Expert.objects.get(pk=mission.expert_id).rating_count == 1

    attachment = report.attachments.get(original_name="slides.pdf")
    url = f"/experts/deployments/{mission.pk}/report/attachments/{attachment.pk}/"
    for user in (staff, expert, partner):
        client.force_login(user)
        download = client.get(url)
        assert download.status_code == 200
        assert b"".join(download.streaming_content) == PDF_BYTES


def test_it_hides_report_attachments_from_outsiders(
    client, media, partner2, expert2, expert2_profile, mission, expert
):
    services.deployment_report_submit(
        deployment_id=mission.pk,
        by=expert,
        summary="s",
        outputs="o",
        recommendations="r",
        days_worked=1,
        attachments=[pdf()],
    )
    attachment = MissionReport.objects.get().attachments.get()
    url = f"/experts/deployments/{mission.pk}/report/attachments/{attachment.pk}/"
    for user in (partner2, expert2):
        client.force_login(user)
        assert client.get(url).status_code == 404


def test_it_does_not_offer_the_report_before_the_mission(
    client, expert, need, expert_profile, staff
):
    confirmed = deployment_in("confirmed", need, expert_profile, staff=staff)
    client.force_login(expert)
    response = client.post(
        f"/experts/deployments/{confirmed.pk}/report/",
        {"summary": "s", "outputs": "o", "recommendations": "r", "days_worked": 1},
    )
    assert response.status_code == 400
    assert "once it has taken place" in text(response)
    assert not MissionReport.objects.exists()


# --- the partner's view -------------------------------------------------------------------------


def test_it_shows_the_partner_the_confirmed_experts_without_cv(
    client, media, partner, staff, need, expert_profile, expert2_profile
):
    services.expert_cv_upload(expert_id=expert_profile.pk, by=staff, upload=pdf())
    Expert.objects.filter(pk=expert_profile.pk).update(share_contact=True, phone="+221 33 000")
    shown = deployment_in("confirmed", need, expert_profile, staff=staff)
    hidden_contact = deployment_in(
        "confirmed",
        need,
        expert2_profile,
        staff=staff,
    )
    invited_only = make_expert(name="Only Invited", by=staff)
    deployment_in("invited", need, invited_only, staff=staff)
    client.force_login(partner)

    page = client.get(f"/experts/actions/{need.activity.action_id}/experts/")

    assert page.status_code == 200
    body = text(page)
    assert "Amina Diallo" in body and "Jan Novak" in body
    assert "Only Invited" not in body
    assert "National Statistics Office" in body
    assert "heads a statistics unit" in body
    assert f"contact-{shown.pk}" in find_testids(page)
    assert "+221 33 000" in body
    assert f"contact-{hidden_contact.pk}" not in find_testids(page)
    assert expert2_profile.email not in body
    assert "/cv/" not in body
    detail = client.get(f"/experts/deployments/{hidden_contact.pk}/")
    assert expert2_profile.email not in text(detail)
    assert "/cv/" not in text(detail)


def test_it_refuses_the_action_experts_page_to_other_roles(client, expert, evaluator, need):
    for user in (expert, evaluator):
        client.force_login(user)
        assert client.get(f"/experts/actions/{need.activity.action_id}/experts/").status_code == 403


def test_it_links_the_action_page_to_matching_and_the_board(client, staff, partner, need):
    client.force_login(staff)
    page = client.get(f"/actions/{need.activity.action_id}/")
    body = page.content.decode()
    assert f'href="/experts/needs/{need.pk}/shortlist/"' in body
    assert f'href="/experts/actions/{need.activity.action_id}/board/"' in body
    client.force_login(partner)
    page = client.get(f"/actions/{need.activity.action_id}/")
    body = page.content.decode()
    assert f'href="/experts/actions/{need.activity.action_id}/experts/"' in body
    assert "/shortlist/" not in body and "/board/" not in body


def test_it_refuses_the_board_to_partners(client, partner, need):
    client.force_login(partner)
    assert client.get(f"/experts/actions/{need.activity.action_id}/board/").status_code == 403


# --- home ---------------------------------------------------------------------------------------


def test_it_prompts_an_expert_without_profile_to_create_it(client, expert):
    client.force_login(expert)
    home = client.get("/")
    assert {"create-profile-prompt", "my-profile-empty"} <= set(find_testids(home))
    assert 'href="/experts/profile/"' in home.content.decode()


def test_it_shows_the_expert_missions_and_reports_due(client, expert, mission):
    client.force_login(expert)
    home = client.get("/")
    ids = set(find_testids(home))
    assert "reports-due" in ids
    assert "my-profile" in ids
    assert f'href="/experts/deployments/{mission.pk}/report/"' in home.content.decode()


# --- pages follow the content security policy ---------------------------------------------------

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)


def test_it_renders_pages_without_inline_scripts_or_styles(
    client,
    media,
    staff,
    expert,
    partner,
    need,
    expert_profile,
    expert2_profile,
    django_capture_on_commit_callbacks,
):
    run_matching(need, staff, django_capture_on_commit_callbacks)
    invited = deployment_in("invited", need, expert_profile, staff=staff)
    confirmed = deployment_in("confirmed", need, expert2_profile, staff=staff)
    action_id = need.activity.action_id
    pages = {
        staff: [
            "/experts/",
            "/experts/?min_level=Z9",
            "/experts/new/",
            "/experts/vetting/",
            f"/experts/{expert_profile.pk}/",
            f"/experts/{expert_profile.pk}/edit/",
            f"/experts/{expert_profile.pk}/anonymise/",
            f"/experts/needs/{need.pk}/shortlist/",
            f"/experts/actions/{action_id}/board/",
            "/experts/deployments/",
            f"/experts/deployments/{confirmed.pk}/",
            f"/experts/actions/{action_id}/experts/",
            f"/actions/{action_id}/",
        ],
        expert: [
            "/",
            "/experts/invitations/",
            f"/experts/invitations/answer/{services.invitation_token(invited)}/",
            "/experts/invitations/answer/bad-token/",
            f"/experts/deployments/{invited.pk}/",
            f"/experts/{expert_profile.pk}/",
        ],
        partner: [
            f"/experts/deployments/{confirmed.pk}/",
            f"/experts/actions/{action_id}/experts/",
        ],
    }
    for user, urls in pages.items():
        client.force_login(user)
        for url in urls:
            response = client.get(url)
            assert response.status_code in (200, 400), url
            body = response.content.decode()
            assert not INLINE_SCRIPT.search(body), url
            assert " style=" not in body, url
            assert "onclick" not in body.lower(), url


def test_it_names_every_form_control(client, staff, need, expert_profile):
    """Every input, select and textarea on the profile form and the board has a label."""
    accepted = deployment_in("accepted", need, expert_profile, staff=staff)
    client.force_login(staff)
    for url in (
        f"/experts/{expert_profile.pk}/",
        f"/experts/{expert_profile.pk}/edit/",
        f"/experts/actions/{accepted.need.activity.action_id}/board/",
        f"/experts/deployments/{accepted.pk}/",
        "/experts/",
        "/experts/vetting/",
    ):
        body = client.get(url).content.decode()
        labelled = set(re.findall(r'<label[^>]*\bfor="([^"]+)"', body))
        for control in re.findall(r"<(?:input|select|textarea)\b[^>]*>", body):
            if 'type="hidden"' in control:
                continue
            match = re.search(r'\bid="([^"]+)"', control)
            assert match and match.group(1) in labelled, (url, control)


def test_it_lets_a_new_expert_user_exist_without_a_profile(client, db):
    newcomer = UserFactory(expert=True)
    client.force_login(newcomer)
    assert client.get("/experts/invitations/").status_code == 200
    assert client.get("/experts/deployments/").status_code == 200


# --- the words of the breakdown (experts/explain.py, used by the shortlist page) ----------------


@pytest.mark.parametrize(
    ("component", "facts", "expected"),
    [
        ("thematic", {"fit": True}, "Works in the thematic area of the need."),
        ("thematic", {"fit": False}, "Does not work in the thematic area of the need."),
        ("skills", {"matched": [], "asked": 0}, "The need asks for no particular skill."),
        ("skills", {"matched": [], "asked": 1}, "Does not have the skill asked for."),
        ("skills", {"matched": [], "asked": 3}, "Has none of the 3 skills asked for."),
        ("skills", {"matched": [7, 9], "asked": 3}, "Has 2 of the 3 skills asked for: audit, law."),
        ("skills", {"matched": [5], "asked": 2}, "Has 1 of the 2 skills asked for."),
        ("experience", {"where": "country"}, "Has worked in the partner country."),
        ("experience", {"where": "subregion"}, "Has worked in the partner country's sub-region."),
        ("experience", {"where": "region"}, "Has worked in the partner country's region."),
        ("experience", {"where": ""}, "No recorded experience in the partner country's region."),
        (
            "origin",
            {"preference": "eu_member_state", "administration_type": "eu_member_state"},
            "From an EU member-state administration, as the need prefers.",
        ),
        (
            "origin",
            {"preference": "eu_member_state", "administration_type": "partner_country"},
            "Not from an EU member-state administration, which the need prefers.",
        ),
        (
            "origin",
            {
                "preference": "partner_region_peer",
                "administration_type": "partner_country",
                "same_region": False,
            },
            "A peer from a partner-country administration of another region "
            "(still South–South cooperation).",
        ),
        (
            "origin",
            {"preference": "any", "administration_type": "academia_civil_society"},
            "The need has no origin preference.",
        ),
        (
            "track_record",
            {"missions": 0, "average": None},
            "No rated mission yet: a neutral score.",
        ),
        (
            "track_record",
            {"missions": 1, "average": 4.0},
            "1 rated mission, 4.0 out of 5 on average.",
        ),
        (
            "track_record",
            {"missions": 3, "average": 3.7},
            "3 rated missions, 3.7 out of 5 on average.",
        ),
        ("workload", {"recent": 0}, "No mission in the last 365 days or ahead."),
        ("workload", {"recent": 2}, "2 missions in the last 365 days or ahead."),
        ("unknown", {}, ""),
    ],
)
def test_it_puts_each_component_in_words(component, facts, expected):
    from experts import explain

    names = {7: "law", 9: "audit"}
    assert explain.describe(component, facts, skill_names=names) == expected


def test_it_labels_every_component_and_exclusion_reason():
    from experts import explain
    from experts.matching import COMPONENTS, EXCLUSION_REASONS

    assert all(explain.component_label(c) != c for c in COMPONENTS)
    assert [r for r, _label, _n in explain.describe_exclusions({"language": 4})] == list(
        EXCLUSION_REASONS
    )
    assert ("language", "Missing a required language at B2 or above", 4) in (
        explain.describe_exclusions({"language": 4})
    )
