"""A plausible synthetic portfolio, generated deterministically and written in bulk.

Used by the dashboard benchmark (``bench/dashboard.py``: 50,000 requests, 20,000 actions
over three years) and by ``manage.py seed_scale`` (the scale data set of issue 10: six
years, 100,000 activities and needs, 200,000 deployments, mission reports). Requests from
partner authorities in every region, with thematic areas and GCM objectives, in every
state and with realistic times to first response and decision (service-level due dates
as ``requests_app.sla`` fixes them); needs assessments; actions in every state whose
periods follow their requests, with activities (sex-disaggregated participants on those
done) and expertise needs; a roster (``experts.synthetic``) and deployments that never
double-book an expert; indicators with measurement histories and the progress the rules
give; submitted final evaluations; participants' and partners' feedback.

The people come from the caller (``People``: organisations with their focal points,
case officers, approvers, evaluators); references and titles from ``Naming``. Rows are
written directly (``COPY`` on PostgreSQL through ``experts.synthetic``, ``bulk_create``
elsewhere): no service runs, so no transition event, audit entry or notification is
written here (``cbportal.core.synthetic_history`` writes those from what this returns).
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from actions.models import Action, Activity, ExpertiseNeed
from cbportal.accounts.models import Organisation
from cbportal.core.models import GcmObjective, ThematicArea
from evaluations.models import Feedback, FinalEvaluation, Indicator, Measurement
from experts import synthetic
from experts.models import Deployment, MissionReport
from requests_app.models import AssistanceRequest, NeedsAssessment

# GCM objectives requests cite most often (the others appear too).
POPULAR_GCM = {1: 6, 5: 4, 6: 5, 7: 3, 10: 5, 11: 6, 12: 2, 21: 4, 23: 8}
ACTIVITY_TYPES = (
    "legislation_review",
    "policy_drafting",
    "manual",
    "guidelines",
    "sop",
    "training",
    "policy_workshop",
    "information_exchange",
    "consultation",
    "fact_finding",
    "study_visit",
    "peer_exchange",
    "mentoring",
    "twinning",
    "networking",
)
UNITS = ("number", "percentage", "yes_no", "scale")
LEVELS = ("individual", "organisational", "enabling_environment")
DAC = ("relevance", "coherence", "effectiveness", "efficiency", "impact", "sustainability")


class PortfolioError(Exception):
    """The sizes asked for cannot be generated (too many actions for the requests)."""


@dataclass(frozen=True)
class Sizes:
    requests: int = 50_000
    actions: int = 20_000
    experts: int = 20_000
    years: int = 3
    # Mean activities per action; None: from the action's length (about 3.4).
    activities_per_action: float | None = None
    # Total deployments wanted; None: one per expert slot. More adds earlier invitations
    # that were declined or expired before the slot was filled.
    deployments: int | None = None
    # Share of approved, consenting roster entries with an expert login.
    expert_accounts: float = 0.0
    mission_reports: bool = False
    # Fewer actions than asked when too few requests are accepted (tiny scales).
    strict: bool = True


@dataclass
class People:
    """Who the portfolio belongs to and who works on it (user and organisation ids)."""

    organisations: list[Organisation]
    org_weights: list[float]
    partners: dict[int, list[int]]  # organisation id → its focal points' user ids
    staff: list[int]  # case officers: own requests, assessments, draft actions
    approvers: list[int]
    evaluators: list[int]  # at least one
    email_domain: str
    # Existing experts (the demo's) who also take missions: (expert id, weight in draws)
    # and their missions already booked, which new ones must not overlap.
    extra_experts: list[tuple[int, int]] = field(default_factory=list)
    booked: dict[int, list[tuple[dt.date, dt.date]]] = field(default_factory=dict)


class Naming:
    """References and titles (the benchmark's: ``BR-000001``, ``Bench request 1``)."""

    def requests(self, requests: Sequence[AssistanceRequest], areas: Sequence[list[str]]) -> None:
        for number, r in enumerate(requests, start=1):
            r.title = f"Bench request {number}"
            if r.status != "draft":
                r.reference = f"BR-{number:06d}"

    def actions(self, actions: Sequence[Action], titles: dict[int, str]) -> None:
        for n, x in enumerate(actions, start=1):
            x.reference, x.title = f"BA-{n:06d}", f"Bench action {n}"

    def activity_title(self, kind: str, n: int, action: Action) -> str:
        return f"Bench activity {n + 1} of {action.reference}"

    def indicator_name(self, n: int, action: Action, level: str) -> str:
        return f"Bench indicator {n + 1} of {action.reference}"

    def evaluation_text(self, part: str) -> str:
        """``findings``, ``lessons`` or ``justification``."""
        return f"Bench {part}."


TOPICS = {
    "data": ("migration data", "migration statistics", "a migration information system"),
    "governance": ("the national migration policy", "inter-agency coordination on migration"),
    "protection": ("asylum procedures", "the protection of unaccompanied children"),
    "border-management": ("integrated border management", "risk analysis at the borders"),
    "integration": ("the integration of returnees", "access to services for migrants"),
    "labour-migration": ("labour migration governance", "bilateral labour agreements"),
    "trafficking-smuggling": ("victim identification", "the fight against migrant smuggling"),
    "diaspora-development": ("diaspora engagement", "remittances for local development"),
}
VERBS = ("Strengthening", "Support to", "Improving", "Developing", "Reviewing", "Building")
ACTIVITY_TITLES = {
    "legislation_review": "Review of the legal framework",
    "policy_drafting": "Drafting session on the policy",
    "manual": "Operational manual",
    "guidelines": "Guidelines",
    "sop": "Standard operating procedures",
    "training": "Training of officials",
    "policy_workshop": "Policy workshop",
    "information_exchange": "Information exchange session",
    "consultation": "Stakeholder consultation",
    "fact_finding": "Fact-finding mission",
    "study_visit": "Study visit",
    "peer_exchange": "Peer-to-peer exchange",
    "mentoring": "Mentoring of the core team",
    "twinning": "Twinning arrangement",
    "networking": "Regional networking event",
}
LEVEL_INDICATORS = {
    "individual": "Officials applying the new procedures",
    "organisational": "Cases processed within the legal time limit",
    "enabling_environment": "Implementing regulations adopted",
}


EVALUATION_TEXTS = {
    "findings": "The action delivered its main outputs; the new procedures are in use in "
    "the central services, less so in the regional offices.",
    "lessons": "Peer experts from the region were the most convincing; planning the study "
    "visit earlier would have saved two months.",
    "justification": "Rated on the indicator readings, the mission reports and interviews "
    "with the partner's staff.",
}


class ProgrammeNaming(Naming):
    """References as the services hand them out (``REQ-2026-0001``: yearly numbers in the
    order of submission, ``ACT-…`` in the order of creation, after the numbers
    ``ReferenceCounter`` already gave) and titles a programme would write. ``last``
    collects the last number used per (prefix, year) for the counters."""

    def __init__(self, seed: str, taken: dict[tuple[str, int], int]) -> None:
        self.rng = random.Random(f"{seed}:naming")  # noqa: S311
        self.last = dict(taken)

    def _number(self, prefix: str, year: int) -> str:
        n = self.last.get((prefix, year), 0) + 1
        self.last[(prefix, year)] = n
        return f"{prefix}-{year}-{n:04d}"

    def _topic(self, slugs: Sequence[str]) -> str:
        options = TOPICS.get(slugs[0] if slugs else "", ("migration governance",))
        return self.rng.choice(options)

    def requests(self, requests: Sequence[AssistanceRequest], areas: Sequence[list[str]]) -> None:
        from django.utils import timezone

        for r, slugs in zip(requests, areas, strict=True):
            r.title = f"{self.rng.choice(VERBS)} {self._topic(slugs)}"
            r.problem_statement = (
                f"The authority asks for peer support on {self._topic(slugs)}: procedures "
                "are outdated and staff lack specialised training."
            )
        for r in sorted(
            (r for r in requests if r.submitted_at is not None),
            key=lambda r: r.submitted_at or r.created_at,
        ):
            assert r.submitted_at is not None
            r.reference = self._number("REQ", timezone.localtime(r.submitted_at).year)

    def actions(self, actions: Sequence[Action], titles: dict[int, str]) -> None:
        from django.utils import timezone

        for x in sorted(actions, key=lambda x: x.created_at):
            x.reference = self._number("ACT", timezone.localtime(x.created_at).year)
            x.title = titles.get(x.request_id, "Capacity-building action")
            if x.signed_at is not None:
                x.signed_name = "Head of the partner authority"

    def activity_title(self, kind: str, n: int, action: Action) -> str:
        return f"{ACTIVITY_TITLES.get(kind, kind)} ({n + 1})"

    def indicator_name(self, n: int, action: Action, level: str) -> str:
        return LEVEL_INDICATORS.get(level, "Indicator")

    def evaluation_text(self, part: str) -> str:
        return EVALUATION_TEXTS[part]


@dataclass
class Portfolio:
    requests: list[AssistanceRequest] = field(default_factory=list)
    assessments: list[NeedsAssessment] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    activities: list[Activity] = field(default_factory=list)
    needs: list[ExpertiseNeed] = field(default_factory=list)
    roster: list[synthetic.RosterEntry] = field(default_factory=list)
    deployments: list[Deployment] = field(default_factory=list)
    reports: list[MissionReport] = field(default_factory=list)
    evaluations: list[FinalEvaluation] = field(default_factory=list)
    # action id → its evaluator (user id); request id → its thematic area slugs
    evaluator_of: dict[int, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def insert(model: Any, objects: Sequence[Any]) -> None:
    """Write unsaved instances and set their ids (``COPY`` on PostgreSQL)."""
    from django.db import models

    # insert_objects' COPY writes a JSON column as psycopg2's adapter text ("'[]'::jsonb"),
    # which COPY refuses: such models go through bulk_create.
    if any(isinstance(f, models.JSONField) for f in model._meta.concrete_fields):
        model._default_manager.bulk_create(objects, batch_size=2000)
        return
    synthetic.insert_objects(model, objects, batch_size=2000)


def _lognormal_days(rng: random.Random, median: float, spread: float, most: float) -> float:
    return min(most, rng.lognormvariate(0, spread) * median)


def _at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def analyze(log: Callable[[str], None] = print) -> None:
    """What autovacuum would have done by the time anyone looks at a page: fresh planner
    statistics (the reference tables' too) and visibility maps. Inside a transaction (the
    tests') VACUUM is not allowed; ANALYZE is. PostgreSQL only."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    command = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
    log(f"  {command}")
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.django_table_names(only_existing=True)):
            cursor.execute(f"{command} {connection.ops.quote_name(table)}")


def seed_portfolio(
    sizes: Sizes,
    people: People,
    *,
    seed: str,
    now: dt.datetime,
    naming: Naming | None = None,
    log: Callable[[str], None] = print,
    stage: Callable[[str], None] | None = None,
) -> Portfolio:
    """Write the synthetic portfolio (same ``sizes``, ``people`` and ``seed`` → same data,
    relative to ``now``). ``log`` gets one line per table written; ``stage`` (if given)
    is called with the name of each stage before it starts (a progress bar)."""
    naming = naming or Naming()
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
    # Draws the benchmark's data did not need come from their own streams, so that the
    # benchmark's portfolio stays the same whatever the options.
    prng = random.Random(f"{seed}:people")  # noqa: S311
    xrng = random.Random(f"{seed}:extra")  # noqa: S311
    today = now.date()
    out = Portfolio()
    counts = out.counts
    lap = time.perf_counter()

    def begin(name: str) -> None:
        if stage is not None:
            stage(name)

    def done(label: str, n: int) -> None:
        nonlocal lap
        counts[label] = n
        took = time.perf_counter() - lap
        out.seconds[label] = took
        log(f"  {label:<26} {n:>9,}  ({took:5.1f} s)")
        lap = time.perf_counter()

    organisations = people.organisations
    partner_users = people.partners

    def partner_of(org_id: int) -> int:
        return partner_users[org_id][0]

    def case_officer() -> int:
        return people.staff[prng.randrange(len(people.staff))]

    def approver_besides(drafter: int) -> int:
        others = [a for a in people.approvers if a != drafter] or people.approvers
        return others[prng.randrange(len(others))]

    area_rows_all = list(ThematicArea.objects.order_by("position").values_list("pk", "slug"))
    areas = [pk for pk, _slug in area_rows_all]
    slug_of = dict(area_rows_all)
    area_weights = [3, 5, 4, 5, 3, 5, 4, 2][: len(areas)] + [1] * max(0, len(areas) - 8)
    gcm = list(GcmObjective.objects.order_by("number").values_list("pk", flat=True))
    gcm_weights = [POPULAR_GCM.get(i + 1, 1) for i in range(len(gcm))]

    # Requests: more of them lately; every state; times to answer and decide with a tail.
    from requests_app.sla import due_dates

    begin("requests")
    span_days = sizes.years * 365
    # The same draws as ``weights=``, without summing the weights again for each request.
    org_cumulative = list(itertools.accumulate(people.org_weights))
    requests: list[AssistanceRequest] = []
    for _i in range(sizes.requests):
        org = rng.choices(organisations, cum_weights=org_cumulative)[0]
        age = span_days * rng.random() ** 1.25  # days ago, denser recently
        moment = now - dt.timedelta(days=age)
        roll = rng.random()
        focal = partner_users[org.pk]
        r = AssistanceRequest(
            organisation_id=org.pk,
            created_by_id=focal[prng.randrange(len(focal))] if len(focal) > 1 else focal[0],
            country_id=org.country_id,
            created_at=moment - dt.timedelta(days=rng.uniform(0, 6)),
        )
        if roll < 0.05:
            r.status, r.created_at = "draft", moment
            requests.append(r)
            continue
        r.submitted_at = moment
        r.first_response_due_at, r.decision_due_at = due_dates(moment)
        open_for = (now - moment).days
        if open_for < 21 and roll < 0.6:
            r.status = rng.choice(("submitted", "under_review", "under_review", "info_requested"))
        elif roll < 0.09:
            r.status = "withdrawn"
        elif roll < 0.40:
            r.status = "declined"
        else:
            r.status = "accepted"
        if r.status != "submitted":
            r.first_response_at = moment + dt.timedelta(
                days=_lognormal_days(rng, 1.6, 0.9, min(open_for, 30))
            )
            r.case_officer_id = case_officer()
        if r.status in ("accepted", "declined"):
            assert r.first_response_at is not None
            r.decided_at = min(
                now,
                r.first_response_at
                + dt.timedelta(days=_lognormal_days(rng, 9, 0.8, max(open_for, 1))),
            )
        if r.status == "declined":
            r.decision_reason = "The request falls outside the programme's current priorities."
        requests.append(r)
    request_area_ids: list[list[int]] = []
    request_gcm_ids: list[list[int]] = []
    for _r in requests:
        chosen = sorted(
            set(rng.choices(areas, weights=area_weights, k=rng.choice((1, 1, 2, 2, 3))))
        )
        request_area_ids.append(chosen)
        objectives = sorted(set(rng.choices(gcm, weights=gcm_weights, k=rng.choice((1, 2, 2, 3)))))
        request_gcm_ids.append(objectives)
    naming.requests(requests, [[slug_of[a] for a in chosen] for chosen in request_area_ids])
    insert(AssistanceRequest, requests)
    request_areas = {r.pk: chosen for r, chosen in zip(requests, request_area_ids, strict=True)}
    request_gcm = {r.pk: chosen for r, chosen in zip(requests, request_gcm_ids, strict=True)}
    area_rows = [(pk, a) for pk, chosen in request_areas.items() for a in chosen]
    gcm_rows = [(pk, g) for pk, chosen in request_gcm.items() for g in chosen]
    synthetic.insert_rows(
        AssistanceRequest.thematic_areas.through,
        ("assistancerequest_id", "thematicarea_id"),
        area_rows,
    )
    synthetic.insert_rows(
        AssistanceRequest.gcm_objectives.through,
        ("assistancerequest_id", "gcmobjective_id"),
        gcm_rows,
    )
    out.requests = requests
    done("requests", len(requests))
    counts["request thematic areas"] = len(area_rows)
    counts["request GCM objectives"] = len(gcm_rows)

    # Assessments of the accepted requests; the actions come from the oldest validated ones.
    begin("assessments")
    accepted = [r for r in requests if r.status == "accepted"]
    ready = [r for r in accepted if r.decided_at and (now - r.decided_at).days >= 30]
    wanted = sizes.actions
    if len(ready) < wanted:
        if sizes.strict:
            raise PortfolioError(
                f"{sizes.requests:,} requests give {len(ready):,} accepted ones old enough "
                "for an action: ask for at most that many actions."
            )
        wanted = len(ready)
    with_action = {id(r) for r in rng.sample(ready, wanted)}
    assessments = []
    for r in accepted:
        assert r.decided_at is not None and r.case_officer_id is not None
        validated = min(now, r.decided_at + dt.timedelta(days=rng.uniform(10, 40)))
        has_action = id(r) in with_action
        assessments.append(
            NeedsAssessment(
                request_id=r.pk,
                owner_id=r.case_officer_id,
                status="validated" if has_action else rng.choice(("in_progress", "shared")),
                created_at=r.decided_at,
                shared_at=validated - dt.timedelta(days=3) if has_action else None,
                validated_at=validated if has_action else None,
                validated_by_id=r.created_by_id if has_action else None,
            )
        )
    insert(NeedsAssessment, assessments)
    out.assessments = assessments
    done("needs assessments", len(assessments))

    begin("actions")
    actions: list[Action] = []
    evaluated_at: dict[int, dt.datetime] = {}  # action index → evaluation submitted
    for r, assessment in zip(accepted, assessments, strict=True):
        if id(r) not in with_action:
            continue
        assert assessment.validated_at is not None
        created = assessment.validated_at + dt.timedelta(days=rng.uniform(1, 10))
        start = (created + dt.timedelta(days=rng.uniform(20, 120))).date()
        end = start + dt.timedelta(days=rng.randint(60, 540))
        assert r.case_officer_id is not None
        x = Action(
            assessment_id=assessment.pk,
            request_id=r.pk,
            organisation_id=r.organisation_id,
            country_id=r.country_id,
            summary="",
            publish=rng.random() < 0.4,
            start_date=start,
            end_date=end,
            drafted_by_id=r.case_officer_id,
            created_at=created,
        )
        roll = rng.random()
        if start > today:
            x.status = (
                "design"
                if roll < 0.35
                else "proposed"
                if roll < 0.55
                else "approved"
                if roll < 0.95
                else "cancelled"
            )
        elif end >= today:
            x.status = (
                "in_implementation" if roll < 0.86 else "suspended" if roll < 0.94 else "cancelled"
            )
        elif (today - end).days < 150:
            x.status = "completed" if roll < 0.6 else "closed" if roll < 0.96 else "cancelled"
        else:
            x.status = "closed" if roll < 0.85 else "completed" if roll < 0.95 else "cancelled"
        if x.status != "design":
            x.proposed_by_id = x.drafted_by_id
        if x.status not in ("design", "proposed") and not (
            x.status == "cancelled" and start > today
        ):
            x.approved_by_id = approver_besides(x.drafted_by_id)
            x.approved_at = min(now, created + dt.timedelta(days=rng.uniform(5, 15)))
            x.signed_at = min(now, x.approved_at + dt.timedelta(days=rng.uniform(1, 10)))
            x.signed_by_id = r.created_by_id
            x.signed_name = "Bench focal point"
        if start <= today and x.status != "cancelled":
            x.started_at = _at(start, 9)
        if x.status == "suspended":
            x.status_before_suspension = "in_implementation"
        if x.status in ("completed", "closed"):
            x.completed_at = _at(min(end + dt.timedelta(days=rng.randint(1, 20)), today), 12)
        # Closed actions and most completed ones have a submitted final evaluation, and
        # closing came after it.
        if x.status == "closed" or (x.status == "completed" and rng.random() < 0.6):
            assert x.completed_at is not None
            evaluated = min(now, x.completed_at + dt.timedelta(days=rng.randint(10, 80)))
            evaluated_at[len(actions)] = evaluated
            if x.status == "closed":
                x.closed_at = min(now, evaluated + dt.timedelta(days=rng.randint(3, 20)))
        actions.append(x)
    naming.actions(actions, {r.pk: r.title for r in accepted})
    insert(Action, actions)
    action_area_rows, action_gcm_rows = [], []
    for x in actions:
        action_area_rows += [(x.pk, t) for t in request_areas[x.request_id]]
        action_gcm_rows += [(x.pk, g) for g in request_gcm[x.request_id]]
    synthetic.insert_rows(
        Action.thematic_areas.through, ("action_id", "thematicarea_id"), action_area_rows
    )
    synthetic.insert_rows(
        Action.gcm_objectives.through, ("action_id", "gcmobjective_id"), action_gcm_rows
    )
    # An evaluator follows every action from its approval.
    evaluator_rows = []
    for x in actions:
        if x.approved_at is not None and people.evaluators:
            chosen_evaluator = people.evaluators[prng.randrange(len(people.evaluators))]
            out.evaluator_of[x.pk] = chosen_evaluator
            evaluator_rows.append((x.pk, chosen_evaluator))
    synthetic.insert_rows(Action.evaluators.through, ("action_id", "user_id"), evaluator_rows)
    out.actions = actions
    done("actions", len(actions))

    # Activities and their expertise needs.
    begin("activities")
    activities: list[Activity] = []
    for x in actions:
        length = (x.end_date - x.start_date).days
        if sizes.activities_per_action is None:
            count = max(1, min(6, round(rng.gauss(1 + length / 120, 0.8))))
        else:
            # Longer actions hold more activities; the mean over 60–540 days is as asked.
            mean = sizes.activities_per_action * (0.5 + length / 600)
            count = max(1, min(12, round(xrng.gauss(mean, 1.0))))
        for n in range(count):
            first = x.start_date + dt.timedelta(days=int(length * n / count))
            begin_day = first + dt.timedelta(days=rng.randint(0, max(0, length // count - 12)))
            finish = min(
                x.end_date, begin_day + dt.timedelta(days=rng.choice((1, 2, 3, 4, 5, 10, 20, 30)))
            )
            expected = rng.choice((8, 12, 15, 20, 25, 30, 40))
            kind = rng.choice(ACTIVITY_TYPES)
            a = Activity(
                action_id=x.pk,
                type=kind,
                title=naming.activity_title(kind, n, x),
                start_date=begin_day,
                end_date=finish,
                modality=rng.choice(("onsite", "onsite", "remote", "hybrid")),
                country_id=x.country_id,
                expected_participants=expected,
                position=n,
            )
            if x.status == "cancelled":
                a.status = "cancelled"
            elif finish < today and x.status not in ("design", "proposed", "approved"):
                a.status = "done" if rng.random() < 0.95 else "cancelled"
            if a.status == "done":
                came = rng.randint(expected // 2, expected)
                a.participants_women = rng.randint(came // 4, (3 * came) // 4)
                a.participants_other = 1 if came > 10 and rng.random() < 0.1 else 0
                a.participants_men = came - a.participants_women - a.participants_other
            activities.append(a)
    insert(Activity, activities)
    out.activities = activities
    done("activities", len(activities))
    area_of = {x.pk: request_areas[x.request_id][0] for x in actions}
    needs = [
        ExpertiseNeed(
            activity_id=a.pk,
            thematic_area_id=area_of[a.action_id],
            experts_needed=rng.choice((1, 1, 2, 2, 3)),
            expert_days=max(1, min(10, (a.end_date - a.start_date).days + 1)),
            origin_preference=rng.choice(("any", "eu_member_state", "partner_region_peer")),
        )
        for a in activities
    ]
    insert(ExpertiseNeed, needs)
    out.needs = needs
    done("expertise needs", len(needs))

    # The roster (the matching benchmark's generator) and the missions.
    begin("experts")
    entries = synthetic.generate(
        sizes.experts,
        seed=seed,
        email_domain=people.email_domain,
        accounts=sizes.expert_accounts,
    )
    vetter = people.staff[0] if people.staff else None
    if vetter is not None:
        for e in entries:
            if e.expert.vetting_status != "pending":
                e.expert.vetted_by_id = vetter
    synthetic.write(entries)
    out.roster = entries
    done("experts", len(entries))

    begin("deployments")
    eligible = [e.expert.pk for e in entries if e.expert.vetting_status == "approved"]
    for expert_id, weight in people.extra_experts:
        eligible += [expert_id] * weight
    busy_until: dict[int, dt.date] = {}
    status_of = {x.pk: x.status for x in actions}
    officer_of = {x.pk: x.drafted_by_id for x in actions}
    activity_of = {a.pk: a for a in activities}
    ordered = sorted(needs, key=lambda n: activity_of[n.activity_id].start_date)
    extra_rate = 0.0
    if sizes.deployments is not None:
        slots = sum(
            n.experts_needed
            for n in ordered
            if status_of[activity_of[n.activity_id].action_id]
            not in ("design", "proposed", "cancelled")
            and activity_of[n.activity_id].status != "cancelled"
        )
        extra_rate = max(0.0, sizes.deployments / max(1, slots) - 1)

    def free(expert: int, start: dt.date, end: dt.date) -> bool:
        if busy_until.get(expert, dt.date.min) >= start:
            return False
        return all(e < start or s > end for s, e in people.booked.get(expert, ()))

    deployments: list[Deployment] = []
    for need in ordered:
        a = activity_of[need.activity_id]
        if status_of[a.action_id] in ("design", "proposed", "cancelled") or a.status == "cancelled":
            continue
        past = a.end_date < today
        officer = officer_of[a.action_id]
        taken: set[int] = set()
        for _n in range(need.experts_needed):
            for _try in range(30):
                expert = rng.choice(eligible)
                if expert not in taken and free(expert, a.start_date, a.end_date):
                    break
            else:
                continue
            taken.add(expert)
            invited = min(
                now - dt.timedelta(days=2),
                _at(a.start_date - dt.timedelta(days=rng.randint(20, 60)), 10),
            )
            # Earlier invitations for the same slot that were declined or let expire.
            while extra_rate and xrng.random() < extra_rate / (1 + extra_rate):
                other = xrng.choice(eligible)
                if other in taken:
                    break
                taken.add(other)
                asked = invited - dt.timedelta(days=xrng.randint(8, 20))
                early = Deployment(
                    expert_id=other,
                    need_id=need.pk,
                    shortlisted_by_id=officer,
                    invited_by_id=officer,
                    invited_at=asked,
                    expires_at=asked + dt.timedelta(days=7),
                    score=round(xrng.uniform(40, 95), 2),
                    created_at=asked - dt.timedelta(days=1),
                )
                if xrng.random() < 0.7:
                    early.status = "declined"
                    early.responded_at = asked + dt.timedelta(days=xrng.randint(1, 6))
                    early.decline_reason = "Not available over these dates."
                else:
                    early.status = "expired"
                deployments.append(early)
            d = Deployment(
                expert_id=expert,
                need_id=need.pk,
                shortlisted_by_id=officer,
                invited_by_id=officer,
                invited_at=invited,
                expires_at=invited + dt.timedelta(days=7),
                score=round(rng.uniform(40, 95), 2),
                created_at=invited - dt.timedelta(days=1),
            )
            roll = rng.random()
            if roll < (0.85 if past else 0.55):
                d.status = "completed" if past and roll < 0.8 else "confirmed"
                d.responded_at = min(now, invited + dt.timedelta(days=2))
                d.confirmed_by_id = officer
                d.confirmed_at = min(now, invited + dt.timedelta(days=4))
                d.start_date, d.end_date = a.start_date, a.end_date
                d.expert_days = min(need.expert_days, (a.end_date - a.start_date).days + 1)
                busy_until[expert] = a.end_date
                if d.status == "completed":
                    d.completed_at = _at(min(today, a.end_date + dt.timedelta(days=10)), 12)
                    d.rating = rng.choices((1, 2, 3, 4, 5), weights=synthetic.RATING_WEIGHTS)[0]
                    d.rated_by_id = officer
            elif roll < 0.92:
                d.status = "declined"
                d.responded_at = min(now, invited + dt.timedelta(days=3))
                d.decline_reason = "Not available over these dates."
            else:
                d.status = "cancelled" if past else rng.choice(("invited", "accepted"))
                if d.status == "cancelled":
                    d.cancelled_at = invited + dt.timedelta(days=10)
                    d.cancel_reason = "The activity was rescheduled without this expert."
                    d.status_before_cancel = "invited"
                elif d.status == "accepted":
                    d.responded_at = min(now, invited + dt.timedelta(days=2))
                else:
                    # Still waiting for an answer: invited lately, not yet expired.
                    d.invited_at = now - dt.timedelta(days=2)
                    d.expires_at = d.invited_at + dt.timedelta(days=7)
                    d.created_at = d.invited_at - dt.timedelta(days=1)
            deployments.append(d)
    insert(Deployment, deployments)
    out.deployments = deployments
    done("deployments", len(deployments))

    # The track record matching reads (``services.refresh_track_record``'s figures).
    ratings: dict[int, list[int]] = {}
    for d in deployments:
        if d.rating is not None:
            ratings.setdefault(d.expert_id, []).append(d.rating)
    if ratings:
        _write_track_records(ratings)

    if sizes.mission_reports:
        begin("mission reports")
        user_of = {e.expert.pk: e.expert.user_id for e in entries}
        reports = []
        for d in deployments:
            if d.status != "completed":
                continue
            assert d.end_date is not None and d.completed_at is not None
            assert d.expert_days is not None
            reports.append(
                MissionReport(
                    deployment_id=d.pk,
                    summary="Mission carried out as planned with the partner's team.",
                    outputs="Workshop delivered; recommendations note shared with the partner.",
                    recommendations="Follow up with a peer exchange within six months.",
                    days_worked=max(1, d.expert_days - (1 if xrng.random() < 0.1 else 0)),
                    submitted_by_id=user_of.get(d.expert_id),
                    submitted_at=min(
                        d.completed_at - dt.timedelta(hours=2),
                        _at(d.end_date + dt.timedelta(days=xrng.randint(1, 9)), 15),
                    ),
                )
            )
        insert(MissionReport, reports)
        out.reports = reports
        done("mission reports", len(reports))

    # Indicators with measurement histories, their progress computed by the real rules.
    from evaluations import progress

    begin("indicators")
    monitored = [
        x
        for x in actions
        if x.status in ("approved", "in_implementation", "suspended", "completed", "closed")
    ]
    indicators: list[Indicator] = []
    readings: list[list[tuple[dt.date, Decimal]]] = []
    for x in monitored:
        for n in range(rng.randint(2, 4)):
            unit = rng.choice(UNITS)
            if unit == "number":
                baseline = Decimal(rng.randint(0, 50))
                target = baseline + rng.randint(10, 200)
            elif unit == "percentage":
                baseline = Decimal(rng.randint(0, 60))
                target = baseline + rng.randint(10, 100 - int(baseline))
            elif unit == "yes_no":
                baseline, target = Decimal(0), Decimal(1)
            else:
                baseline = Decimal(rng.randint(1, 3))
                target = baseline + rng.randint(1, 5 - int(baseline))
            direction = "increase"
            if unit == "number" and rng.random() < 0.2:  # e.g. days to process a file
                baseline, target, direction = target, baseline, "decrease"
            level = rng.choice(LEVELS)
            ind = Indicator(
                action_id=x.pk,
                name=naming.indicator_name(n, x, level),
                level=level,
                unit=unit,
                baseline=baseline,
                target=target,
                direction=direction,
                frequency=rng.choice(
                    ("quarterly", "quarterly", "semi_annual", "monthly", "end_only")
                ),
                position=n,
                created_by_id=x.drafted_by_id,
                created_at=x.created_at,
            )
            # How the action fares against this indicator (1: exactly as planned).
            pace = rng.choice((1.25, 1.1, 1.0, 1.0, 0.95, 0.85, 0.7, 0.4))
            history: list[tuple[dt.date, Decimal]] = []
            last = min(x.end_date, today - dt.timedelta(days=1))
            if x.started_at is None:
                days: list[dt.date] = []
            elif ind.frequency == "end_only":  # measured once, when the action ends
                days = (
                    [x.end_date - dt.timedelta(days=rng.randint(0, 10))]
                    if x.end_date < today
                    else []
                )
            else:
                step = {"monthly": 30, "quarterly": 91, "semi_annual": 182}[ind.frequency]
                day = x.start_date + dt.timedelta(days=rng.randint(20, 60))
                days = []
                while day <= last:
                    days.append(day)
                    day += dt.timedelta(days=step + rng.randint(-7, 7))
                days = days[-6:]  # the last six readings
            for day in days:
                share = progress.elapsed_share(x.start_date, x.end_date, day)
                reached = min(Decimal(1), share * Decimal(str(pace))) + Decimal(
                    str(round(rng.uniform(-0.05, 0.05), 2))
                )
                if unit == "yes_no":  # done or not, once most of the way is covered
                    value = Decimal(1) if reached >= Decimal("0.8") else Decimal(0)
                else:
                    value = baseline + (target - baseline) * reached
                    value = value.quantize(Decimal("1"))
                    low, high = {"percentage": (0, 100), "scale": (1, 5)}.get(unit, (0, 10**6))
                    value = min(Decimal(high), max(Decimal(low), value))
                history.append((day, value))
            if history:
                latest_day, latest = history[-1]
                result = progress.assess(
                    baseline=baseline,
                    target=target,
                    value=latest,
                    measured_on=latest_day,
                    start=x.start_date,
                    end=x.end_date,
                )
                ind.latest_value, ind.latest_date = latest, latest_day
                ind.progress, ind.progress_status = result.progress, result.status
            indicators.append(ind)
            readings.append(history)
    insert(Indicator, indicators)
    done("indicators", len(indicators))
    evaluator_of = out.evaluator_of
    fallback_evaluator = people.evaluators[0]
    measurements = [
        Measurement(
            indicator_id=ind.pk,
            date=day,
            value=value,
            recorded_by_id=evaluator_of.get(ind.action_id, fallback_evaluator),
            recorded_at=min(now, _at(day + dt.timedelta(days=2), 11)),
        )
        for ind, history in zip(indicators, readings, strict=True)
        for day, value in history
    ]
    insert(Measurement, measurements)
    done("measurements", len(measurements))

    # Final evaluations, submitted when the actions were generated said so.
    begin("evaluations")
    evaluations = []
    for index, submitted in evaluated_at.items():
        action = actions[index]
        by = evaluator_of.get(action.pk, fallback_evaluator)
        evaluation = FinalEvaluation(
            action_id=action.pk,
            status="submitted",
            findings=naming.evaluation_text("findings"),
            lessons=naming.evaluation_text("lessons"),
            created_by_id=by,
            submitted_by_id=by,
            submitted_at=submitted,
            created_at=submitted - dt.timedelta(days=10),
        )
        for name in DAC:
            setattr(evaluation, name, rng.choices((1, 2, 3, 4), weights=(4, 18, 50, 28))[0])
            setattr(evaluation, f"{name}_justification", naming.evaluation_text("justification"))
        evaluations.append(evaluation)
    insert(FinalEvaluation, evaluations)
    out.evaluations = evaluations
    done("final evaluations", len(evaluations))

    # Feedback on the activities that took place: participants (links) and the partner.
    org_of_action = {x.pk: x.organisation_id for x in actions}
    feedback = []
    for a in activities:
        if a.status != "done":
            continue
        answered = _at(a.end_date, 17)
        for n in range(rng.randint(1, 6)):
            feedback.append(
                Feedback(
                    activity_id=a.pk,
                    respondent="participant",
                    satisfaction=rng.choices((1, 2, 3, 4, 5), weights=(3, 7, 20, 40, 30))[0],
                    submitted_at=min(
                        now, answered + dt.timedelta(days=n, hours=rng.randint(1, 60))
                    ),
                )
            )
        if rng.random() < 0.7:
            feedback.append(
                Feedback(
                    activity_id=a.pk,
                    respondent="partner",
                    satisfaction=rng.choices((2, 3, 4, 5), weights=(5, 20, 45, 30))[0],
                    submitted_by_id=partner_of(org_of_action[a.action_id]),
                    submitted_at=min(now, answered + dt.timedelta(days=rng.randint(2, 20))),
                )
            )
    insert(Feedback, feedback)
    done("feedback", len(feedback))
    return out


def _write_track_records(ratings: dict[int, list[int]]) -> None:
    """Add the new missions' ratings to ``rating_sum``/``rating_count`` of the rated
    experts, one statement per batch (the roster was written before its missions; an
    expert from outside it keeps the ratings it had)."""
    from django.db import connection
    from django.db.models import F

    from experts.models import Expert

    rows = [(pk, sum(r), len(r)) for pk, r in ratings.items()]
    table = Expert._meta.db_table
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 5000):
            batch = rows[start : start + 5000]
            if connection.vendor == "postgresql":
                values = ", ".join(["(%s, %s, %s)"] * len(batch))
                cursor.execute(
                    f"UPDATE {table} AS e SET rating_sum = e.rating_sum + v.s, "  # noqa: S608
                    "rating_count = e.rating_count + v.c "
                    f"FROM (VALUES {values}) AS v(id, s, c) WHERE e.id = v.id",
                    [value for row in batch for value in row],
                )
            else:
                for pk, s, c in batch:
                    Expert.objects.filter(pk=pk).update(
                        rating_sum=F("rating_sum") + s, rating_count=F("rating_count") + c
                    )
