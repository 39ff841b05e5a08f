"""Alternatives to matching as it is, measured by ``bench/matching.py --compare`` against
the code (and checked to give exactly the same results). Proposals with evidence, not the
application's code. (The set-based database stage and the lazy ranking began here and are
now the application's: ``experts.selectors._match_candidates_postgresql``, ``matching.rank``;
the portable ORM form, ``selectors._match_candidates_orm``, is timed for comparison.)

* ``match_top_in_sql`` — both stages at once: PostgreSQL scores every candidate and returns
  only those that can reach the shortlist.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import connection
from django.utils import timezone

from experts import matching, selectors

TOP_IN_SQL = """
WITH f AS MATERIALIZED (
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
),
counts AS (
  SELECT count(*) AS roster,
         count(*) FILTER (WHERE eligible) AS s1,
         count(*) FILTER (WHERE eligible AND language) AS s2,
         count(*) FILTER (WHERE eligible AND language AND available) AS s3,
         count(*) FILTER (WHERE eligible AND language AND available AND NOT conflict) AS s4,
         count(*) FILTER (WHERE eligible AND language AND available AND NOT conflict
                          AND NOT already) AS s5
  FROM f
),
c AS MATERIALIZED (
  SELECT f.id, f.administration_type, nc.region, f.rating_sum, f.rating_count,
         t.expert_id IS NOT NULL AS thematic, s.skills, x.level, COALESCE(r.recent, 0) AS recent
  FROM f
{fact_joins}
  WHERE f.eligible AND f.language AND f.available AND NOT f.conflict AND NOT f.already
),
scored AS (
  -- float8 throughout, as Python computes (numeric arithmetic is several times slower)
  SELECT c.*, 100 * (
      %(w_thematic)s::float8 * (CASE WHEN c.thematic THEN 1 ELSE 0 END)
    + %(w_skills)s::float8 * (CASE WHEN %(n_skills)s = 0 THEN 1
                                   ELSE COALESCE(cardinality(c.skills), 0)::float8 / %(n_skills)s
                              END)
    + %(w_experience)s::float8 * (CASE c.level WHEN 3 THEN 1.0::float8 WHEN 2 THEN 0.6::float8
                                               WHEN 1 THEN 0.3::float8 ELSE 0 END)
    + %(w_origin)s::float8 * ({origin})
    + %(w_track_record)s::float8 * (
        CASE WHEN c.rating_count = 0 THEN 0.5::float8
             ELSE ((c.rating_sum + 6.0::float8) / (c.rating_count + 2) - 1) / 4 END)
    + %(w_workload)s::float8 * GREATEST(0, 1 - c.recent / 4.0::float8)
  ) AS approx
  FROM c
),
cut AS (SELECT approx FROM scored ORDER BY approx DESC LIMIT 1 OFFSET %(offset)s)
SELECT counts.*, (SELECT count(*) FROM c),
       top.id, top.administration_type, top.region, top.rating_sum, top.rating_count,
       top.thematic, top.skills, top.level, top.recent
FROM counts LEFT JOIN (
  SELECT * FROM scored
  WHERE approx >= COALESCE((SELECT approx FROM cut), '-infinity'::float8) - %(margin)s
) top ON true
"""

ORIGIN_SQL = {
    "eu_member_state": "CASE WHEN c.administration_type = 'eu_member_state' THEN 1 ELSE 0 END",
    "partner_region_peer": (
        "CASE WHEN c.administration_type <> 'partner_country' THEN 0 "
        "WHEN c.region = %(region)s THEN 1 ELSE 0.5::float8 END"
    ),
}


def match_top_in_sql(
    need: Any, weights: Mapping[str, float], limit: int, *, today: dt.date | None = None
) -> tuple[list[matching.Score], dict[str, int], int, int]:
    """Both stages at once: the database applies the exclusions, counts the funnel, scores
    every candidate approximately (the same formulas, unrounded) and returns only those
    that can reach the shortlist — within ``margin`` of the ``limit``-th best, which covers
    the rounding of components (4 decimals) and totals (2) twice over; ``matching.rank``
    then scores those exactly. Returns the ranking, the exclusions, the roster size and the
    number of candidates."""
    params = selectors._sql_params(need, today or timezone.localdate())
    languages = selectors._language_sql(sum(1 for key in params if key.startswith("language_")))
    normal = matching.normalised_weights(weights)
    params.update({f"w_{name}": value for name, value in normal.items()})
    params.update(n_skills=len(params["skills"]), offset=max(limit - 1, 0), margin=0.05)
    origin = ORIGIN_SQL.get(need.origin_preference, "1")
    with connection.cursor() as cursor:
        cursor.execute(
            TOP_IN_SQL.format(
                origin=origin, fact_joins=selectors.FACT_JOINS.format(t="f"), **languages
            ),
            params,
        )
        rows = cursor.fetchall()
    totals, n_candidates = rows[0][:6], rows[0][6]
    exclusions = {
        reason: totals[i] - totals[i + 1] for i, reason in enumerate(matching.EXCLUSION_REASONS)
    }
    candidates = [
        matching.Candidate(
            expert_id=pk,
            administration_type=admin,
            nationality_region=region or "",
            has_thematic_area=thematic,
            skill_ids=frozenset(skills or ()),
            experience=selectors.EXPERIENCE_LEVELS.get(level, ""),
            rating_sum=rating_sum,
            rating_count=rating_count,
            recent_deployments=recent,
        )
        for pk, admin, region, rating_sum, rating_count, thematic, skills, level, recent in (
            row[7:] for row in rows
        )
        if pk is not None
    ]
    ranked = matching.rank(candidates, selectors.need_spec(need), weights, limit=limit)
    return ranked, exclusions, totals[0], n_candidates
