"""bench/notifications.py (issue 7: how many emails per minute one worker delivers): it
refuses databases it must not fill and options it cannot honour; its outbox is what real
submissions write; it measures a real worker end to end (with PostgreSQL and Redis); its
report replaces only its own section of docs/performance.md."""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bench import notifications as bench
from cbportal.core.models import DeliveryStatus, Notification
from tests.bench.common import (
    assert_refuses_a_database_that_is_not_for_benchmarks,
    assert_refuses_sqlite,
    run_script,
)
from tests.smtp import SmtpServer
from tests.workers import database_url, require_postgresql, require_redis_url, worker_environment


def run_bench(database_url: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    return run_script("notifications", database_url, *args)


def test_it_refuses_sqlite_with_a_clear_message() -> None:
    assert_refuses_sqlite("notifications")


def test_it_refuses_a_database_that_is_not_a_benchmark_database() -> None:
    assert_refuses_a_database_that_is_not_for_benchmarks("notifications")


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--emails", "150", "--recipients", "100"], "multiple of --recipients"),
        (["--recipients", "0"], "--recipients"),
        (["--pools", "threads"], "--pools"),
    ],
)
def test_it_checks_its_options_before_touching_a_database(args: list[str], complaint: str) -> None:
    result = run_bench("sqlite:////tmp/unused.sqlite3", *args)
    assert result.returncode == 2
    assert complaint in result.stderr


def test_its_outbox_is_what_real_submissions_write(db: Any) -> None:
    ids = bench.seed(emails=6, recipients=3)
    assert len(ids) == 6
    pending = Notification.objects.filter(pk__in=ids).select_related("recipient")
    assert {n.event for n in pending} == {"request_received"}
    assert {n.email_status for n in pending} == {DeliveryStatus.PENDING}
    assert len({(n.recipient_id, n.object_id) for n in pending}) == 6  # 2 requests × 3 staff
    assert {n.recipient.language for n in pending} == {"en", "fr", "es"}
    # The partner's acknowledgements stay in-app: nothing else is pending.
    acknowledgements = Notification.objects.filter(event="request_submitted")
    assert [n.email_status for n in acknowledgements] == [DeliveryStatus.SKIPPED] * 2
    Notification.objects.filter(pk__in=ids).update(email_status=DeliveryStatus.SENT, attempts=1)
    bench.reset(ids)
    assert set(Notification.objects.filter(pk__in=ids).values_list("email_status", "attempts")) == {
        (DeliveryStatus.PENDING, 0)
    }


def test_it_times_each_stage_of_one_email(db: Any) -> None:
    ids = bench.seed(emails=4, recipients=2)
    with SmtpServer() as smtp:
        # conn_max_age=1 keeps the test's connection (and its transaction) open.
        dissected = bench.dissect(ids, smtp, conn_max_age=1)
        assert sorted(m.rcpt_tos[0] for m in smtp.messages) == sorted(
            Notification.objects.filter(pk__in=ids).values_list("recipient__email", flat=True)
        )
    assert len(dissected.total_ms) == 4
    for n in range(4):
        parts = [
            dissected.connect_ms[n],
            dissected.sql_ms[n],
            dissected.render_ms[n],
            dissected.render_sql_ms[n],
            dissected.smtp_ms[n],
        ]
        assert all(part >= 0 for part in parts) and sum(parts) <= dissected.total_ms[n]
        assert dissected.smtp_ms[n] > 0 and dissected.render_ms[n] > 0
        assert dissected.queries[n] > dissected.render_queries[n] > 0
    assert set(Notification.objects.filter(pk__in=ids).values_list("email_status", flat=True)) == {
        DeliveryStatus.SENT
    }
    from django.conf import settings

    assert settings.EMAIL_BACKEND == "django.core.mail.backends.locmem.EmailBackend"  # restored


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_it_measures_a_real_worker_delivering_every_email_once(tmp_path: Path) -> None:
    broker = require_redis_url()
    require_postgresql()
    from django.conf import settings
    from django.db import connection

    from tests.workers import purge_queue

    ids = bench.seed(emails=8, recipients=4)
    purge_queue()
    with SmtpServer() as smtp:
        env = worker_environment(
            database_url=database_url(connection.settings_dict),
            broker_url=broker,
            queue=settings.CELERY_TASK_DEFAULT_QUEUE,
            email_url=smtp.url,
        )
        result = bench.measure("solo", ids, smtp, env, tmp_path, timeout=60, log=lambda _: None)
        assert smtp.count == 8
    assert (result.pool, result.emails, result.duplicates) == ("solo", 8, 0)
    assert 0 < result.first_seconds <= result.seconds
    assert result.per_minute == pytest.approx(8 / result.seconds * 60)
    assert len(result.gaps_ms) == 7 and len(result.task_ms) == 8
    assert set(Notification.objects.filter(pk__in=ids).values_list("email_status", flat=True)) == {
        DeliveryStatus.SENT
    }


def test_its_report_gives_emails_per_minute_and_replaces_only_its_own_section(
    tmp_path: Path,
) -> None:
    from bench import matching

    results = [
        bench.Result("prefork", 2000, 1.5, 0.1, 80.0, [40.0] * 1999, [30.0] * 2000, 0, "1.0"),
        bench.Result("solo", 2000, 1.4, 0.1, 60.0, [30.0] * 1999, [25.0] * 2000, 0, "1.1"),
    ]
    args = argparse.Namespace(
        command=[".venv/bin/python", "bench/notifications.py"],
        database="cbportal_bench_mail",
        keep=False,
        queue="cbportal-bench-mail-1",
        load_start="1.0 1.0 1.0",
        emails=2000,
        recipients=100,
        conn_max_age="0",
    )
    info = {
        "cpu": "CPU × 2",
        "cores": "2",
        "memory": "4 GiB",
        "os": "Linux",
        "postgresql": "16",
        "python": "3.11",
        "django": "5.2",
    }
    dissected = bench.Dissected(
        total_ms=[30.0, 40.0],
        connect_ms=[5.0, 5.0],
        sql_ms=[8.0, 8.0],
        queries=[6, 6],
        render_queries=[3, 3],
        render_ms=[6.0, 6.0],
        render_sql_ms=[3.0, 3.0],
        smtp_ms=[6.0, 6.0],
    )
    section = bench.report(args, results, info, "7.0", dissected)
    assert section.startswith(bench.START_MARK) and section.rstrip().endswith(bench.END_MARK)
    assert "| **1,500** |" in section and "| **2,000** |" in section  # 2000 / 80 s, / 60 s
    assert "about 2,000 emails per minute** here (solo)" in section
    assert "6 queries per email (median), 3 of them while rendering" in section
    # The rest: 30 - 28 and 40 - 28 ms; median 7, p95 (interpolated) 11.5.
    assert "(not a query to `execute_wrapper`) | 7.0 / 11.5 |" in section

    path = tmp_path / "performance.md"
    matching_section = f"{matching.START_MARK}\n## Matching\n\nnumbers\n{matching.END_MARK}\n"
    path.write_text("# Performance\n\n" + matching_section + "\n## Notes by hand\n\nkept\n")
    bench.write_section(path, section.replace("2,000 emails per minute", "first run"))
    bench.write_section(path, section)
    text = path.read_text()
    assert matching_section in text and "## Notes by hand\n\nkept" in text
    assert "first run" not in text and text.count(bench.START_MARK) == 1
