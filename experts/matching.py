"""Scoring experts against an expertise need (DESIGN.md §6) — pure functions, no database.

Matching runs in two stages. The database applies the hard exclusions and gathers, for the
candidates that remain, only the facts that matter for this need (``Candidate``): see
``experts.selectors.match_candidates``. This module turns those facts into a score.
(On PostgreSQL the database stage also computes the total, unrounded, to return only the
candidates who can reach the shortlist: ``experts.selectors.SCORE`` repeats the formulas
below with this module's constants. Change both; tests/experts/test_selectors.py fails
until the rankings agree.)

* each soft component is a number between 0 and 1 with the facts behind it (stored with
  the shortlist; ``experts.explain`` puts them in words in the reader's language);
* the total is the weighted mean of the components, on a 0–100 scale (weights from
  settings, relative to one another; a weight of 0 switches a component off);
* the ranking sorts by total, then by the tie-breakers of ``rank_key`` — always the same
  order for the same data.

Components
    thematic      1 if the expert works in the need's thematic area, else 0
    skills        the share of the need's skills the expert has (1 when none are asked)
    experience    1 experience in the partner country, 0.6 in its sub-region, 0.3 in its
                  region, 0 otherwise
    origin        the need's origin preference: ``eu_member_state`` → 1 for an EU
                  member-state administration; ``partner_region_peer`` → 1 for a
                  partner-country administration of the partner's region, 0.5 for one of
                  another region (still South–South), 0 otherwise; ``any`` → 1
    track_record  past mission ratings (1–5), shrunk towards the neutral 3 by
                  ``PRIOR_WEIGHT`` imaginary missions so that one rating does not dominate;
                  no rating → 0.5
    workload      1 with no recent deployment, minus ``1/WORKLOAD_CAP`` per recent one
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

COMPONENTS = ("thematic", "skills", "experience", "origin", "track_record", "workload")

# Hard exclusions, in the order the funnel applies them.
EXCLUSION_REASONS = (
    "inactive_or_unvetted",
    "language",
    "unavailable",
    "conflict_of_interest",
    "already_invited",
)

PRIOR_WEIGHT = 2
NEUTRAL_RATING = 3.0
WORKLOAD_CAP = 4

EXPERIENCE_COUNTRY = 1.0
EXPERIENCE_SUBREGION = 0.6
EXPERIENCE_REGION = 0.3
ORIGIN_OTHER_REGION_PEER = 0.5

Facts = dict[str, Any]


@dataclass(frozen=True)
class NeedSpec:
    """What a need asks for, as matching sees it."""

    thematic_area_id: int
    skill_ids: frozenset[int]
    country: str  # partner country (ISO code)
    subregion: str
    region: str
    origin_preference: str  # eu_member_state | partner_region_peer | any


@dataclass(frozen=True)
class Candidate:
    """The facts about one expert that matter for one need."""

    expert_id: int
    administration_type: str
    nationality_region: str = ""
    has_thematic_area: bool = False
    skill_ids: frozenset[int] = field(default_factory=frozenset)
    experience: str = ""  # "country" | "subregion" | "region" | ""
    rating_sum: int = 0
    rating_count: int = 0
    recent_deployments: int = 0


@dataclass(frozen=True)
class Score:
    expert_id: int
    total: float
    components: dict[str, float]
    explanation: dict[str, Facts]

    @property
    def rank_key(self) -> tuple[Any, ...]:
        """Higher total first; ties go to better skill coverage, then thematic fit, then
        the better track record, then the lighter workload, then the older roster entry
        (lower id) — deterministic whatever order the database returned."""
        c = self.components
        return (
            -self.total,
            -c["skills"],
            -c["thematic"],
            -c["track_record"],
            -c["workload"],
            self.expert_id,
        )


def thematic(candidate: Candidate, need: NeedSpec) -> tuple[float, Facts]:
    return (1.0 if candidate.has_thematic_area else 0.0), {"fit": candidate.has_thematic_area}


def skills(candidate: Candidate, need: NeedSpec) -> tuple[float, Facts]:
    matched = sorted(candidate.skill_ids & need.skill_ids)
    if not need.skill_ids:
        return 1.0, {"matched": [], "asked": 0}
    return len(matched) / len(need.skill_ids), {"matched": matched, "asked": len(need.skill_ids)}


EXPERIENCE_VALUES = {
    "country": EXPERIENCE_COUNTRY,
    "subregion": EXPERIENCE_SUBREGION,
    "region": EXPERIENCE_REGION,
}


def experience(candidate: Candidate, need: NeedSpec) -> tuple[float, Facts]:
    return EXPERIENCE_VALUES.get(candidate.experience, 0.0), {"where": candidate.experience}


def origin(candidate: Candidate, need: NeedSpec) -> tuple[float, Facts]:
    pref, admin = need.origin_preference, candidate.administration_type
    facts: Facts = {"preference": pref, "administration_type": admin}
    if pref == "eu_member_state":
        return (1.0 if admin == "eu_member_state" else 0.0), facts
    if pref == "partner_region_peer":
        if admin != "partner_country":
            return 0.0, facts
        same = bool(candidate.nationality_region) and candidate.nationality_region == need.region
        facts["same_region"] = same
        return (1.0 if same else ORIGIN_OTHER_REGION_PEER), facts
    return 1.0, facts


def track_record(candidate: Candidate, need: NeedSpec) -> tuple[float, Facts]:
    count = candidate.rating_count
    if count == 0:
        return 0.5, {"missions": 0, "average": None}
    shrunk = (candidate.rating_sum + NEUTRAL_RATING * PRIOR_WEIGHT) / (count + PRIOR_WEIGHT)
    return (shrunk - 1) / 4, {"missions": count, "average": round(candidate.rating_sum / count, 1)}


def workload(candidate: Candidate, need: NeedSpec) -> tuple[float, Facts]:
    recent = candidate.recent_deployments
    return max(0.0, 1.0 - recent / WORKLOAD_CAP), {"recent": recent}


SCORERS = {
    "thematic": thematic,
    "skills": skills,
    "experience": experience,
    "origin": origin,
    "track_record": track_record,
    "workload": workload,
}


def normalised_weights(weights: Mapping[str, float]) -> dict[str, float]:
    """Each component's share of the total (summing to 1); unknown names are refused."""
    unknown = set(weights) - set(COMPONENTS)
    if unknown:
        raise ValueError(f"Unknown matching components: {sorted(unknown)}")
    values = {name: float(weights.get(name, 0)) for name in COMPONENTS}
    if any(v < 0 for v in values.values()):
        raise ValueError("Matching weights must not be negative")
    total = sum(values.values())
    if total <= 0:
        raise ValueError("At least one matching weight must be positive")
    return {name: v / total for name, v in values.items()}


def score(candidate: Candidate, need: NeedSpec, weights: Mapping[str, float]) -> Score:
    """The candidate's score for the need; ``weights`` as returned by
    ``normalised_weights``."""
    components: dict[str, float] = {}
    explanation: dict[str, Facts] = {}
    for name in COMPONENTS:
        value, facts = SCORERS[name](candidate, need)
        components[name] = round(value, 4)
        explanation[name] = facts
    total = round(100 * sum(weights[name] * components[name] for name in COMPONENTS), 2)
    return Score(candidate.expert_id, total, components, explanation)


def rank(
    candidates: Iterable[Candidate],
    need: NeedSpec,
    weights: Mapping[str, float],
    *,
    limit: int | None = None,
) -> list[Score]:
    """Score every candidate and return the best ``limit`` (all when None), best first.

    A score depends only on the candidate's facts, and on a large roster many candidates
    share the same facts: each distinct set is scored once, and the full ``Score`` (with its
    explanation) is built only for the candidates returned."""
    normal = normalised_weights(weights)
    keys: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    keyed: list[tuple[tuple[Any, ...], Candidate]] = []
    for candidate in candidates:
        facts = (
            candidate.administration_type,
            candidate.nationality_region,
            candidate.has_thematic_area,
            candidate.skill_ids,
            candidate.experience,
            candidate.rating_sum,
            candidate.rating_count,
            candidate.recent_deployments,
        )
        key = keys.get(facts)
        if key is None:
            key = score(candidate, need, normal).rank_key[:-1]
            keys[facts] = key
        keyed.append(((*key, candidate.expert_id), candidate))
    if limit is None:
        chosen = sorted(keyed, key=lambda item: item[0])
    else:
        chosen = heapq.nsmallest(limit, keyed, key=lambda item: item[0])
    return [score(candidate, need, normal) for _key, candidate in chosen]
