"""bench/dashboard.py (issue 6 "Done when": a benchmark seeds 50,000 requests / 20,000
actions on PostgreSQL and reports the dashboard and portfolio API times): it refuses
databases it must not fill; its seeding, run here at a tiny size, gives every figure of
the dashboard data; its timing code times the three surfaces; its report replaces only its
own section of docs/performance.md."""

from __future__ import annotations

import datetime as dt
import itertools
import statistics
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bench import dashboard as bench
from tests.bench.common import (
    assert_refuses_a_database_that_is_not_for_benchmarks,
    assert_refuses_sqlite,
    run_script,
)


def run_bench(database_url: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    return run_script("dashboard", database_url, *args)


def test_it_refuses_sqlite_with_a_clear_message() -> None:
    assert_refuses_sqlite("dashboard")


def test_it_refuses_a_database_that_is_not_a_benchmark_database() -> None:
    assert_refuses_a_database_that_is_not_for_benchmarks("dashboard")


def test_it_checks_its_options_before_touching_a_database() -> None:
    result = run_bench("sqlite:////tmp/unused.sqlite3", "--actions", "0")
    assert result.returncode == 2
    assert "--actions" in result.stderr


TINY = bench.Sizes(requests=400, actions=120, experts=150)


@pytest.fixture
def portfolio(db: Any) -> bench.Seeded:
    return bench.seed(TINY, log=lambda line: None)


def test_the_seeded_portfolio_gives_every_dashboard_figure_data(
    portfolio: bench.Seeded,
) -> None:
    from evaluations.dashboard import PortfolioFilters, portfolio_report

    assert portfolio.counts["requests"] == TINY.requests
    assert portfolio.counts["actions"] == TINY.actions
    assert portfolio.counts["experts"] == TINY.experts
    report = portfolio_report(PortfolioFilters.default())

    requests = report["requests"]
    assert all(m["submitted"] > 0 for m in requests["per_month"])
    assert sum(1 for m in requests["per_month"] if m["decided"]) >= 10
    assert 0 < requests["acceptance_rate_percent"] < 100
    for step in ("first_response", "decision"):
        figures = requests[step]
        assert figures["median_days"] < figures["p90_days"]
        assert 0 < figures["on_time"] < figures["count"]
    assert requests["overdue_now"] > 0

    actions = report["actions"]
    by_status = {b["key"]: b["count"] for b in actions["by_status"]}
    assert all(by_status[s] > 0 for s in ("in_implementation", "completed", "closed"))
    assert sum(1 for b in actions["by_region"] if b["count"]) >= 3
    assert sum(1 for b in actions["by_thematic_area"] if b["count"]) >= 6
    assert sum(1 for b in actions["by_gcm_objective"] if b["count"]) >= 10

    deployments = report["deployments"]
    assert sum(1 for m in deployments["per_month"] if m["deployments"]) >= 10
    assert deployments["expert_days"] > deployments["total"] > 0
    origins = {o["key"]: o["experts"] for o in deployments["by_origin"]}
    assert origins["south_south"] > 0 and origins["eu_member_state"] > 0

    indicators = {b["key"]: b["count"] for b in report["indicators"]["by_status"]}
    assert all(n > 0 for n in indicators.values()), indicators
    assert all(c["average"] is not None for c in report["evaluations"]["criteria"])
    assert all(r["responses"] > 0 for r in report["feedback"]["by_respondent"])


def test_the_seeded_history_is_consistent(portfolio: bench.Seeded) -> None:
    from django.db.models import F, Q

    from actions.models import Action, Activity
    from evaluations.models import FinalEvaluation, Indicator, Measurement
    from experts.models import Deployment
    from requests_app.models import AssistanceRequest
    from requests_app.sla import due_dates

    now = dt.datetime.now(dt.UTC)
    for r in AssistanceRequest.objects.filter(submitted_at__isnull=False)[:100]:
        assert (r.first_response_due_at, r.decision_due_at) == due_dates(r.submitted_at)
    assert not AssistanceRequest.objects.filter(
        Q(first_response_at__lt=F("submitted_at")) | Q(decided_at__lt=F("first_response_at"))
    ).exists()
    assert not AssistanceRequest.objects.filter(
        Q(submitted_at__gt=now) | Q(decided_at__gt=now)
    ).exists()
    assert not Action.objects.filter(created_at__lt=F("request__decided_at")).exists()
    assert not Measurement.objects.filter(
        Q(date__lt=F("indicator__action__start_date"))
        | Q(date__gt=F("indicator__action__end_date"))
    ).exists()
    assert not Activity.objects.filter(
        Q(start_date__lt=F("action__start_date")) | Q(end_date__gt=F("action__end_date"))
    ).exists()
    assert not Activity.objects.filter(
        participants_women__gt=0,
        expected_participants__lt=F("participants_women")
        + F("participants_men")
        + F("participants_other"),
    ).exists()
    # Nobody is booked twice at once (PostgreSQL's exclusion constraint would refuse it;
    # SQLite has none, so check here).
    booked = list(
        Deployment.objects.filter(status__in=["confirmed", "completed"])
        .order_by("expert_id", "start_date")
        .values_list("expert_id", "start_date", "end_date")
    )
    for (e1, _s1, end1), (e2, start2, _e2) in itertools.pairwise(booked):
        assert e1 != e2 or end1 < start2
    assert not FinalEvaluation.objects.filter(action__closed_at__lt=F("submitted_at")).exists()
    assert not Action.objects.filter(status="closed", evaluation__isnull=True).exists()
    # Stored progress is the rules' verdict on the latest measurement.
    from evaluations import progress

    for indicator in Indicator.objects.select_related("action").exclude(
        progress_status="not_measured"
    )[:100]:
        latest = indicator.measurements.order_by("-date", "-id").first()
        assert latest is not None
        assert (
            indicator.progress_status
            == progress.assess(
                baseline=indicator.baseline,
                target=indicator.target,
                value=latest.value,
                measured_on=latest.date,
                start=indicator.action.start_date,
                end=indicator.action.end_date,
            ).status
        )


def test_it_times_the_three_surfaces_and_finds_the_slowest_query(
    portfolio: bench.Seeded, client: Any
) -> None:
    from cbportal.accounts.models import User

    client.force_login(User.objects.get(username="bench-dash-staff"))
    lines: list[str] = []
    timings = bench.measure(client, dt.date.today(), runs=2, warmup=1, log=lines.append)
    cases = bench.cases(dt.date.today())
    assert len(timings) == len(cases) * len(bench.SURFACES) == len(lines)
    for timing in timings:
        assert timing.status == 200, (timing.surface, timing.case)
        assert len(timing.ms) == len(timing.queries) == 2
        assert all(q > 0 for q in timing.queries)
        assert 0 < statistics.median(timing.sql_ms) <= timing.median
        # Every run of one case asks the same queries (no per-row queries, no caching).
        assert min(timing.queries) == max(timing.queries)
    slowest = bench.dissect(max(timings, key=lambda t: t.median), client)
    assert slowest["queries"] and slowest["queries"][0][0] >= slowest["queries"][-1][0]


def test_its_report_replaces_only_its_own_section(tmp_path: Path) -> None:
    from bench import matching

    path = tmp_path / "performance.md"
    matching_section = f"{matching.START_MARK}\n## Matching\n\nnumbers\n{matching.END_MARK}\n"
    path.write_text("# Performance\n\n" + matching_section + "\n## Notes by hand\n\nkept\n")
    first = f"{bench.START_MARK}\n## Dashboard\n\nfirst run\n{bench.END_MARK}\n"
    bench.write_section(path, first)
    second = f"{bench.START_MARK}\n## Dashboard\n\nsecond run\n{bench.END_MARK}\n"
    bench.write_section(path, second)
    text = path.read_text()
    assert matching_section in text and "## Notes by hand\n\nkept" in text
    assert "second run" in text and "first run" not in text
    assert text.count(bench.START_MARK) == 1
