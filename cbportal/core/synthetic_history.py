"""The history of a synthetic portfolio: transition events, their audit entries and the
notifications they caused, written in bulk.

``cbportal.core.synthetic_portfolio`` writes objects in their current state without going
through the services; this module writes what the services would have written on the way
there — for each object the chain of transitions from its first state to its current one
(the timeline pages show), at the times its own fields record (``submitted_at``,
``approved_at``, ``confirmed_at``…), fired by plausible people (the partner's focal point
submits, the case officer reviews, an approver other than the drafter approves, the
expert answers, the system expires); one audit entry per event, as
``core.services.record_transition`` files it; and in-app notifications for the people each
event concerns (``<app>/notifications.py``), rendered in the recipient's language, mostly
read and sent. Rows are inserted only (PostgreSQL refuses UPDATE and DELETE of transition
events and audit entries), with their real times.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import connection, models
from django.template.loader import render_to_string
from django.utils import translation

from actions.models import Action
from cbportal.core.events import get_event
from cbportal.core.models import AuditEntry, DeliveryStatus, Notification, TransitionEvent
from cbportal.core.synthetic_portfolio import People, Portfolio
from evaluations.models import FinalEvaluation
from experts import synthetic
from experts.models import Deployment, Expert
from requests_app.models import AssistanceRequest, NeedsAssessment

MINUTE = dt.timedelta(minutes=1)

# The audit log files the roster's vetting apart (experts.workflow.VETTING_WORKFLOW).
AUDIT_KIND: dict[type[models.Model], str] = {Expert: "vetting"}

# transition of a model → (notification event, who receives it)
NOTIFIED: dict[tuple[type[models.Model], str], list[tuple[str, str]]] = {
    (AssistanceRequest, "submit"): [
        ("request_submitted", "partners"),
        ("request_received", "officer"),
    ],
    (AssistanceRequest, "request-info"): [("request_info_requested", "partners")],
    (AssistanceRequest, "respond"): [("request_responded", "officer")],
    (AssistanceRequest, "accept"): [("request_accepted", "partners")],
    (AssistanceRequest, "decline"): [("request_declined", "partners")],
    (AssistanceRequest, "withdraw"): [("request_withdrawn", "officer")],
    (NeedsAssessment, "share"): [("assessment_shared", "partners")],
    (NeedsAssessment, "return"): [("assessment_returned", "officer")],
    (NeedsAssessment, "validate"): [("assessment_validated", "officer")],
    (Action, "propose"): [("action_proposed", "approvers")],
    (Action, "return"): [("action_returned", "officer")],
    (Action, "approve"): [
        ("action_approved", "partners"),
        ("action_approved", "officer"),
        ("evaluator_assigned", "evaluator"),
    ],
    (Action, "sign"): [("action_signed", "officer")],
    (Action, "start"): [("action_started", "partners")],
    (Action, "suspend"): [("action_suspended", "partners")],
    (Action, "cancel"): [("action_cancelled", "partners")],
    (Action, "close"): [("action_closed", "partners")],
    (Deployment, "invite"): [("deployment_invited", "expert")],
    (Deployment, "accept"): [("deployment_accepted", "officer")],
    (Deployment, "decline"): [("deployment_declined", "officer")],
    (Deployment, "expire"): [("deployment_expired", "officer")],
    (Deployment, "confirm"): [
        ("deployment_confirmed", "expert"),
        ("deployment_confirmed", "partners"),
    ],
    (Deployment, "cancel"): [("deployment_cancelled", "expert")],
    (Deployment, "complete"): [("mission_report_submitted", "officer")],
    (FinalEvaluation, "submit"): [
        ("evaluation_submitted", "officer"),
        ("evaluation_submitted", "partners"),
    ],
    (Expert, "approve"): [("expert_vetted", "expert")],
    (Expert, "reject"): [("expert_vetted", "expert")],
}
URL_NAMES = {
    AssistanceRequest: "requests_app:detail",
    NeedsAssessment: "requests_app:assessment",
    Action: "actions:detail",
    Deployment: "experts:deployment",
    FinalEvaluation: "evaluations:evaluation",
    Expert: "experts:detail",
}


@dataclass
class Step:
    """One transition of one object, before it is written."""

    model: type[models.Model]
    object_id: int
    transition: str
    from_state: str
    to_state: str
    actor_id: int | None
    at: dt.datetime
    comment: str = ""
    actor_name: str = ""


@dataclass
class Context:
    """What an object's notifications need: who to tell and what its subject names."""

    reference: str
    partners: list[int]
    officer: int | None
    expert_user: int | None = None
    expert_name: str = ""
    organisation: str = ""
    evaluator: int | None = None
    url_id: int = 0


@dataclass
class HistoryCounts:
    transitions: int = 0
    audit_entries: int = 0
    notifications: int = 0
    by_model: dict[str, int] = field(default_factory=dict)


def _chain(steps: list[Step], now: dt.datetime) -> list[Step]:
    """Times in order (a minute apart at least) and never in the future."""
    previous: dt.datetime | None = None
    for step in steps:
        at = step.at
        if previous is not None and at <= previous:
            at = previous + MINUTE
        step.at = min(at, now)
        previous = step.at
    return steps


def _between(rng: random.Random, start: dt.datetime, end: dt.datetime) -> dt.datetime:
    if end <= start:
        return start + MINUTE
    return start + (end - start) * rng.uniform(0.2, 0.8)


def request_steps(r: AssistanceRequest, rng: random.Random, now: dt.datetime) -> list[Step]:
    if r.submitted_at is None:
        return []
    pk, officer, partner = r.pk, r.case_officer_id, r.created_by_id

    def step(name: str, a: str, b: str, by: int | None, at: dt.datetime, comment: str = "") -> Step:
        return Step(AssistanceRequest, pk, name, a, b, by, at, comment)

    steps = [step("submit", "draft", "submitted", partner, r.submitted_at)]
    if r.first_response_at is None:
        return _chain(steps, now)
    reviewed = r.first_response_at
    steps.append(step("start-review", "submitted", "under_review", officer, reviewed))
    state = "under_review"
    end = r.decided_at or now
    if r.status == "info_requested" or (
        r.status in ("accepted", "declined") and rng.random() < 0.2
    ):
        asked = _between(rng, reviewed, end)
        steps.append(
            step(
                "request-info",
                state,
                "info_requested",
                officer,
                asked,
                "Please send the official letter of request and the list of institutions.",
            )
        )
        state = "info_requested"
        if r.status != "info_requested":
            steps.append(
                step(
                    "respond",
                    state,
                    "under_review",
                    partner,
                    _between(rng, asked, end),
                    "The letter and the list are attached.",
                )
            )
            state = "under_review"
    if r.status in ("accepted", "declined"):
        assert r.decided_at is not None
        name = "accept" if r.status == "accepted" else "decline"
        steps.append(step(name, state, r.status, officer, r.decided_at, r.decision_reason))
    elif r.status == "withdrawn":
        steps.append(
            step(
                "withdraw",
                state,
                "withdrawn",
                partner,
                reviewed + dt.timedelta(days=rng.uniform(1, 20)),
                "The ministry has found another source of support.",
            )
        )
    return _chain(steps, now)


def assessment_steps(
    a: NeedsAssessment, partner: int | None, rng: random.Random, now: dt.datetime
) -> list[Step]:
    pk, officer = a.pk, a.owner_id
    if a.status == "in_progress":
        return []
    shared = a.shared_at or min(now, a.created_at + dt.timedelta(days=rng.uniform(5, 30)))
    steps: list[Step] = []
    if a.status == "validated" and rng.random() < 0.15:
        first = _between(rng, a.created_at, shared)
        steps += [
            Step(NeedsAssessment, pk, "share", "in_progress", "shared", officer, first),
            Step(
                NeedsAssessment,
                pk,
                "return",
                "shared",
                "in_progress",
                partner,
                _between(rng, first, shared),
                "Please add the training needs of the regional offices.",
            ),
        ]
    steps.append(Step(NeedsAssessment, pk, "share", "in_progress", "shared", officer, shared))
    if a.status == "validated":
        assert a.validated_at is not None
        steps.append(
            Step(
                NeedsAssessment,
                pk,
                "validate",
                "shared",
                "validated",
                a.validated_by_id,
                a.validated_at,
            )
        )
    return _chain(steps, now)


def action_steps(x: Action, rng: random.Random, now: dt.datetime) -> list[Step]:
    pk, officer = x.pk, x.drafted_by_id
    steps: list[Step] = []

    def step(name: str, a: str, b: str, by: int | None, at: dt.datetime, comment: str = "") -> None:
        steps.append(Step(Action, pk, name, a, b, by, at, comment))

    state = "design"
    if x.status == "design" and rng.random() < 0.1:
        proposed = x.created_at + dt.timedelta(days=rng.uniform(2, 10))
        step("propose", "design", "proposed", officer, proposed)
        step(
            "return",
            "proposed",
            "design",
            None,
            proposed + dt.timedelta(days=2),
            "The budget of the study visit needs a justification.",
        )
    if x.status != "design":
        until = x.approved_at or now
        step("propose", "design", "proposed", officer, _between(rng, x.created_at, until))
        state = "proposed"
    if x.approved_at is not None:
        step("approve", "proposed", "approved", x.approved_by_id, x.approved_at)
        if x.signed_at is not None:
            step("sign", "approved", "approved", x.signed_by_id, x.signed_at)
        state = "approved"
    if x.started_at is not None:
        step("start", "approved", "in_implementation", officer, x.started_at)
        state = "in_implementation"
    if x.status == "suspended":
        assert x.started_at is not None
        step(
            "suspend",
            state,
            "suspended",
            officer,
            _between(rng, x.started_at, now),
            "Suspended at the partner's request during the elections.",
        )
    elif x.status in ("completed", "closed"):
        assert x.completed_at is not None
        step("complete", state, "completed", officer, x.completed_at)
        if x.status == "closed":
            assert x.closed_at is not None
            step("close", "completed", "closed", officer, x.closed_at)
    elif x.status == "cancelled":
        last = steps[-1].at if steps else x.created_at
        step(
            "cancel",
            state,
            "cancelled",
            officer,
            last + dt.timedelta(days=rng.uniform(3, 30)),
            "The partner's priorities changed after the reorganisation of the ministry.",
        )
    for s in steps:
        if s.transition == "return" and s.actor_id is None:
            s.actor_id = x.approved_by_id
    return _chain(steps, now)


def deployment_steps(d: Deployment, expert_user: int | None, now: dt.datetime) -> list[Step]:
    pk, officer = d.pk, d.invited_by_id
    assert d.invited_at is not None
    steps = [Step(Deployment, pk, "invite", "shortlisted", "invited", officer, d.invited_at)]

    def step(name: str, a: str, b: str, by: int | None, at: Any, comment: str = "") -> None:
        steps.append(Step(Deployment, pk, name, a, b, by, at, comment))

    if d.status in ("accepted", "confirmed", "completed"):
        step("accept", "invited", "accepted", expert_user, d.responded_at)
    if d.status in ("confirmed", "completed"):
        step("confirm", "accepted", "confirmed", officer, d.confirmed_at)
    if d.status == "completed":
        step("complete", "confirmed", "completed", officer, d.completed_at)
    elif d.status == "declined":
        step("decline", "invited", "declined", expert_user, d.responded_at, d.decline_reason)
    elif d.status == "expired":
        step("expire", "invited", "expired", None, d.expires_at)
    elif d.status == "cancelled":
        step(
            "cancel",
            d.status_before_cancel or "invited",
            "cancelled",
            officer,
            d.cancelled_at,
            d.cancel_reason,
        )
    return _chain(steps, now)


def evaluation_steps(e: FinalEvaluation, now: dt.datetime) -> list[Step]:
    if e.status != "submitted" or e.submitted_at is None:
        return []
    return [
        Step(
            FinalEvaluation,
            e.pk,
            "submit",
            "draft",
            "submitted",
            e.submitted_by_id,
            min(now, e.submitted_at),
        )
    ]


def vetting_steps(expert: Expert, now: dt.datetime) -> list[Step]:
    if expert.vetting_status == "pending" or expert.vetted_at is None:
        return []
    name = "approve" if expert.vetting_status == "approved" else "reject"
    return [
        Step(
            Expert,
            expert.pk,
            name,
            "pending",
            expert.vetting_status,
            expert.vetted_by_id,
            min(now, expert.vetted_at),
            expert.vetting_note,
        )
    ]


class _Blank:
    """A template target whose every attribute path renders as a marker naming its last
    attribute (``target.need.activity.action.reference`` → ``\\x00reference\\x00``), so a
    subject is rendered once per event and language and filled per row."""

    def __init__(self, name: str = "") -> None:
        self._name = name

    def __getattr__(self, name: str) -> _Blank:
        if name.startswith("_"):
            raise AttributeError(name)
        return _Blank(name)

    def __getitem__(self, key: Any) -> Any:
        raise KeyError(key)

    def __str__(self) -> str:
        return f"\x00{self._name}\x00"


def subject_templates(events: Sequence[str]) -> dict[tuple[str, str], str]:
    templates = {}
    for event in events:
        for language in ("en", "fr", "es"):
            with translation.override(language):
                text = render_to_string(f"emails/{event}/subject.txt", {"target": _Blank()})
            templates[(event, language)] = " ".join(text.split())
    return templates


def _fill(template: str, c: Context) -> str:
    return (
        template.replace("\x00reference\x00", c.reference)
        .replace("\x00full_name\x00", c.expert_name)
        .replace("\x00organisation\x00", c.organisation)
        .replace("\x00number\x00", "1")
    )[:255]


def write_history(
    portfolio: Portfolio,
    people: People,
    *,
    seed: str,
    now: dt.datetime,
    notifications: int,
    languages: dict[int, str],
    names: dict[int, str],
    tick: Callable[[int], None] = lambda n: None,
) -> HistoryCounts:
    """Write the transition events and audit entries of every object of ``portfolio`` and
    about ``notifications`` notifications drawn from them. ``languages``/``names``: user
    id → language and display name. ``tick`` is called with the number of events written
    (a progress bar)."""
    rng = random.Random(f"{seed}:history")  # noqa: S311 - synthetic data
    counts = HistoryCounts()
    ct: dict[type[models.Model], int] = {
        model: ContentType.objects.get_for_model(model).pk
        for model in (
            AssistanceRequest,
            NeedsAssessment,
            Action,
            Deployment,
            FinalEvaluation,
            Expert,
        )
    }
    from django.urls import reverse

    url_of = {
        model: reverse(name, args=[987654321]).replace("987654321", "{}")
        for model, name in URL_NAMES.items()
    }

    request_of = {r.pk: r for r in portfolio.requests}
    org_name = {o.pk: str(o) for o in people.organisations}
    action_of = {x.pk: x for x in portfolio.actions}
    activity_action = {a.pk: a.action_id for a in portfolio.activities}
    need_action = {n.pk: activity_action[n.activity_id] for n in portfolio.needs}
    experts = {e.expert.pk: e.expert for e in portfolio.roster}
    # Experts from outside the roster written here (the demo's) take missions too.
    outside = {d.expert_id for d in portfolio.deployments} - set(experts)
    experts.update(Expert.objects.only("pk", "user_id", "full_name").in_bulk(outside))

    def objects() -> Iterator[tuple[list[Step], Context]]:
        for r in portfolio.requests:
            steps = request_steps(r, rng, now)
            if steps:
                yield (
                    steps,
                    Context(
                        reference=r.reference or "",
                        partners=people.partners.get(r.organisation_id, []),
                        officer=r.case_officer_id,
                        organisation=org_name.get(r.organisation_id, ""),
                        url_id=r.pk,
                    ),
                )
        for a in portfolio.assessments:
            r = request_of[a.request_id]
            steps = assessment_steps(a, r.created_by_id, rng, now)
            if steps:
                yield (
                    steps,
                    Context(
                        reference=r.reference or "",
                        partners=people.partners.get(r.organisation_id, []),
                        officer=a.owner_id,
                        url_id=a.pk,
                    ),
                )
        for x in portfolio.actions:
            yield (
                action_steps(x, rng, now),
                Context(
                    reference=x.reference,
                    partners=people.partners.get(x.organisation_id, []),
                    officer=x.drafted_by_id,
                    evaluator=portfolio.evaluator_of.get(x.pk),
                    url_id=x.pk,
                ),
            )
        for d in portfolio.deployments:
            x = action_of[need_action[d.need_id]]
            expert = experts.get(d.expert_id)
            user = expert.user_id if expert is not None else None
            yield (
                deployment_steps(d, user, now),
                Context(
                    reference=x.reference,
                    partners=people.partners.get(x.organisation_id, []),
                    officer=d.invited_by_id,
                    expert_user=user,
                    expert_name=expert.full_name if expert is not None else "",
                    url_id=d.pk,
                ),
            )
        for e in portfolio.evaluations:
            x = action_of[e.action_id]
            yield (
                evaluation_steps(e, now),
                Context(
                    reference=x.reference,
                    partners=people.partners.get(x.organisation_id, []),
                    officer=x.drafted_by_id,
                    url_id=x.pk,
                ),
            )
        for entry in portfolio.roster:
            expert = entry.expert
            steps = vetting_steps(expert, now)
            if steps:
                yield (
                    steps,
                    Context(
                        reference="",
                        partners=[],
                        officer=None,
                        expert_user=expert.user_id,
                        expert_name=expert.full_name,
                        url_id=expert.pk,
                    ),
                )

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {TransitionEvent._meta.db_table}")  # noqa: S608
        next_event = int(cursor.fetchone()[0]) + 1
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {AuditEntry._meta.db_table}")  # noqa: S608
        next_audit = int(cursor.fetchone()[0]) + 1

    # (event, object's model, object id, recipient, time, context, transition event id)
    candidates: list[tuple[str, type[models.Model], int, int, dt.datetime, Context, int]] = []
    event_rows: list[tuple[Any, ...]] = []
    audit_rows: list[tuple[Any, ...]] = []
    chunk = 50_000

    def flush() -> None:
        synthetic.copy_rows(
            TransitionEvent._meta.db_table,
            (
                "id",
                "content_type_id",
                "object_id",
                "transition",
                "from_state",
                "to_state",
                "actor_id",
                "actor_name",
                "comment",
                "created_at",
            ),
            event_rows,
        )
        synthetic.copy_rows(
            AuditEntry._meta.db_table,
            (
                "id",
                "created_at",
                "actor_id",
                "actor_name",
                "kind",
                "content_type_id",
                "object_id",
                "target_repr",
                "details",
            ),
            audit_rows,
        )
        tick(len(event_rows))
        event_rows.clear()
        audit_rows.clear()

    for steps, context in objects():
        for s in steps:
            model_name = s.model.__name__
            counts.by_model[model_name] = counts.by_model.get(model_name, 0) + 1
            actor_name = names.get(s.actor_id, "") if s.actor_id is not None else ""
            if not actor_name:
                expert_acts = s.model is Deployment and s.transition in ("accept", "decline")
                actor_name = context.expert_name if expert_acts else "system"
            event_rows.append(
                (
                    next_event,
                    ct[s.model],
                    s.object_id,
                    s.transition,
                    s.from_state,
                    s.to_state,
                    s.actor_id,
                    actor_name,
                    s.comment,
                    s.at,
                )
            )
            details = {
                "transition": s.transition,
                "from": s.from_state,
                "to": s.to_state,
                "comment": s.comment,
                "event": next_event,
            }
            audit_rows.append(
                (
                    next_audit,
                    s.at,
                    s.actor_id,
                    actor_name,
                    AUDIT_KIND.get(s.model, "transition"),
                    ct[s.model],
                    s.object_id,
                    context.reference[:200],
                    json.dumps(details),
                )
            )
            for event, who in NOTIFIED.get((s.model, s.transition), ()):
                if who == "partners":
                    recipients = context.partners
                elif who == "officer":
                    recipients = [context.officer] if context.officer else []
                elif who == "expert":
                    recipients = [context.expert_user] if context.expert_user else []
                elif who == "evaluator":
                    recipients = [context.evaluator] if context.evaluator else []
                else:  # approvers
                    recipients = rng.sample(people.approvers, min(2, len(people.approvers)))
                for user in recipients:
                    if user != s.actor_id:
                        candidates.append(
                            (event, s.model, s.object_id, user, s.at, context, next_event)
                        )
            next_event += 1
            next_audit += 1
            counts.transitions += 1
            counts.audit_entries += 1
        if len(event_rows) >= chunk:
            flush()
    if event_rows:
        flush()

    counts.notifications = _write_notifications(
        candidates, notifications, ct=ct, url_of=url_of, languages=languages, rng=rng, now=now
    )
    return counts


def _write_notifications(
    candidates: list[tuple[str, type[models.Model], int, int, dt.datetime, Context, int]],
    wanted: int,
    *,
    ct: dict[type[models.Model], int],
    url_of: dict[type[models.Model], str],
    languages: dict[int, str],
    rng: random.Random,
    now: dt.datetime,
) -> int:
    """About ``wanted`` of the candidates (each kept with the same chance; all when there
    are fewer). Mostly read (half of the last two weeks' are unread) and sent; some not
    emailed (the in-app preference), a few failed after five attempts. None is left
    pending: a worker would send them all again."""
    keep = min(1.0, wanted / max(1, len(candidates)))
    subjects = subject_templates(sorted({c[0] for c in candidates}))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {Notification._meta.db_table}")  # noqa: S608
        next_id = int(cursor.fetchone()[0]) + 1
    category = {name: get_event(name).category for name in {c[0] for c in candidates}}
    rows: list[tuple[Any, ...]] = []
    written = 0
    columns = (
        "id",
        "recipient_id",
        "event",
        "category",
        "content_type_id",
        "object_id",
        "subject",
        "url",
        "context",
        "idempotency_key",
        "created_at",
        "read_at",
        "email_status",
        "attempts",
        "last_error",
        "claimed_at",
        "next_attempt_at",
        "sent_at",
        "digest_id",
    )
    for event, model, object_id, user, at, context, event_id in candidates:
        if keep < 1 and rng.random() >= keep:
            continue
        language = languages.get(user, "en")
        age = now - at
        read_at = None
        if rng.random() < (0.93 if age > dt.timedelta(days=14) else 0.5):
            read_at = min(now, at + dt.timedelta(hours=rng.lognormvariate(1.5, 1.2)))
        roll = rng.random()
        attempts, error, sent_at = 1, "", None
        if roll < 0.08:
            status, attempts = DeliveryStatus.SKIPPED, 0
        elif roll < 0.085:
            status, attempts = DeliveryStatus.FAILED, 5
            error = "SMTPRecipientsRefused: 550 5.1.1 mailbox unavailable"
        else:
            status, sent_at = DeliveryStatus.SENT, at + dt.timedelta(seconds=rng.randint(2, 90))
        rows.append(
            (
                next_id,
                user,
                event,
                category[event],
                ct[model],
                object_id,
                _fill(subjects[(event, language)], context),
                url_of[model].format(context.url_id),
                "{}",
                f"{event}:{event_id}:{user}",
                at,
                read_at,
                status,
                attempts,
                error,
                None,
                at,
                min(sent_at, now) if sent_at else None,
                None,
            )
        )
        next_id += 1
        if len(rows) >= 50_000:
            synthetic.copy_rows(Notification._meta.db_table, columns, rows)
            written += len(rows)
            rows.clear()
    if rows:
        synthetic.copy_rows(Notification._meta.db_table, columns, rows)
        written += len(rows)
    return written
