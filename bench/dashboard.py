#!/usr/bin/env python
"""Portfolio dashboard benchmark (issue 6): how long the dashboard's figures take on
PostgreSQL with 50,000 requests and 20,000 actions.

    DATABASE_URL=postgres://cbportal:cbportal@127.0.0.1:5432/cbportal_bench_dash \\
        .venv/bin/python bench/dashboard.py [--requests 50000] [--actions 20000]
                                            [--experts 20000] [--runs 20] [--warmup 3]
                                            [--write docs/performance.md] [--fresh]
    make bench-dashboard          # the same, creating the database first

It works in its own database (a name containing "bench"; created when missing, then
migrated) and seeds, once, a synthetic portfolio spread over three years: requests from
partner authorities in every region, with thematic areas and GCM objectives, in every
state and with realistic times to first response and decision (service-level due dates as
``requests_app.sla`` fixes them); needs assessments; actions in every state whose periods
follow their requests, with activities (sex-disaggregated participants on those done) and
expertise needs; a roster (``experts.synthetic``) and deployments that never double-book
an expert; indicators with measurement histories and the progress the rules give;
submitted final evaluations; participants' and partners' feedback. Rows are written in
bulk (``COPY`` through ``experts.synthetic.insert_objects``), then ``VACUUM ANALYZE``.

It then times, after ``--warmup`` runs, ``--runs`` runs of each surface for each filter
set — ``evaluations.dashboard.portfolio_report`` called directly, the page
``/dashboard/`` and ``GET /api/v1/reports/portfolio/`` as a staff user through Django's
test client, in process — and reports median and p95 milliseconds, queries per request
and the time spent in the database; then the queries of the slowest case with
PostgreSQL's plan for the slowest one. SQLite is refused: the benchmark is about the
PostgreSQL the services mode runs on.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cbportal.settings.base")
# Measured as production runs: with DEBUG on, Django would also log every query.
os.environ.setdefault("DEBUG", "false")

from bench import matching  # noqa: E402 - after the environment above
from bench.matching import (  # noqa: E402
    QueryTimer,
    ensure_database,
    load_average,
    machine,
    ms,
    p95,
    shorten,
)

DEFAULT_URL = "postgres://cbportal:cbportal@127.0.0.1:5432/cbportal_bench_dash"
SCRIPT = "bench/dashboard.py"
SEED = "cbportal-bench-dashboard"
DOMAIN = "bench-dash.cbportal.localhost"
REFERENCE_PREFIX = "BR-"  # the benchmark's requests: BR-000001 … (drafts have none)
REQUEST_TITLE = "Bench request "
TARGET_MS = 100  # the scale issue's target: dashboard p50 at or under 100 ms
START_MARK = "<!-- bench/dashboard.py: start -->"
END_MARK = "<!-- bench/dashboard.py: end -->"
YEARS = 3

# Partner countries weighted as the roster's (experts.synthetic), plus the Pacific.
EXTRA_COUNTRIES = {"FJ": 1, "PG": 1, "WS": 1}
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


def fail(message: str) -> NoReturn:
    matching.fail(message, script=SCRIPT)


def check_url(url: str, force: bool) -> dict[str, Any]:
    return matching.check_url(
        url,
        force,
        script=SCRIPT,
        target="bench-dashboard",
        default_url=DEFAULT_URL,
        loads="50,000 synthetic requests and 20,000 actions",
    )


def drop_database(config: dict[str, Any]) -> None:
    """``--fresh``: drop the benchmark database (its name contains "bench")."""
    from psycopg2 import sql

    conn = matching.admin_connection(config)
    with conn.cursor() as cursor:
        print(f"Dropping database {config['NAME']}")
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(config["NAME"])))
    conn.close()


# --- seeding ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    requests: int = 50_000
    actions: int = 20_000
    experts: int = 20_000


@dataclass
class Seeded:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def seeded_requests() -> int:
    from requests_app.models import AssistanceRequest

    return AssistanceRequest.objects.filter(title__startswith=REQUEST_TITLE).count()


def _insert(model: Any, objects: Sequence[Any]) -> None:
    from django.db import models

    from experts.synthetic import insert_objects

    # insert_objects' COPY writes a JSON column as psycopg2's adapter text ("'[]'::jsonb"),
    # which COPY refuses: such models go through bulk_create.
    if any(isinstance(f, models.JSONField) for f in model._meta.concrete_fields):
        model._default_manager.bulk_create(objects, batch_size=2000)
        return
    insert_objects(model, objects, batch_size=2000)


def _insert_rows(model: Any, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    from experts.synthetic import insert_rows

    insert_rows(model, columns, rows)


def _lognormal_days(rng: random.Random, median: float, spread: float, most: float) -> float:
    return min(most, rng.lognormvariate(0, spread) * median)


def _at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def seed(
    sizes: Sizes, *, now: dt.datetime | None = None, log: Callable[[str], None] = print
) -> Seeded:
    """Write the synthetic portfolio (same ``sizes`` → same data, relative to ``now``).
    Works on SQLite too (``bulk_create``), which the tests use at a tiny size."""
    from django.db import connection, transaction

    started = time.perf_counter()
    now = now or dt.datetime.now(dt.UTC)
    with transaction.atomic():
        counts = _seed(sizes, now, log)
    if connection.vendor == "postgresql":
        # What autovacuum would have done by the time anyone looks at a dashboard: fresh
        # statistics for the planner (the reference tables' too) and visibility maps.
        # (Inside a transaction — the tests' — VACUUM is not allowed; ANALYZE is.)
        command = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
        log(f"  {command}")
        with connection.cursor() as cursor:
            for table in sorted(connection.introspection.django_table_names(only_existing=True)):
                cursor.execute(f"{command} {connection.ops.quote_name(table)}")
    return Seeded(counts, time.perf_counter() - started)


def _seed(sizes: Sizes, now: dt.datetime, log: Callable[[str], None]) -> dict[str, int]:
    from actions.models import Action, Activity, ExpertiseNeed
    from cbportal.accounts.models import Organisation, Role, User
    from cbportal.core.models import GcmObjective, ThematicArea
    from evaluations.models import Feedback, FinalEvaluation, Indicator, Measurement
    from experts import synthetic
    from experts.models import Deployment
    from requests_app.models import AssistanceRequest, NeedsAssessment

    rng = random.Random(SEED)  # noqa: S311 - synthetic data, not secrets
    today = now.date()
    counts: dict[str, int] = {}
    lap = time.perf_counter()

    def done(label: str, n: int) -> None:
        nonlocal lap
        counts[label] = n
        log(f"  {label:<26} {n:>9,}  ({time.perf_counter() - lap:5.1f} s)")
        lap = time.perf_counter()

    # People and organisations.
    staff = User.objects.create(
        username="bench-dash-staff", role=Role.STAFF, email=f"staff@{DOMAIN}", is_approver=True
    )
    evaluator = User.objects.create(
        username="bench-dash-evaluator", role=Role.EVALUATOR, email=f"evaluator@{DOMAIN}"
    )
    countries = {**{c: w for c, (_g, _l, w) in synthetic.PARTNER_COUNTRIES.items()}}
    countries.update(EXTRA_COUNTRIES)
    organisations = []
    for code in countries:
        for n in range(1 + countries[code] // 2):
            organisations.append(
                Organisation(
                    name=f"Migration authority {n + 1} of {code} (bench)",
                    acronym=f"MA{n + 1}-{code}",
                    kind="regional_organisation" if n == 2 else "national_authority",
                    country_id=code,
                    created_at=now - dt.timedelta(days=YEARS * 366),
                )
            )
    _insert(Organisation, organisations)
    from django.contrib.auth.hashers import make_password

    unusable = make_password(None)
    partners = [
        User(
            username=f"bench-dash-partner-{o.pk}",
            role=Role.PARTNER,
            organisation_id=o.pk,
            email=f"partner-{o.pk}@{DOMAIN}",
            password=unusable,
        )
        for o in organisations
    ]
    _insert(User, partners)
    partner_of = {p.organisation_id: p for p in partners}
    org_weights = [
        countries[o.country_id] / (1 + countries[o.country_id] // 2) for o in organisations
    ]
    done("organisations", len(organisations))

    areas = list(ThematicArea.objects.order_by("position").values_list("pk", flat=True))
    area_weights = [3, 5, 4, 5, 3, 5, 4, 2][: len(areas)] + [1] * max(0, len(areas) - 8)
    gcm = list(GcmObjective.objects.order_by("number").values_list("pk", flat=True))
    gcm_weights = [POPULAR_GCM.get(i + 1, 1) for i in range(len(gcm))]

    # Requests: more of them lately; every state; times to answer and decide with a tail.
    from requests_app.sla import due_dates

    span_days = YEARS * 365
    requests: list[AssistanceRequest] = []
    for i in range(sizes.requests):
        org = rng.choices(organisations, weights=org_weights)[0]
        age = span_days * rng.random() ** 1.25  # days ago, denser recently
        moment = now - dt.timedelta(days=age)
        roll = rng.random()
        r = AssistanceRequest(
            reference=f"{REFERENCE_PREFIX}{i + 1:06d}",
            organisation_id=org.pk,
            created_by_id=partner_of[org.pk].pk,
            country_id=org.country_id,
            title=f"{REQUEST_TITLE}{i + 1}",
            created_at=moment - dt.timedelta(days=rng.uniform(0, 6)),
        )
        if roll < 0.05:
            r.status, r.reference, r.created_at = "draft", None, moment
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
            r.case_officer_id = staff.pk
        if r.status in ("accepted", "declined"):
            assert r.first_response_at is not None
            r.decided_at = min(
                now,
                r.first_response_at
                + dt.timedelta(days=_lognormal_days(rng, 9, 0.8, max(open_for, 1))),
            )
        requests.append(r)
    _insert(AssistanceRequest, requests)
    area_rows, gcm_rows = [], []
    request_areas: dict[int, list[int]] = {}
    request_gcm: dict[int, list[int]] = {}
    for r in requests:
        chosen = sorted(
            set(rng.choices(areas, weights=area_weights, k=rng.choice((1, 1, 2, 2, 3))))
        )
        request_areas[r.pk] = chosen
        area_rows += [(r.pk, a) for a in chosen]
        objectives = sorted(set(rng.choices(gcm, weights=gcm_weights, k=rng.choice((1, 2, 2, 3)))))
        request_gcm[r.pk] = objectives
        gcm_rows += [(r.pk, g) for g in objectives]
    _insert_rows(
        AssistanceRequest.thematic_areas.through,
        ("assistancerequest_id", "thematicarea_id"),
        area_rows,
    )
    _insert_rows(
        AssistanceRequest.gcm_objectives.through,
        ("assistancerequest_id", "gcmobjective_id"),
        gcm_rows,
    )
    done("requests", len(requests))
    counts["request thematic areas"] = len(area_rows)
    counts["request GCM objectives"] = len(gcm_rows)

    # Assessments of the accepted requests; the actions come from the oldest validated ones.
    accepted = [r for r in requests if r.status == "accepted"]
    ready = [r for r in accepted if r.decided_at and (now - r.decided_at).days >= 30]
    if len(ready) < sizes.actions:
        fail(
            f"{sizes.requests:,} requests give {len(ready):,} accepted ones old enough for an "
            f"action: ask for at most that many actions (--actions)."
        )
    with_action = {id(r) for r in rng.sample(ready, sizes.actions)}
    assessments = []
    for r in accepted:
        assert r.decided_at is not None
        validated = min(now, r.decided_at + dt.timedelta(days=rng.uniform(10, 40)))
        has_action = id(r) in with_action
        assessments.append(
            NeedsAssessment(
                request_id=r.pk,
                owner_id=staff.pk,
                status="validated" if has_action else rng.choice(("in_progress", "shared")),
                created_at=r.decided_at,
                shared_at=validated - dt.timedelta(days=3) if has_action else None,
                validated_at=validated if has_action else None,
                validated_by_id=r.created_by_id if has_action else None,
            )
        )
    _insert(NeedsAssessment, assessments)
    done("needs assessments", len(assessments))

    actions: list[Action] = []
    evaluated_at: dict[int, dt.datetime] = {}  # action index → evaluation submitted
    for r, assessment in zip(accepted, assessments, strict=True):
        if id(r) not in with_action:
            continue
        assert assessment.validated_at is not None
        created = assessment.validated_at + dt.timedelta(days=rng.uniform(1, 10))
        start = (created + dt.timedelta(days=rng.uniform(20, 120))).date()
        end = start + dt.timedelta(days=rng.randint(60, 540))
        x = Action(
            reference=f"BA-{len(actions) + 1:06d}",
            assessment_id=assessment.pk,
            request_id=r.pk,
            organisation_id=r.organisation_id,
            country_id=r.country_id,
            title=f"Bench action {len(actions) + 1}",
            summary="",
            publish=rng.random() < 0.4,
            start_date=start,
            end_date=end,
            drafted_by_id=staff.pk,
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
        if x.status not in ("design", "proposed") and not (
            x.status == "cancelled" and start > today
        ):
            x.approved_by_id = staff.pk
            x.approved_at = created + dt.timedelta(days=rng.uniform(5, 15))
            x.signed_at = x.approved_at + dt.timedelta(days=rng.uniform(1, 10))
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
    _insert(Action, actions)
    action_area_rows, action_gcm_rows = [], []
    for x in actions:
        action_area_rows += [(x.pk, t) for t in request_areas[x.request_id]]
        action_gcm_rows += [(x.pk, g) for g in request_gcm[x.request_id]]
    _insert_rows(Action.thematic_areas.through, ("action_id", "thematicarea_id"), action_area_rows)
    _insert_rows(Action.gcm_objectives.through, ("action_id", "gcmobjective_id"), action_gcm_rows)
    done("actions", len(actions))

    # Activities and their expertise needs.
    activities: list[Activity] = []
    for x in actions:
        length = (x.end_date - x.start_date).days
        count = max(1, min(6, round(rng.gauss(1 + length / 120, 0.8))))
        for n in range(count):
            first = x.start_date + dt.timedelta(days=int(length * n / count))
            begin = first + dt.timedelta(days=rng.randint(0, max(0, length // count - 12)))
            finish = min(
                x.end_date, begin + dt.timedelta(days=rng.choice((1, 2, 3, 4, 5, 10, 20, 30)))
            )
            expected = rng.choice((8, 12, 15, 20, 25, 30, 40))
            a = Activity(
                action_id=x.pk,
                type=rng.choice(ACTIVITY_TYPES),
                title=f"Bench activity {n + 1} of {x.reference}",
                start_date=begin,
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
    _insert(Activity, activities)
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
    _insert(ExpertiseNeed, needs)
    done("expertise needs", len(needs))

    # The roster (the matching benchmark's generator) and the missions.
    entries = synthetic.generate(sizes.experts, seed=SEED, email_domain=DOMAIN)
    synthetic.write(entries, vetted_by=staff)
    done("experts", len(entries))
    eligible = [e.expert.pk for e in entries if e.expert.vetting_status == "approved"]
    busy_until: dict[int, dt.date] = {}
    status_of = {x.pk: x.status for x in actions}
    activity_of = {a.pk: a for a in activities}
    deployments: list[Deployment] = []
    for need in sorted(needs, key=lambda n: activity_of[n.activity_id].start_date):
        a = activity_of[need.activity_id]
        if status_of[a.action_id] in ("design", "proposed", "cancelled") or a.status == "cancelled":
            continue
        past = a.end_date < today
        taken: set[int] = set()
        for _n in range(need.experts_needed):
            for _try in range(30):
                expert = rng.choice(eligible)
                if expert not in taken and busy_until.get(expert, dt.date.min) < a.start_date:
                    break
            else:
                continue
            taken.add(expert)
            invited = _at(a.start_date - dt.timedelta(days=rng.randint(20, 60)), 10)
            d = Deployment(
                expert_id=expert,
                need_id=need.pk,
                shortlisted_by_id=staff.pk,
                invited_by_id=staff.pk,
                invited_at=invited,
                expires_at=invited + dt.timedelta(days=7),
                score=round(rng.uniform(40, 95), 2),
                created_at=invited - dt.timedelta(days=1),
            )
            roll = rng.random()
            if roll < (0.85 if past else 0.55):
                d.status = "completed" if past and roll < 0.8 else "confirmed"
                d.responded_at = invited + dt.timedelta(days=2)
                d.confirmed_by_id, d.confirmed_at = staff.pk, invited + dt.timedelta(days=4)
                d.start_date, d.end_date = a.start_date, a.end_date
                d.expert_days = min(need.expert_days, (a.end_date - a.start_date).days + 1)
                busy_until[expert] = a.end_date
                if d.status == "completed":
                    d.completed_at = _at(min(today, a.end_date + dt.timedelta(days=10)), 12)
                    d.rating = rng.choices((1, 2, 3, 4, 5), weights=synthetic.RATING_WEIGHTS)[0]
                    d.rated_by_id = staff.pk
            elif roll < 0.92:
                d.status = "declined"
                d.responded_at = invited + dt.timedelta(days=3)
                d.decline_reason = "Not available over these dates."
            else:
                d.status = "cancelled" if past else rng.choice(("invited", "accepted"))
                if d.status == "cancelled":
                    d.cancelled_at = invited + dt.timedelta(days=10)
            deployments.append(d)
    _insert(Deployment, deployments)
    done("deployments", len(deployments))

    # Indicators with measurement histories, their progress computed by the real rules.
    from evaluations import progress

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
            ind = Indicator(
                action_id=x.pk,
                name=f"Bench indicator {n + 1} of {x.reference}",
                level=rng.choice(LEVELS),
                unit=unit,
                baseline=baseline,
                target=target,
                direction=direction,
                frequency=rng.choice(
                    ("quarterly", "quarterly", "semi_annual", "monthly", "end_only")
                ),
                position=n,
                created_by_id=staff.pk,
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
    _insert(Indicator, indicators)
    done("indicators", len(indicators))
    measurements = [
        Measurement(
            indicator_id=ind.pk,
            date=day,
            value=value,
            recorded_by_id=evaluator.pk,
            recorded_at=min(now, _at(day + dt.timedelta(days=2), 11)),
        )
        for ind, history in zip(indicators, readings, strict=True)
        for day, value in history
    ]
    _insert(Measurement, measurements)
    done("measurements", len(measurements))

    # Final evaluations, submitted when the actions were generated said so.
    evaluations = []
    for index, submitted in evaluated_at.items():
        e = FinalEvaluation(
            action_id=actions[index].pk,
            status="submitted",
            findings="Bench findings.",
            lessons="Bench lessons.",
            created_by_id=evaluator.pk,
            submitted_by_id=evaluator.pk,
            submitted_at=submitted,
            created_at=submitted - dt.timedelta(days=10),
        )
        for name in DAC:
            setattr(e, name, rng.choices((1, 2, 3, 4), weights=(4, 18, 50, 28))[0])
            setattr(e, f"{name}_justification", "Bench justification.")
        evaluations.append(e)
    _insert(FinalEvaluation, evaluations)
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
                    submitted_by_id=partner_of[org_of_action[a.action_id]].pk,
                    submitted_at=min(now, answered + dt.timedelta(days=rng.randint(2, 20))),
                )
            )
    _insert(Feedback, feedback)
    done("feedback", len(feedback))
    return counts


# --- measuring ------------------------------------------------------------------------------

PAGE, API = "/dashboard/", "/api/v1/reports/portfolio/"
SURFACES = ("portfolio_report()", "page /dashboard/", "API reports/portfolio")


def cases(today: dt.date) -> list[tuple[str, dict[str, str]]]:
    """The filter sets timed, as the page's and the API's query parameters."""
    from evaluations.dashboard import _add_months

    six_months = _add_months(today, -5)
    return [
        ("unfiltered (last 12 months)", {}),
        ("region Africa", {"region": "Africa"}),
        (
            "thematic area + 6 months",
            {
                "thematic_area": "labour-migration",
                "from": six_months.isoformat(),
                "to": today.isoformat(),
            },
        ),
        ("widest period (24 months)", {"from": _add_months(today, -23).isoformat()}),
    ]


@dataclass
class Timing:
    surface: str
    case: str
    params: dict[str, str]
    ms: list[float] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)
    queries: list[int] = field(default_factory=list)
    status: int = 200

    @property
    def median(self) -> float:
        return statistics.median(self.ms)


def _caller(surface: str, params: dict[str, str], client: Any) -> Callable[[], int]:
    """One request of ``surface`` with ``params``; returns the HTTP status (200 for the
    direct call)."""
    if surface == SURFACES[0]:
        from evaluations.dashboard import PortfolioFilterForm, portfolio_report

        def direct() -> int:
            form = PortfolioFilterForm(data=params)
            if not form.is_valid():
                raise SystemExit(f"bench/dashboard.py: invalid filters {params}: {form.errors}")
            portfolio_report(form.filters())
            return 200

        return direct
    path = PAGE if surface == SURFACES[1] else API

    def http() -> int:
        # The test client returns once the whole response is rendered.
        return int(client.get(path, params).status_code)

    return http


def measure(
    client: Any, today: dt.date, runs: int, warmup: int, log: Callable[[str], None] = print
) -> list[Timing]:
    from django.db import connection

    timings = []
    for case, params in cases(today):
        for surface in SURFACES:
            timing = Timing(surface, case, params)
            call = _caller(surface, params, client)
            for _ in range(warmup):
                timing.status = call()
            for _ in range(runs):
                timer = QueryTimer()
                with connection.execute_wrapper(timer):
                    started = time.perf_counter()
                    timing.status = call()
                    elapsed = time.perf_counter() - started
                timing.ms.append(ms(elapsed))
                timing.sql_ms.append(ms(timer.seconds))
                timing.queries.append(timer.count)
            log(
                f"  {surface:<22} {case:<30} median {timing.median:7.1f} ms, p95 "
                f"{p95(timing.ms):7.1f} ms, {max(timing.queries)} queries, HTTP {timing.status}"
            )
            timings.append(timing)
    return timings


def dissect(timing: Timing, client: Any) -> dict[str, Any]:
    """The queries of one more run of ``timing``, slowest first, and PostgreSQL's plan for
    the slowest SELECT."""
    from django.db import connection

    timer = QueryTimer(keep=True)
    call = _caller(timing.surface, timing.params, client)
    with connection.execute_wrapper(timer):
        started = time.perf_counter()
        call()
        total = time.perf_counter() - started
    queries = sorted(
        ((ms(t), sql, params) for t, sql, params in timer.queries), key=lambda q: -q[0]
    )
    selects = [q for q in queries if q[1].lstrip().upper().startswith(("SELECT", "WITH"))]
    plan = ""
    if selects and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + selects[0][1], selects[0][2])
            plan = "\n".join(row[0] for row in cursor.fetchall())
    return {"timing": timing, "total": ms(total), "queries": queries, "plan": plan}


# --- reporting ----------------------------------------------------------------------------------


def table(timings: list[Timing]) -> list[str]:
    lines = [
        "| surface | filters | median ms | p95 ms | queries per request | SQL ms (median) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for t in timings:
        queries = f"{min(t.queries)}" + (
            "" if min(t.queries) == max(t.queries) else f"–{max(t.queries)}"
        )
        lines.append(
            f"| {t.surface} | {t.case} | **{t.median:.0f}** | {p95(t.ms):.0f} | {queries} | "
            f"{statistics.median(t.sql_ms):.0f} |"
        )
    return lines


def sizes_table(counts: dict[str, int]) -> list[str]:
    return [
        "| rows | count |",
        "|---|---:|",
        *(f"| {name} | {n:,} |" for name, n in counts.items()),
    ]


def database_counts() -> dict[str, int]:
    """What the measured database holds (whatever seeded it)."""
    from actions.models import Action, Activity
    from evaluations.models import Feedback, FinalEvaluation, Indicator, Measurement
    from experts.models import Deployment, Expert
    from requests_app.models import AssistanceRequest

    return {
        "requests": AssistanceRequest.objects.count(),
        "actions": Action.objects.count(),
        "activities": Activity.objects.count(),
        "experts": Expert.objects.count(),
        "deployments": Deployment.objects.count(),
        "indicators": Indicator.objects.count(),
        "measurements": Measurement.objects.count(),
        "submitted final evaluations": FinalEvaluation.objects.filter(status="submitted").count(),
        "feedback": Feedback.objects.count(),
    }


def report(
    args: argparse.Namespace,
    timings: list[Timing],
    dissected: list[dict[str, Any]],
    counts: dict[str, int],
    seeded: Seeded | None,
    info: dict[str, str],
) -> str:
    by = {(t.surface, t.case): t for t in timings}
    first_case = timings[0].case
    page = by[(SURFACES[1], first_case)]
    worst = max((t for t in timings if t.surface == SURFACES[1]), key=lambda t: t.median)
    verdict = (
        f"met: the page answers in {page.median:.0f} ms (median) unfiltered, {worst.median:.0f} ms "
        f"in its slowest case ({worst.case})"
        if worst.median <= TARGET_MS
        else f"missed: the page answers in {page.median:.0f} ms (median) unfiltered and "
        f"{worst.median:.0f} ms in its slowest case ({worst.case}), "
        f"{worst.median / TARGET_MS:.1f}× the target"
    )
    lines = [
        START_MARK,
        "## Portfolio dashboard and report API (bench/dashboard.py)",
        "",
        f"Measured {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z} by `bench/dashboard.py` "
        "(generated section: re-running the command replaces it).",
        "",
        f"- Machine: {info['cpu']}, {info['cores']} cores, {info['memory']} RAM; {info['os']}",
        f"- PostgreSQL {info['postgresql']} on the same machine (shared_buffers "
        f"{info['shared_buffers']}, work_mem {info['work_mem']}, effective_cache_size "
        f"{info['effective_cache_size']}, jit {info['jit']}); Python {info['python']}, "
        f"Django {info['django']}; DEBUG off",
        f"- Command: `{' '.join(args.command)}` (database `{args.database}`)",
        f"- Load average (1, 5, 15 min) when measuring began: {args.load_start}; at the end: "
        f"{load_average()} (2 cores shared with other work: every figure is slower for it).",
        f"- Each surface × filter set: {args.warmup} warm-up run(s), then {args.runs} timed "
        "runs, one after the other, in one process. *portfolio_report()* = "
        "`evaluations.dashboard.portfolio_report(filters)` with the filters checked by "
        "`PortfolioFilterForm`; *page* = `GET /dashboard/` and *API* = "
        "`GET /api/v1/reports/portfolio/`, both as a signed-in staff user through Django's "
        "test client (the whole request: middleware, session, rendering or JSON; no network).",
        f"- Target (scale issue): dashboard ≤ {TARGET_MS} ms median — **{verdict}**.",
        "",
        "### Data",
        "",
        (
            f"Seeded in {seeded.seconds:.0f} s (COPY, then VACUUM ANALYZE) with "
            f"`--requests {args.requests} --actions {args.actions} --experts {args.experts}`: "
            "three years of requests (more lately) from partner authorities in every region, "
            "1–3 thematic areas and 1–3 GCM objectives each, in every state; actions in every "
            "state whose periods follow their requests; activities, expertise needs, "
            "non-overlapping deployments; 2–4 indicators per approved-or-later action with up "
            "to six measurements; submitted evaluations of closed and most completed actions; "
            "participants' and partners' feedback on activities done."
            if seeded is not None
            else "Reused: the database was seeded by an earlier run."
        ),
        "",
        *sizes_table(counts),
        "",
        "### Response times",
        "",
        *table(timings),
        "",
        "*SQL ms* = the time the database cursor spent executing the request's queries.",
        "",
        *(line for d in dissected for line in where_time_goes(d)),
        END_MARK,
    ]
    return "\n".join(lines) + "\n"


def where_time_goes(dissected: dict[str, Any]) -> list[str]:
    t = dissected["timing"]
    queries = dissected["queries"]
    sql_total = sum(q[0] for q in queries)
    return [
        f"### Where the time goes: {t.surface}, {t.case}",
        "",
        f"One more run: {dissected['total']:.0f} ms in all, of which {sql_total:.0f} ms in "
        f"{len(queries)} queries. The slowest queries:",
        "",
        "| ms | query |",
        "|---:|---|",
        *(f"| {q[0]:.1f} | `{shorten(q[1])}` |" for q in queries[:8]),
        "",
        "The plan of the slowest (`EXPLAIN (ANALYZE, BUFFERS)`):",
        "",
        "```",
        dissected["plan"],
        "```",
        "",
    ]


def write_section(path: Path, section: str) -> None:
    """Replace this benchmark's generated section of ``path`` (the matching benchmark's
    stays)."""
    matching.write_section(path, section, start=START_MARK, end=END_MARK)


# --- main ------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Time the portfolio dashboard and report API on a large synthetic portfolio."
    )
    parser.add_argument("--requests", type=int, default=Sizes.requests)
    parser.add_argument("--actions", type=int, default=Sizes.actions)
    parser.add_argument("--experts", type=int, default=Sizes.experts)
    parser.add_argument("--runs", type=int, default=20, help="timed runs per surface and filters")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs before those")
    parser.add_argument("--write", metavar="PATH", help="write the results into this Markdown file")
    parser.add_argument(
        "--fresh", action="store_true", help="drop the benchmark database and seed it again"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="run even though the database name does not contain 'bench'",
    )
    args = parser.parse_args(argv)
    args.command = [".venv/bin/python", "bench/dashboard.py", *(argv or sys.argv[1:])]
    if args.requests < 10 or not 1 <= args.actions <= args.requests // 2:
        fail("--requests must be at least 10 and --actions between 1 and half of --requests")
    if args.experts < 10:
        fail("--experts must be at least 10")
    if args.runs < 1 or args.warmup < 0:
        fail("--runs must be at least 1 and --warmup at least 0")

    config = check_url(os.environ.get("DATABASE_URL", ""), args.force)
    args.database = config["NAME"]
    if args.fresh:
        drop_database(config)
    ensure_database(config)

    import warnings

    import django

    # WhiteNoise warns when collectstatic has not run; the pages measured do not need it.
    warnings.filterwarnings("ignore", message="No directory at")
    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from cbportal.accounts.models import User

    if connection.vendor != "postgresql":
        fail("the configured database is not PostgreSQL.")
    print(f"Database {config['NAME']} on {config.get('HOST') or 'localhost'}: migrating")
    call_command("migrate", verbosity=0, interactive=False)
    sizes = Sizes(args.requests, args.actions, args.experts)
    existing = seeded_requests()
    seeded: Seeded | None = None
    if existing == 0:
        print(
            f"Seeding {sizes.requests:,} requests, {sizes.actions:,} actions, {sizes.experts:,} experts"
        )
        seeded = seed(sizes)
        print(f"  seeded in {seeded.seconds:.0f} s")
    elif existing != sizes.requests:
        fail(
            f"the database holds {existing:,} benchmark requests, not {sizes.requests:,}: "
            "re-run with --fresh to seed it again."
        )
    else:
        print(f"Reusing the {existing:,} benchmark requests already seeded")

    staff = User.objects.get(username="bench-dash-staff")
    client = Client()
    client.force_login(staff)
    today = dt.date.today()
    args.load_start = load_average()
    print("Measuring")
    timings = measure(client, today, args.runs, args.warmup)
    failed = [t for t in timings if t.status != 200]
    if failed:
        fail("; ".join(f"{t.surface} {t.case} answered HTTP {t.status}" for t in failed))
    # Where the time goes: the unfiltered page (what staff open) and the slowest case.
    unfiltered = next(t for t in timings if t.surface == SURFACES[1])
    slowest = max(timings, key=lambda t: t.median)
    chosen = [unfiltered] if slowest is unfiltered else [unfiltered, slowest]
    dissected = [dissect(t, client) for t in chosen]
    section = report(args, timings, dissected, database_counts(), seeded, machine())
    matching.publish(section, args.write, start=START_MARK, end=END_MARK)


if __name__ == "__main__":
    main()
