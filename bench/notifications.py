#!/usr/bin/env python
"""Notification delivery benchmark (issue 7, DESIGN.md §7): how many emails per minute ONE
Celery worker process delivers on this machine, through PostgreSQL, Redis and SMTP.

    DATABASE_URL=postgres://cbportal:cbportal@127.0.0.1:5432/cbportal_bench_mail \\
        .venv/bin/python bench/notifications.py [--emails 2000] [--recipients 100]
                                                [--pools prefork,solo] [--redis URL]
                                                [--dissect 200] [--keep]
                                                [--write docs/performance.md]
    make bench-notifications          # the same

It creates its own database (a name containing "bench"; an earlier one of that name is
dropped first), migrates it and, through the real service ``request_submit``, has a
partner submit ``emails / recipients`` requests that ``recipients`` programme staff
(English, French and Spanish in turn) are told about: ``emails`` pending notifications
in the outbox, each one email. (The partner's acknowledgements stay in-app.) What those
submissions queued is purged: the clock starts with a fresh queue.

For each worker pool in turn — ``celery worker --pool=prefork --concurrency=1``, then
``--pool=solo``: one process doing the work either way — it starts the worker on its own
queue of a real Redis (``--redis``, else ``REDIS_URL``, else redis://127.0.0.1:6379/0),
with ``EMAIL_URL`` pointing at an SMTP server on loopback (aiosmtpd, in this process,
counting what it accepts), waits until the worker is ready, then queues every
notification (``notifications.enqueue``, as after commit) and measures the wall time from
the first queued to the last email received. It checks that every email arrived exactly
once and every row is ``sent``, and puts the rows back to ``pending`` for the next pool.
Then it delivers ``--dissect`` of them again in this process with ``notifications.deliver``
(what the task calls), timing each stage: connecting to the database, the queries, the
rendering, the SMTP conversation. At the end the queue is removed from Redis and the
database dropped (``--keep`` keeps it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import os
import re
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cbportal.settings.base")
# Measured as production runs: with DEBUG on, Django would also keep every query.
os.environ.setdefault("DEBUG", "false")

from bench import matching  # noqa: E402 - after the environment above
from bench.dashboard import drop_database  # noqa: E402
from bench.matching import ensure_database, load_average, machine  # noqa: E402

DEFAULT_URL = "postgres://cbportal:cbportal@127.0.0.1:5432/cbportal_bench_mail"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
SCRIPT = "bench/notifications.py"
DOMAIN = "bench-mail.cbportal.localhost"
POOLS = ("prefork", "solo")
LANGUAGES = ("en", "fr", "es")
START_MARK = "<!-- bench/notifications.py: start -->"
END_MARK = "<!-- bench/notifications.py: end -->"


def fail(message: str) -> NoReturn:
    matching.fail(message, script=SCRIPT)


def check_url(url: str, force: bool) -> dict[str, Any]:
    return matching.check_url(
        url,
        force,
        script=SCRIPT,
        target="bench-notifications",
        default_url=DEFAULT_URL,
        loads="a notification outbox (and drops it afterwards)",
    )


def check_options(args: argparse.Namespace) -> None:
    if args.recipients < 1 or args.emails < args.recipients:
        fail("--recipients must be at least 1 and --emails at least --recipients")
    if args.emails % args.recipients:
        fail("--emails must be a multiple of --recipients (each request tells every recipient)")
    if not 0 <= args.dissect <= args.emails:
        fail("--dissect must be between 0 and --emails")
    unknown = [p for p in args.pools if p not in POOLS]
    if not args.pools or unknown:
        fail(f"--pools takes a comma-separated list of {', '.join(POOLS)}")


def redis_version(url: str) -> str:
    """The version of the Redis at ``url``; fails when it does not answer."""
    import redis

    try:
        return str(redis.Redis.from_url(url, socket_timeout=2).info("server")["redis_version"])
    except redis.RedisError as exc:
        fail(f"Redis at {url} does not answer ({exc}); start it or pass --redis")


def forget_queue(url: str, queue: str) -> None:
    """Remove the run's queue and kombu's routing sets for it (its exchange bears its
    name) from Redis: the name is the run's own, nobody else uses them."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=2)
    client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")


# --- the outbox ------------------------------------------------------------------------------


def seed(emails: int, recipients: int) -> list[int]:
    """A partner submits ``emails / recipients`` requests through the service; each tells
    every one of ``recipients`` staff members. Returns the pending notifications' ids."""
    from django.db import transaction
    from django.utils import timezone

    from cbportal.accounts.models import Country, Organisation, Role, User
    from cbportal.core.models import (
        DeliveryMode,
        DeliveryStatus,
        GcmObjective,
        Language,
        Notification,
        NotificationCategory,
        NotificationPreference,
        ThematicArea,
    )
    from requests_app import services

    country = Country.objects.get(code="TN")
    organisation = Organisation.objects.create(
        name="Directorate of Migration (bench)",
        acronym="DM-B",
        kind="national_authority",
        country=country,
    )
    partner = User.objects.create(
        username="bench-partner",
        email=f"partner@{DOMAIN}",
        role=Role.PARTNER,
        organisation=organisation,
    )
    NotificationPreference.objects.create(
        user=partner, category=NotificationCategory.REQUESTS, mode=DeliveryMode.IN_APP
    )
    User.objects.bulk_create(
        User(
            username=f"bench-staff-{n:04d}",
            email=f"staff{n:04d}@{DOMAIN}",
            first_name="Staff",
            last_name=f"Member {n}",
            role=Role.STAFF,
            language=LANGUAGES[n % len(LANGUAGES)],
        )
        for n in range(recipients)
    )
    start = timezone.localdate() + dt.timedelta(days=60)
    data = {
        "country": country,
        "problem_statement": "Border posts record crossings on paper; data reach the capital late.",
        "expected_outcomes": "Officers collect and share disaggregated data weekly.",
        "target_institutions": "Directorate of Borders; National Statistics Office",
        "thematic_areas": [ThematicArea.objects.get(slug="data")],
        "gcm_objectives": [GcmObjective.objects.get(number=1)],
        "languages": [Language.objects.get(code="fr")],
        "preferred_start": start,
        "preferred_end": start + dt.timedelta(days=90),
    }
    for n in range(emails // recipients):
        with transaction.atomic():
            draft = services.request_create(
                by=partner, data={**data, "title": f"Bench request {n + 1}"}
            )
            services.request_submit(request_id=draft.pk, by=partner)
    return list(
        Notification.objects.filter(email_status=DeliveryStatus.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def reset(ids: list[int]) -> None:
    """Every notification pending again, as never tried."""
    from django.utils import timezone

    from cbportal.core.models import DeliveryStatus, Notification

    Notification.objects.filter(pk__in=ids).update(
        email_status=DeliveryStatus.PENDING,
        attempts=0,
        claimed_at=None,
        sent_at=None,
        last_error="",
        next_attempt_at=timezone.now(),
    )


# --- one measurement ------------------------------------------------------------------------------


@dataclass
class Result:
    pool: str
    emails: int
    queue_seconds: float  # enqueueing every notification
    first_seconds: float  # first queued → first email received
    seconds: float  # first queued → last email received
    gaps_ms: list[float]  # between consecutive emails
    task_ms: list[float]  # each deliver_notification task, as the worker logged it
    duplicates: int
    load: str

    @property
    def per_minute(self) -> float:
        return self.emails / self.seconds * 60


def measure(
    pool: str,
    ids: list[int],
    smtp: Any,
    worker_env: dict[str, str],
    log_dir: Path,
    *,
    timeout: float,
    log: Any = print,
) -> Result:
    """Start one worker with ``pool``, queue ``ids``, wait for every email, stop it."""
    from cbportal.core import notifications
    from cbportal.core.models import DeliveryStatus, Notification
    from tests.workers import start_worker

    reset(ids)
    smtp.clear()
    worker = start_worker(
        log_path=log_dir / f"worker-{pool}.log",
        env=worker_env,
        pool=pool,
        concurrency=1,
        name=f"bench-mail-{pool}-{os.getpid()}",
    )
    try:
        worker.wait_ready()
        started = time.monotonic()
        queued = notifications.enqueue(ids)
        queue_seconds = time.monotonic() - started
        if queued != len(ids):
            fail(f"only {queued} of {len(ids)} notifications could be queued")
        deadline = started + timeout
        last_report = started
        while smtp.count < len(ids):
            now = time.monotonic()
            if now > deadline or not worker.alive:
                fail(
                    f"{smtp.count} of {len(ids)} emails arrived in {now - started:.0f} s "
                    f"({pool}); worker log {worker.log_path}:\n{worker.log()[-3000:]}"
                )
            if now - last_report >= 10:
                log(f"  {smtp.count:,} of {len(ids):,} emails after {now - started:.0f} s")
                last_report = now
            time.sleep(0.05)
        received = smtp.quiet_for(1.0)  # anything doubled arrives now
    finally:
        worker.stop()
    arrivals = sorted(m.at for m in received)
    task_ms = [
        float(seconds) * 1000
        for seconds in re.findall(
            r"tasks\.deliver_notification\[[^]]+\] succeeded in ([0-9.e-]+)s", worker.log()
        )
    ]
    addressed = {(tuple(m.rcpt_tos), str(m.message["Subject"])) for m in received}
    sent = Notification.objects.filter(pk__in=ids, email_status=DeliveryStatus.SENT).count()
    if sent != len(ids) or len(addressed) != len(ids):
        fail(
            f"{pool}: {sent} of {len(ids)} notifications marked sent, {len(addressed)} "
            f"distinct emails among {len(received)} received"
        )
    return Result(
        pool=pool,
        emails=len(ids),
        queue_seconds=queue_seconds,
        first_seconds=arrivals[0] - started,
        seconds=arrivals[len(ids) - 1] - started,
        gaps_ms=[(b - a) * 1000 for a, b in itertools.pairwise(arrivals)],
        task_ms=task_ms,
        duplicates=len(received) - len(ids),
        load=load_average().split()[0],
    )


# --- where the time of one email goes ---------------------------------------------------------------


@dataclass
class Dissected:
    """Per email: the task's work done in this process, split by stage."""

    total_ms: list[float]
    connect_ms: list[float]  # opening the database connection (CONN_MAX_AGE=0: every task)
    sql_ms: list[float]  # executing queries, outside rendering
    queries: list[int]  # every query of the email
    render_queries: list[int]
    render_ms: list[float]  # build_email, its own queries excluded
    render_sql_ms: list[float]  # the queries build_email runs (the target and its relations)
    smtp_ms: list[float]  # the SMTP conversation


class _Stages:
    """Times ``build_email`` and the SMTP backend inside ``notifications.deliver`` and the
    queries of each (``connection.execute_wrapper``)."""

    def __init__(self) -> None:
        self.stage = "sql"
        self.laps: dict[str, float] = {}
        self.queries: dict[str, int] = {}

    def add(self, name: str, seconds: float) -> None:
        self.laps[name] = self.laps.get(name, 0.0) + seconds

    def wrap(self, name: str, func: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            previous, self.stage = self.stage, name
            started = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self.add(name, time.perf_counter() - started)
                self.stage = previous

        return timed

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.add(f"{self.stage}:sql", time.perf_counter() - started)
            self.queries[self.stage] = self.queries.get(self.stage, 0) + 1


def dissect(ids: list[int], smtp: Any, *, conn_max_age: int) -> Dissected:
    """Deliver ``ids`` again in this process with ``notifications.deliver`` (what the task
    calls), timing its stages; the connection is opened anew for each email when
    ``conn_max_age`` is 0, as in the worker."""
    from django.core.mail.backends.smtp import EmailBackend
    from django.db import connection
    from django.test import override_settings

    from cbportal.core import notifications

    reset(ids)
    smtp.clear()
    result = Dissected([], [], [], [], [], [], [], [])
    build_email, send_messages = notifications.build_email, EmailBackend.send_messages
    stages = _Stages()
    notifications.build_email = stages.wrap("render", build_email)  # type: ignore[method-assign]
    EmailBackend.send_messages = stages.wrap("smtp", send_messages)  # type: ignore[method-assign]
    try:
        with override_settings(**smtp.django_settings()):
            for pk in ids:
                if conn_max_age == 0:
                    connection.close()
                stages.laps, stages.queries = {}, {}
                started = time.perf_counter()
                connection.ensure_connection()
                connected = time.perf_counter()
                with connection.execute_wrapper(stages):
                    outcome = notifications.deliver(pk)
                finished = time.perf_counter()
                if outcome != "sent":
                    fail(f"notification {pk}: {outcome}, not sent, when dissecting")
                laps = stages.laps
                result.total_ms.append((finished - started) * 1000)
                result.connect_ms.append((connected - started) * 1000)
                result.sql_ms.append(laps.get("sql:sql", 0.0) * 1000)
                result.queries.append(sum(stages.queries.values()))
                result.render_queries.append(stages.queries.get("render", 0))
                render_sql = laps.get("render:sql", 0.0)
                result.render_sql_ms.append(render_sql * 1000)
                result.render_ms.append((laps.get("render", 0.0) - render_sql) * 1000)
                result.smtp_ms.append((laps.get("smtp", 0.0) - laps.get("smtp:sql", 0.0)) * 1000)
    finally:
        notifications.build_email = build_email  # type: ignore[method-assign]
        EmailBackend.send_messages = send_messages  # type: ignore[method-assign]
    if smtp.count != len(ids):
        fail(f"{smtp.count} emails reached the SMTP server when dissecting, not {len(ids)}")
    return result


def where_time_goes(d: Dissected, conn_max_age: str) -> list[str]:
    def cell(values: Sequence[float]) -> str:
        return f"{statistics.median(values):.1f} / {p95(values):.1f}"

    parts = [
        ("the whole task's work (`notifications.deliver`, connection included)", d.total_ms),
        (
            "opening the database connection"
            + (" (`CONN_MAX_AGE=0`: once per task)" if conn_max_age == "0" else ""),
            d.connect_ms,
        ),
        ("queries claiming, reading and marking the row sent", d.sql_ms),
        ("rendering subject, text and HTML (`build_email`), its queries excluded", d.render_ms),
        (
            "queries run while rendering (the target request and what the email shows)",
            d.render_sql_ms,
        ),
        ("the SMTP conversation (connect, EHLO, MAIL, RCPT, DATA, QUIT)", d.smtp_ms),
        (
            "the rest: the ORM and Python around the stages, and the COMMIT of the final "
            "update (not a query to `execute_wrapper`)",
            [
                total - sum(part)
                for total, *part in zip(
                    d.total_ms,
                    d.connect_ms,
                    d.sql_ms,
                    d.render_ms,
                    d.render_sql_ms,
                    d.smtp_ms,
                    strict=True,
                )
            ],
        ),
    ]
    return [
        f"### Where the time of one email goes ({len(d.total_ms):,} emails again, in process)",
        "",
        "The same work as the task, called directly (`notifications.deliver`, with the "
        "database connection opened anew for each email as the worker does) and timed by "
        f"stage. {statistics.median(d.queries):.0f} queries per email (median), "
        f"{statistics.median(d.render_queries):.0f} of them while rendering.",
        "",
        "| stage | ms per email (median / p95) |",
        "|---|---:|",
        *(f"| {name} | {cell(values)} |" for name, values in parts),
        "",
    ]


# --- the report ------------------------------------------------------------------------------------


def p95(values: Sequence[float]) -> float:
    return matching.p95(values) if values else 0.0


def table(results: list[Result]) -> list[str]:
    lines = [
        "| worker (one process) | emails | queued in s | first email after ms "
        "| last email after s | **emails per minute** | ms between emails (median / p95) "
        "| ms in the task (median / p95) | doubled | load average |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        name = "`--pool=solo`" if r.pool == "solo" else f"`--pool={r.pool} --concurrency=1`"
        gaps = r.gaps_ms or [0.0]
        tasks = r.task_ms or [0.0]
        lines.append(
            f"| {name} | {r.emails:,} | {r.queue_seconds:.1f} | {r.first_seconds * 1000:.0f} "
            f"| {r.seconds:.1f} | **{r.per_minute:,.0f}** "
            f"| {statistics.median(gaps):.1f} / {p95(gaps):.1f} "
            f"| {statistics.median(tasks):.1f} / {p95(tasks):.1f} | {r.duplicates} | {r.load} |"
        )
    return lines


def report(
    args: argparse.Namespace,
    results: list[Result],
    info: dict[str, str],
    redis: str,
    dissected: Dissected | None = None,
) -> str:
    best = max(results, key=lambda r: r.per_minute)
    lines = [
        START_MARK,
        "## Notification emails: one worker's throughput (bench/notifications.py)",
        "",
        f"Measured {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z} by `bench/notifications.py` "
        "(generated section: re-running the command replaces it).",
        "",
        f"- Machine: {info['cpu']}, {info['cores']} cores, {info['memory']} RAM; {info['os']}",
        f"- PostgreSQL {info['postgresql']}, Redis {redis}, the SMTP server (aiosmtpd, in the "
        "benchmark's process, accepting every message at once) and the worker all on this "
        f"machine, over loopback; Python {info['python']}, Django {info['django']}; DEBUG off, "
        f"`CONN_MAX_AGE={args.conn_max_age}`, worker `--loglevel=INFO` as in docker-compose.yml",
        f"- Command: `{' '.join(args.command)}` (database `{args.database}`, created and "
        f"{'kept' if args.keep else 'dropped'} by the run; queue `{args.queue}`)",
        f"- Load average (1, 5, 15 min) when measuring began: {args.load_start}; at the end: "
        f"{load_average()} (other work on the machine slows every figure).",
        f"- The outbox: {args.emails:,} pending notifications written by "
        f"{args.emails // args.recipients:,} real submissions (`requests_app.services."
        f"request_submit`), each telling {args.recipients:,} staff members (English, French "
        "and Spanish in turn) — one `request_received` email per notification, text and HTML. "
        "Each pool: one fresh worker, ready before the clock starts; then "
        "`notifications.enqueue` queues every notification (as after commit) and the clock "
        "stops when the last email reaches the SMTP server. Every email arrived once and "
        "every row ended `sent`, or the benchmark would have failed.",
        f"- **One worker process delivers about {best.per_minute:,.0f} emails per minute** "
        f"here ({best.pool}).",
        "",
        *table(results),
        "",
        "*ms in the task* = the time the worker logged for each `deliver_notification` "
        "(`succeeded in …`); the rest of each gap between two emails is Celery's own work "
        "around the task (fetch the message from Redis, ack it, log). "
        "Each email is one `deliver_notification` task: claim the row (conditional UPDATE), "
        "read it with its recipient, render subject, text and HTML in the recipient's "
        "language, open an SMTP connection and send (Django's SMTP backend connects once per "
        "message), then mark the row sent. The SMTP server here answers at once; a real relay adds its "
        "round trips to every email, so expect fewer per minute in production, and more with "
        "more worker processes (docker-compose.yml runs `--concurrency=2`).",
        "",
        *(where_time_goes(dissected, args.conn_max_age) if dissected is not None else []),
        END_MARK,
    ]
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    """Replace this benchmark's generated section of ``path`` (the others stay)."""
    matching.write_section(path, section, start=START_MARK, end=END_MARK)


# --- main ------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="How many notification emails per minute one Celery worker delivers."
    )
    parser.add_argument("--emails", type=int, default=2000, help="notifications to deliver")
    parser.add_argument(
        "--recipients", type=int, default=100, help="staff members each request tells"
    )
    parser.add_argument(
        "--pools",
        type=lambda s: [p.strip() for p in s.split(",") if p.strip()],
        default=list(POOLS),
        help="worker pools to measure, in order (prefork,solo)",
    )
    parser.add_argument("--redis", help=f"broker URL (default REDIS_URL, else {DEFAULT_REDIS})")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per pool at most")
    parser.add_argument(
        "--dissect",
        type=int,
        default=200,
        help="then deliver this many again in process, timing each stage (0: do not)",
    )
    parser.add_argument("--write", metavar="PATH", help="write the results into this Markdown file")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--force",
        action="store_true",
        help="run even though the database name does not contain 'bench'",
    )
    args = parser.parse_args(argv)
    args.command = [".venv/bin/python", SCRIPT, *(argv or sys.argv[1:])]
    check_options(args)

    database_url = os.environ.get("DATABASE_URL", "")
    config = check_url(database_url, args.force)
    args.database = config["NAME"]
    broker = args.redis or os.environ.get("REDIS_URL") or DEFAULT_REDIS
    redis = redis_version(broker)
    args.queue = f"cbportal-bench-mail-{os.getpid()}"
    # This process's Celery app publishes to the benchmark's queue (read by django.setup()).
    os.environ.update(REDIS_URL=broker, CELERY_QUEUE=args.queue)
    args.conn_max_age = os.environ.get("CONN_MAX_AGE", "0")
    drop_database(config)  # whatever an interrupted run left
    ensure_database(config)

    import tempfile
    import warnings

    import django

    warnings.filterwarnings("ignore", message="No directory at")
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from cbportal.celery import app
    from tests.smtp import SmtpServer
    from tests.workers import worker_environment

    if connection.vendor != "postgresql":
        fail("the configured database is not PostgreSQL.")
    results: list[Result] = []
    dissected: Dissected | None = None
    try:
        print(f"Database {config['NAME']}: migrating")
        call_command("migrate", verbosity=0, interactive=False)
        print(f"Seeding {args.emails:,} notifications for {args.recipients:,} staff members")
        ids = seed(args.emails, args.recipients)
        if len(ids) != args.emails:
            fail(f"seeding left {len(ids)} pending notifications, not {args.emails}")
        purged = app.control.purge()
        print(f"  {purged:,} tasks the submissions queued purged: the queue starts empty")
        info = machine()
        connection.close()  # the workers will want the database, not this idle session
        with SmtpServer() as smtp, tempfile.TemporaryDirectory(prefix="bench-mail-") as logs:
            env = worker_environment(
                database_url=database_url,
                broker_url=broker,
                queue=args.queue,
                email_url=smtp.url,
                DEBUG="false",
            )
            args.load_start = load_average()
            for pool in args.pools:
                print(f"Worker --pool={pool}: {args.emails:,} emails")
                result = measure(pool, ids, smtp, env, Path(logs), timeout=args.timeout)
                print(
                    f"  {result.seconds:.1f} s: {result.per_minute:,.0f} emails per minute "
                    f"(queued in {result.queue_seconds:.1f} s, first email after "
                    f"{result.first_seconds * 1000:.0f} ms)",
                    flush=True,
                )
                results.append(result)
            if args.dissect:
                print(f"Delivering {args.dissect:,} again in process, timing each stage")
                dissected = dissect(ids[: args.dissect], smtp, conn_max_age=int(args.conn_max_age))
    finally:
        forget_queue(broker, args.queue)
        connection.close()
        if not args.keep:
            drop_database(config)
    section = report(args, results, info, redis, dissected)
    matching.publish(section, args.write, start=START_MARK, end=END_MARK)


if __name__ == "__main__":
    main()
