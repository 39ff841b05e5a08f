"""experts/services.py beyond the transition matrix: profiles, CVs, availability, vetting,
invitations and their signed links, expiry, confirmation without double-booking, mission
reports, ratings, cancellation, matching runs, personal data (export and deletion) and the
notifications each step sends."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError
from django.utils import timezone, translation
from django.utils.translation import gettext

from actions import services as actions
from actions.models import Activity, ExpertiseNeed, Skill
from cbportal.core.errors import (
    ApplicationError,
    NotFound,
    TransitionForbidden,
    TransitionNotAllowed,
)
from cbportal.core.models import Notification
from experts import matching, selectors, services
from experts.models import (
    Deployment,
    Expert,
    ExpertLanguage,
    MatchJob,
    MatchResult,
    MissionReport,
    ReportAttachment,
    Unavailability,
)
from tests.actions.builders import events_for
from tests.experts.builders import (
    REASON,
    approved_action,
    deployment_in,
    first_need,
    make_expert,
)
from tests.factories import UserFactory
from tests.requests_app.test_uploads import DOCX, PDF, odt

TODAY = timezone.localdate

# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Uploaded files go to a fresh folder for each test."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def other_need(partner: Any, staff: Any, approver: Any) -> ExpertiseNeed:
    return first_need(approved_action(partner, staff, approver))


def week_long(need: ExpertiseNeed, days: int = 7) -> ExpertiseNeed:
    """Stretch the need's activity to ``days`` calendar days (the builder's lasts one)."""
    activity = need.activity
    Activity.objects.filter(pk=activity.pk).update(
        end_date=activity.start_date + timedelta(days=days - 1)
    )
    return ExpertiseNeed.objects.select_related("activity__action").get(pk=need.pk)


def in_the_past(deployment: Deployment, days: int = 3) -> Deployment:
    """Move a mission so that it ran over the last ``days`` days (ending yesterday)."""
    end = TODAY() - timedelta(days=1)
    Deployment.objects.filter(pk=deployment.pk).update(
        start_date=end - timedelta(days=days - 1), end_date=end
    )
    return Deployment.objects.get(pk=deployment.pk)


def recipients(event: str) -> list[str]:
    return sorted(
        Notification.objects.filter(event=event).values_list("recipient__username", flat=True)
    )


def mailed(mailoutbox: list[Any]) -> list[str]:
    return sorted(address.split("@")[0] for message in mailoutbox for address in message.to)


def email_to(mailoutbox: list[Any], username: str) -> Any:
    (message,) = [m for m in mailoutbox if m.to == [f"{username}@example.org"]]
    return message


def report(deployment: Deployment, user: Any, **changes: Any) -> MissionReport:
    values = {
        "summary": "Trained 15 analysts.",
        "outputs": "A handbook.",
        "recommendations": "Repeat next year.",
        "days_worked": 2,
        **changes,
    }
    return services.deployment_report_submit(deployment_id=deployment.pk, by=user, **values)


# --- profiles ----------------------------------------------------------------------------------


def test_an_expert_creates_their_own_profile_once(expert):
    profile = services.expert_create(
        by=expert,
        data={
            "administration_type": "partner_country",
            "languages": [{"code": "fr", "level": "C1"}],
            "skills": ["statistics"],
            "consent_contact": True,
        },
    )
    profile = Expert.objects.get(pk=profile.pk)
    assert (profile.user, profile.email, profile.full_name) == (
        expert,
        expert.email,
        expert.display_name,
    )
    assert (profile.vetting_status, profile.is_active) == ("pending", True)
    assert [(lang.language_id, lang.level) for lang in profile.languages.all()] == [("fr", "C1")]
    with pytest.raises(TransitionNotAllowed, match="already have"):
        services.expert_create(by=expert, data={"full_name": "Again"})
    assert Expert.objects.filter(user=expert).count() == 1


@pytest.mark.parametrize("persona", ["partner", "evaluator"])
def test_other_roles_keep_no_roster_profile(personas, persona):
    with pytest.raises(TransitionForbidden):
        services.expert_create(by=personas[persona], data={"full_name": "Someone"})
    assert not Expert.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        {"is_active": False},
        {"vetting_status": "approved"},
        {"user": None},
    ],
    ids=["is_active", "vetting_status", "user"],
)
def test_an_expert_cannot_change_staff_only_fields(expert, expert_profile, data):
    before = Expert.objects.values().get(pk=expert_profile.pk)
    with pytest.raises(TransitionForbidden):
        services.expert_update(
            expert_id=expert_profile.pk, by=expert, data={"biography": "Changed.", **data}
        )
    assert Expert.objects.values().get(pk=expert_profile.pk) == before


def test_an_expert_cannot_create_a_profile_with_staff_only_fields(expert):
    with pytest.raises(TransitionForbidden):
        services.expert_create(by=expert, data={"full_name": "Me", "is_active": True})
    assert not Expert.objects.exists()


def test_staff_change_the_active_flag(staff, expert_profile):
    services.expert_update(expert_id=expert_profile.pk, by=staff, data={"is_active": False})
    assert Expert.objects.get(pk=expert_profile.pk).is_active is False


def test_an_expert_edits_their_own_profile_only(expert, expert2, expert_profile, expert2_profile):
    services.expert_update(expert_id=expert_profile.pk, by=expert, data={"years_experience": 12})
    assert Expert.objects.get(pk=expert_profile.pk).years_experience == 12
    with pytest.raises(NotFound):
        services.expert_update(expert_id=expert2_profile.pk, by=expert, data={"biography": "x"})
    with pytest.raises(NotFound):
        services.expert_update(expert_id=987654, by=expert, data={})


@pytest.mark.parametrize("persona", ["partner", "partner2", "evaluator"])
def test_other_roles_cannot_edit_a_profile(personas, expert_profile, persona):
    with pytest.raises(NotFound):
        services.expert_update(
            expert_id=expert_profile.pk, by=personas[persona], data={"biography": "x"}
        )


@pytest.mark.parametrize("level", ["D1", "B3", "", "native", None, "A0"])
def test_it_refuses_a_level_outside_the_cefr_scale(expert, expert_profile, level):
    with pytest.raises(ApplicationError) as excinfo:
        services.expert_update(
            expert_id=expert_profile.pk,
            by=expert,
            data={"languages": [{"code": "fr", "level": level}]},
        )
    assert excinfo.value.field == "languages"
    assert "CEFR" in excinfo.value.message
    assert ExpertLanguage.objects.filter(expert=expert_profile).count() == 2


def test_it_refuses_an_unknown_language(expert, expert_profile):
    with pytest.raises(ApplicationError) as excinfo:
        services.expert_update(
            expert_id=expert_profile.pk,
            by=expert,
            data={"languages": [("fr", "C1"), ("xx", "B2"), ("qq", "C2")]},
        )
    assert excinfo.value.field == "languages"
    assert "qq, xx" in excinfo.value.message


def test_it_refuses_a_language_given_twice(expert, expert_profile):
    with pytest.raises(ApplicationError) as excinfo:
        services.expert_update(
            expert_id=expert_profile.pk,
            by=expert,
            data={"languages": [("fr", "C1"), ("FR ", "B1")]},
        )
    assert excinfo.value.field == "languages"


def test_it_replaces_the_languages_and_normalises_them(expert, expert_profile):
    services.expert_update(
        expert_id=expert_profile.pk,
        by=expert,
        data={"languages": [{"code": " AR", "level": "c2"}, ("es", "b1")]},
    )
    assert sorted(
        ExpertLanguage.objects.filter(expert=expert_profile).values_list("language_id", "level")
    ) == [("ar", "C2"), ("es", "B1")]


def test_it_refuses_a_blank_name(staff, expert_profile):
    with pytest.raises(ApplicationError) as excinfo:
        services.expert_update(expert_id=expert_profile.pk, by=staff, data={"full_name": "  "})
    assert excinfo.value.field == "full_name"


def test_staff_link_only_a_free_expert_account(staff, expert, expert_profile, partner):
    with pytest.raises(ApplicationError) as excinfo:
        services.expert_create(by=staff, data={"full_name": "X", "user": partner})
    assert excinfo.value.field == "user"
    with pytest.raises(ApplicationError, match="already has") as excinfo:
        services.expert_create(by=staff, data={"full_name": "X", "user": expert})
    assert excinfo.value.field == "user"
    assert Expert.objects.count() == 1


def test_it_dates_each_change_of_consent(expert, staff):
    profile = services.expert_create(by=expert, data={"consent_contact": True})
    first = Expert.objects.get(pk=profile.pk).consent_at
    assert first is not None
    services.expert_update(expert_id=profile.pk, by=expert, data={"consent_contact": True})
    assert Expert.objects.get(pk=profile.pk).consent_at == first  # nothing changed
    services.expert_update(expert_id=profile.pk, by=expert, data={"consent_retention": True})
    second = Expert.objects.get(pk=profile.pk)
    assert second.consent_at > first
    assert (second.consent_contact, second.consent_retention) == (True, True)
    services.expert_update(expert_id=profile.pk, by=expert, data={"consent_contact": False})
    third = Expert.objects.get(pk=profile.pk)
    assert (third.consent_contact, third.consent_at > second.consent_at) == (False, True)


def test_no_consent_no_date(expert):
    profile = services.expert_create(by=expert, data={"full_name": "Me"})
    assert Expert.objects.get(pk=profile.pk).consent_at is None


def test_experts_and_needs_share_the_same_skill_rows(need, staff):
    statistics = need.skills.get()
    before = Skill.objects.count()
    someone = make_expert(skills=("Statistics", "  statistics ", "Survey   design"), by=staff)
    assert Skill.objects.count() == before + 1
    assert sorted(s.name for s in someone.skills.all()) == ["Survey design", "statistics"]
    assert someone.skills.get(name="statistics") == statistics
    assert statistics.experts.get() == someone


def test_it_keeps_the_search_document_up_to_date(expert, staff):
    profile = make_expert(
        expert,
        name="Amina Diallo",
        biography="Heads the Census Unit.",
        home_institution="Statistics Office",
        skills=("Sampling",),
        by=staff,
    )
    assert (
        profile.search_document == "amina diallo statistics office heads the census unit. sampling"
    )
    services.expert_update(
        expert_id=profile.pk,
        by=expert,
        data={"biography": "Leads  the\nregister.", "skills": ["Border data"]},
    )
    profile.refresh_from_db()
    assert (
        profile.search_document == "amina diallo statistics office leads the register. border data"
    )
    assert [e.pk for e in selectors.roster_search(staff, {"q": "register"})] == [profile.pk]
    assert list(selectors.roster_search(staff, {"q": "census"})) == []


# --- CV ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("cv.pdf", PDF, "application/pdf"),
        (
            "cv.docx",
            DOCX,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        ("cv.odt", odt(), "application/vnd.oasis.opendocument.text"),
    ],
)
def test_it_stores_a_cv_in_an_accepted_format(expert, expert_profile, name, content, content_type):
    profile = services.expert_cv_upload(
        expert_id=expert_profile.pk, by=expert, upload=upload(name, content)
    )
    profile = Expert.objects.get(pk=profile.pk)
    assert (profile.cv_name, profile.cv_content_type, profile.cv_size) == (
        name,
        content_type,
        len(content),
    )
    assert profile.cv_uploaded_at is not None
    with profile.cv.open("rb") as fh:
        assert fh.read() == content


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("cv.exe", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64, "not an accepted document"),
        ("cv.pdf", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64, "not an accepted document"),
        ("cv.pdf", b"I am a plain text CV, honestly.\n", "not an accepted document"),
        ("cv.docx", PDF, "its name says otherwise"),
        ("cv.pdf", b"", "is empty"),
    ],
    ids=["exe", "renamed-exe", "text-as-pdf", "pdf-as-docx", "empty"],
)
def test_it_refuses_a_cv_that_is_not_what_it_claims(expert, expert_profile, name, content, message):
    with pytest.raises(ApplicationError, match=message) as excinfo:
        services.expert_cv_upload(
            expert_id=expert_profile.pk, by=expert, upload=upload(name, content)
        )
    assert excinfo.value.field == "file"
    assert not Expert.objects.get(pk=expert_profile.pk).cv


def test_it_refuses_a_cv_over_the_size_limit(expert, expert_profile, settings):
    settings.MAX_UPLOAD_BYTES = len(PDF) - 1
    with pytest.raises(ApplicationError, match="the limit is"):
        services.expert_cv_upload(
            expert_id=expert_profile.pk, by=expert, upload=upload("cv.pdf", PDF)
        )
    assert not Expert.objects.get(pk=expert_profile.pk).cv
    settings.MAX_UPLOAD_BYTES = len(PDF)
    services.expert_cv_upload(expert_id=expert_profile.pk, by=expert, upload=upload("cv.pdf", PDF))
    assert Expert.objects.get(pk=expert_profile.pk).cv


def test_a_new_cv_replaces_the_old_file_once_committed(
    expert, expert_profile, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = services.expert_cv_upload(
            expert_id=expert_profile.pk, by=expert, upload=upload("old.pdf", PDF)
        )
    old_path = Path(first.cv.path)
    assert old_path.exists()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        second = services.expert_cv_upload(
            expert_id=expert_profile.pk, by=expert, upload=upload("new.docx", DOCX)
        )
    assert old_path.exists()  # not before the commit
    for callback in callbacks:
        callback()
    assert not old_path.exists()
    assert Path(second.cv.path).exists()
    assert Expert.objects.get(pk=expert_profile.pk).cv_name == "new.docx"


def test_a_refused_cv_keeps_the_old_one(expert, expert_profile, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = services.expert_cv_upload(
            expert_id=expert_profile.pk, by=expert, upload=upload("old.pdf", PDF)
        )
    with pytest.raises(ApplicationError):
        services.expert_cv_upload(
            expert_id=expert_profile.pk, by=expert, upload=upload("new.pdf", b"text")
        )
    assert Path(first.cv.path).exists()
    assert Expert.objects.get(pk=expert_profile.pk).cv_name == "old.pdf"


def test_removing_the_cv_deletes_the_file(
    expert, expert_profile, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = services.expert_cv_upload(
            expert_id=expert_profile.pk, by=expert, upload=upload("cv.pdf", PDF)
        )
        path = Path(first.cv.path)
    with django_capture_on_commit_callbacks(execute=True):
        services.expert_cv_remove(expert_id=expert_profile.pk, by=expert)
    profile = Expert.objects.get(pk=expert_profile.pk)
    assert (bool(profile.cv), profile.cv_name, profile.cv_size) == (False, "", 0)
    assert not path.exists()


@pytest.mark.parametrize("persona", ["partner", "expert2"])
def test_nobody_else_uploads_an_experts_cv(personas, expert2, expert_profile, persona):
    user = expert2 if persona == "expert2" else personas[persona]
    with pytest.raises(NotFound):
        services.expert_cv_upload(
            expert_id=expert_profile.pk, by=user, upload=upload("cv.pdf", PDF)
        )


# --- unavailability ------------------------------------------------------------------------------


def periods(expert: Expert) -> list[tuple[int, int, str]]:
    """The expert's periods as day offsets from today, with notes."""
    today = TODAY()
    return [
        ((p.start_date - today).days, (p.end_date - today).days, p.note)
        for p in Unavailability.objects.filter(expert=expert).order_by("start_date")
    ]


def add(expert: Expert, by: Any, start: int, end: int, note: str = "") -> tuple[Any, int]:
    today = TODAY()
    return services.unavailability_add(
        expert_id=expert.pk,
        by=by,
        start_date=today + timedelta(days=start),
        end_date=today + timedelta(days=end),
        note=note,
    )


def test_it_keeps_separate_periods_apart(expert, expert_profile):
    assert add(expert_profile, expert, 10, 12, "Leave")[1] == 0
    assert add(expert_profile, expert, 14, 15)[1] == 0  # a free day in between
    assert periods(expert_profile) == [(10, 12, "Leave"), (14, 15, "")]


def test_it_merges_an_overlapping_period(expert, expert_profile):
    add(expert_profile, expert, 10, 15, "Leave")
    period, merged = add(expert_profile, expert, 13, 20, "Conference")
    assert merged == 1
    assert periods(expert_profile) == [(10, 20, "Leave; Conference")]
    assert (period.start_date, period.end_date) == (
        TODAY() + timedelta(days=10),
        TODAY() + timedelta(days=20),
    )


def test_it_merges_an_adjacent_period(expert, expert_profile):
    add(expert_profile, expert, 10, 15)
    assert add(expert_profile, expert, 16, 18)[1] == 1
    assert add(expert_profile, expert, 5, 9)[1] == 1
    assert periods(expert_profile) == [(5, 18, "")]


def test_it_merges_every_period_a_new_one_bridges(expert, expert_profile):
    add(expert_profile, expert, 1, 2, "A")
    add(expert_profile, expert, 5, 6, "B")
    add(expert_profile, expert, 9, 10, "C")
    add(expert_profile, expert, 20, 21, "D")
    period, merged = add(expert_profile, expert, 2, 9, "A")
    assert merged == 3
    assert periods(expert_profile) == [(1, 10, "A; B; C"), (20, 21, "D")]
    assert Unavailability.objects.filter(expert=expert_profile).count() == 2
    assert period.pk == Unavailability.objects.filter(expert=expert_profile).first().pk


def test_a_period_inside_another_changes_nothing_but_the_note(expert, expert_profile):
    add(expert_profile, expert, 1, 30)
    assert add(expert_profile, expert, 5, 6, "Surgery")[1] == 1
    assert periods(expert_profile) == [(1, 30, "Surgery")]


def test_it_refuses_a_period_that_ends_before_it_starts(expert, expert_profile):
    with pytest.raises(ApplicationError) as excinfo:
        add(expert_profile, expert, 10, 9)
    assert excinfo.value.field == "end_date"
    assert periods(expert_profile) == []


def test_it_removes_a_period(expert, expert2, expert_profile, expert2_profile):
    period, _merged = add(expert_profile, expert, 1, 2)
    with pytest.raises(NotFound):  # not theirs
        services.unavailability_remove(
            expert_id=expert2_profile.pk, period_id=period.pk, by=expert2
        )
    services.unavailability_remove(expert_id=expert_profile.pk, period_id=period.pk, by=expert)
    assert periods(expert_profile) == []
    with pytest.raises(NotFound):
        services.unavailability_remove(expert_id=expert_profile.pk, period_id=period.pk, by=expert)


# --- vetting -------------------------------------------------------------------------------------


def test_approving_tells_the_expert(expert, staff, django_capture_on_commit_callbacks, mailoutbox):
    profile = make_expert(expert, vetted=False, by=staff)
    with django_capture_on_commit_callbacks(execute=True):
        services.expert_vet(expert_id=profile.pk, by=staff, decision="approve", note="Welcome.")
    profile.refresh_from_db()
    assert (profile.vetting_status, profile.vetted_by, profile.vetting_note) == (
        "approved",
        staff,
        "Welcome.",
    )
    assert profile.vetted_at is not None
    assert recipients("expert_vetted") == ["expert"]
    assert mailed(mailoutbox) == ["expert"]
    assert mailoutbox[0].subject == "You are on the CB Portal expert roster"


def test_rejecting_needs_a_note_and_tells_the_expert_why(
    expert, staff, django_capture_on_commit_callbacks, mailoutbox
):
    profile = make_expert(expert, vetted=False, by=staff)
    with pytest.raises(ApplicationError):
        services.expert_vet(expert_id=profile.pk, by=staff, decision="reject")
    assert Notification.objects.filter(event="expert_vetted").count() == 0
    with django_capture_on_commit_callbacks(execute=True):
        services.expert_vet(
            expert_id=profile.pk, by=staff, decision="reject", note="References missing."
        )
    assert Expert.objects.get(pk=profile.pk).vetting_status == "rejected"
    assert mailed(mailoutbox) == ["expert"]
    assert mailoutbox[0].subject == "Your CB Portal roster application"
    assert "References missing." in mailoutbox[0].body


# --- invitations -------------------------------------------------------------------------------


def test_an_invitation_expires_after_the_configured_days(need, expert_profile, staff, settings):
    settings.DEPLOYMENT_INVITATION_DAYS = 3
    shortlisted = deployment_in("shortlisted", need, expert_profile, staff=staff)
    before = timezone.now()
    deployment = services.deployment_invite(deployment_id=shortlisted.pk, by=staff)
    deployment.refresh_from_db()
    assert deployment.status == "invited"
    assert deployment.invited_by == staff
    assert before <= deployment.invited_at <= timezone.now()
    assert deployment.expires_at - deployment.invited_at == timedelta(days=3)
    assert re.fullmatch(r"[0-9a-f]{32}", deployment.invitation_nonce)


def test_it_invites_only_on_an_approved_action(partner, staff, expert_profile):
    from tests.actions.builders import make_action

    design = make_action(partner, staff)
    shortlisted = services.deployment_shortlist(
        need_id=first_need(design).pk, expert_id=expert_profile.pk, by=staff
    )
    with pytest.raises(TransitionNotAllowed, match="approved action"):
        services.deployment_invite(deployment_id=shortlisted.pk, by=staff)
    assert Deployment.objects.get(pk=shortlisted.pk).status == "shortlisted"


def test_shortlisting_is_idempotent_and_staff_only(need, expert, expert_profile, staff):
    first = services.deployment_shortlist(need_id=need.pk, expert_id=expert_profile.pk, by=staff)
    again = services.deployment_shortlist(need_id=need.pk, expert_id=expert_profile.pk, by=staff)
    assert first.pk == again.pk
    assert Deployment.objects.count() == 1
    with pytest.raises(TransitionForbidden):
        services.deployment_shortlist(need_id=need.pk, expert_id=expert_profile.pk, by=expert)


def test_shortlisting_takes_the_match_score(
    need, expert_profile, staff, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.match_queue(need_id=need.pk, by=staff)
    score = MatchResult.objects.get(need=need, expert=expert_profile).score
    deployment = services.deployment_shortlist(
        need_id=need.pk, expert_id=expert_profile.pk, by=staff
    )
    assert deployment.score == score


def test_the_invited_expert_accepts_and_the_case_officer_hears(
    need, expert, expert_profile, staff, django_capture_on_commit_callbacks, mailoutbox
):
    invited = deployment_in("invited", need, expert_profile, staff=staff)
    with django_capture_on_commit_callbacks(execute=True):
        services.deployment_accept(deployment_id=invited.pk, by=expert, comment="Glad to help.")
    deployment = Deployment.objects.get(pk=invited.pk)
    assert (deployment.status, deployment.invitation_nonce) == ("accepted", "")
    assert deployment.responded_at is not None
    assert recipients("deployment_accepted") == ["staff"]
    assert mailed(mailoutbox) == ["staff"]
    reference = need.activity.action.reference
    assert mailoutbox[0].subject == f"Amina Diallo accepted the invitation ({reference})"
    assert "Glad to help." in mailoutbox[0].body


def test_only_the_invited_expert_answers(need, expert2, expert2_profile, expert_profile, staff):
    invited = deployment_in("invited", need, expert_profile, staff=staff)
    with pytest.raises(NotFound):  # another expert does not even see it
        services.deployment_accept(deployment_id=invited.pk, by=expert2)
    with pytest.raises(TransitionForbidden):
        services.deployment_accept(deployment_id=invited.pk, by=staff)
    assert Deployment.objects.get(pk=invited.pk).status == "invited"


def test_declining_needs_a_reason_the_case_officer_reads(
    need, expert, expert_profile, staff, django_capture_on_commit_callbacks, mailoutbox
):
    invited = deployment_in("invited", need, expert_profile, staff=staff)
    with pytest.raises(ApplicationError) as excinfo:
        services.deployment_decline(deployment_id=invited.pk, by=expert, reason="  ")
    assert excinfo.value.field == "comment"
    assert Deployment.objects.get(pk=invited.pk).status == "invited"
    with django_capture_on_commit_callbacks(execute=True):
        services.deployment_decline(deployment_id=invited.pk, by=expert, reason=REASON)
    deployment = Deployment.objects.get(pk=invited.pk)
    assert (deployment.status, deployment.decline_reason) == ("declined", REASON)
    assert recipients("deployment_declined") == ["staff"]
    assert REASON in email_to(mailoutbox, "staff").body


def test_accepting_after_the_expiry_date_is_refused_with_a_message(
    need, expert, expert_profile, staff
):
    invited = deployment_in("invited", need, expert_profile, staff=staff)
    Deployment.objects.filter(pk=invited.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    with pytest.raises(TransitionNotAllowed) as excinfo:
        services.deployment_accept(deployment_id=invited.pk, by=expert)
    assert excinfo.value.status_code == 409
    assert excinfo.value.message.startswith("This invitation expired on ")
    assert Deployment.objects.get(pk=invited.pk).status == "invited"


@pytest.mark.parametrize("state", ["cancelled", "expired", "declined"])
def test_accepting_a_closed_invitation_is_refused_with_a_message(
    need, expert, expert_profile, staff, state
):
    deployment = deployment_in(state, need, expert_profile, staff=staff)
    with pytest.raises(TransitionNotAllowed) as excinfo:
        services.deployment_accept(deployment_id=deployment.pk, by=expert)
    assert excinfo.value.status_code == 409
    assert "is not possible" in excinfo.value.message
    assert Deployment.objects.get(pk=deployment.pk).status == state


# --- expiry ----------------------------------------------------------------------------------


def test_the_expiry_job_expires_only_past_due_invitations(
    need,
    partner,
    staff,
    approver,
    expert_profile,
    expert2_profile,
    django_capture_on_commit_callbacks,
    mailoutbox,
):
    past = timezone.now() - timedelta(minutes=5)
    due = deployment_in("invited", need, expert_profile, staff=staff)
    not_yet = deployment_in("invited", need, expert2_profile, staff=staff)
    third = make_expert(name="Third", by=staff)
    answered = deployment_in("accepted", need, third, staff=staff)
    Deployment.objects.filter(pk__in=[due.pk, answered.pk]).update(expires_at=past)

    with django_capture_on_commit_callbacks(execute=True):
        assert services.deployments_expire_due() == 1
    statuses = dict(Deployment.objects.values_list("pk", "status"))
    assert (statuses[due.pk], statuses[not_yet.pk], statuses[answered.pk]) == (
        "expired",
        "invited",
        "accepted",
    )
    assert Deployment.objects.get(pk=due.pk).invitation_nonce == ""
    assert recipients("deployment_expired") == ["staff"]
    assert mailed(mailoutbox) == ["staff"]
    assert mailoutbox[0].subject == (
        f"Invitation of Amina Diallo expired ({need.activity.action.reference})"
    )
    event = events_for(due).last()
    assert (event.transition, event.actor_name) == ("expire", "system")

    with django_capture_on_commit_callbacks(execute=True):
        assert services.deployments_expire_due() == 0
    assert Notification.objects.filter(event="deployment_expired").count() == 1
    assert len(mailoutbox) == 1
    assert events_for(due).filter(transition="expire").count() == 1


def test_the_expiry_task_runs_the_job(need, expert_profile, staff):
    from experts.tasks import expire_invitations

    due = deployment_in("invited", need, expert_profile, staff=staff)
    Deployment.objects.filter(pk=due.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert expire_invitations.delay().get() == 1
    assert Deployment.objects.get(pk=due.pk).status == "expired"


def test_the_expiry_job_takes_the_time_it_is_given(need, expert_profile, staff, settings):
    settings.DEPLOYMENT_INVITATION_DAYS = 7
    due = deployment_in("invited", need, expert_profile, staff=staff)
    assert services.deployments_expire_due(now=timezone.now() + timedelta(days=6)) == 0
    assert services.deployments_expire_due(now=timezone.now() + timedelta(days=8)) == 1
    assert Deployment.objects.get(pk=due.pk).status == "expired"


# --- confirmation ------------------------------------------------------------------------------


def test_confirming_takes_the_activity_dates_and_the_needs_days_by_default(
    need, partner, expert_profile, staff, django_capture_on_commit_callbacks, mailoutbox
):
    need = week_long(need)
    accepted = deployment_in("accepted", need, expert_profile, staff=staff)
    with django_capture_on_commit_callbacks(execute=True):
        services.deployment_confirm(deployment_id=accepted.pk, by=staff)
    deployment = Deployment.objects.get(pk=accepted.pk)
    activity = need.activity
    assert (deployment.status, deployment.start_date, deployment.end_date) == (
        "confirmed",
        activity.start_date,
        activity.end_date,
    )
    assert deployment.expert_days == need.expert_days == 5
    assert (deployment.confirmed_by, deployment.confirmed_at is not None) == (staff, True)
    assert recipients("deployment_confirmed") == ["expert", "partner"]
    assert mailed(mailoutbox) == ["expert", "partner"]
    assert mailoutbox[0].subject == f"Mission confirmed — {need.activity.action.reference}"
    assert "(5 expert-days)" in mailoutbox[0].body


def test_confirming_takes_the_dates_staff_give(need, expert_profile, staff):
    need = week_long(need)
    accepted = deployment_in("accepted", need, expert_profile, staff=staff)
    start = need.activity.start_date + timedelta(days=1)
    services.deployment_confirm(
        deployment_id=accepted.pk,
        by=staff,
        start_date=start,
        end_date=start + timedelta(days=2),
        expert_days=3,
    )
    deployment = Deployment.objects.get(pk=accepted.pk)
    assert (deployment.start_date, deployment.end_date, deployment.expert_days) == (
        start,
        start + timedelta(days=2),
        3,
    )


@pytest.mark.parametrize(
    ("offsets", "days", "field"),
    [
        ((0, 2), 4, "expert_days"),  # 4 expert-days in 3 calendar days
        ((0, 0), 0, "expert_days"),
        ((3, 1), 1, "end_date"),
    ],
    ids=["too-many-days", "no-day", "end-before-start"],
)
def test_confirming_refuses_days_that_do_not_fit(need, expert_profile, staff, offsets, days, field):
    need = week_long(need)
    accepted = deployment_in("accepted", need, expert_profile, staff=staff)
    start = need.activity.start_date
    with pytest.raises(ApplicationError) as excinfo:
        services.deployment_confirm(
            deployment_id=accepted.pk,
            by=staff,
            start_date=start + timedelta(days=offsets[0]),
            end_date=start + timedelta(days=offsets[1]),
            expert_days=days,
        )
    assert type(excinfo.value) is ApplicationError
    assert field in excinfo.value.errors
    assert Deployment.objects.get(pk=accepted.pk).status == "accepted"


def test_the_need_days_are_capped_by_the_mission_when_staff_give_none(need, expert_profile, staff):
    # The builder's activity lasts one day and its need asks for 5 expert-days: the default
    # fits the mission instead of proposing a value that would be refused.
    accepted = deployment_in("accepted", need, expert_profile, staff=staff)
    services.deployment_confirm(deployment_id=accepted.pk, by=staff)
    assert Deployment.objects.get(pk=accepted.pk).expert_days == 1


def test_confirming_refuses_an_overlap_and_names_the_clash(
    need, partner2, staff, approver, expert_profile, mailoutbox
):
    elsewhere = other_need(partner2, staff, approver)
    booked = deployment_in("confirmed", elsewhere, expert_profile, staff=staff)
    accepted = deployment_in("accepted", need, expert_profile, staff=staff)
    with pytest.raises(TransitionNotAllowed) as excinfo:
        services.deployment_confirm(deployment_id=accepted.pk, by=staff, expert_days=1)
    message = excinfo.value.message
    assert "Amina Diallo is already booked" in message
    assert elsewhere.activity.action.reference in message
    assert str(booked.start_date) in message and str(booked.end_date) in message
    assert Deployment.objects.get(pk=accepted.pk).status == "accepted"
    assert Deployment.objects.filter(expert=expert_profile, status="confirmed").count() == 1


def test_a_completed_mission_also_holds_the_calendar(
    need, partner2, staff, approver, expert_profile
):
    elsewhere = other_need(partner2, staff, approver)
    done = deployment_in("completed", elsewhere, expert_profile, staff=staff)
    accepted = deployment_in("accepted", need, expert_profile, staff=staff)
    with pytest.raises(TransitionNotAllowed, match="already booked"):
        services.deployment_confirm(
            deployment_id=accepted.pk,
            by=staff,
            start_date=done.start_date,
            end_date=done.end_date,
            expert_days=1,
        )


def test_back_to_back_missions_are_allowed(need, partner2, staff, approver, expert_profile):
    start = need.activity.start_date
    elsewhere = other_need(partner2, staff, approver)
    deployment_in(
        "confirmed",
        elsewhere,
        expert_profile,
        staff=staff,
        start=start - timedelta(days=3),
        end=start - timedelta(days=1),
    )
    accepted = deployment_in("accepted", need, expert_profile, staff=staff)
    services.deployment_confirm(deployment_id=accepted.pk, by=staff, expert_days=1)
    assert Deployment.objects.filter(expert=expert_profile, status="confirmed").count() == 2


def test_another_experts_mission_is_no_clash(
    need, partner2, staff, approver, expert_profile, expert2_profile
):
    deployment_in("confirmed", other_need(partner2, staff, approver), expert2_profile, staff=staff)
    accepted = deployment_in("accepted", need, expert_profile, staff=staff)
    services.deployment_confirm(deployment_id=accepted.pk, by=staff, expert_days=1)
    assert Deployment.objects.get(pk=accepted.pk).status == "confirmed"


def test_confirming_refuses_dates_the_expert_marked_unavailable(
    need, expert, expert_profile, staff
):
    accepted = deployment_in("accepted", need, expert_profile, staff=staff)
    day = need.activity.start_date
    services.unavailability_add(
        expert_id=expert_profile.pk, by=expert, start_date=day, end_date=day + timedelta(days=4)
    )
    with pytest.raises(TransitionNotAllowed, match="Amina Diallo is unavailable from"):
        services.deployment_confirm(deployment_id=accepted.pk, by=staff, expert_days=1)
    assert Deployment.objects.get(pk=accepted.pk).status == "accepted"


# --- mission reports ---------------------------------------------------------------------------


@pytest.fixture
def mission(need, expert_profile, staff):
    """A confirmed mission of the ``expert`` persona that ran over the last three days."""
    return in_the_past(deployment_in("confirmed", need, expert_profile, staff=staff), days=3)


def test_the_deployed_expert_files_the_report_and_the_case_officer_hears(
    mission, expert, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=True):
        filed = report(mission, expert, summary="  Trained 15 analysts.  ", days_worked=3)
    filed = MissionReport.objects.get(pk=filed.pk)
    assert (filed.summary, filed.days_worked, filed.submitted_by) == (
        "Trained 15 analysts.",
        3,
        expert,
    )
    assert recipients("mission_report_submitted") == ["staff"]
    assert mailed(mailoutbox) == ["staff"]
    assert mailoutbox[0].subject.startswith("Mission report from Amina Diallo")


def test_correcting_the_report_keeps_one_and_notifies_once(
    mission, expert, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=True):
        first = report(mission, expert)
    with django_capture_on_commit_callbacks(execute=True):
        second = report(mission, expert, summary="Trained 16 analysts.")
    assert first.pk == second.pk
    assert MissionReport.objects.filter(deployment=mission).count() == 1
    assert MissionReport.objects.get(pk=first.pk).summary == "Trained 16 analysts."
    assert MissionReport.objects.get(pk=first.pk).submitted_at == first.submitted_at
    assert Notification.objects.filter(event="mission_report_submitted").count() == 1
    assert len(mailoutbox) == 1


def test_only_the_deployed_expert_files_the_report(
    mission, staff, expert2, expert2_profile, partner
):
    with pytest.raises(TransitionForbidden):
        report(mission, staff)
    with pytest.raises(NotFound):
        report(mission, expert2)
    with pytest.raises(TransitionForbidden):  # the partner sees the confirmed mission
        report(mission, partner)
    assert not MissionReport.objects.exists()


def test_a_report_is_for_a_confirmed_mission(need, expert, expert_profile, staff):
    accepted = deployment_in("accepted", need, expert_profile, staff=staff)
    with pytest.raises(TransitionNotAllowed, match="confirmed mission"):
        report(accepted, expert)
    assert not MissionReport.objects.exists()


def test_a_report_waits_for_the_mission_to_start(need, expert, expert_profile, staff):
    confirmed = deployment_in("confirmed", need, expert_profile, staff=staff)
    with pytest.raises(TransitionNotAllowed, match="once it has taken place"):
        report(confirmed, expert)
    Deployment.objects.filter(pk=confirmed.pk).update(start_date=TODAY(), end_date=TODAY())
    report(confirmed, expert, days_worked=1)  # from its first day on
    assert MissionReport.objects.filter(deployment=confirmed).exists()


def test_a_report_with_missing_parts_says_which(mission, expert):
    with pytest.raises(ApplicationError) as excinfo:
        report(mission, expert, summary=" ", outputs="", recommendations=None, days_worked=0)
    assert sorted(excinfo.value.errors) == ["days_worked", "outputs", "recommendations", "summary"]
    with pytest.raises(ApplicationError) as excinfo:
        report(mission, expert, days_worked=None)
    assert list(excinfo.value.errors) == ["days_worked"]
    assert not MissionReport.objects.exists()


def test_a_report_cannot_claim_more_days_than_the_mission_lasted(mission, expert):
    with pytest.raises(ApplicationError) as excinfo:
        report(mission, expert, days_worked=4)
    assert excinfo.value.errors["days_worked"] == ["The mission lasted 3 calendar days."]
    report(mission, expert, days_worked=3)
    assert MissionReport.objects.get(deployment=mission).days_worked == 3


def test_report_attachments_are_checked_and_stored(mission, expert):
    with pytest.raises(ApplicationError, match="not an accepted document"):
        report(
            mission,
            expert,
            attachments=[upload("photos.pdf", PDF), upload("slides.pdf", b"MZ\x90\x00 not a pdf")],
        )
    assert not MissionReport.objects.exists()
    assert not ReportAttachment.objects.exists()
    filed = report(
        mission, expert, attachments=[upload("Agenda final.pdf", PDF), upload("notes.docx", DOCX)]
    )
    stored = sorted(filed.attachments.values_list("original_name", "content_type", "size"))
    assert stored == [
        ("Agenda_final.pdf", "application/pdf", len(PDF)),
        (
            "notes.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            len(DOCX),
        ),
    ]
    for attachment in filed.attachments.all():
        assert Path(attachment.file.path).exists()


def test_it_reminds_the_expert_when_the_report_is_overdue(
    mission, expert, settings, django_capture_on_commit_callbacks, mailoutbox
):
    """Once on the day it falls due, not again within the cadence (see test_reminders.py)."""
    settings.MISSION_REPORT_DUE_DAYS = 2
    settings.REMINDERS = {**settings.REMINDERS, "mission_report_due": {"every_days": 7}}
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.mission_reports_remind(now=now) == 0  # ended yesterday: not due yet
        assert services.mission_reports_remind(now=now + timedelta(days=1)) == 1
        assert services.mission_reports_remind(now=now + timedelta(days=5)) == 0
    assert recipients("mission_report_due") == ["expert"]
    assert mailed(mailoutbox) == ["expert"]
    assert mailoutbox[0].subject.startswith("Your mission report is due")


def test_it_reminds_nobody_who_filed_the_report(mission, expert, settings):
    settings.MISSION_REPORT_DUE_DAYS = 0
    report(mission, expert)
    assert services.mission_reports_remind() == 0


# --- completion and rating ------------------------------------------------------------------------


def test_completion_needs_the_report(mission, expert, staff):
    with pytest.raises(TransitionNotAllowed, match="mission report"):
        services.deployment_complete(deployment_id=mission.pk, by=staff)
    report(mission, expert)
    services.deployment_complete(deployment_id=mission.pk, by=staff)
    deployment = Deployment.objects.get(pk=mission.pk)
    assert (deployment.status, deployment.completed_at is not None) == ("completed", True)


def test_staff_rate_a_completed_mission_and_it_feeds_the_track_record(
    need, partner2, staff, approver, expert_profile
):
    first = deployment_in("completed", need, expert_profile, staff=staff)
    services.deployment_rate(deployment_id=first.pk, by=staff, rating=4, note=" Solid. ")
    expert = Expert.objects.get(pk=expert_profile.pk)
    assert (expert.rating_sum, expert.rating_count, expert.average_rating) == (4, 1, 4.0)
    stored = Deployment.objects.get(pk=first.pk)
    assert (stored.rating, stored.rating_note, stored.rated_by) == (4, "Solid.", staff)

    # A second mission elsewhere, on other dates.
    Deployment.objects.filter(pk=first.pk).update(
        start_date=TODAY() - timedelta(days=100), end_date=TODAY() - timedelta(days=100)
    )
    second = deployment_in(
        "completed", other_need(partner2, staff, approver), expert_profile, staff=staff
    )
    services.deployment_rate(deployment_id=second.pk, by=staff, rating="5")
    services.deployment_rate(deployment_id=first.pk, by=staff, rating=2)  # corrected
    expert = Expert.objects.get(pk=expert_profile.pk)
    assert (expert.rating_sum, expert.rating_count) == (7, 2)


@pytest.mark.parametrize("rating", [0, 6, -1, "five", None])
def test_a_rating_is_between_one_and_five(need, staff, expert_profile, rating):
    completed = deployment_in("completed", need, expert_profile, staff=staff)
    with pytest.raises(ApplicationError) as excinfo:
        services.deployment_rate(deployment_id=completed.pk, by=staff, rating=rating)
    assert excinfo.value.field == "rating"
    assert Deployment.objects.get(pk=completed.pk).rating is None
    assert Expert.objects.get(pk=expert_profile.pk).rating_count == 0


def test_only_a_completed_mission_is_rated_and_only_by_staff(
    need, staff, partner, expert, expert_profile
):
    confirmed = deployment_in("reported", need, expert_profile, staff=staff)
    with pytest.raises(TransitionNotAllowed, match="once it is completed"):
        services.deployment_rate(deployment_id=confirmed.pk, by=staff, rating=5)
    services.deployment_complete(deployment_id=confirmed.pk, by=staff)
    for user in (partner, expert):
        with pytest.raises(TransitionForbidden):
            services.deployment_rate(deployment_id=confirmed.pk, by=user, rating=5)
    assert Expert.objects.get(pk=expert_profile.pk).rating_count == 0


# --- cancellation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "told"),
    [
        ("shortlisted", []),
        ("invited", ["expert"]),
        ("accepted", ["expert"]),
        ("confirmed", ["expert", "partner"]),
    ],
)
def test_cancelling_tells_the_expert_and_for_a_confirmed_mission_the_partner(
    need,
    expert_profile,
    staff,
    state,
    told,
    partner2,
    django_capture_on_commit_callbacks,
    mailoutbox,
):
    deployment = deployment_in(state, need, expert_profile, staff=staff)
    with django_capture_on_commit_callbacks(execute=True):
        services.deployment_cancel(deployment_id=deployment.pk, by=staff, reason=REASON)
    deployment = Deployment.objects.get(pk=deployment.pk)
    assert (deployment.status, deployment.status_before_cancel, deployment.cancel_reason) == (
        "cancelled",
        state,
        REASON,
    )
    assert deployment.invitation_nonce == ""
    assert recipients("deployment_cancelled") == told
    assert mailed(mailoutbox) == told
    for message in mailoutbox:
        assert REASON in message.body


def test_cancelling_needs_a_reason(need, expert_profile, staff):
    deployment = deployment_in("confirmed", need, expert_profile, staff=staff)
    with pytest.raises(ApplicationError) as excinfo:
        services.deployment_cancel(deployment_id=deployment.pk, by=staff, reason="")
    assert excinfo.value.field == "comment"
    assert Deployment.objects.get(pk=deployment.pk).status == "confirmed"


def test_cancelling_an_action_cancels_its_open_deployments_and_tells_each_expert_once(
    action,
    need,
    partner,
    staff,
    expert,
    expert_profile,
    expert2_profile,
    django_capture_on_commit_callbacks,
    mailoutbox,
):
    second_need = ExpertiseNeed.objects.create(
        activity=need.activity, thematic_area=need.thematic_area, expert_days=1
    )
    shortlisted_user = UserFactory(username="shortlisted", expert=True)
    shortlisted = make_expert(shortlisted_user, name="Shortlisted", by=staff)
    deployments = {
        "amina_confirmed": deployment_in("confirmed", need, expert_profile, staff=staff),
        "amina_invited": deployment_in("invited", second_need, expert_profile, staff=staff),
        "jan_accepted": deployment_in("accepted", need, expert2_profile, staff=staff),
        "shortlisted": deployment_in("shortlisted", need, shortlisted, staff=staff),
    }
    with django_capture_on_commit_callbacks(execute=True):
        actions.action_cancel(action_id=action.pk, by=staff, reason="Funding ended.")

    statuses = {name: Deployment.objects.get(pk=d.pk) for name, d in deployments.items()}
    assert {name: d.status for name, d in statuses.items()} == dict.fromkeys(
        deployments, "cancelled"
    )
    assert {name: d.status_before_cancel for name, d in statuses.items()} == {
        "amina_confirmed": "confirmed",
        "amina_invited": "invited",
        "jan_accepted": "accepted",
        "shortlisted": "shortlisted",
    }
    assert all(d.cancel_reason == "Funding ended." for d in statuses.values())
    assert recipients("action_cancelled") == ["expert", "expert2", "partner"]
    assert recipients("deployment_cancelled") == []
    assert mailed(mailoutbox) == ["expert", "expert2", "partner"]
    for d in deployments.values():
        assert events_for(d).filter(transition="cancel").count() == 1


def test_cancelling_an_action_leaves_completed_missions_alone(action, need, staff, expert_profile):
    done = deployment_in("completed", need, expert_profile, staff=staff)
    actions.action_cancel(action_id=action.pk, by=staff, reason="Funding ended.")
    assert Deployment.objects.get(pk=done.pk).status == "completed"


# --- matching runs -------------------------------------------------------------------------------


@pytest.fixture
def candidates(need, staff, expert_profile, expert2_profile):
    """Amina (the best fit), Jan (EU, experience in Morocco) and two who are excluded."""
    make_expert(name="No French", languages=(("en", "C2"),), by=staff)
    make_expert(name="Inactive", active=False, by=staff)
    return {"amina": expert_profile, "jan": expert2_profile}


def run_match(need: Any, by: Any, capture: Any) -> MatchJob:
    with capture(execute=True):
        job = services.match_queue(need_id=need.pk, by=by)
    return MatchJob.objects.get(pk=job.pk)


def test_matching_stores_the_ranked_shortlist_with_its_reasons(
    need, staff, candidates, django_capture_on_commit_callbacks, settings
):
    job = run_match(need, staff, django_capture_on_commit_callbacks)
    assert job.status == "done"
    assert (job.roster_size, job.candidates) == (4, 2)
    assert job.exclusions == {
        "inactive_or_unvetted": 1,
        "language": 1,
        "unavailable": 0,
        "conflict_of_interest": 0,
        "already_invited": 0,
    }
    assert job.weights == dict(settings.MATCHING_WEIGHTS)
    assert job.requested_by == staff
    assert job.started_at <= job.finished_at and job.duration_ms is not None

    rows = list(MatchResult.objects.filter(need=need).order_by("rank"))
    assert [(r.rank, r.expert_id) for r in rows] == [
        (1, candidates["amina"].pk),
        (2, candidates["jan"].pk),
    ]
    assert rows[0].score > rows[1].score
    assert all(r.job_id == job.pk for r in rows)
    amina = rows[0]
    assert set(amina.components) == set(matching.COMPONENTS)
    assert amina.components["thematic"] == 1.0 and amina.components["experience"] == 1.0
    assert amina.explanation["experience"] == {"where": "country"}
    assert amina.explanation["skills"]["asked"] == 1
    assert amina.explanation["origin"]["same_region"] is True
    jan = rows[1]
    assert jan.explanation["experience"] == {"where": "subregion"}
    assert jan.components["origin"] == 0.0  # an EU administration, a peer was asked for
    # The stored score is the weighted mean of the stored components.
    shares = matching.normalised_weights(job.weights)
    for row in rows:
        assert row.score == pytest.approx(
            100 * sum(shares[name] * value for name, value in row.components.items()), abs=0.01
        )
    assert list(selectors.shortlist(need)) == rows


def test_rerunning_replaces_the_shortlist_as_a_whole(
    need, staff, candidates, django_capture_on_commit_callbacks
):
    first = run_match(need, staff, django_capture_on_commit_callbacks)
    old_ids = set(MatchResult.objects.values_list("pk", flat=True))
    deployment_in("invited", need, candidates["jan"], staff=staff)
    second = run_match(need, staff, django_capture_on_commit_callbacks)
    rows = list(MatchResult.objects.filter(need=need))
    assert [r.expert_id for r in rows] == [candidates["amina"].pk]
    assert {r.job_id for r in rows} == {second.pk}
    assert not old_ids & {r.pk for r in rows}
    assert second.exclusions["already_invited"] == 1
    assert selectors.latest_job(need.pk) == second
    assert MatchJob.objects.get(pk=first.pk).status == "done"


def test_a_failed_run_keeps_the_previous_shortlist(
    need, staff, candidates, django_capture_on_commit_callbacks, monkeypatch
):
    first = run_match(need, staff, django_capture_on_commit_callbacks)
    before = list(MatchResult.objects.values_list("pk", "rank", "expert_id", "job_id"))

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("scoring exploded")

    monkeypatch.setattr(matching, "rank", broken)
    with pytest.raises(RuntimeError):
        run_match(need, staff, django_capture_on_commit_callbacks)
    failed = MatchJob.objects.exclude(pk=first.pk).get()
    assert (failed.status, failed.error) == ("failed", "scoring exploded")
    assert list(MatchResult.objects.values_list("pk", "rank", "expert_id", "job_id")) == before


def test_a_finished_job_run_again_changes_nothing(
    need, staff, candidates, django_capture_on_commit_callbacks
):
    job = run_match(need, staff, django_capture_on_commit_callbacks)
    before = list(MatchResult.objects.values_list("pk", flat=True))
    finished_at = job.finished_at
    again = services.match_run(job_id=job.pk)
    assert again.finished_at == finished_at
    assert list(MatchResult.objects.values_list("pk", flat=True)) == before


def test_the_shortlist_keeps_the_configured_size(
    need, staff, candidates, django_capture_on_commit_callbacks, settings
):
    settings.MATCH_SHORTLIST_SIZE = 1
    job = run_match(need, staff, django_capture_on_commit_callbacks)
    assert job.candidates == 2
    assert list(MatchResult.objects.values_list("expert_id", flat=True)) == [candidates["amina"].pk]


@pytest.mark.parametrize("state", ["completed", "closed", "cancelled"])
def test_matching_is_refused_for_a_finished_action(action, need, staff, state):
    action.__class__.objects.filter(pk=action.pk).update(status=state)
    with pytest.raises(TransitionNotAllowed, match="still to be implemented"):
        services.match_queue(need_id=need.pk, by=staff)
    assert not MatchJob.objects.exists()


@pytest.mark.parametrize("persona", ["partner", "partner2", "expert", "evaluator"])
def test_only_staff_run_matching(personas, need, persona):
    with pytest.raises(TransitionForbidden):
        services.match_queue(need_id=need.pk, by=personas[persona])
    assert not MatchJob.objects.exists()


def test_matching_an_unknown_need_is_not_found(staff):
    with pytest.raises(NotFound):
        services.match_queue(need_id=987654, by=staff)


# --- personal data -------------------------------------------------------------------------------


@pytest.fixture
def history(
    need, partner2, staff, approver, expert, expert_profile, django_capture_on_commit_callbacks
):
    """The ``expert`` persona with a CV, a period away, a completed and rated mission with
    its report, an open invitation and a few notifications."""
    with django_capture_on_commit_callbacks(execute=True):
        services.expert_cv_upload(
            expert_id=expert_profile.pk, by=expert, upload=upload("cv.pdf", PDF)
        )
        services.unavailability_add(
            expert_id=expert_profile.pk,
            by=expert,
            start_date=TODAY() + timedelta(days=200),
            end_date=TODAY() + timedelta(days=210),
            note="Parental leave",
        )
        done = deployment_in("completed", need, expert_profile, staff=staff)
        services.deployment_rate(deployment_id=done.pk, by=staff, rating=5, note="Excellent.")
        invited = deployment_in(
            "invited", other_need(partner2, staff, approver), expert_profile, staff=staff
        )
    return {"done": Deployment.objects.get(pk=done.pk), "invited": invited}


def test_the_export_holds_everything_about_the_expert(history, expert, expert_profile):
    data = services.expert_export(expert_id=expert_profile.pk, by=expert)
    profile = data["profile"]
    assert (profile["id"], profile["full_name"], profile["email"]) == (
        expert_profile.pk,
        "Amina Diallo",
        "expert@example.org",
    )
    assert (profile["nationality"], profile["administration_type"]) == ("SN", "partner_country")
    assert sorted((lang["code"], lang["level"]) for lang in profile["languages"]) == [
        ("en", "B2"),
        ("fr", "C1"),
    ]
    assert (profile["skills"], profile["thematic_areas"], profile["countries_of_experience"]) == (
        ["statistics"],
        ["data"],
        ["TN"],
    )
    assert profile["unavailability"][0]["note"] == "Parental leave"
    assert profile["cv"]["file_name"] == "cv.pdf"
    assert (profile["consent_contact"], profile["vetting_status"]) == (True, "approved")
    assert [e["transition"] for e in data["profile_history"]] == ["approve"]

    done = next(d for d in data["deployments"] if d["id"] == history["done"].pk)
    assert (done["status"], done["rating"], done["rating_note"]) == ("completed", 5, "Excellent.")
    assert done["report"]["summary"] == "Trained 15 analysts."
    assert done["report"]["days_worked"] == 1
    assert done["start_date"] == history["done"].start_date.isoformat()
    invited = next(d for d in data["deployments"] if d["id"] == history["invited"].pk)
    assert (invited["status"], invited["report"]) == ("invited", None)

    assert data["account"]["username"] == "expert"
    assert data["account"]["email"] == "expert@example.org"
    events = {n["event"] for n in data["notifications"]}
    assert {"expert_vetted", "deployment_invited", "deployment_confirmed"} <= events
    json.dumps(data)  # JSON-ready as it is


def test_staff_export_too_but_nobody_else(
    history, staff, expert2, expert2_profile, partner, expert_profile
):
    assert services.expert_export(expert_id=expert_profile.pk, by=staff)["profile"]["id"] == (
        expert_profile.pk
    )
    for user in (expert2, partner):
        with pytest.raises(NotFound):
            services.expert_export(expert_id=expert_profile.pk, by=user)


def test_the_expert_asks_for_deletion_and_staff_hear_once(
    expert, expert_profile, staff, approver, django_capture_on_commit_callbacks, mailoutbox
):
    with pytest.raises(TransitionForbidden):
        services.expert_request_deletion(expert_id=expert_profile.pk, by=staff)
    with django_capture_on_commit_callbacks(execute=True):
        services.expert_request_deletion(expert_id=expert_profile.pk, by=expert)
    asked = Expert.objects.get(pk=expert_profile.pk).deletion_requested_at
    assert asked is not None
    assert recipients("expert_deletion_requested") == ["approver", "staff"]
    assert mailed(mailoutbox) == ["approver", "staff"]
    assert mailoutbox[0].subject == "Amina Diallo asks for their data to be deleted"
    with django_capture_on_commit_callbacks(execute=True):
        services.expert_request_deletion(expert_id=expert_profile.pk, by=expert)
    assert Expert.objects.get(pk=expert_profile.pk).deletion_requested_at == asked
    assert len(mailoutbox) == 2
    assert list(selectors.deletion_requests(staff)) == [expert_profile]


def test_anonymising_deletes_the_personal_data_and_keeps_the_history(
    history, expert, expert_profile, staff, django_capture_on_commit_callbacks
):
    cv_path = Path(Expert.objects.get(pk=expert_profile.pk).cv.path)
    assert cv_path.exists()
    with pytest.raises(TransitionForbidden):
        services.expert_anonymise(expert_id=expert_profile.pk, by=expert)
    with django_capture_on_commit_callbacks(execute=True):
        services.expert_anonymise(expert_id=expert_profile.pk, by=staff)

    gone = Expert.objects.get(pk=expert_profile.pk)
    assert gone.full_name == f"Former expert #{gone.pk}"
    assert (gone.email, gone.phone, gone.home_institution, gone.biography) == ("", "", "", "")
    assert (gone.nationality, gone.residence, gone.organisation, gone.user) == (
        None,
        None,
        None,
        None,
    )
    assert (gone.is_active, gone.consent_contact, gone.consent_retention) == (False, False, False)
    assert gone.anonymised_at is not None and gone.search_document == ""
    assert (bool(gone.cv), gone.cv_name) == (False, "")
    assert not cv_path.exists()
    assert not gone.languages.exists() and not gone.unavailability.exists()
    assert not gone.skills.exists() and not gone.thematic_areas.exists()
    assert not gone.countries_of_experience.exists()

    account = type(expert).objects.get(pk=expert.pk)
    assert account.username.startswith(f"deleted-expert-{gone.pk}-")
    assert (account.is_active, account.email, account.first_name, account.last_name) == (
        False,
        "",
        "",
        "",
    )
    assert not account.has_usable_password()
    assert not Notification.objects.filter(recipient=account).exists()

    done = Deployment.objects.get(pk=history["done"].pk)
    assert (done.status, done.start_date, done.end_date, done.rating) == (
        "completed",
        history["done"].start_date,
        history["done"].end_date,
        5,
    )
    assert done.rating_note == ""
    assert MissionReport.objects.get(deployment=done).submitted_by is None
    invited = Deployment.objects.get(pk=history["invited"].pk)
    assert (invited.status, invited.status_before_cancel) == ("cancelled", "invited")
    assert list(selectors.roster_search(staff, {})) == []


def test_anonymising_leaves_no_name_in_the_deployment_timeline(
    need, expert, expert_profile, staff, expert2_profile
):
    expert.first_name, expert.last_name = "Amina", "Diallo"
    expert.save(update_fields=["first_name", "last_name"])
    done = deployment_in("completed", need, expert_profile, staff=staff)
    services.expert_anonymise(expert_id=expert_profile.pk, by=staff)
    names = list(events_for(done).values_list("actor_name", flat=True))
    assert "Amina Diallo" not in names, names


def test_anonymising_waits_for_a_confirmed_mission(need, expert_profile, staff):
    deployment_in("confirmed", need, expert_profile, staff=staff)
    with pytest.raises(TransitionNotAllowed, match="confirmed mission"):
        services.expert_anonymise(expert_id=expert_profile.pk, by=staff)
    assert Expert.objects.get(pk=expert_profile.pk).anonymised_at is None


def test_an_anonymised_profile_no_longer_changes(expert_profile, staff):
    services.expert_anonymise(expert_id=expert_profile.pk, by=staff)
    with pytest.raises(TransitionNotAllowed):
        services.expert_anonymise(expert_id=expert_profile.pk, by=staff)
    with pytest.raises(TransitionNotAllowed):
        services.expert_update(expert_id=expert_profile.pk, by=staff, data={"full_name": "Back"})


# --- signed answer links -------------------------------------------------------------------------


@pytest.fixture
def invited(need, expert_profile, staff):
    return deployment_in("invited", need, expert_profile, staff=staff)


def test_a_signed_link_leads_its_expert_to_the_invitation(invited, expert):
    token = services.invitation_token(invited)
    deployment, nonce = services.deployment_from_token(token, expert)
    assert (deployment.pk, nonce) == (invited.pk, invited.invitation_nonce)
    assert Deployment.objects.get(pk=invited.pk).status == "invited"  # nothing changes yet
    services.deployment_accept(deployment_id=deployment.pk, by=expert, nonce=nonce)
    assert Deployment.objects.get(pk=invited.pk).status == "accepted"


def test_a_tampered_link_is_refused(invited, expert):
    token = services.invitation_token(invited)
    for bad in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "garbage", ""):
        with pytest.raises(ApplicationError, match="not valid") as excinfo:
            services.deployment_from_token(bad, expert)
        assert type(excinfo.value) is ApplicationError
    forged = signing.dumps({"d": invited.pk, "n": invited.invitation_nonce}, salt="another-salt")
    with pytest.raises(ApplicationError, match="not valid"):
        services.deployment_from_token(forged, expert)
    assert Deployment.objects.get(pk=invited.pk).status == "invited"


def test_a_link_with_a_strange_payload_is_refused(invited, expert):
    token = signing.dumps(["not", "a", "dict"], salt=services.INVITATION_SALT)
    with pytest.raises(ApplicationError, match="not valid"):
        services.deployment_from_token(token, expert)


def test_someone_elses_link_is_refused(invited, expert2, expert2_profile, staff):
    token = services.invitation_token(invited)
    for user in (expert2, staff):
        with pytest.raises(ApplicationError, match="sent to someone else") as excinfo:
            services.deployment_from_token(token, user)
        assert type(excinfo.value) is ApplicationError
    missing = signing.dumps({"d": 987654, "n": "x"}, salt=services.INVITATION_SALT)
    with pytest.raises(ApplicationError, match="sent to someone else"):
        services.deployment_from_token(missing, expert2)


def test_a_link_works_once(invited, expert):
    token = services.invitation_token(invited)
    deployment, nonce = services.deployment_from_token(token, expert)
    services.deployment_decline(deployment_id=deployment.pk, by=expert, reason=REASON, nonce=nonce)
    with pytest.raises(TransitionNotAllowed, match="already been answered") as excinfo:
        services.deployment_from_token(token, expert)
    assert excinfo.value.status_code == 409
    with pytest.raises(TransitionNotAllowed):
        services.deployment_accept(deployment_id=deployment.pk, by=expert, nonce=nonce)
    assert Deployment.objects.get(pk=invited.pk).status == "declined"


def test_an_old_link_stops_working_when_the_invitation_is_renewed(invited, expert):
    old = services.invitation_token(invited)
    old_nonce = invited.invitation_nonce
    # A new invitation rotates the nonce (as deployment_invite does).
    Deployment.objects.filter(pk=invited.pk).update(invitation_nonce="f" * 32)
    with pytest.raises(TransitionNotAllowed, match="already been used"):
        services.deployment_from_token(old, expert)
    with pytest.raises(TransitionNotAllowed, match="already been used"):
        services.deployment_accept(deployment_id=invited.pk, by=expert, nonce=old_nonce)
    assert Deployment.objects.get(pk=invited.pk).status == "invited"
    fresh = services.invitation_token(Deployment.objects.get(pk=invited.pk))
    assert services.deployment_from_token(fresh, expert)[1] == "f" * 32


def test_a_link_expires(invited, expert, monkeypatch, settings):
    settings.DEPLOYMENT_INVITATION_DAYS = 7
    real = signing.time.time
    monkeypatch.setattr(signing.time, "time", lambda: real() - 38 * 24 * 3600)
    token = services.invitation_token(invited)
    monkeypatch.setattr(signing.time, "time", real)
    with pytest.raises(ApplicationError, match="link has expired"):
        services.deployment_from_token(token, expert)


# --- notification emails -------------------------------------------------------------------------


def test_the_invitation_email_carries_the_signed_answer_link(
    need, expert, expert_profile, staff, settings, django_capture_on_commit_callbacks, mailoutbox
):
    shortlisted = deployment_in("shortlisted", need, expert_profile, staff=staff)
    with django_capture_on_commit_callbacks(execute=True):
        services.deployment_invite(deployment_id=shortlisted.pk, by=staff, comment="We need you.")
    assert recipients("deployment_invited") == ["expert"]
    (email,) = mailoutbox
    reference = need.activity.action.reference
    assert email.subject == f"Invitation to a mission — {reference}"
    assert need.activity.title in email.body and "We need you." in email.body
    assert "Tunis" in email.body
    match = re.search(
        re.escape(settings.SITE_URL) + r"/experts/invitations/answer/([^/\s]+)/", email.body
    )
    assert match, email.body
    deployment, nonce = services.deployment_from_token(match.group(1), expert)
    assert (deployment.pk, nonce) == (
        shortlisted.pk,
        Deployment.objects.get(pk=shortlisted.pk).invitation_nonce,
    )
    html, mimetype = email.alternatives[0]
    assert mimetype == "text/html" and match.group(1) in html
    # The link is made at delivery and never stored.
    notification = Notification.objects.get(event="deployment_invited")
    assert match.group(1) not in str(notification.context)


def _greeting(user: Any) -> str:
    with translation.override(user.language):
        return gettext("Hello %(name)s,") % {"name": user.display_name}


def _speak(user: Any, language: str) -> None:
    user.language = language
    user.save(update_fields=["language"])


@pytest.fixture
def polyglots(expert, staff, approver, partner):
    """The expert reads French, staff Spanish, the approver and the partner English."""
    _speak(expert, "fr")
    _speak(staff, "es")
    return {"expert": expert, "staff": staff, "approver": approver, "partner": partner}


def _events(need: Any, partner2: Any, staff: Any, approver: Any, expert: Any, profile: Any) -> None:
    """Fire every experts event once."""
    services.expert_vet(expert_id=profile.pk, by=staff, decision="reject", note="Missing.")
    services.expert_vet(expert_id=profile.pk, by=staff, decision="approve")
    invited = deployment_in("invited", need, profile, staff=staff)
    services.deployment_accept(deployment_id=invited.pk, by=expert)
    services.deployment_confirm(deployment_id=invited.pk, by=staff, expert_days=1)
    services.deployment_cancel(deployment_id=invited.pk, by=staff, reason=REASON)
    elsewhere = other_need(partner2, staff, approver)
    declined = deployment_in("invited", elsewhere, profile, staff=staff)
    services.deployment_decline(deployment_id=declined.pk, by=expert, reason=REASON)
    third = other_need(partner2, staff, approver)
    expiring = deployment_in("invited", third, profile, staff=staff)
    services.invitations_remind_expiring(now=expiring.expires_at - timedelta(hours=1))
    Deployment.objects.filter(pk=expiring.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    services.deployments_expire_due()
    fourth = other_need(partner2, staff, approver)
    mission = deployment_in("confirmed", fourth, profile, staff=staff)
    ended = TODAY() - timedelta(days=30)
    Deployment.objects.filter(pk=mission.pk).update(start_date=ended, end_date=ended)
    services.mission_reports_remind()
    report(mission, expert, days_worked=1)
    services.expert_request_deletion(expert_id=profile.pk, by=expert)


EXPERTS_EVENTS = {
    "expert_vetted",
    "deployment_invited",
    "invitation_expiring",
    "deployment_accepted",
    "deployment_declined",
    "deployment_expired",
    "deployment_confirmed",
    "deployment_cancelled",
    "mission_report_due",
    "mission_report_submitted",
    "expert_deletion_requested",
}


def test_every_experts_email_greets_the_recipient_in_their_language(
    need,
    partner2,
    staff,
    approver,
    expert,
    expert_profile,
    polyglots,
    django_capture_on_commit_callbacks,
    mailoutbox,
):
    last = Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    with django_capture_on_commit_callbacks(execute=True):
        _events(need, partner2, staff, approver, expert, expert_profile)
    sent = Notification.objects.filter(event__in=EXPERTS_EVENTS, pk__gt=last).select_related(
        "recipient"
    )
    assert {n.event for n in sent} == EXPERTS_EVENTS
    assert {n.email_status for n in sent} == {"sent"}
    assert _greeting(expert).startswith("Bonjour")
    assert _greeting(staff).startswith("Hola")
    by_address = {}
    for message in mailoutbox:
        by_address.setdefault(message.to[0], []).append(message)
    for notification in sent:
        user = notification.recipient
        mails = [m for m in by_address[user.email] if m.subject == notification.subject]
        assert mails, (notification.event, user.username, notification.subject)
        for message in mails:
            assert message.body.startswith(_greeting(user)), (notification.event, user.username)
            html, _mimetype = message.alternatives[0]
            assert _greeting(user).replace("'", "&#x27;") in html, notification.event


def test_the_html_email_declares_the_recipients_language(
    need, expert, expert_profile, staff, django_capture_on_commit_callbacks, mailoutbox
):
    _speak(expert, "fr")
    with django_capture_on_commit_callbacks(execute=True):
        deployment_in("invited", need, expert_profile, staff=staff)
    (email,) = mailoutbox
    assert email.body.startswith("Bonjour")
    assert '<html lang="fr">' in email.alternatives[0][0]


@pytest.mark.parametrize("language", ["fr", "es"])
def test_the_invitation_subject_is_translated(
    need, expert, expert_profile, staff, language, django_capture_on_commit_callbacks, mailoutbox
):
    _speak(expert, language)
    with django_capture_on_commit_callbacks(execute=True):
        deployment_in("invited", need, expert_profile, staff=staff)
    (email,) = mailoutbox
    assert not email.subject.startswith("Invitation to a mission"), email.subject


def _can_open(user: Any, notification: Notification) -> bool:
    """Whether the recipient may open what the notification links to."""
    target = notification.target
    try:
        if isinstance(target, Deployment):
            assert notification.url == target.get_absolute_url()
            selectors.deployment_detail(user, target.pk)
        elif isinstance(target, Expert):
            if notification.url != "/experts/profile/":
                assert notification.url == target.get_absolute_url()
                selectors.expert_detail(user, target.pk)
            else:
                assert selectors.own_profile(user) == target
        else:
            raise AssertionError(f"unexpected target {target!r}")
    except NotFound:
        return False
    return True


def test_every_recipient_can_open_what_they_are_told_about(
    need, partner2, staff, approver, expert, expert_profile, django_capture_on_commit_callbacks
):
    last = Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    with django_capture_on_commit_callbacks(execute=True):
        _events(need, partner2, staff, approver, expert, expert_profile)
    told = Notification.objects.filter(event__in=EXPERTS_EVENTS, pk__gt=last).select_related(
        "recipient"
    )
    assert told.count() > len(EXPERTS_EVENTS)
    for notification in told:
        user = notification.recipient
        if user.role == "partner" and notification.target.status == "cancelled":
            continue  # see test_the_partner_can_open_the_cancelled_mission_it_is_told_about
        assert _can_open(user, notification), (notification.event, user.username)


def test_the_partner_can_open_the_cancelled_mission_it_is_told_about(
    need, partner, expert_profile, staff, django_capture_on_commit_callbacks
):
    confirmed = deployment_in("confirmed", need, expert_profile, staff=staff)
    with django_capture_on_commit_callbacks(execute=True):
        services.deployment_cancel(deployment_id=confirmed.pk, by=staff, reason=REASON)
    notification = Notification.objects.get(event="deployment_cancelled", recipient=partner)
    assert _can_open(partner, notification)


def test_an_expert_told_of_a_cancelled_action_can_open_the_link(
    action, need, expert, expert_profile, staff, django_capture_on_commit_callbacks
):
    from actions.selectors import actions_for

    deployment = deployment_in("invited", need, expert_profile, staff=staff)
    with django_capture_on_commit_callbacks(execute=True):
        actions.action_cancel(action_id=action.pk, by=staff, reason="Funding ended.")
    notification = Notification.objects.get(event="action_cancelled", recipient=expert)
    assert notification.url in (
        deployment.get_absolute_url(),
        *([action.get_absolute_url()] if actions_for(expert).filter(pk=action.pk) else []),
    ), notification.url


def test_no_email_goes_out_for_a_refused_transition(
    need, expert, expert_profile, staff, django_capture_on_commit_callbacks, mailoutbox
):
    invited = deployment_in("invited", need, expert_profile, staff=staff)
    before = Notification.objects.count()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        for call in (
            lambda: services.deployment_decline(deployment_id=invited.pk, by=expert, reason=""),
            lambda: services.deployment_confirm(deployment_id=invited.pk, by=staff),
            lambda: services.deployment_accept(deployment_id=invited.pk, by=staff),
        ):
            with pytest.raises(ApplicationError):
                call()
    assert callbacks == []
    assert Notification.objects.count() == before
    assert mailoutbox == []


def test_the_database_refuses_a_rating_out_of_range(need, staff, expert_profile):
    from django.db import transaction

    completed = deployment_in("completed", need, expert_profile, staff=staff)
    with pytest.raises(IntegrityError), transaction.atomic():
        Deployment.objects.filter(pk=completed.pk).update(rating=6)
