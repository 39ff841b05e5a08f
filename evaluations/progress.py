"""Progress of an indicator towards its target (pure: no database).

``progress`` is the share of the way from baseline to target that the latest measurement
covers (0 at the baseline, 1 at the target; it works the same for indicators that should
decrease, because the sign of ``target - baseline`` carries the direction). It is compared
with the share of the action's period that had elapsed on the measurement's date:

- ``achieved`` — the target is reached (progress ≥ 1);
- ``on_track`` — progress is at most ``INDICATOR_ON_TRACK_MARGIN_PERCENT`` behind the elapsed share;
- ``at_risk`` — at most ``INDICATOR_AT_RISK_MARGIN_PERCENT`` behind;
- ``off_track`` — further behind (or moving away from the target).

Example: baseline 20, target 60, action Jan–Dec, measured 40 on 1 July → progress 0.50,
elapsed 0.50 → on track; measured 25 → progress 0.125, 0.375 behind → off track with the
default margins (10 and 25 points).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings

from evaluations.models import Progress

# Stored progress is clamped so that a wild measurement cannot overflow the column.
PROGRESS_FLOOR, PROGRESS_CEILING = Decimal("-9.9999"), Decimal("9.9999")


@dataclass(frozen=True)
class Assessment:
    progress: Decimal | None
    expected: Decimal | None
    status: str


def elapsed_share(start: date, end: date, on: date) -> Decimal:
    """The share of the period ``start``–``end`` that has passed on ``on`` (0 to 1)."""
    if end <= start:
        return Decimal(1)
    share = Decimal((on - start).days) / Decimal((end - start).days)
    return min(max(share, Decimal(0)), Decimal(1))


def assess(
    *,
    baseline: Decimal,
    target: Decimal,
    value: Decimal | None,
    measured_on: date | None,
    start: date,
    end: date,
) -> Assessment:
    if value is None or measured_on is None:
        return Assessment(None, None, Progress.NOT_MEASURED)
    span = Decimal(target) - Decimal(baseline)
    if span == 0:  # refused by a constraint; treat as reached rather than divide by zero
        return Assessment(Decimal(1), Decimal(1), Progress.ACHIEVED)
    progress = (Decimal(value) - Decimal(baseline)) / span
    progress = min(max(progress, PROGRESS_FLOOR), PROGRESS_CEILING).quantize(Decimal("0.0001"))
    expected = elapsed_share(start, end, measured_on).quantize(Decimal("0.0001"))
    if progress >= 1:
        status = Progress.ACHIEVED
    elif progress < 0:  # on the wrong side of the baseline: moving away from the target
        status = Progress.OFF_TRACK
    elif progress >= expected - Decimal(settings.INDICATOR_ON_TRACK_MARGIN_PERCENT) / 100:
        status = Progress.ON_TRACK
    elif progress >= expected - Decimal(settings.INDICATOR_AT_RISK_MARGIN_PERCENT) / 100:
        status = Progress.AT_RISK
    else:
        status = Progress.OFF_TRACK
    return Assessment(progress, expected, status)
