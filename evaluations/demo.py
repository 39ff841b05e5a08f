"""Demo monitoring and evaluation, so that the M&E pages and the portfolio dashboard mean
something on first run. Built through the real services (indicators, measurements,
outcomes, feedback links and answers, participant counts, final evaluations, closing, the
follow-up request); used by ``seed_demo`` only, after the experts demo.

What it adds:

* the demo actions of ``actions.demo``: indicators at the three capacity levels in every
  unit — only defined for the approved action (its period has not begun), with
  measurement histories for the running and the completed one; outcomes; feedback links
  (some answered) and the partner's feedback on the activities that took place, with
  sex-disaggregated participant counts; a draft evaluation of the running action and a
  submitted one of the completed action, which staff can therefore close;
* a closed action of ``partner2`` whose whole period lies in the past: deployed experts,
  four indicators (target reached, at risk, off track), outcomes, feedback, a submitted
  evaluation and a recommendation already turned into a draft follow-up request;
* the decided requests (of ``requests_app.demo``, ``actions.demo`` and this module) spread
  over the last twelve months, with their timelines, messages, service-level due dates,
  assessments and actions moved with them — the dashboard's per-month charts then show a
  year. Open requests keep the ages ``requests_app.demo`` gave them (the triage queue shows
  every service level).

Progress mix: on track, at risk, off track, target reached and not measured yet.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone

from actions import plan
from actions import services as actions
from actions.models import Action, ActionStatus, Activity, ActivityStatus
from cbportal.accounts.models import User
from cbportal.core.models import GcmObjective, Language, ThematicArea, TransitionEvent
from evaluations import services
from evaluations.models import (
    Feedback,
    FeedbackLink,
    FinalEvaluation,
    Indicator,
    Measurement,
    Outcome,
)
from requests_app import services as requests
from requests_app.models import AssistanceRequest, MessageKind, NeedsAssessment, RequestMessage
from requests_app.sla import due_dates

# The demo actions of actions/demo.py this module monitors.
TOOLKIT = "Bilateral labour migration agreement toolkit"  # approved, starts in the future
BORDER = "Integrated border management training curriculum"  # in implementation
REFERRAL = "Anti-trafficking referral mechanism"  # completed
# The action this module builds, closed.
CLOSED = "Fair recruitment and labour inspection procedures"
CLOSED_START_DAYS_AGO, CLOSED_END_DAYS_AGO = 300, 90

# A date relative to the action's start or end, or to today: ("start", 30), ("today", -5).
When = tuple[str, int]
# (when, value, note)
Reading = tuple[When, str, str]


@dataclass(frozen=True)
class IndicatorSpec:
    name: str
    level: str
    unit: str
    baseline: str
    target: str
    verification: str
    frequency: str = "quarterly"
    direction: str = "increase"
    objective: int = 0  # which of the action's objectives it measures
    readings: tuple[Reading, ...] = ()


@dataclass(frozen=True)
class FeedbackSpec:
    activity: str
    links: int
    # (satisfaction, comments) answered through the links, in order; the rest stay unused.
    answers: tuple[tuple[int, str], ...]
    partner: tuple[int, str] | None
    participants: tuple[int, int, int]  # women, men, other or not stated


@dataclass(frozen=True)
class Monitoring:
    action: str
    indicators: tuple[IndicatorSpec, ...]
    outcomes: tuple[tuple[str, When, str, str], ...] = ()  # level, date, what, evidence
    feedback: tuple[FeedbackSpec, ...] = ()
    evaluation: dict[str, Any] = field(default_factory=dict)
    submit: bool = False


def _dac(ratings: tuple[int, int, int, int, int, int], **texts: Any) -> dict[str, Any]:
    names = ("relevance", "coherence", "effectiveness", "efficiency", "impact", "sustainability")
    return {**dict(zip(names, ratings, strict=True)), **texts}


MONITORING: tuple[Monitoring, ...] = (
    Monitoring(
        action=TOOLKIT,
        indicators=(
            IndicatorSpec(
                "Negotiators trained on the bilateral agreement toolkit",
                "individual",
                "number",
                "0",
                "25",
                "Attendance lists and end-of-training tests.",
            ),
            IndicatorSpec(
                "Toolkit endorsed by the inter-ministerial labour migration committee",
                "enabling_environment",
                "yes_no",
                "0",
                "1",
                "Minutes of the committee meeting.",
                frequency="end_only",
                objective=1,
            ),
        ),
    ),
    Monitoring(
        action=BORDER,
        indicators=(
            IndicatorSpec(
                "Curriculum modules validated by the border police academy",
                "organisational",
                "number",
                "0",
                "6",
                "Validation decisions of the academy's pedagogical board.",
                frequency="monthly",
                readings=(
                    (("start", 1), "0", "Kick-off: no module validated yet."),
                    (
                        ("today", -2),
                        "1",
                        "Module 1 (first-line checks) validated after the design workshop.",
                    ),
                ),
            ),
            IndicatorSpec(
                "Share of academy trainers certified to teach the new modules",
                "individual",
                "percentage",
                "10",
                "80",
                "Certification register of the academy.",
                readings=(
                    (("start", 1), "10", "Four of the forty trainers are certified."),
                    (
                        ("today", -2),
                        "5",
                        "Two certified trainers were posted to the airport; certification "
                        "sessions start next month.",
                    ),
                ),
            ),
            IndicatorSpec(
                "New curriculum adopted by the agency's management board",
                "enabling_environment",
                "yes_no",
                "0",
                "1",
                "Board decision published in the agency's bulletin.",
                frequency="end_only",
                objective=1,
            ),
        ),
        outcomes=(
            (
                "individual",
                ("start", 4),
                "Eighteen curriculum authors agreed a shared training needs analysis and the "
                "outline of six modules, and now use a common glossary with the coast guard.",
                "Workshop report and the validated needs analysis.",
            ),
        ),
        feedback=(
            FeedbackSpec(
                "Curriculum design workshop",
                links=8,
                answers=(
                    (5, "The peer experts had faced the same problems; very concrete."),
                    (4, "Useful; the group work on module 3 needed more time."),
                    (5, "First time the coast guard and the police designed training together."),
                    (3, "Good content, but the room was too small for group work."),
                    (4, ""),
                ),
                partner=(5, "Exactly the support we asked for; the authors are motivated."),
                participants=(8, 10, 0),
            ),
        ),
        evaluation=_dac(
            (4, 0, 0, 0, 0, 0),
            relevance_justification=(
                "The curriculum answers the gaps the agency identified itself in the needs "
                "assessment; the board asked for it in its 2026 training plan."
            ),
            findings="Mid-term notes: the design phase is on schedule.",
        ),
    ),
    Monitoring(
        action=REFERRAL,
        indicators=(
            IndicatorSpec(
                "Front-line officers trained on the referral procedures",
                "individual",
                "number",
                "0",
                "120",
                "Training attendance lists of the national police school.",
                frequency="monthly",
                readings=(
                    (("start", 30), "20", "First cohort: border police at the airport."),
                    (("start", 60), "45", "Second cohort: labour inspectors and social workers."),
                    (("today", -5), "70", "Third cohort trained in the southern region."),
                ),
            ),
            IndicatorSpec(
                "Referral procedures adopted by the national anti-trafficking committee",
                "organisational",
                "yes_no",
                "0",
                "1",
                "Signed minutes of the committee.",
                frequency="end_only",
                readings=(
                    (("today", -10), "1", "Adopted unanimously at the committee's plenary."),
                ),
            ),
            IndicatorSpec(
                "Presumed victims referred to specialised services within 48 hours",
                "organisational",
                "percentage",
                "35",
                "75",
                "Case files of the referral desk, checked quarterly.",
                readings=(
                    (("start", 2), "35", "Baseline from the 2025 case files."),
                    (
                        ("today", -5),
                        "38",
                        "Shelters in two regions still refuse referrals at weekends.",
                    ),
                ),
            ),
            IndicatorSpec(
                "NGOs' confidence in the national referral mechanism",
                "enabling_environment",
                "scale",
                "2",
                "4",
                "Yearly survey of the NGO platform (1 = none, 5 = full confidence).",
                objective=1,
                readings=(
                    (("start", 2), "2", "Survey of 14 NGOs."),
                    (
                        ("today", -5),
                        "1",
                        "Confidence fell after a victim was deported before being referred; "
                        "the committee has asked for an inquiry.",
                    ),
                ),
            ),
        ),
        outcomes=(
            (
                "individual",
                ("start", 35),
                "Border police officers at the airport identified and referred three presumed "
                "victims in the month after their training, using the new indicators checklist.",
                "Referral desk log, January–March.",
            ),
            (
                "organisational",
                ("today", -10),
                "The anti-trafficking committee adopted the referral procedures and named a "
                "focal point in each of the five ministries concerned.",
                "Committee minutes and the ministers' letters of appointment.",
            ),
            (
                "enabling_environment",
                ("today", -4),
                "The Ministry of Justice put an amendment to the anti-trafficking law on its "
                "legislative agenda, so that referral no longer depends on a police complaint.",
                "Ministry's legislative programme, published online.",
            ),
        ),
        feedback=(
            FeedbackSpec(
                "Standard operating procedures for referral",
                links=6,
                answers=(
                    (4, "Clear procedures; the flowchart is already on our office wall."),
                    (5, "We finally know whom to call at night."),
                    (2, "The procedures ignore the shelters' capacity; referrals will stall."),
                    (4, "Good exchange with the experts from the region."),
                ),
                partner=(4, "Very good work; the shelters' capacity still needs attention."),
                participants=(11, 8, 1),
            ),
        ),
        evaluation=_dac(
            (4, 3, 3, 3, 2, 3),
            relevance_justification=(
                "The action answered the committee's own request after the 2025 national "
                "report showed that most presumed victims were never referred."
            ),
            coherence_justification=(
                "It built on the national action plan against trafficking and on the "
                "shelters funded by another donor, with whom the procedures were agreed."
            ),
            effectiveness_justification=(
                "The procedures were adopted and 70 of 120 officers trained; timely referrals "
                "barely moved because shelters refuse weekend admissions."
            ),
            efficiency_justification=(
                "Peer experts from the region cost less than planned and the SOPs were "
                "drafted in 20 days instead of 30."
            ),
            impact_justification=(
                "Early signs only: three airport referrals, but the NGOs' confidence fell "
                "after one failed case."
            ),
            sustainability_justification=(
                "The police school put the referral module in its basic curriculum; the "
                "shelters' weekend capacity depends on next year's budget."
            ),
            findings=(
                "The referral mechanism exists on paper and in the committee's practice. "
                "Officers trained apply the indicators checklist; referrals within 48 hours "
                "rose only from 35% to 38% because specialised services are not available at "
                "weekends. The NGO platform lost confidence after a presumed victim was "
                "deported before referral."
            ),
            lessons=(
                "Procedures need the capacity of the services they refer to: involve the "
                "shelters from the first drafting session. Regional peers were trusted "
                "quickly because they had built similar mechanisms."
            ),
            recommendations=[
                "Fund a weekend on-call service in the shelters of the two southern regions.",
                "Train the remaining 50 officers, starting with the land borders.",
                "Hold a quarterly case review with the NGO platform to rebuild confidence.",
            ],
        ),
        submit=True,
    ),
    Monitoring(
        action=CLOSED,
        indicators=(
            IndicatorSpec(
                "Labour inspectors applying the recruitment risk-assessment checklist",
                "individual",
                "number",
                "0",
                "40",
                "Inspection reports sampled by the inspectorate's quality unit.",
                readings=(
                    (("start", 70), "10", "First inspectors trained in Dakar."),
                    (("start", 140), "24", "Regional inspectors of Thiès and Saint-Louis."),
                    (("end", -3), "41", "All regional inspectorates now use the checklist."),
                ),
            ),
            IndicatorSpec(
                "Recruitment agencies licensed under the new procedure",
                "organisational",
                "percentage",
                "15",
                "60",
                "Licence register of the Ministry of Labour.",
                readings=(
                    (("start", 70), "20", "Register cleaned; 31 of 155 agencies relicensed."),
                    (("start", 140), "35", ""),
                    (
                        ("end", -3),
                        "52",
                        "Small agencies outside Dakar are slower to apply for the new licence.",
                    ),
                ),
            ),
            IndicatorSpec(
                "Average days to process a recruitment agency licence",
                "organisational",
                "number",
                "90",
                "30",
                "Dates of application and decision in the licence register.",
                direction="decrease",
                readings=(
                    (("start", 70), "85", ""),
                    (("start", 140), "80", "The online form is not live yet."),
                    (
                        ("end", -3),
                        "72",
                        "The online form was delayed by the ministry's IT tender; files are "
                        "still processed on paper.",
                    ),
                ),
            ),
            IndicatorSpec(
                "Coordination between labour, interior and foreign affairs, as rated by members",
                "enabling_environment",
                "scale",
                "2",
                "4",
                "Survey of the members of the inter-ministerial working group (1–5).",
                objective=1,
                readings=(
                    (("start", 140), "3", "The working group now meets monthly."),
                    (
                        ("end", -3),
                        "4",
                        "A joint circular on fair recruitment was signed by the three ministers.",
                    ),
                ),
            ),
        ),
        outcomes=(
            (
                "individual",
                ("start", 100),
                "Labour inspectors detected fee-charging by two recruitment agencies during "
                "routine inspections and opened cases, using the new risk-assessment checklist.",
                "Inspection reports and case numbers.",
            ),
            (
                "organisational",
                ("start", 160),
                "The Ministry of Labour relicensed half of the recruitment agencies under the "
                "new procedure and publishes the register of licensed agencies.",
                "Published register.",
            ),
            (
                "enabling_environment",
                ("end", -10),
                "The three ministers signed a joint circular banning recruitment fees charged "
                "to workers, in line with the ILO General Principles for Fair Recruitment.",
                "Official journal.",
            ),
        ),
        feedback=(
            FeedbackSpec(
                "Training of labour inspectors on recruitment risk assessment",
                links=6,
                answers=(
                    (5, "The checklist is practical; we used it the following week."),
                    (4, "Good case studies from the peer inspectorate."),
                    (4, "Would like a refresher session in a year."),
                    (5, ""),
                    (3, "Too short for the legal part."),
                ),
                partner=(5, "The inspectors' feedback was excellent."),
                participants=(7, 15, 0),
            ),
            FeedbackSpec(
                "Standard operating procedures for licensing recruitment agencies",
                links=3,
                answers=((4, "The remote drafting sessions fitted our workload."),),
                partner=None,
                participants=(4, 3, 1),
            ),
            FeedbackSpec(
                "Study visit to a peer labour inspectorate",
                links=4,
                answers=(
                    (5, "Seeing the online licensing system at work convinced our director."),
                    (4, "Very well organised by the hosts."),
                ),
                partner=(5, "The visit unlocked the decision on the online licence form."),
                participants=(3, 4, 0),
            ),
        ),
        evaluation=_dac(
            (4, 3, 3, 2, 3, 2),
            relevance_justification=(
                "Fair recruitment is a priority of the national labour migration policy; the "
                "ministry requested the action after complaints from workers abroad."
            ),
            coherence_justification=(
                "Consistent with the ILO's fair recruitment initiative, which the ministry "
                "also follows; the experts coordinated with its country office."
            ),
            effectiveness_justification=(
                "All inspectorates use the checklist (41 inspectors, target 40); licensing "
                "reached 52% of agencies against a target of 60%."
            ),
            efficiency_justification=(
                "The online licence form, which would have cut processing times, was delayed "
                "by the ministry's IT tender: processing still takes 72 days, not 30."
            ),
            impact_justification=(
                "Fee-charging cases were opened for the first time; the joint circular bans "
                "recruitment fees for all workers placed abroad."
            ),
            sustainability_justification=(
                "The checklist is part of the inspectors' manual; the licence form still "
                "depends on funding for the IT system."
            ),
            findings=(
                "Inspectors apply the new checklist nationwide and the joint circular gives "
                "the ban on recruitment fees a legal basis. Relicensing of agencies is close "
                "to target but slower outside the capital, and licence processing is still "
                "slow while files are handled on paper."
            ),
            lessons=(
                "A study visit to a peer inspectorate convinced decision-makers faster than "
                "any report. IT components need their own budget line and timetable from the "
                "start."
            ),
            recommendations=[
                "Digitise the recruitment agency licence procedure (online application and "
                "register).",
                "Train the inspectors of the four remaining regions on the risk-assessment "
                "checklist.",
                "Publish a yearly report on recruitment fees cases.",
            ],
        ),
        submit=True,
    ),
)

# When each decided request was submitted (days ago), first answered and decided (days
# after submission): a year of demand, with service levels met and missed. Submissions are
# at most 28 days apart, so that every calendar month of the last year has some.
SCHEDULE: dict[str, tuple[int, int, int]] = {
    CLOSED: (345, 1, 12),
    REFERRAL: (319, 3, 21),
    "Labour migration information system for the national employment agency": (293, 1, 8),
    BORDER: (267, 2, 9),
    "Consular assistance handbook for migrant workers abroad": (241, 4, 16),
    TOOLKIT: (215, 1, 6),
    "Diaspora skills mapping methodology": (189, 1, 7),
    "Municipal integration strategy": (163, 5, 25),
    "Community integration programmes in border municipalities": (137, 3, 14),
    "Standard operating procedures for identifying victims of trafficking at the border": (
        111,
        2,
        11,
    ),
    "Migration data hub for the statistics office": (85, 2, 8),
    "Diaspora engagement strategy": (59, 1, 10),
    "Asylum case-processing guidelines": (40, 1, 9),
}
ASSESSMENT_DAYS = 21  # from acceptance to the partner's validation


@transaction.atomic
def seed() -> int:
    """Create the demo monitoring and evaluation once; returns how many actions it covers
    (0 when it has run before)."""
    if Action.objects.filter(title=CLOSED).exists():
        return 0
    users = {
        name: User.objects.get(username=name)
        for name in ("staff", "approver", "evaluator", "partner", "partner2")
    }
    _closed_action(users)
    covered = 0
    for spec in MONITORING:
        action = Action.objects.filter(title=spec.action).order_by("id").first()
        if action is None:  # the actions demo did not run
            continue
        _monitor(action, spec, users)
        covered += 1
    closed = Action.objects.get(title=CLOSED)
    actions.action_close(
        action_id=closed.pk, by=users["staff"], comment="Evaluation reviewed with the partner."
    )
    recommendation = closed.evaluation.recommendations.order_by("position").first()
    assert recommendation is not None
    services.recommendation_follow_up(recommendation_id=recommendation.pk, by=users["staff"])
    _spread_over_the_year()
    return covered


# --- the closed action -----------------------------------------------------------------


def _closed_action(users: dict[str, User]) -> Action:
    """Partner2's fair recruitment action, its whole period in the past, up to completion
    with deployed experts (monitoring, evaluation and closing follow in ``seed``)."""
    partner, staff, approver = users["partner2"], users["staff"], users["approver"]
    later = timezone.localdate() + dt.timedelta(days=30)
    request = requests.request_create(
        by=partner,
        data={
            "title": CLOSED,
            "problem_statement": (
                "Workers recruited for jobs abroad pay fees to unlicensed agencies; labour "
                "inspectors have no method to detect abusive recruitment and the licensing "
                "of agencies takes three months."
            ),
            "expected_outcomes": (
                "Inspectors detect abusive recruitment; agencies are licensed under a faster, "
                "transparent procedure; recruitment fees charged to workers are banned."
            ),
            "target_institutions": "Labour inspectorate, licensing directorate, NMA.",
            "preferred_start": later,
            "preferred_end": later + dt.timedelta(days=210),
            "thematic_areas": ThematicArea.objects.filter(slug="labour-migration"),
            "gcm_objectives": GcmObjective.objects.filter(number__in=[6, 22]),
            "languages": Language.objects.filter(code="fr"),
        },
    )
    requests.request_submit(request_id=request.pk, by=partner)
    requests.request_start_review(request_id=request.pk, by=staff)
    requests.request_accept(request_id=request.pk, by=staff)
    assessment = NeedsAssessment.objects.get(request=request)
    requests.assessment_update(
        assessment_id=assessment.pk,
        by=staff,
        data={
            "summary": "Interviews with the inspectorate and a review of the licence files.",
            "methods": ["desk_review", "interviews"],
            "stakeholders_consulted": "Labour inspectorate, licensing directorate, two unions.",
        },
        gaps=[
            {
                "level": "individual",
                "description": "Inspectors have no method to detect abusive recruitment.",
                "baseline": "No inspector trained",
                "target": "40 inspectors apply a risk-assessment checklist",
                "priority": "high",
            },
            {
                "level": "organisational",
                "description": "Licensing recruitment agencies is slow and opaque.",
                "baseline": "90 days; no public register",
                "target": "30 days; published register",
                "priority": "high",
            },
            {
                "level": "enabling_environment",
                "description": "No rule forbids charging recruitment fees to workers.",
                "baseline": "No rule",
                "target": "Fees banned",
                "priority": "medium",
            },
        ],
    )
    requests.assessment_share(assessment_id=assessment.pk, by=staff)
    requests.assessment_validate(assessment_id=assessment.pk, by=partner)

    today = timezone.localdate()
    start = today - dt.timedelta(days=CLOSED_START_DAYS_AGO)
    end = today - dt.timedelta(days=CLOSED_END_DAYS_AGO)
    action = actions.action_create(
        assessment_id=assessment.pk,
        by=staff,
        data={
            "summary": (
                "Peer labour inspectors helped Senegal's labour administration detect abusive "
                "recruitment, license recruitment agencies faster and ban recruitment fees."
            ),
            "start_date": start,
            "end_date": end,
        },
    )
    gaps = list(assessment.gaps.order_by("level", "position"))
    by_level = {g.level: g.pk for g in gaps}
    activities = [
        ("training", "Training of labour inspectors on recruitment risk assessment", 20, 4, 2),
        ("sop", "Standard operating procedures for licensing recruitment agencies", 60, 25, 1),
        ("study_visit", "Study visit to a peer labour inspectorate", 130, 5, 1),
    ]

    def edit(p: plan.Plan, a: Any) -> plan.Plan:
        p = plan.set_period(p, start, end)
        p = plan.save_objective(
            p,
            a,
            key=None,
            text="Inspectors and the licensing directorate apply fair recruitment procedures.",
            gaps=[by_level["individual"], by_level["organisational"]],
        )
        p = plan.save_objective(
            p,
            a,
            key=None,
            text="The government bans recruitment fees charged to workers.",
            gaps=[by_level["enabling_environment"]],
        )
        objectives = [o["key"] for o in p["objectives"]]
        for kind, title, offset, length, experts in activities:
            begin = start + dt.timedelta(days=offset)
            p = plan.save_activity(
                p,
                key=None,
                data={
                    "type": kind,
                    "title": title,
                    "start_date": begin,
                    "end_date": begin + dt.timedelta(days=length - 1),
                    "modality": "onsite" if kind != "sop" else "remote",
                    "country": "SN" if kind != "study_visit" else "PT",
                    "city": "Dakar" if kind != "study_visit" else "Lisbon",
                    "expected_participants": 25 if kind == "training" else 8,
                    "objectives": objectives[:1],
                },
            )
            p = plan.save_need(
                p,
                activity_key=p["activities"][-1]["key"],
                key=None,
                data={
                    "thematic_area": "labour-migration",
                    "skills": ["ethical recruitment", "labour inspection"],
                    "languages": ["fr"],
                    "experts_needed": experts,
                    "expert_days": min(length, 5),
                    "origin_preference": "partner_region_peer" if experts > 1 else "any",
                },
            )
        return p

    actions.action_plan_edit(action_id=action.pk, by=staff, edit=edit)
    actions.action_propose(action_id=action.pk, by=staff)
    actions.action_approve(action_id=action.pk, by=approver)
    actions.action_update(action_id=action.pk, by=partner, data={"publish": True})
    actions.action_sign(action_id=action.pk, by=partner, name="Moussa Diop, Director")
    actions.action_start(action_id=action.pk, by=staff)
    actions.action_update(action_id=action.pk, by=staff, data={"evaluators": [users["evaluator"]]})
    _deploy_experts(action, staff)
    return action


def _deploy_experts(action: Action, staff: User) -> None:
    """Completed, rated missions on the training and the study visit (through the experts'
    services, as the experts demo does)."""
    from actions.models import ExpertiseNeed
    from experts import demo as experts_demo

    pick = experts_demo._Picker()
    needs = ExpertiseNeed.objects.filter(activity__action=action).exclude(activity__type="sop")
    for need, rating in zip(needs.order_by("activity__start_date"), (5, 4), strict=False):
        for expert in pick.take(need, need.experts_needed):
            experts_demo._deploy("completed", need, expert, staff, rating=rating)


# --- monitoring ----------------------------------------------------------------------------


def _day(action: Action, when: When) -> dt.date:
    anchor, offset = when
    base = {"start": action.start_date, "end": action.end_date}.get(anchor)
    day = (base or timezone.localdate()) + dt.timedelta(days=offset)
    return min(day, timezone.localdate())


def _monitor(action: Action, spec: Monitoring, users: dict[str, User]) -> None:
    staff, evaluator = users["staff"], users["evaluator"]
    objectives = list(action.objectives.order_by("position", "id"))
    for item in spec.indicators:
        indicator = services.indicator_create(
            action_id=action.pk,
            by=staff,
            data={
                "name": item.name,
                "level": item.level,
                "unit": item.unit,
                "baseline": item.baseline,
                "target": item.target,
                "direction": item.direction,
                "frequency": item.frequency,
                "means_of_verification": item.verification,
                "objective": objectives[min(item.objective, len(objectives) - 1)].pk
                if objectives
                else None,
            },
        )
        for when, value, note in item.readings:
            services.measurement_record(
                indicator_id=indicator.pk,
                by=evaluator,
                data={"date": _day(action, when), "value": value, "note": note},
            )
    for level, when, description, evidence in spec.outcomes:
        services.outcome_record(
            action_id=action.pk,
            by=evaluator,
            data={
                "level": level,
                "date": _day(action, when),
                "description": description,
                "evidence": evidence,
            },
        )
    for activity_spec in spec.feedback:
        _feedback(action, activity_spec, users)
    if spec.evaluation:
        if spec.submit and action.status == ActionStatus.IN_IMPLEMENTATION:
            actions.action_complete(action_id=action.pk, by=staff)
        # A draft rates what the evaluator has already judged (0: not rated yet).
        data = {k: v for k, v in spec.evaluation.items() if v != 0}
        evaluation = services.evaluation_save(action_id=action.pk, by=evaluator, data=data)
        if spec.submit:
            services.evaluation_submit(
                evaluation_id=evaluation.pk,
                by=evaluator,
                comment="Discussed with the partner at the closing meeting.",
            )


def _feedback(action: Action, spec: FeedbackSpec, users: dict[str, User]) -> None:
    """The activity took place: it is marked done (no service records delivery yet: the
    plan is locked once approved), its participants counted, feedback links shared and
    partly answered, and the partner's focal point gives feedback."""
    activity = Activity.objects.get(action=action, title=spec.activity)
    Activity.objects.filter(pk=activity.pk).update(status=ActivityStatus.DONE)
    women, men, other = spec.participants
    services.participants_record(
        activity_id=activity.pk,
        by=users["staff"],
        data={
            "participants_women": women,
            "participants_men": men,
            "participants_other": other,
        },
    )
    links = services.feedback_links_create(
        activity_id=activity.pk, by=users["staff"], count=spec.links
    )
    for link, (satisfaction, comments) in zip(links, spec.answers, strict=False):
        services.feedback_submit_by_link(
            token=link.token, data={"satisfaction": satisfaction, "comments": comments}
        )
    if spec.partner is not None:
        focal = (
            users["partner2"]
            if action.organisation_id == users["partner2"].organisation_id
            else users["partner"]
        )
        services.feedback_submit(
            activity_id=activity.pk,
            by=focal,
            data={"satisfaction": spec.partner[0], "comments": spec.partner[1]},
        )


# --- a year of history ----------------------------------------------------------------------


def _at(day: dt.date, hour: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def _events(obj: models.Model) -> list[TransitionEvent]:
    ct = ContentType.objects.get_for_model(type(obj))
    return list(
        TransitionEvent.objects.filter(content_type=ct, object_id=obj.pk).order_by(
            "created_at", "id"
        )
    )


def _retime(
    obj: models.Model, first: dt.datetime, last: dt.datetime, anchors: dict[str, dt.datetime]
) -> dict[str, list[dt.datetime]]:
    """Move the object's timeline into ``first``–``last``: the first event of each anchored
    transition at its anchor, the others evenly between their neighbours. Returns the new
    times by transition, in order."""
    events = _events(obj)
    fixed: list[dt.datetime | None] = []
    pinned_already: set[str] = set()
    for event in events:
        anchor = anchors.get(event.transition)
        if anchor is not None and event.transition not in pinned_already:
            pinned_already.add(event.transition)
            fixed.append(anchor)
        else:
            fixed.append(None)
    times: list[dt.datetime] = []
    previous = first
    i = 0
    while i < len(events):
        pinned = fixed[i]
        if pinned is not None:
            times.append(pinned)
            previous = pinned
            i += 1
            continue
        j = i
        while j < len(events) and fixed[j] is None:
            j += 1
        following = fixed[j] if j < len(events) else last
        assert following is not None
        step = (following - previous) / (j - i + 1)
        times += [previous + step * (k - i + 1) for k in range(i, j)]
        i = j
    moved: dict[str, list[dt.datetime]] = {}
    for event, when in zip(events, times, strict=True):
        TransitionEvent.objects.filter(pk=event.pk).update(created_at=when)
        moved.setdefault(event.transition, []).append(when)
    return moved


def _spread_over_the_year() -> None:
    """Decided requests submitted over the last twelve months, and what followed them
    (assessment, action, evaluation, missions, monitoring records) moved with them. Demo
    data only: history cannot be written through the services."""
    now = timezone.now()
    today = timezone.localdate()
    yesterday = now - dt.timedelta(days=1)
    for title, (age, answered, decided) in SCHEDULE.items():
        request = (
            AssistanceRequest.objects.filter(title=title, status__in=["accepted", "declined"])
            .order_by("id")
            .first()
        )
        if request is None:
            continue
        submitted = _at(today - dt.timedelta(days=age), 9)
        decision = submitted + dt.timedelta(days=decided, hours=6)
        moved = _retime(
            request,
            submitted - dt.timedelta(days=2),
            decision,
            {
                "submit": submitted,
                "start-review": submitted + dt.timedelta(days=answered, hours=2),
                "accept": decision,
                "decline": decision,
            },
        )
        responses = moved.get("start-review", []) + moved.get("request-info", [])
        response_due, decision_due = due_dates(submitted)
        AssistanceRequest.objects.filter(pk=request.pk).update(
            created_at=submitted - dt.timedelta(days=2),
            submitted_at=submitted,
            first_response_at=min(responses) if responses else decision,
            first_response_due_at=response_due,
            decision_due_at=decision_due,
            decided_at=decision,
        )
        for kind, transition in (
            (MessageKind.QUESTION, "request-info"),
            (MessageKind.ANSWER, "respond"),
        ):
            messages = RequestMessage.objects.filter(request=request, kind=kind).order_by("id")
            for message, when in zip(messages, moved.get(transition, []), strict=False):
                RequestMessage.objects.filter(pk=message.pk).update(created_at=when)
        assessment = NeedsAssessment.objects.filter(request=request).first()
        if assessment is not None:
            _retime_assessment(
                assessment, decision, min(yesterday, decision + dt.timedelta(days=ASSESSMENT_DAYS))
            )
    for action in Action.objects.filter(request__title__in=list(SCHEDULE)):
        _retime_action(action, yesterday)


def _retime_assessment(
    assessment: NeedsAssessment, accepted: dt.datetime, validated: dt.datetime
) -> None:
    moved = _retime(assessment, accepted, validated, {"validate": validated})
    NeedsAssessment.objects.filter(pk=assessment.pk).update(
        created_at=accepted,
        shared_at=moved["share"][-1] if "share" in moved else None,
        validated_at=moved["validate"][0] if "validate" in moved else None,
    )


def _retime_action(action: Action, yesterday: dt.datetime) -> None:
    assessment = action.assessment
    created = (assessment.validated_at or assessment.created_at) + dt.timedelta(days=2)
    anchors: dict[str, dt.datetime] = {}
    if action.start_date <= timezone.localdate():
        anchors["start"] = _at(action.start_date - dt.timedelta(days=1), 10)
    evaluated = None
    if action.title == CLOSED:
        anchors["complete"] = _at(action.end_date + dt.timedelta(days=5), 11)
        anchors["close"] = _at(action.end_date + dt.timedelta(days=45), 15)
        evaluated = _at(action.end_date + dt.timedelta(days=35), 16)
    elif action.status == ActionStatus.COMPLETED:
        anchors["complete"] = yesterday - dt.timedelta(days=30)
        evaluated = yesterday - dt.timedelta(days=8)
    moved = _retime(action, created, yesterday, anchors)
    fields = {
        "approved_at": "approve",
        "signed_at": "sign",
        "started_at": "start",
        "completed_at": "complete",
        "closed_at": "close",
    }
    Action.objects.filter(pk=action.pk).update(
        created_at=created,
        **{name: moved[t][0] for name, t in fields.items() if t in moved},
    )
    evaluation = FinalEvaluation.objects.filter(action=action).first()
    if evaluation is not None and evaluated is not None:
        _retime(evaluation, evaluated, evaluated, {"submit": evaluated})
        FinalEvaluation.objects.filter(pk=evaluation.pk).update(
            created_at=evaluated - dt.timedelta(days=12), submitted_at=evaluated
        )
    if action.start_date <= timezone.localdate():
        _retime_records(action)


def _retime_records(action: Action) -> None:
    """Monitoring records and missions dated as if recorded when they happened."""
    now = timezone.now()
    start = _at(action.start_date, 9)
    Indicator.objects.filter(action=action).update(created_at=start)
    for measurement in Measurement.objects.filter(indicator__action=action):
        when = min(now, _at(measurement.date + dt.timedelta(days=1), 11))
        Measurement.objects.filter(pk=measurement.pk).update(recorded_at=when)
    for outcome in Outcome.objects.filter(action=action):
        when = min(now, _at(outcome.date + dt.timedelta(days=1), 12))
        Outcome.objects.filter(pk=outcome.pk).update(recorded_at=when)
    for activity in Activity.objects.filter(action=action, status=ActivityStatus.DONE):
        shared = _at(activity.end_date, 16)
        FeedbackLink.objects.filter(activity=activity).update(created_at=shared)
        answers = Feedback.objects.filter(activity=activity).order_by("id")
        for days, answer in enumerate(answers, start=1):
            when = min(now, shared + dt.timedelta(days=days, hours=days))
            Feedback.objects.filter(pk=answer.pk).update(submitted_at=when)
            if answer.link_id is not None:
                FeedbackLink.objects.filter(pk=answer.link_id).update(used_at=when)
    _retime_missions(action)


def _retime_missions(action: Action) -> None:
    from experts.models import Deployment, MissionReport

    if action.title != CLOSED:  # the experts demo dates its own missions
        return
    for deployment in Deployment.objects.filter(need__activity__action=action):
        activity = Activity.objects.get(needs__deployments=deployment)
        invited = _at(activity.start_date - dt.timedelta(days=40), 10)
        completed = _at(activity.end_date + dt.timedelta(days=12), 10)
        moved = _retime(deployment, invited, completed, {"invite": invited, "complete": completed})
        Deployment.objects.filter(pk=deployment.pk).update(
            created_at=invited - dt.timedelta(days=1),
            invited_at=invited,
            expires_at=invited + dt.timedelta(days=7),
            responded_at=moved["accept"][0] if "accept" in moved else None,
            confirmed_at=moved["confirm"][0] if "confirm" in moved else None,
            completed_at=moved["complete"][0] if "complete" in moved else None,
        )
        MissionReport.objects.filter(deployment=deployment).update(
            submitted_at=_at(activity.end_date + dt.timedelta(days=5), 14)
        )
