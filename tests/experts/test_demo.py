"""The demo roster (experts/demo.py through ``seed_demo``): 200+ varied experts, deployments
in every state made through the services, stored shortlists, the ``expert`` account's
missions — and nothing new on a second run (issue 5 "Demo data")."""

from __future__ import annotations

import html
from collections import Counter
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse

from actions.models import ExpertiseNeed
from cbportal.accounts.models import User
from cbportal.core.models import Notification, TransitionEvent
from experts import demo, services
from experts.models import (
    AdministrationType,
    Deployment,
    DeploymentStatus,
    Expert,
    ExpertLanguage,
    MatchJob,
    MatchResult,
    MissionReport,
    Unavailability,
    VettingStatus,
)


@pytest.fixture
def seeded(db: Any) -> None:
    call_command("seed_demo", "--quiet")


def text(response: Any) -> str:
    return html.unescape(response.content.decode())


def test_it_seeds_a_varied_roster_of_more_than_200_experts(seeded: None) -> None:
    assert Expert.objects.count() >= 200
    admin = Counter(Expert.objects.values_list("administration_type", flat=True))
    assert admin[AdministrationType.EU_MEMBER_STATE] >= 50
    assert admin[AdministrationType.PARTNER_COUNTRY] >= 50
    assert admin[AdministrationType.INTERNATIONAL_ORGANISATION] > 0
    assert admin[AdministrationType.ACADEMIA_CIVIL_SOCIETY] > 0
    regions = set(Expert.objects.values_list("nationality__region", flat=True))
    assert {"Europe", "Africa", "Asia", "Americas"} <= regions
    languages = set(ExpertLanguage.objects.values_list("language_id", flat=True))
    assert {"fr", "en", "es", "ar", "pt", "ru"} <= languages
    assert set(ExpertLanguage.objects.values_list("level", flat=True)) >= {
        "A2",
        "B1",
        "B2",
        "C1",
        "C2",
    }
    vetting = Counter(Expert.objects.values_list("vetting_status", flat=True))
    assert vetting[VettingStatus.APPROVED] > vetting[VettingStatus.PENDING] > 0
    assert vetting[VettingStatus.REJECTED] > 0
    assert Expert.objects.filter(is_active=False).exists()
    assert Unavailability.objects.count() >= 20
    assert Expert.objects.filter(consent_contact=True).count() > Expert.objects.count() / 2
    assert Expert.objects.exclude(biography="").count() == Expert.objects.count()


def test_the_bulk_entries_are_searchable_as_the_services_would_index_them(seeded: None) -> None:
    for expert in Expert.objects.order_by("id")[:20]:
        stored = expert.search_document
        services.refresh_search_document(expert)
        assert Expert.objects.get(pk=expert.pk).search_document == stored
        assert expert.skills.exists() and expert.thematic_areas.exists()


def test_it_has_deployments_in_every_state_made_through_the_services(seeded: None) -> None:
    statuses = set(Deployment.objects.values_list("status", flat=True))
    assert statuses == set(DeploymentStatus.values)
    for deployment in Deployment.objects.exclude(status=DeploymentStatus.SHORTLISTED):
        assert TransitionEvent.objects.filter(
            content_type__model="deployment", object_id=deployment.pk
        ).exists()
    for deployment in Deployment.objects.filter(status=DeploymentStatus.COMPLETED):
        assert MissionReport.objects.filter(deployment=deployment).exists()
        assert deployment.rating is not None
        assert deployment.expert.rating_count >= 1
    # A report filed and awaiting completion.
    assert MissionReport.objects.filter(deployment__status=DeploymentStatus.CONFIRMED).exists()


def test_staff_find_stored_shortlists_with_their_breakdown(seeded: None, client: Any) -> None:
    need = ExpertiseNeed.objects.get(activity__title=demo.NEEDS["mentoring"][1])
    job = MatchJob.objects.filter(need=need).latest("created_at")
    assert job.status == "done" and job.candidates > 0 and job.exclusions
    results = MatchResult.objects.filter(need=need).order_by("rank")
    assert results.count() > 5
    assert set(results[0].components) >= {"thematic", "skills", "origin"}
    client.force_login(User.objects.get(username="staff"))
    response = client.get(reverse("experts:shortlist", args=[need.pk]))
    assert response.status_code == 200
    assert results[0].expert.full_name in text(response)
    board = client.get(reverse("experts:board", args=[need.activity.action_id]))
    assert board.status_code == 200


def test_the_expert_account_sees_an_invitation_a_coming_mission_and_a_completed_one(
    seeded: None, client: Any
) -> None:
    user = User.objects.get(username="expert")
    profile = Expert.objects.get(user=user)
    assert profile.vetting_status == VettingStatus.APPROVED and profile.is_eligible
    assert profile.languages.count() >= 3 and profile.unavailability.exists()
    mine = {d.status: d for d in Deployment.objects.filter(expert=profile)}
    assert set(mine) >= {"invited", "confirmed", "completed"}
    assert mine["completed"].rating == 5 and hasattr(mine["completed"], "report")
    assert mine["confirmed"].start_date is not None

    client.force_login(user)
    invitations = text(client.get(reverse("experts:invitations")))
    assert mine["invited"].need.activity.title in invitations
    deployments = text(client.get(reverse("experts:deployments")))
    assert mine["confirmed"].need.activity.title in deployments
    assert mine["completed"].need.activity.title in deployments
    page = client.get(reverse("experts:profile"), follow=True)
    assert "Ana Pereira" in text(page) and "AIMA" in text(page)
    detail = text(client.get(reverse("experts:deployment", args=[mine["completed"].pk])))
    assert "curriculum authors" in detail
    assert Notification.objects.filter(recipient=user).exists()


def test_a_second_run_creates_nothing(seeded: None) -> None:
    models = (
        Expert,
        User,
        Deployment,
        MatchJob,
        MatchResult,
        MissionReport,
        Unavailability,
        ExpertLanguage,
        TransitionEvent,
        Notification,
    )
    before = {m.__name__: m.objects.count() for m in models}
    call_command("seed_demo", "--quiet")
    assert {m.__name__: m.objects.count() for m in models} == before


def test_the_synthetic_roster_is_reproducible(db: Any) -> None:
    from experts import synthetic

    first = synthetic.generate(30, seed="test", start=100)
    again = synthetic.generate(30, seed="test", start=100)
    assert [(e.expert.full_name, e.languages, e.areas, e.skills, e.countries) for e in first] == [
        (e.expert.full_name, e.languages, e.areas, e.skills, e.countries) for e in again
    ]
    assert len({e.expert.email for e in first}) == 30
    assert set(synthetic.GENERIC_SKILLS[:2]) == {"training design", "legal drafting"}
    assert len(synthetic.SKILL_POOL) >= 150
