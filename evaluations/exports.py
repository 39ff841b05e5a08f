"""Columns of the monitoring and evaluation downloads (pages and API share them).

Indicators export one row per measurement (an indicator without measurements still gets one
row, with the measurement columns empty), so a spreadsheet shows the whole history; the
indicator columns repeat on each of its rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from cbportal.core.exports import Column
from evaluations.models import DAC_CRITERIA, FinalEvaluation, Indicator, Measurement


class IndicatorRow(NamedTuple):
    """One row of the indicator download: the indicator and one of its measurements."""

    indicator: Indicator
    measurement: Measurement | None


def indicator_rows(queryset: Iterable[Indicator]) -> Iterator[IndicatorRow]:
    """One row per measurement, newest first, and one row for an indicator that has none.

    ``queryset`` comes prefetched with its measurements (``selectors.indicator_list``); it is
    read in chunks, each chunk with its own prefetch, so memory stays flat on long lists.
    """
    if isinstance(queryset, QuerySet):
        queryset = queryset.iterator(chunk_size=1000)
    for indicator in queryset:
        measurements = list(indicator.measurements.all())
        if not measurements:
            yield IndicatorRow(indicator, None)
        for measurement in measurements:
            yield IndicatorRow(indicator, measurement)


def _evidence(row: IndicatorRow) -> str:
    measurement = row.measurement
    if measurement is None:
        return ""
    return measurement.evidence_url or measurement.evidence_name or ""


def _recorded_by(row: IndicatorRow) -> str:
    measurement = row.measurement
    if measurement is None or measurement.recorded_by is None:
        return ""
    return measurement.recorded_by.display_name


INDICATOR_COLUMNS = (
    Column(_("Action reference"), "indicator.action.reference"),
    Column(_("Action title"), "indicator.action.title"),
    Column(_("Indicator"), "indicator.name"),
    Column(_("CB level"), "indicator.get_level_display"),
    Column(_("Unit"), "indicator.get_unit_display"),
    Column(_("Direction"), "indicator.get_direction_display"),
    Column(_("Baseline"), "indicator.baseline"),
    Column(_("Target"), "indicator.target"),
    Column(_("Measurement frequency"), "indicator.get_frequency_display"),
    Column(_("Progress"), "indicator.get_progress_status_display"),
    Column(_("Latest value"), "indicator.latest_value"),
    Column(_("Last measured"), "indicator.latest_date"),
    Column(_("Measurement date"), "measurement.date"),
    Column(_("Value"), "measurement.value"),
    Column(_("Note"), "measurement.note"),
    Column(_("Evidence"), _evidence),
    Column(_("Recorded by"), _recorded_by),
)


def _recommendations(evaluation: FinalEvaluation) -> list[str]:
    # Prefetched by ``selectors.evaluations_for``; ``plain`` joins them with "; ".
    return [item.text for item in evaluation.recommendations.all()]


def _submitted_by(evaluation: FinalEvaluation) -> str:
    user = evaluation.submitted_by
    return user.display_name if user is not None else ""


EVALUATION_COLUMNS = (
    Column(_("Action reference"), "action.reference"),
    Column(_("Action title"), "action.title"),
    Column(_("Country"), "action.country.display_name"),
    Column(_("Status"), "get_status_display"),
    *(Column(label, name) for name, label in DAC_CRITERIA),
    Column(_("Findings"), "findings"),
    Column(_("Lessons learned"), "lessons"),
    Column(_("Recommendations"), _recommendations),
    Column(_("Submitted"), "submitted_at"),
    Column(_("Submitted by"), _submitted_by),
)
