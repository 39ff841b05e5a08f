"""Reads of the roster and deployments, scoped to what the user may see, and the database
stage of matching."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from actions.models import ExpertiseNeed
from cbportal.accounts.permissions import is_staff
from cbportal.core.errors import NotFound
from experts import matching
from experts.models import (
    BOOKED_STATUSES,
    CefrLevel,
    Deployment,
    DeploymentStatus,
    Expert,
    ExpertLanguage,
    MatchJob,
    MatchResult,
    Unavailability,
    VettingStatus,
)

REQUIRED_LANGUAGE_LEVEL = CefrLevel.B2

# --- experts ------------------------------------------------------------------------------


def experts_for(user: Any) -> QuerySet[Expert]:
    qs = Expert.objects.all()
    if not user.is_authenticated:
        return qs.none()
    if is_staff(user):
        return qs
    if user.role == "expert":
        return qs.filter(user=user)
    return qs.none()


EXPERT_DETAIL_PREFETCH = (
    Prefetch("languages", queryset=ExpertLanguage.objects.select_related("language")),
    "thematic_areas",
    "skills",
    "countries_of_experience",
    "unavailability",
)


def expert_detail(user: Any, pk: Any) -> Expert:
    try:
        return (
            experts_for(user)
            .select_related("user", "nationality", "residence", "organisation", "vetted_by")
            .prefetch_related(*EXPERT_DETAIL_PREFETCH)
            .get(pk=pk)
        )
    except (Expert.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def own_profile(user: Any) -> Expert | None:
    if not user.is_authenticated or user.role != "expert":
        return None
    return (
        Expert.objects.filter(user=user)
        .select_related("nationality", "residence")
        .prefetch_related(*EXPERT_DETAIL_PREFETCH)
        .first()
    )


def available_q(start: dt.date, end: dt.date, *, exclude_deployment: int | None = None) -> Q:
    """Experts free over [start, end]: no unavailability period and no booked deployment
    overlapping it."""
    unavailable = Unavailability.objects.filter(
        expert=OuterRef("pk"), start_date__lte=end, end_date__gte=start
    )
    booked = Deployment.objects.filter(
        expert=OuterRef("pk"),
        status__in=BOOKED_STATUSES,
        start_date__lte=end,
        end_date__gte=start,
    )
    if exclude_deployment is not None:
        booked = booked.exclude(pk=exclude_deployment)
    return ~Exists(unavailable) & ~Exists(booked)


def language_q(code: str, min_level: str = "") -> Q:
    spoken = ExpertLanguage.objects.filter(expert=OuterRef("pk"), language_id=code)
    if min_level:
        spoken = spoken.filter(level__gte=min_level)
    return Q(Exists(spoken))


def roster_search(user: Any, params: Mapping[str, Any]) -> QuerySet[Expert]:
    """Staff's roster search. ``params`` (already validated): ``q`` (words, each found in
    the name, biography or skills), ``thematic_area`` (slug), ``skill`` (name),
    ``language`` (code) with ``min_level`` (A1–C2), ``country`` / ``region`` of
    experience, ``administration_type``, ``nationality``, ``available_from`` /
    ``available_to``, ``vetting_status``, ``is_active``. Anonymised entries never show."""
    qs = experts_for(user).filter(anonymised_at__isnull=True)
    for word in str(params.get("q") or "").lower().split()[:8]:
        qs = qs.filter(search_document__contains=word)
    if params.get("thematic_area"):
        qs = qs.filter(thematic_areas__slug=params["thematic_area"])
    if params.get("skill"):
        qs = qs.filter(skills__name__iexact=params["skill"])
    if params.get("language"):
        qs = qs.filter(language_q(params["language"], params.get("min_level") or ""))
    if params.get("country"):
        qs = qs.filter(countries_of_experience__code=params["country"])
    if params.get("region"):
        qs = qs.filter(
            Exists(
                Expert.countries_of_experience.through.objects.filter(
                    expert_id=OuterRef("pk"), country__region=params["region"]
                )
            )
        )
    if params.get("administration_type"):
        qs = qs.filter(administration_type=params["administration_type"])
    if params.get("nationality"):
        qs = qs.filter(nationality_id=params["nationality"])
    start, end = params.get("available_from"), params.get("available_to")
    if start is not None or end is not None:
        first = start if start is not None else end
        last = end if end is not None else start
        assert first is not None and last is not None
        qs = qs.filter(available_q(first, last))
    if params.get("vetting_status"):
        qs = qs.filter(vetting_status=params["vetting_status"])
    if params.get("is_active") is not None and params.get("is_active") != "":
        qs = qs.filter(is_active=params["is_active"])
    return qs.select_related("nationality").prefetch_related(
        Prefetch("languages", queryset=ExpertLanguage.objects.select_related("language")),
        "thematic_areas",
        "skills",
    )


def vetting_queue(user: Any) -> QuerySet[Expert]:
    return (
        experts_for(user)
        .filter(vetting_status=VettingStatus.PENDING, anonymised_at__isnull=True)
        .select_related("nationality", "user")
        .prefetch_related("thematic_areas")
        .order_by("created_at", "id")
    )


def deletion_requests(user: Any) -> QuerySet[Expert]:
    return experts_for(user).filter(deletion_requested_at__isnull=False, anonymised_at__isnull=True)


# --- deployments --------------------------------------------------------------------------


def deployments_for(user: Any) -> QuerySet[Deployment]:
    qs = Deployment.objects.all()
    if not user.is_authenticated:
        return qs.none()
    if is_staff(user):
        return qs
    if user.role == "expert":
        # A shortlist is internal: the expert never learns they were on one, even when it
        # is cancelled.
        return qs.filter(expert__user=user).exclude(
            Q(status=DeploymentStatus.SHORTLISTED)
            | Q(
                status=DeploymentStatus.CANCELLED, status_before_cancel=DeploymentStatus.SHORTLISTED
            )
        )
    if user.role == "partner" and user.organisation_id:
        # The partner sees missions: confirmed, completed, and confirmed ones cancelled
        # (it was told of the cancellation).
        return qs.filter(
            Q(status__in=BOOKED_STATUSES)
            | Q(status=DeploymentStatus.CANCELLED, status_before_cancel=DeploymentStatus.CONFIRMED),
            need__activity__action__organisation_id=user.organisation_id,
            need__activity__action__approved_at__isnull=False,
        )
    return qs.none()


def deployment_list(user: Any) -> QuerySet[Deployment]:
    return deployments_for(user).select_related(
        "expert",
        "expert__nationality",
        "need",
        "need__thematic_area",
        "need__activity",
        "need__activity__country",
        "need__activity__action",
        "need__activity__action__organisation",
        "report",
    )


def deployment_detail(user: Any, pk: Any) -> Deployment:
    try:
        return (
            deployment_list(user)
            .select_related(
                "need__activity__action__request__case_officer",
                "invited_by",
                "confirmed_by",
                "rated_by",
            )
            .prefetch_related("report__attachments", "need__skills", "need__languages")
            .get(pk=pk)
        )
    except (Deployment.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def invitations_for(user: Any) -> QuerySet[Deployment]:
    """The expert's open invitations, soonest expiry first."""
    return (
        deployment_list(user)
        .filter(expert__user=user, status=DeploymentStatus.INVITED)
        .order_by("expires_at", "id")
    )


def deployment_board(user: Any, action_id: int) -> dict[int, list[Deployment]]:
    """Staff's board for an action: each need's deployments, open ones first."""
    board: dict[int, list[Deployment]] = defaultdict(list)
    for deployment in (
        deployment_list(user)
        .filter(need__activity__action_id=action_id)
        .order_by("need_id", "status", "expert__full_name", "id")
    ):
        board[deployment.need_id].append(deployment)
    return dict(board)


# --- matching: the database stage ----------------------------------------------------------


def need_for_matching(need_id: int) -> ExpertiseNeed:
    try:
        return (
            ExpertiseNeed.objects.select_related(
                "activity", "activity__action", "activity__action__country"
            )
            .prefetch_related("skills", "languages")
            .get(pk=need_id)
        )
    except ExpertiseNeed.DoesNotExist:
        raise NotFound() from None


def need_spec(need: ExpertiseNeed) -> matching.NeedSpec:
    action = need.activity.action
    return matching.NeedSpec(
        thematic_area_id=need.thematic_area_id,
        skill_ids=frozenset(s.pk for s in need.skills.all()),
        country=action.country_id,
        subregion=action.country.subregion,
        region=action.country.region,
        origin_preference=need.origin_preference,
    )


# --- matching on PostgreSQL: the same stage in set-based SQL ------------------------------
# Measured in bench/matching.py (docs/performance.md): at 100,000 experts, 3× faster than the
# ORM form below, and 2–3× faster again when the database also scores and keeps only who can
# reach the shortlist — with identical results (checked by the bench and by the tests, which
# run on both databases).

EXPERIENCE_LEVELS = {3: "country", 2: "subregion", 1: "region"}

# One row per expert on the roster (alias ``f`` below): the facts the funnel and the score
# read from the expert's own row, and each hard exclusion as a flag — evaluated once per
# expert over hash joins (the ORM's ``Exists`` in ``FILTER`` clauses runs a sub-plan per
# condition, per clause and per expert). The expert columns come from the narrow
# ``expert_matching_idx``, not from the table.
FLAGS = """
  SELECT e.id, e.administration_type, e.nationality_id, e.rating_sum, e.rating_count,
         e.is_active AND e.vetting_status = 'approved' AS eligible,
         {language_flag} AS language,
         (u.expert_id IS NULL AND b.expert_id IS NULL) AS available,
         COALESCE(e.organisation_id = %(organisation)s, false) AS conflict,
         (a.expert_id IS NOT NULL) AS already
  FROM experts_expert e
  {language_joins}
  LEFT JOIN (
    SELECT DISTINCT expert_id FROM experts_unavailability
    WHERE start_date <= %(end)s AND end_date >= %(start)s
  ) u ON u.expert_id = e.id
  LEFT JOIN (
    SELECT DISTINCT expert_id FROM experts_deployment
    WHERE status IN ('confirmed', 'completed') AND start_date <= %(end)s AND end_date >= %(start)s
  ) b ON b.expert_id = e.id
  LEFT JOIN (
    SELECT DISTINCT expert_id FROM experts_deployment
    WHERE need_id = %(need)s AND status <> 'shortlisted'
  ) a ON a.expert_id = e.id
  WHERE e.anonymised_at IS NULL
"""

# The funnel over ``FLAGS``: the roster, then what each step of matching.EXCLUSION_REASONS
# lets through (the last count is the candidates).
COUNTS = """count(*),
       count(*) FILTER (WHERE eligible),
       count(*) FILTER (WHERE eligible AND language),
       count(*) FILTER (WHERE eligible AND language AND available),
       count(*) FILTER (WHERE eligible AND language AND available AND NOT conflict),
       count(*) FILTER (WHERE eligible AND language AND available AND NOT conflict AND NOT already)
"""

FUNNEL = "WITH flags AS (" + FLAGS + ")\nSELECT " + COUNTS + "FROM flags"

# The facts matching scores, joined onto the candidate experts (alias ``{t}``): the region of
# their nationality, the need's thematic area, the skills asked, the closest experience,
# recent missions. (A ``str.format`` template: ``{t}`` is the alias; values are query
# parameters.)
FACT_JOINS = """LEFT JOIN accounts_country nc ON nc.code = {t}.nationality_id
LEFT JOIN (
  SELECT expert_id FROM experts_expert_thematic_areas WHERE thematicarea_id = %(area)s
) t ON t.expert_id = {t}.id
LEFT JOIN (
  SELECT expert_id, array_agg(skill_id) AS skills FROM experts_expert_skills
  WHERE skill_id = ANY(%(skills)s::bigint[]) GROUP BY expert_id
) s ON s.expert_id = {t}.id
LEFT JOIN (
  SELECT x.expert_id,
         max(CASE WHEN c.code = %(country)s THEN 3 WHEN c.subregion = %(subregion)s THEN 2
                  ELSE 1 END) AS level
  FROM experts_expert_countries_of_experience x
  JOIN accounts_country c ON c.code = x.country_id
  WHERE c.region = %(region)s
  GROUP BY x.expert_id
) x ON x.expert_id = {t}.id
LEFT JOIN (
  SELECT expert_id, count(*) AS recent FROM experts_deployment
  WHERE status IN ('confirmed', 'completed') AND end_date >= %(since)s
  GROUP BY expert_id
) r ON r.expert_id = {t}.id
"""

FACT_COLUMNS = (
    "nc.region AS region, {t}.rating_sum AS rating_sum, {t}.rating_count AS rating_count, "
    "t.expert_id IS NOT NULL AS thematic, s.skills AS skills, x.level AS level, "
    "COALESCE(r.recent, 0) AS recent"
)

CANDIDATES = """
SELECT e.id, e.administration_type, {fact_columns}
FROM experts_expert e
{fact_joins}
WHERE e.anonymised_at IS NULL AND e.is_active AND e.vetting_status = 'approved'
  {language_filter}
  AND NOT EXISTS (
    SELECT 1 FROM experts_unavailability u
    WHERE u.expert_id = e.id AND u.start_date <= %(end)s AND u.end_date >= %(start)s)
  AND NOT EXISTS (
    SELECT 1 FROM experts_deployment b
    WHERE b.expert_id = e.id AND b.status IN ('confirmed', 'completed')
      AND b.start_date <= %(end)s AND b.end_date >= %(start)s)
  AND NOT COALESCE(e.organisation_id = %(organisation)s, false)
  AND NOT EXISTS (
    SELECT 1 FROM experts_deployment a
    WHERE a.expert_id = e.id AND a.need_id = %(need)s AND a.status <> 'shortlisted')
"""

# ``matching.score``'s total, written again in SQL over a candidate row ``c``, in float8 as
# Python computes (numeric is several times slower) and with matching's own constants as
# parameters — but unrounded: matching rounds each component to 4 decimals and the total to
# 2, so this differs from the exact total by at most 0.01.
SCORE = """100 * (
    %(w_thematic)s::float8 * (CASE WHEN c.thematic THEN 1 ELSE 0 END)
  + %(w_skills)s::float8 * (CASE WHEN %(n_skills)s = 0 THEN 1
                                 ELSE COALESCE(cardinality(c.skills), 0)::float8 / %(n_skills)s
                            END)
  + %(w_experience)s::float8 * (CASE c.level WHEN 3 THEN %(in_country)s::float8
                                             WHEN 2 THEN %(in_subregion)s::float8
                                             WHEN 1 THEN %(in_region)s::float8 ELSE 0 END)
  + %(w_origin)s::float8 * ({origin})
  + %(w_track_record)s::float8 * (
      CASE WHEN c.rating_count = 0 THEN 0.5
           ELSE ((c.rating_sum + %(neutral)s::float8 * %(prior)s) / (c.rating_count + %(prior)s)
                 - 1) / 4 END)
  + %(w_workload)s::float8 * GREATEST(0, 1 - c.recent / %(cap)s::float8)
)"""

ORIGIN_SQL = {
    "eu_member_state": "CASE WHEN c.administration_type = 'eu_member_state' THEN 1 ELSE 0 END",
    "partner_region_peer": (
        "CASE WHEN c.administration_type <> 'partner_country' THEN 0 "
        "WHEN c.region = %(region)s THEN 1 ELSE %(other_region)s::float8 END"
    ),
}

# How far below the ``limit``-th best approximate score a candidate is still returned: five
# times the largest difference between ``SCORE`` and the exact total, so that every
# candidate who can rank in the best ``limit`` (ties included) is among those returned.
SCORE_MARGIN = 0.05

# The funnel and, of its candidates, only those who can reach the shortlist, in one query:
# each row carries the funnel's counts; a roster without candidates gives one row of counts.
SHORTLIST = """
WITH f AS MATERIALIZED ({flags}),
c AS MATERIALIZED (
  SELECT f.id, f.administration_type, {fact_columns}
  FROM f
  {fact_joins}
  WHERE f.eligible AND f.language AND f.available AND NOT f.conflict AND NOT f.already
),
scored AS MATERIALIZED (SELECT c.*, {score} AS approx FROM c),
cut AS (SELECT approx FROM scored ORDER BY approx DESC LIMIT 1 OFFSET %(offset)s)
SELECT counts.*, top.*
FROM (SELECT {counts} FROM f) counts
LEFT JOIN (
  SELECT id, administration_type, region, rating_sum, rating_count, thematic, skills, level,
         recent
  FROM scored
  WHERE approx >= COALESCE((SELECT approx FROM cut), '-infinity'::float8) - %(margin)s
) top ON true
"""


# One expert speaks a language once (a unique constraint): each required language is a
# plain semi-join on the (language, level, expert) index, no grouping.
SPEAKS = (
    "SELECT expert_id FROM experts_expertlanguage "
    "WHERE language_id = %(language_{i})s AND level >= 'B2'"
)


def _language_sql(count: int) -> dict[str, str]:
    joins = "\n  ".join(
        f"LEFT JOIN ({SPEAKS.format(i=i)}) l{i} ON l{i}.expert_id = e.id" for i in range(count)
    )
    flag = " AND ".join(f"l{i}.expert_id IS NOT NULL" for i in range(count)) or "true"
    where = "".join(f"AND e.id IN ({SPEAKS.format(i=i)})\n  " for i in range(count))
    return {"language_joins": joins, "language_flag": flag, "language_filter": where}


def _sql_params(need: Any, today: dt.date) -> dict[str, Any]:
    activity, action = need.activity, need.activity.action
    languages = [language.code for language in need.languages.all()]
    return {
        **{f"language_{i}": code for i, code in enumerate(languages)},
        "need": need.pk,
        "start": activity.start_date,
        "end": activity.end_date,
        "organisation": action.organisation_id,
        "area": need.thematic_area_id,
        "skills": [s.pk for s in need.skills.all()],
        "country": action.country_id,
        "subregion": action.country.subregion,
        "region": action.country.region,
        "since": today - dt.timedelta(days=settings.MATCH_WORKLOAD_DAYS),
    }


def _candidate(row: tuple[Any, ...]) -> matching.Candidate:
    pk, admin, region, rating_sum, rating_count, thematic, skills, level, recent = row
    return matching.Candidate(
        expert_id=pk,
        administration_type=admin,
        nationality_region=region or "",
        has_thematic_area=thematic,
        skill_ids=frozenset(skills or ()),
        experience=EXPERIENCE_LEVELS.get(level, ""),
        rating_sum=rating_sum,
        rating_count=rating_count,
        recent_deployments=recent,
    )


def _funnel(totals: tuple[int, ...]) -> dict[str, int]:
    return {
        reason: totals[i] - totals[i + 1] for i, reason in enumerate(matching.EXCLUSION_REASONS)
    }


def _match_candidates_postgresql(
    need: Any, *, today: dt.date | None = None
) -> tuple[list[matching.Candidate], dict[str, int], int]:
    """``match_candidates`` on PostgreSQL, in two queries: the funnel, and the candidates
    with their facts."""
    params = _sql_params(need, today or timezone.localdate())
    languages = _language_sql(sum(1 for key in params if key.startswith("language_")))
    with connection.cursor() as cursor:
        cursor.execute(FUNNEL.format(**languages), params)
        totals = cursor.fetchone()
        cursor.execute(
            CANDIDATES.format(
                fact_columns=FACT_COLUMNS.format(t="e"),
                fact_joins=FACT_JOINS.format(t="e"),
                **languages,
            ),
            params,
        )
        rows = cursor.fetchall()
    return [_candidate(row) for row in rows], _funnel(totals), totals[0]


def _match_shortlist_postgresql(
    need: Any, weights: Mapping[str, float], limit: int, *, today: dt.date | None = None
) -> tuple[list[matching.Candidate], dict[str, int], int]:
    """``match_candidates`` with a ``limit`` on PostgreSQL, in one query: the database
    scores every candidate approximately (``SCORE``) and returns only those within
    ``SCORE_MARGIN`` of the ``limit``-th best."""
    params = _sql_params(need, today or timezone.localdate())
    languages = _language_sql(sum(1 for key in params if key.startswith("language_")))
    params.update(
        {f"w_{name}": share for name, share in matching.normalised_weights(weights).items()}
    )
    params.update(
        n_skills=len(params["skills"]),
        in_country=matching.EXPERIENCE_COUNTRY,
        in_subregion=matching.EXPERIENCE_SUBREGION,
        in_region=matching.EXPERIENCE_REGION,
        other_region=matching.ORIGIN_OTHER_REGION_PEER,
        neutral=matching.NEUTRAL_RATING,
        prior=matching.PRIOR_WEIGHT,
        cap=matching.WORKLOAD_CAP,
        offset=max(limit - 1, 0),
        margin=SCORE_MARGIN,
    )
    sql = SHORTLIST.format(
        flags=FLAGS.format(**languages),
        counts=COUNTS,
        fact_columns=FACT_COLUMNS.format(t="f"),
        fact_joins=FACT_JOINS.format(t="f"),
        score=SCORE.format(origin=ORIGIN_SQL.get(need.origin_preference, "1")),
    )
    with transaction.atomic(), connection.cursor() as cursor:
        # The materialised steps hide their sizes from the planner, which then guesses
        # millions of rows and JIT-compiles the query: seconds of compiling for half a second
        # of work. Off until the end of the transaction.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    totals = rows[0][:6]
    candidates = [_candidate(row[6:]) for row in rows if row[6] is not None]
    return candidates, _funnel(totals), totals[0]


def match_candidates(
    need: ExpertiseNeed,
    *,
    today: dt.date | None = None,
    weights: Mapping[str, float] | None = None,
    limit: int | None = None,
) -> tuple[list[matching.Candidate], dict[str, int], int]:
    """The database stage of matching: apply the hard exclusions (DESIGN.md §6) and gather,
    for the experts that remain, only the facts that matter for this need. Returns the
    candidates, the number excluded for each reason (each expert counted once, under the
    first reason of ``matching.EXCLUSION_REASONS`` that excludes them) and the roster size;
    the number of candidates is always the roster size less the exclusions. A fixed number
    of queries whatever the roster size.

    With ``weights`` and a ``limit``, PostgreSQL leaves out the candidates who cannot reach
    the best ``limit``: ``matching.rank(candidates, …, weights, limit=limit)`` gives exactly
    the ranking it gives over all of them. (SQLite returns all of them.)"""
    if limit is not None and weights is None:
        raise ValueError("A limit needs the weights the candidates are ranked by")
    if connection.vendor != "postgresql":
        return _match_candidates_orm(need, today=today)
    if limit is None or weights is None:
        return _match_candidates_postgresql(need, today=today)
    return _match_shortlist_postgresql(need, weights, limit, today=today)


def _match_candidates_orm(
    need: ExpertiseNeed, *, today: dt.date | None = None
) -> tuple[list[matching.Candidate], dict[str, int], int]:
    """``match_candidates`` in portable ORM queries (SQLite; on PostgreSQL the benchmark
    compares it with the SQL form)."""
    today = today or timezone.localdate()
    activity, action = need.activity, need.activity.action
    start, end = activity.start_date, activity.end_date

    roster = Expert.objects.filter(anonymised_at__isnull=True)
    eligible = Q(is_active=True, vetting_status=VettingStatus.APPROVED)
    languages_ok = Q()
    for language in need.languages.all():
        languages_ok &= language_q(language.code, REQUIRED_LANGUAGE_LEVEL)
    available = available_q(start, end)
    conflict = Q(organisation_id=action.organisation_id)
    already = Q(
        Exists(
            Deployment.objects.filter(expert=OuterRef("pk"), need=need).exclude(
                status=DeploymentStatus.SHORTLISTED
            )
        )
    )
    # The funnel, one step per reason: each count is taken over what the previous steps
    # let through, so an expert is counted under the first reason only.
    steps = [
        ("inactive_or_unvetted", eligible),
        ("language", languages_ok),
        ("unavailable", available),
        ("conflict_of_interest", ~conflict),
        ("already_invited", ~already),
    ]
    counts = {"roster": Q()}
    passed = Q()
    for reason, condition in steps:
        passed &= condition
        counts[reason] = passed
    totals = roster.aggregate(
        **{name: Count("pk", filter=cond) if cond else Count("pk") for name, cond in counts.items()}
    )
    roster_size = totals["roster"]
    exclusions: dict[str, int] = {}
    previous = roster_size
    for reason, _condition in steps:
        exclusions[reason] = previous - totals[reason]
        previous = totals[reason]

    rows = list(
        roster.filter(passed).values_list(
            "pk", "administration_type", "nationality__region", "rating_sum", "rating_count"
        )
    )
    if not rows:
        return [], exclusions, roster_size
    # The facts below are read for every expert who has them (each query uses an index on
    # the need's own values) and looked up per candidate: cheaper than restricting each
    # query to the candidates again.

    thematic = set(
        Expert.thematic_areas.through.objects.filter(
            thematicarea_id=need.thematic_area_id
        ).values_list("expert_id", flat=True)
    )
    skills: dict[int, set[int]] = defaultdict(set)
    skill_ids = [s.pk for s in need.skills.all()]
    if skill_ids:
        for expert_id, skill_id in Expert.skills.through.objects.filter(
            skill_id__in=skill_ids
        ).values_list("expert_id", "skill_id"):
            skills[expert_id].add(skill_id)
    experience: dict[int, str] = {}
    rank_of = {"country": 3, "subregion": 2, "region": 1}
    for expert_id, code, subregion in Expert.countries_of_experience.through.objects.filter(
        country__region=action.country.region
    ).values_list("expert_id", "country_id", "country__subregion"):
        where = (
            "country"
            if code == action.country_id
            else "subregion"
            if subregion == action.country.subregion
            else "region"
        )
        if rank_of[where] > rank_of.get(experience.get(expert_id, ""), 0):
            experience[expert_id] = where
    since = today - dt.timedelta(days=settings.MATCH_WORKLOAD_DAYS)
    recent: dict[int, int] = defaultdict(int)
    for expert_id in Deployment.objects.filter(
        status__in=BOOKED_STATUSES, end_date__gte=since
    ).values_list("expert_id", flat=True):
        recent[expert_id] += 1

    candidates = [
        matching.Candidate(
            expert_id=pk,
            administration_type=admin,
            nationality_region=region or "",
            has_thematic_area=pk in thematic,
            skill_ids=frozenset(skills.get(pk, ())),
            experience=experience.get(pk, ""),
            rating_sum=rating_sum,
            rating_count=rating_count,
            recent_deployments=recent.get(pk, 0),
        )
        for pk, admin, region, rating_sum, rating_count in rows
    ]
    return candidates, exclusions, roster_size


def latest_job(need_id: int) -> MatchJob | None:
    return MatchJob.objects.filter(need_id=need_id).order_by("-created_at", "-id").first()


def shortlist(need: ExpertiseNeed) -> QuerySet[MatchResult]:
    """The stored ranking of a need, each line with the expert and, where one exists, the
    expert's deployment on this need (to show shortlisted / invited / …)."""
    return (
        MatchResult.objects.filter(need=need)
        .select_related("expert", "expert__nationality")
        .order_by("rank")
    )


def deployments_by_expert(need: ExpertiseNeed) -> dict[int, Deployment]:
    return {d.expert_id: d for d in Deployment.objects.filter(need=need)}
