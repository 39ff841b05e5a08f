"""The portfolio dashboard page (``/dashboard/``, programme staff).

Thin: the filters are checked by ``PortfolioFilterForm`` and every figure comes from
``evaluations.dashboard.portfolio_report`` — the dict the API returns. This module only
lays that dict out as KPI tiles, chart data (drawn by static/js/dashboard.js) and the
tables that carry the same numbers for screen readers and for CSV/XLSX downloads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from cbportal.accounts.permissions import is_staff
from cbportal.core.errors import ApplicationError
from cbportal.core.exports import Column, export_response, requested_format
from evaluations.dashboard import PortfolioFilterForm, PortfolioFilters, cached_portfolio_report


@dataclass
class Table:
    """One table of the dashboard: the first column heads its row."""

    name: str
    caption: str
    headers: list[str]
    rows: list[list[Any]]
    download: str = ""

    def columns(self) -> list[Column]:
        return [Column(header, _cell(i)) for i, header in enumerate(self.headers)]


def _cell(index: int) -> Callable[[list[Any]], Any]:
    return lambda row: row[index]


@dataclass
class Chart:
    """What static/js/dashboard.js draws on ``<canvas id=chart-<name>>``. Each dataset
    carries a ``kind`` (bar or line) and, for lines, a style index: several series are
    told apart by shape and dash, not by colour alone."""

    name: str
    type: str
    labels: list[str]
    datasets: list[dict[str, Any]]
    axis_title: str = ""
    second_axis_title: str = ""
    horizontal: bool = False
    max: float | None = None
    integer: bool = True
    # Full labels for the tooltips when the axis shows short ones.
    titles: list[str] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": f"chart-{self.name}",
            "type": self.type,
            "labels": self.labels,
            "datasets": self.datasets,
            "axisTitle": self.axis_title,
            "secondAxisTitle": self.second_axis_title,
            "horizontal": self.horizontal,
            "max": self.max,
            "integer": self.integer,
            "titles": self.titles,
        }


def _dataset(label: str, data: list[Any], *, kind: str = "bar", **extra: Any) -> dict[str, Any]:
    return {"label": label, "data": data, "kind": kind, **extra}


def dashboard_tables(report: dict[str, Any]) -> list[Table]:
    """The report's tables, in the page's order (also the CSV/XLSX downloads)."""
    requests, actions = report["requests"], report["actions"]
    deployments = report["deployments"]
    timeliness = [
        (_("First response"), requests["first_response"]),
        (_("Decision"), requests["decision"]),
    ]
    return [
        Table(
            "requests-per-month",
            _("Requests submitted and decided per month"),
            [_("Month"), _("Submitted"), _("Decided"), _("Accepted"), _("Declined")],
            [
                [m["label"], m["submitted"], m["decided"], m["accepted"], m["declined"]]
                for m in requests["per_month"]
            ],
        ),
        Table(
            "timeliness",
            _("Time from submission to first response and to decision"),
            [
                _("Step"),
                _("Requests"),
                _("Median (days)"),
                _("90th percentile (days)"),
                _("Target (working days)"),
                _("Within the target"),
                _("Within the target (%)"),
            ],
            [
                [
                    label,
                    t["count"],
                    t["median_days"],
                    t["p90_days"],
                    t["target_working_days"],
                    t["on_time"],
                    t["on_time_percent"],
                ]
                for label, t in timeliness
            ],
        ),
        _bucket_table(
            "actions-by-status", _("Actions by status"), _("Status"), actions["by_status"]
        ),
        _bucket_table(
            "actions-by-thematic-area",
            _("Actions by thematic area"),
            _("Thematic area"),
            actions["by_thematic_area"],
        ),
        _bucket_table(
            "actions-by-gcm-objective",
            _("Actions by GCM objective"),
            _("GCM objective"),
            actions["by_gcm_objective"],
        ),
        _bucket_table(
            "actions-by-region", _("Actions by region"), _("Region"), actions["by_region"]
        ),
        Table(
            "deployments-per-month",
            _("Deployments and expert-days per month"),
            [_("Month"), _("Deployments"), _("Expert-days")],
            [[m["label"], m["deployments"], m["expert_days"]] for m in deployments["per_month"]],
        ),
        Table(
            "experts-by-origin",
            _("Experts deployed by origin"),
            [_("Origin"), _("Experts"), _("Deployments"), _("Share of the experts (%)")],
            [
                [o["label"], o["experts"], o["deployments"], o["percent"]]
                for o in deployments["by_origin"]
            ],
        ),
        Table(
            "indicators-by-progress",
            _("Indicators by progress"),
            [_("Progress"), _("Indicators")],
            [[b["label"], b["count"]] for b in report["indicators"]["by_status"]],
        ),
        Table(
            "dac-ratings",
            _("Average DAC ratings of the submitted final evaluations"),
            [_("Criterion"), _("Average rating (1–4)")],
            [[c["label"], c["average"]] for c in report["evaluations"]["criteria"]],
        ),
        Table(
            "feedback",
            _("Satisfaction with the activities"),
            [_("Respondents"), _("Responses"), _("Average satisfaction (1–5)")],
            [
                *[
                    [r["label"], r["responses"], r["average_satisfaction"]]
                    for r in report["feedback"]["by_respondent"]
                ],
                [
                    _("All"),
                    report["feedback"]["responses"],
                    report["feedback"]["average_satisfaction"],
                ],
            ],
        ),
    ]


def _bucket_table(name: str, caption: str, header: str, buckets: list[dict[str, Any]]) -> Table:
    return Table(name, caption, [header, _("Actions")], [[b["label"], b["count"]] for b in buckets])


def dashboard_charts(report: dict[str, Any]) -> list[Chart]:
    """The charts (one per table, except feedback, shown as a KPI and its table)."""
    requests, actions = report["requests"], report["actions"]
    deployments = report["deployments"]
    months = [m["label"] for m in requests["per_month"]]
    first, decision = requests["first_response"], requests["decision"]

    def bars(
        name: str, buckets: list[dict[str, Any]], *, label_key: str = "label", **kw: Any
    ) -> Chart:
        return Chart(
            name,
            "bar",
            [str(b[label_key]) for b in buckets],
            [_dataset(_("Actions"), [b["count"] for b in buckets])],
            axis_title=_("Actions"),
            **kw,
        )

    return [
        Chart(
            "requests-per-month",
            "line",
            months,
            [
                _dataset(
                    _("Submitted"),
                    [m["submitted"] for m in requests["per_month"]],
                    kind="line",
                    style=0,
                ),
                _dataset(
                    _("Decided"),
                    [m["decided"] for m in requests["per_month"]],
                    kind="line",
                    style=1,
                ),
            ],
            axis_title=_("Requests"),
        ),
        Chart(
            "timeliness",
            "bar",
            [
                _("First response: median"),
                _("First response: 90th percentile"),
                _("Decision: median"),
                _("Decision: 90th percentile"),
            ],
            [
                _dataset(
                    _("Days"),
                    [
                        first["median_days"],
                        first["p90_days"],
                        decision["median_days"],
                        decision["p90_days"],
                    ],
                )
            ],
            axis_title=_("Days"),
            horizontal=True,
            integer=False,
        ),
        bars("actions-by-status", actions["by_status"]),
        bars("actions-by-thematic-area", actions["by_thematic_area"], horizontal=True),
        # Objective numbers on the axis; the full titles in the tooltips and the table.
        bars(
            "actions-by-gcm-objective",
            actions["by_gcm_objective"],
            label_key="key",
            titles=[b["label"] for b in actions["by_gcm_objective"]],
        ),
        bars("actions-by-region", actions["by_region"]),
        Chart(
            "deployments-per-month",
            "bar",
            [m["label"] for m in deployments["per_month"]],
            [
                _dataset(
                    _("Deployments"),
                    [m["deployments"] for m in deployments["per_month"]],
                ),
                _dataset(
                    _("Expert-days"),
                    [m["expert_days"] for m in deployments["per_month"]],
                    kind="line",
                    style=1,
                    axis="y2",
                ),
            ],
            axis_title=_("Deployments"),
            second_axis_title=_("Expert-days"),
        ),
        Chart(
            "experts-by-origin",
            "bar",
            [o["label"] for o in deployments["by_origin"]],
            [
                _dataset(
                    _("Share of the experts (%)"),
                    [o["percent"] or 0 for o in deployments["by_origin"]],
                )
            ],
            axis_title=_("Share of the experts (%)"),
            horizontal=True,
            max=100,
            integer=False,
        ),
        Chart(
            "indicators-by-progress",
            "bar",
            [b["label"] for b in report["indicators"]["by_status"]],
            [_dataset(_("Indicators"), [b["count"] for b in report["indicators"]["by_status"]])],
            axis_title=_("Indicators"),
        ),
        Chart(
            "dac-ratings",
            "bar",
            [c["label"] for c in report["evaluations"]["criteria"]],
            [
                _dataset(
                    _("Average rating (1–4)"),
                    [c["average"] for c in report["evaluations"]["criteria"]],
                )
            ],
            axis_title=_("Average rating (1–4)"),
            horizontal=True,
            max=4,
            integer=False,
        ),
    ]


def _form_for(filters: PortfolioFilters) -> PortfolioFilterForm:
    """The filter form showing the filters in force (defaults included)."""
    return PortfolioFilterForm(
        initial={
            "from": filters.date_from,
            "to": filters.date_to,
            "region": filters.region,
            "country": filters.country,
            "thematic_area": filters.thematic_area,
            "gcm_objective": filters.gcm_objective,
        }
    )


@login_required
def index(request: HttpRequest) -> HttpResponseBase:
    """The portfolio dashboard. ``?table=<name>&export=csv|xlsx`` downloads one of its
    tables with the same filters."""
    if not is_staff(request.user):
        raise PermissionDenied
    form = PortfolioFilterForm(request.GET)
    if not form.is_valid():
        return render(
            request, "evaluations/dashboard.html", {"form": form, "report": None}, status=400
        )
    filters = form.filters()
    try:
        fmt = requested_format(request, "export")
    except ApplicationError as exc:
        form.add_error(None, exc.message)
        return render(
            request, "evaluations/dashboard.html", {"form": form, "report": None}, status=400
        )
    report, computed_at = cached_portfolio_report(filters)
    tables = dashboard_tables(report)
    if fmt is not None:
        table = next((t for t in tables if t.name == request.GET.get("table")), None)
        if table is None:
            raise Http404
        return export_response(
            table.rows, table.columns(), fmt=fmt, filename=table.name, request=request
        )
    query = filters.query_params()
    for table in tables:
        table.download = "?" + urlencode({**query, "table": table.name, "export": "csv"})
    return render(
        request,
        "evaluations/dashboard.html",
        {
            "form": _form_for(filters),
            "filters": filters,
            "report": report,
            # Shown when the figures come from the cache (DASHBOARD_CACHE_SECONDS).
            "computed_at": computed_at if settings.DASHBOARD_CACHE_SECONDS else None,
            "refresh_minutes": max(1, round(settings.DASHBOARD_CACHE_SECONDS / 60)),
            "tables": {table.name.replace("-", "_"): table for table in tables},
            "charts": [chart.as_json() for chart in dashboard_charts(report)],
            "api_url": f"{reverse('api:portfolio-report')}?{urlencode(query)}",
        },
    )
