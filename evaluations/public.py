"""Reads of the public portfolio (no login): the actions whose partner agreed to publish
them, once they are approved — never in design, proposed or cancelled.

Only institutional facts and aggregates leave this module: the partner authority and its
country, the plan's themes, period and status, activity types with counts, how many experts
were deployed from each kind of administration and, for closed actions, the average of the
six DAC ratings. Never a person's name, an email, an evaluation's text or a comment.

Counts are computed in the database (one subquery per origin on the page's rows, one
grouped query for the activity types of a whole page), so a page costs the same number of
queries whatever its size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    FloatField,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, NullIf
from django.utils import translation

from actions.models import Action, ActionStatus, Activity, ActivityStatus, ActivityType
from cbportal.accounts.models import Country
from cbportal.core.errors import NotFound
from cbportal.core.models import GcmObjective, ThematicArea
from evaluations.models import DAC_CRITERIA, EvaluationStatus, FinalEvaluation
from experts.models import AdministrationType, Deployment, DeploymentStatus

# The states in which a consented action is public. Design and proposed plans are not
# agreed yet; a cancelled action never happened.
PUBLIC_STATUSES: tuple[str, ...] = (
    ActionStatus.APPROVED,
    ActionStatus.IN_IMPLEMENTATION,
    ActionStatus.SUSPENDED,
    ActionStatus.COMPLETED,
    ActionStatus.CLOSED,
)
# An expert counts as deployed once staff confirmed the mission.
DEPLOYED: tuple[str, ...] = (DeploymentStatus.CONFIRMED, DeploymentStatus.COMPLETED)
# The four origins, in the order the portfolio shows them, with the annotation of each.
ORIGINS: tuple[tuple[str, str], ...] = (
    (AdministrationType.EU_MEMBER_STATE, "experts_eu_member_state"),
    (AdministrationType.PARTNER_COUNTRY, "experts_partner_country"),
    (AdministrationType.INTERNATIONAL_ORGANISATION, "experts_international_organisation"),
    (AdministrationType.ACADEMIA_CIVIL_SOCIETY, "experts_academia_civil_society"),
)
# Words of a text search (more are ignored: a search box, not a query language).
MAX_SEARCH_WORDS = 8


@dataclass(frozen=True)
class PortfolioFilters:
    """What a visitor narrowed the portfolio to (blank/None: not filtered)."""

    country: str = ""  # ISO 3166-1 alpha-2 code
    region: str = ""
    thematic_area: str = ""  # slug
    gcm_objective: int | None = None
    activity_type: str = ""
    status: str = ""
    year: int | None = None  # actions running at some point of that year
    search: str = ""  # words in the reference, title or public summary

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> PortfolioFilters:
        """From a form's or a filter set's cleaned data (model instances or plain values)."""
        country = data.get("country") or ""
        area = data.get("thematic_area") or ""
        gcm = data.get("gcm_objective")
        return cls(
            country=getattr(country, "code", country) or "",
            region=data.get("region") or "",
            thematic_area=getattr(area, "slug", area) or "",
            gcm_objective=int(getattr(gcm, "number", gcm)) if gcm else None,
            activity_type=data.get("activity_type") or "",
            status=data.get("status") or "",
            year=int(data["year"]) if data.get("year") else None,
            search=(data.get("search") or "").strip(),
        )


@dataclass(frozen=True)
class TypeCount:
    type: str
    label: Any  # lazily translated: rendered in the visitor's language
    count: int


@dataclass(frozen=True)
class OriginCount:
    origin: str
    label: Any
    count: int


def published_actions() -> QuerySet[Action]:
    """Every action the public may see: consented and in a public state."""
    return Action.objects.filter(publish=True, status__in=PUBLIC_STATUSES)


def public_activities() -> QuerySet[Activity]:
    """Activities that are shown: a cancelled activity did not happen."""
    return Activity.objects.exclude(status=ActivityStatus.CANCELLED)


def _experts_from(origin: str) -> Coalesce:
    """Distinct experts of ``origin`` with a confirmed or completed deployment on the
    action (an expert on two missions of one action counts once)."""
    deployed = (
        Deployment.objects.filter(
            need__activity__action=OuterRef("pk"),
            status__in=DEPLOYED,
            expert__administration_type=origin,
        )
        .order_by()
        .values("need__activity__action")
        .annotate(n=Count("expert", distinct=True))
        .values("n")
    )
    return Coalesce(Subquery(deployed, output_field=IntegerField()), Value(0))


def _dac_average() -> Case:
    """The mean of the six DAC ratings of a closed action's submitted evaluation."""
    total = sum((F(name) for name, _label in DAC_CRITERIA[1:]), F(DAC_CRITERIA[0][0]))
    average = (
        FinalEvaluation.objects.filter(action=OuterRef("pk"), status=EvaluationStatus.SUBMITTED)
        .annotate(average=Cast(total, FloatField()) / Value(float(len(DAC_CRITERIA))))
        .values("average")[:1]
    )
    return Case(
        When(status=ActionStatus.CLOSED, then=Subquery(average, output_field=FloatField())),
        default=Value(None),
        output_field=FloatField(),
    )


def filter_actions(qs: QuerySet[Action], filters: PortfolioFilters) -> QuerySet[Action]:
    """Narrow ``qs`` to ``filters``. Many-valued criteria use ``EXISTS`` so that no row is
    repeated and no count is multiplied by a join."""
    if filters.country:
        qs = qs.filter(country__code__iexact=filters.country)
    if filters.region:
        qs = qs.filter(country__region=filters.region)
    if filters.thematic_area:
        qs = qs.filter(
            Exists(
                Action.thematic_areas.through.objects.filter(
                    action_id=OuterRef("pk"), thematicarea__slug=filters.thematic_area
                )
            )
        )
    if filters.gcm_objective:
        qs = qs.filter(
            Exists(
                Action.gcm_objectives.through.objects.filter(
                    action_id=OuterRef("pk"), gcmobjective_id=filters.gcm_objective
                )
            )
        )
    if filters.activity_type:
        qs = qs.filter(
            Exists(public_activities().filter(action=OuterRef("pk"), type=filters.activity_type))
        )
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.year:
        qs = qs.filter(
            start_date__lte=date(filters.year, 12, 31), end_date__gte=date(filters.year, 1, 1)
        )
    for word in filters.search.split()[:MAX_SEARCH_WORDS]:
        qs = qs.filter(
            Q(title__icontains=word) | Q(summary__icontains=word) | Q(reference__icontains=word)
        )
    return qs


def public_action_list(filters: PortfolioFilters | None = None) -> QuerySet[Action]:
    """The published actions (newest first) with their public facts annotated. Pass the
    rows that are shown through ``attach_public_facts`` (one more query per page)."""
    qs = filter_actions(published_actions(), filters or PortfolioFilters())
    return (
        qs.select_related("country", "organisation")
        .prefetch_related(
            Prefetch("thematic_areas", queryset=ThematicArea.objects.order_by("position", "name")),
            Prefetch("gcm_objectives", queryset=GcmObjective.objects.order_by("number")),
        )
        .annotate(
            **{name: _experts_from(origin) for origin, name in ORIGINS},
            dac_average=_dac_average(),
        )
        .order_by("-start_date", "-id")
    )


def attach_public_facts(actions: Iterable[Action]) -> list[Action]:
    """Give each action ``activity_types`` (distinct types with counts, most frequent
    first), ``experts_by_origin`` (the four origins, zeros included) and ``experts_total``
    — one grouped query for all of them."""
    rows = list(actions)
    counts: dict[int, list[tuple[str, int]]] = defaultdict(list)
    if rows:
        grouped = (
            public_activities()
            .filter(action_id__in=[a.pk for a in rows])
            .order_by()
            .values_list("action_id", "type")
            .annotate(n=Count("id"))
        )
        for action_id, kind, n in grouped:
            counts[action_id].append((kind, n))
    order = {value: i for i, value in enumerate(ActivityType.values)}
    for action in rows:
        types = sorted(counts.get(action.pk, []), key=lambda t: (-t[1], order.get(t[0], 99)))
        action.activity_types = [  # type: ignore[attr-defined]
            TypeCount(kind, ActivityType(kind).label, n) for kind, n in types
        ]
        by_origin = [
            OriginCount(origin, AdministrationType(origin).label, getattr(action, name, 0) or 0)
            for origin, name in ORIGINS
        ]
        action.experts_by_origin = by_origin  # type: ignore[attr-defined]
        action.experts_total = sum(o.count for o in by_origin)  # type: ignore[attr-defined]
    return rows


def with_public_activities(qs: QuerySet[Action]) -> QuerySet[Action]:
    """Prefetch each action's shown activities as ``public_activities`` (one query)."""
    activities = (
        public_activities().select_related("country").order_by("start_date", "position", "id")
    )
    return qs.prefetch_related(
        Prefetch("activities", queryset=activities, to_attr="public_activities")
    )


def public_action_detail(reference: Any) -> Action:
    """A published action by reference with its (non-cancelled) activities, or NotFound."""
    action = with_public_activities(public_action_list()).filter(reference=str(reference)).first()
    if action is None:
        raise NotFound()
    return attach_public_facts([action])[0]


# Choices for the portfolio's filters --------------------------------------------------


def _localized_order(field: str) -> Any:
    """Order reference data by its name in the active language (English as fallback)."""
    lang = (translation.get_language() or "en").split("-")[0]
    if lang in ("fr", "es"):
        return Coalesce(NullIf(f"{field}_{lang}", Value("")), field).asc()
    return F(field).asc()


def portfolio_countries() -> QuerySet[Country]:
    """Countries that have at least one published action."""
    return Country.objects.filter(
        Exists(published_actions().filter(country_id=OuterRef("pk")))
    ).order_by(_localized_order("name"))


def portfolio_thematic_areas() -> QuerySet[ThematicArea]:
    return ThematicArea.objects.filter(is_active=True).order_by("position", "name")


def portfolio_gcm_objectives() -> QuerySet[GcmObjective]:
    return GcmObjective.objects.order_by("number")


def portfolio_years() -> list[int]:
    """The years the published actions cover, latest first."""
    bounds = published_actions().aggregate(first=Min("start_date"), last=Max("end_date"))
    if bounds["first"] is None:
        return []
    return list(range(bounds["last"].year, bounds["first"].year - 1, -1))
