"""Demo requests and assessments in every state, made through the real services so that
each has its timeline, messages and notifications. Used by ``seed_demo`` only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from cbportal.accounts.models import Country, Organisation, OrganisationKind, User
from cbportal.core.models import GcmObjective, Language, ThematicArea, TransitionEvent
from requests_app import services
from requests_app.models import AssistanceRequest, RequestMessage

EXTRA_ORGANISATIONS = [
    ("Ministry of Labour and Social Security — Labour Migration Unit", "MLSS", "JM"),
    ("General Directorate of Migration", "DGM", "CR"),
    ("Department of Immigration", "DOI", "KE"),
    ("Economic Community of West African States — Free Movement Directorate", "ECOWAS", "NG"),
    ("Ministry of Foreign Affairs — Diaspora Directorate", "MFA-D", "GE"),
]

# How many days ago each case was created, so that the triage queue shows every service
# level (a submitted request 5 days old is overdue; one from today is on time).
AGES = [45, 38, 30, 9, 6, 5, 25, 20, 14, 1, 0]

# (title, organisation key, thematic slugs, GCM numbers, languages, final state, problem)
CASES: list[tuple[str, str, list[str], list[int], list[str], str, str]] = [
    (
        "Labour migration information system for the national employment agency",
        "partner",
        ["labour-migration", "data"],
        [1, 6],
        ["fr", "ar"],
        "validated",
        "Labour migration data are scattered across four ministries and cannot inform bilateral agreements.",
    ),
    (
        "Standard operating procedures for identifying victims of trafficking at the border",
        "partner",
        ["trafficking-smuggling", "border-management"],
        [10, 11],
        ["fr"],
        "shared",
        "Front-line border officers lack common procedures to identify and refer presumed victims.",
    ),
    (
        "Diaspora engagement strategy",
        "partner",
        ["diaspora-development"],
        [19],
        ["fr", "en"],
        "assessing",
        "The diaspora directorate needs a strategy and an action plan agreed across government.",
    ),
    (
        "Training of trainers on migration data analysis",
        "partner",
        ["data"],
        [1],
        ["fr"],
        "info_requested",
        "The statistics office wants to build in-house capacity to analyse administrative migration data.",
    ),
    (
        "Review of the draft law on asylum and international protection",
        "partner2",
        ["protection", "governance"],
        [7, 12],
        ["fr"],
        "under_review",
        "Parliament will debate the draft asylum law next year; the ministry wants a peer review first.",
    ),
    (
        "Integrated border management strategy 2027–2031",
        "partner2",
        ["border-management"],
        [11, 23],
        ["fr", "en"],
        "submitted",
        "The current strategy expires; the agency wants to draft the next one with peers.",
    ),
    (
        "Consular assistance handbook for migrant workers abroad",
        "MLSS",
        ["labour-migration"],
        [14],
        ["en"],
        "declined",
        "Consular staff have no common guidance on assisting nationals working abroad.",
    ),
    (
        "Community integration programmes in border municipalities",
        "DGM",
        ["integration"],
        [16],
        ["es"],
        "accepted",
        "Municipalities receiving new arrivals lack the tools to plan integration services.",
    ),
    (
        "Return and reintegration case management",
        "DOI",
        ["governance"],
        [21],
        ["en", "sw"],
        "withdrawn",
        "Reintegration support is not followed up once returnees leave the reception centre.",
    ),
    (
        "Regional free movement protocol implementation roadmap",
        "ECOWAS",
        ["governance", "labour-migration"],
        [5, 23],
        ["en", "fr", "pt"],
        "submitted",
        "Member states apply the free movement protocol unevenly; a roadmap with peer learning is requested.",
    ),
    (
        "Diaspora investment and skills mapping",
        "MFA-D",
        ["diaspora-development", "data"],
        [19, 20],
        ["en"],
        "draft",
        "No reliable picture of the diaspora's skills and investment interest exists.",
    ),
]

GAPS = [
    (
        "individual",
        "Analysts cannot run basic queries on the labour migration registers.",
        "2 of 15 analysts trained",
        "12 of 15 analysts trained",
        "high",
    ),
    (
        "organisational",
        "No agreed data-sharing protocol between the ministries concerned.",
        "No protocol",
        "Protocol signed by four ministries",
        "high",
    ),
    (
        "enabling_environment",
        "The statistics law does not cover administrative migration data.",
        "Law silent on migration data",
        "Amendment drafted",
        "medium",
    ),
]


def _organisations(base: dict[str, Organisation]) -> dict[str, Organisation]:
    orgs = dict(base)
    for name, acronym, country in EXTRA_ORGANISATIONS:
        orgs[acronym], _ = Organisation.objects.get_or_create(
            name=name,
            country=Country.objects.get(code=country),
            defaults={
                "acronym": acronym,
                "kind": OrganisationKind.REGIONAL_ORGANISATION
                if acronym == "ECOWAS"
                else OrganisationKind.NATIONAL_AUTHORITY,
            },
        )
    return orgs


def _focal_point(org: Organisation, key: str) -> User:
    if key in ("partner", "partner2"):
        return User.objects.get(username=key)
    user, created = User.objects.get_or_create(
        username=f"focal.{key.lower()}",
        defaults={
            "role": "partner",
            "organisation": org,
            "email": f"focal.{key.lower()}@demo.cbportal.localhost",
            "first_name": "Focal",
            "last_name": f"Point {key}",
        },
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


@transaction.atomic
def seed(organisations: dict[str, Organisation]) -> int:
    """Create the demo cases once; returns how many were created."""
    if AssistanceRequest.objects.filter(title=CASES[0][0]).exists():
        return 0
    orgs = _organisations(organisations)
    staff = User.objects.get(username="staff")
    approver = User.objects.get(username="approver")
    start = timezone.localdate() + timedelta(days=60)
    created = 0
    for (title, key, areas, gcm, langs, final, problem), age in zip(CASES, AGES, strict=True):
        _seed_case(orgs, staff, approver, start, title, key, areas, gcm, langs, final, problem, age)
        created += 1
    return created


def _age(request_id: int, days: int) -> None:
    """Move a demo case and its history ``days`` into the past (demo data only)."""
    if not days:
        return
    shift = timedelta(days=days)
    request = AssistanceRequest.objects.get(pk=request_id)
    fields = [
        "created_at",
        "submitted_at",
        "first_response_at",
        "decided_at",
        "first_response_due_at",
        "decision_due_at",
    ]
    changes = {f: getattr(request, f) - shift for f in fields if getattr(request, f) is not None}
    if request.submitted_at is not None:
        from requests_app.sla import due_dates

        changes["first_response_due_at"], changes["decision_due_at"] = due_dates(
            changes["submitted_at"]
        )
    AssistanceRequest.objects.filter(pk=request_id).update(**changes)
    ct = ContentType.objects.get_for_model(AssistanceRequest)
    for event in TransitionEvent.objects.filter(content_type=ct, object_id=request_id):
        TransitionEvent.objects.filter(pk=event.pk).update(created_at=event.created_at - shift)
    RequestMessage.objects.filter(request_id=request_id).update(created_at=F("created_at") - shift)


def _seed_case(
    orgs: dict[str, Organisation],
    staff: User,
    approver: User,
    start: Any,
    title: str,
    key: str,
    areas: list[str],
    gcm: list[int],
    langs: list[str],
    final: str,
    problem: str,
    age: int,
) -> None:
    _build_case(orgs, staff, approver, start, title, key, areas, gcm, langs, final, problem)
    _age(AssistanceRequest.objects.get(title=title).pk, age)


def _build_case(
    orgs: dict[str, Organisation],
    staff: User,
    approver: User,
    start: Any,
    title: str,
    key: str,
    areas: list[str],
    gcm: list[int],
    langs: list[str],
    final: str,
    problem: str,
) -> None:
    org = orgs[key]
    partner = _focal_point(org, key)
    request = services.request_create(
        by=partner,
        data={
            "title": title,
            "country": org.country,
            "problem_statement": problem,
            "expected_outcomes": "Officials apply new procedures; the institution adopts a plan it owns.",
            "target_institutions": f"{org.name} and the ministries it coordinates.",
            "thematic_areas": ThematicArea.objects.filter(slug__in=areas),
            "gcm_objectives": GcmObjective.objects.filter(number__in=gcm),
            "languages": Language.objects.filter(code__in=langs),
            "preferred_start": start,
            "preferred_end": start + timedelta(days=180),
        },
    )
    if final == "draft":
        return
    if final == "withdrawn":
        services.request_submit(request_id=request.pk, by=partner)
        services.request_withdraw(
            request_id=request.pk, by=partner, comment="Covered by another donor."
        )
        return
    services.request_submit(request_id=request.pk, by=partner)
    if final == "submitted":
        return
    officer = approver if key == "partner2" else staff
    services.request_start_review(request_id=request.pk, by=officer)
    if final == "under_review":
        return
    services.request_request_info(
        request_id=request.pk,
        by=officer,
        message="Could you share the organisation chart of the unit and say who would take part?",
    )
    if final == "info_requested":
        return
    services.request_respond(
        request_id=request.pk,
        by=partner,
        message="The unit has 15 officers; the chart is attached. The director will lead.",
    )
    if final == "declined":
        services.request_decline(
            request_id=request.pk,
            by=officer,
            reason="Another programme already supports this handbook; we have put you in touch.",
        )
        return
    services.request_accept(request_id=request.pk, by=officer)
    if final == "accepted":
        return
    assessment = AssistanceRequest.objects.get(pk=request.pk).assessment
    services.assessment_update(
        assessment_id=assessment.pk,
        by=officer,
        data={
            "summary": "Desk review and interviews with the unit's management and staff.",
            "methods": ["desk_review", "interviews"],
            "stakeholders_consulted": "Unit director, two heads of section, the statistics office.",
        },
        gaps=[
            dict(zip(("level", "description", "baseline", "target", "priority"), g, strict=True))
            for g in GAPS
        ],
    )
    if final == "assessing":
        return
    services.assessment_share(assessment_id=assessment.pk, by=officer)
    if final == "shared":
        return
    services.assessment_return(
        assessment_id=assessment.pk,
        by=partner,
        comment="Please add the regional offices to the organisational gap.",
    )
    services.assessment_update(
        assessment_id=assessment.pk,
        by=officer,
        data={
            "stakeholders_consulted": "Unit director, heads of section, statistics office, regional offices."
        },
    )
    services.assessment_share(assessment_id=assessment.pk, by=officer)
    services.assessment_validate(assessment_id=assessment.pk, by=partner)
