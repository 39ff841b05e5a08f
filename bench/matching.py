#!/usr/bin/env python
"""Matching benchmark (issue 5, DESIGN.md §6): how long ranking the roster for one
expertise need takes on PostgreSQL as the roster grows from 10,000 to 100,000 experts.

    DATABASE_URL=postgres://cbportal:cbportal@127.0.0.1:5432/cbportal_bench \\
        .venv/bin/python bench/matching.py [--sizes 10000,25000,50000,100000] [--needs 20]
                                           [--repeat 3] [--write docs/performance.md]
    make bench-matching          # the same, creating the database first

It works in its own database (a name containing "bench"; created when missing, then
migrated) and grows one synthetic roster (``experts.synthetic``: languages with CEFR
levels, ~150 skills, thematic areas, countries of experience, administration types,
unavailability, and a mission history with ratings and recent workload) to each size in
turn, loading it with ``COPY``. At each size it runs the real service,
``services.match_run``, on fresh ``MatchJob`` rows for up to 20 different needs (varied
thematic areas, 1–3 skills, 1–2 languages, origin preferences, partner countries in every
region): one warm-up pass that counts queries, then ``--repeat`` timed passes. It reports
the median and p95 of the whole run, the split between the database stage
(``selectors.match_candidates``), scoring (``matching.rank``) and the writes (the stored
shortlist), queries per run and candidates per need — and, at the largest size, the time
of each query of the heaviest need with PostgreSQL's plan for the slowest one.

Re-running reuses the roster already loaded (it only grows). SQLite is refused: the
benchmark is about the PostgreSQL the services mode runs on.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cbportal.settings.base")
# Measured as production runs: with DEBUG on, Django would also log every query.
os.environ.setdefault("DEBUG", "false")

DEFAULT_URL = "postgres://cbportal:cbportal@127.0.0.1:5432/cbportal_bench"
SEED = "cbportal-bench-roster"
DOMAIN = "bench.cbportal.localhost"
CHUNK = 10_000
TARGET_MS = 300
START_MARK = "<!-- bench/matching.py: start -->"
END_MARK = "<!-- bench/matching.py: end -->"

# (partner country, thematic area, skills, languages, origin preference, starts in, days)
NEED_SPECS: list[tuple[str, str, tuple[str, ...], tuple[str, ...], str, int, int]] = [
    ("TN", "border-management", ("integrated border management", "training design"), ("fr",), "eu_member_state", 40, 5),
    ("SN", "labour-migration", ("bilateral labour agreements",), ("fr",), "partner_region_peer", 55, 3),
    ("KE", "trafficking-smuggling", ("victim identification", "referral mechanisms", "standard operating procedures"), ("en",), "any", 35, 10),
    ("JO", "protection", ("asylum case processing", "refugee status determination"), ("ar", "en"), "partner_region_peer", 60, 4),
    ("GE", "governance", ("policy drafting", "legal drafting"), ("en",), "eu_member_state", 45, 14),
    ("KZ", "data", ("migration statistics", "survey design"), ("ru",), "any", 90, 5),
    ("PK", "labour-migration", ("ethical recruitment", "pre-departure orientation"), ("en",), "partner_region_peer", 70, 3),
    ("PH", "diaspora-development", ("diaspora engagement", "remittances"), ("en",), "any", 50, 5),
    ("MX", "integration", ("municipal integration", "access to health services"), ("es",), "partner_region_peer", 80, 4),
    ("CO", "protection", ("child protection", "unaccompanied minors", "psychosocial support"), ("es",), "any", 65, 7),
    ("MA", "diaspora-development", ("diaspora mapping",), ("fr", "ar"), "eu_member_state", 100, 3),
    ("NG", "trafficking-smuggling", ("financial investigations", "judicial cooperation"), ("en",), "any", 42, 5),
    ("ET", "data", ("census and register data", "data protection", "training of trainers"), ("en",), "partner_region_peer", 75, 10),
    ("LB", "protection", ("reception conditions",), ("ar", "fr"), "any", 38, 3),
    ("MD", "border-management", ("document fraud detection", "risk analysis"), ("ro",), "eu_member_state", 52, 5),
    ("UZ", "labour-migration", ("skills matching", "employment services"), ("ru",), "partner_region_peer", 110, 5),
    ("BD", "governance", ("return and reintegration", "readmission agreements"), ("en",), "eu_member_state", 58, 4),
    ("ID", "border-management", ("biometrics", "advance passenger information", "first-line checks"), ("en",), "any", 85, 6),
    ("GT", "trafficking-smuggling", ("victim identification", "awareness campaigns"), ("es",), "partner_region_peer", 48, 3),
    ("EC", "integration", ("recognition of qualifications", "curriculum development"), ("es", "en"), "any", 120, 5),
]  # fmt: skip


def fail(message: str, *, script: str = "bench/matching.py") -> NoReturn:
    print(f"{script}: {message}", file=sys.stderr)
    sys.exit(2)


# --- the database -----------------------------------------------------------------------


def check_url(
    url: str,
    force: bool,
    *,
    script: str = "bench/matching.py",
    target: str = "bench-matching",
    default_url: str = DEFAULT_URL,
    loads: str = "up to 100,000 synthetic experts",
) -> dict[str, Any]:
    """The database settings of ``url``, refusing SQLite, other engines and a database
    whose name does not say "bench" (unless ``force``). Shared by every benchmark."""
    import environ

    if not url or url.startswith("sqlite"):
        fail(
            "this benchmark measures PostgreSQL and refuses to run on SQLite "
            f"(DATABASE_URL is {url or 'not set, so the embedded SQLite default applies'}).\n"
            f"  Run: DATABASE_URL={default_url} .venv/bin/python {script}\n"
            f"  or:  make {target}",
            script=script,
        )
    config = environ.Env.db_url_config(url)
    if config["ENGINE"] != "django.db.backends.postgresql":
        fail(f"DATABASE_URL must point at PostgreSQL, not {config['ENGINE']}.", script=script)
    if "bench" not in str(config["NAME"]) and not force:
        example = default_url.rsplit("/", 1)[-1]
        fail(
            f"the database {config['NAME']!r} does not look like a benchmark database; the "
            f"benchmark loads {loads} into it. Use a database whose name contains 'bench' "
            f"(e.g. {example}), or pass --force.",
            script=script,
        )
    return config


def admin_connection(config: dict[str, Any]) -> Any:
    """An autocommit connection to the server's ``postgres`` database as the benchmark's
    role (to create or drop the benchmark database)."""
    import psycopg2

    params = {
        "dbname": "postgres",
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
    }
    conn = psycopg2.connect(**{k: v for k, v in params.items() if v})
    conn.autocommit = True
    return conn


def ensure_database(config: dict[str, Any]) -> None:
    """Create the benchmark database when it is missing (the role needs CREATEDB)."""
    import psycopg2
    from psycopg2 import sql

    try:
        conn = admin_connection(config)
    except psycopg2.Error as exc:
        fail(f"cannot reach PostgreSQL: {exc}".strip())
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]])
        if cursor.fetchone() is None:
            print(f"Creating database {config['NAME']}")
            try:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))
            except psycopg2.Error as exc:
                fail(
                    f"cannot create {config['NAME']}: {exc}".strip()
                    + f"\n  Create it: psql -h 127.0.0.1 -U postgres -c "
                    f'"CREATE DATABASE {config["NAME"]} OWNER {config.get("USER")}"'
                )
    conn.close()


# --- the world the needs live in ----------------------------------------------------------


@dataclass
class World:
    staff: Any
    needs: list[Any]  # ExpertiseNeed, in NEED_SPECS order
    employers: dict[str, Any]  # country → Organisation
    past: list[Any]  # synthetic.Slot
    future: list[Any]


def _action(
    key: str,
    country: str,
    organisation: Any,
    staff: Any,
    title: str,
    status: str,
    start: dt.date,
    end: dt.date,
) -> Any:
    from actions.models import Action
    from requests_app.models import AssistanceRequest, NeedsAssessment

    request = AssistanceRequest.objects.create(
        reference=f"BENCH-R-{key}",
        organisation=organisation,
        created_by=staff,
        country_id=country,
        title=title,
        status="accepted",
    )
    assessment = NeedsAssessment.objects.create(request=request, owner=staff, status="validated")
    return Action.objects.create(
        reference=f"BENCH-A-{key}",
        assessment=assessment,
        request=request,
        organisation=organisation,
        country_id=country,
        title=title,
        status=status,
        start_date=start,
        end_date=end,
        drafted_by=staff,
    )


def build_world() -> World:
    """The partner organisations, actions, activities and needs the benchmark matches
    (created once, directly: they are fixtures, not what is measured), and the slots of
    the mission history."""
    from django.db import transaction

    from actions.models import Action, Activity, ExpertiseNeed, Skill
    from cbportal.accounts.models import Organisation, Role, User
    from cbportal.core.models import Language, ThematicArea
    from experts.synthetic import Slot

    today = dt.date.today()
    with transaction.atomic():
        staff, _ = User.objects.get_or_create(
            username="bench-staff",
            defaults={"role": Role.STAFF, "email": "bench-staff@" + DOMAIN},
        )
        employers = {}
        for country, *_rest in NEED_SPECS:
            employers[country], _ = Organisation.objects.get_or_create(
                name=f"Migration authority of {country} (bench)",
                country_id=country,
                defaults={"acronym": f"MA-{country}", "kind": "national_authority"},
            )
        areas = dict(ThematicArea.objects.values_list("slug", "pk"))
        needs = []
        for index, (country, area, skills, languages, origin, offset, days) in enumerate(
            NEED_SPECS
        ):
            key = f"{index + 1:02d}"
            activity = Activity.objects.filter(action__reference=f"BENCH-A-{key}").first()
            if activity is None:
                start = today + dt.timedelta(days=offset)
                end = start + dt.timedelta(days=days - 1)
                action = _action(
                    key, country, employers[country], staff,
                    f"Bench need {key}: {area} in {country}", "in_implementation", start, end,
                )  # fmt: skip
                activity = Activity.objects.create(
                    action=action,
                    type="training",
                    title=f"Bench activity {key}",
                    start_date=start,
                    end_date=end,
                    country_id=country,
                )
                need = ExpertiseNeed.objects.create(
                    activity=activity,
                    thematic_area_id=areas[area],
                    experts_needed=2,
                    expert_days=min(days, 5),
                    origin_preference=origin,
                )
                need.skills.set([Skill.objects.get_or_create(name=s)[0] for s in skills])
                need.languages.set(Language.objects.filter(code__in=languages))
            needs.append(ExpertiseNeed.objects.get(activity=activity))

        # Mission history: 60 past activities of 4 days, one every 12 days over two years,
        # and 20 coming ones of 5 days, one every 9 days — none overlapping another.
        history = {}
        for key, status, count, first, step, length in (
            ("PAST", "completed", 60, -730, 12, 4),
            ("NEXT", "in_implementation", 20, 10, 9, 5),
        ):
            action = Action.objects.filter(reference=f"BENCH-A-{key}").first()
            if action is None:
                action = _action(
                    key, "TN", employers["TN"], staff, f"Bench mission history ({key.lower()})",
                    status, today + dt.timedelta(days=first),
                    today + dt.timedelta(days=first + step * count),
                )  # fmt: skip
                for i in range(count):
                    start = today + dt.timedelta(days=first + step * i)
                    activity = Activity.objects.create(
                        action=action,
                        type="peer_exchange",
                        title=f"Bench history {key} {i:02d}",
                        start_date=start,
                        end_date=start + dt.timedelta(days=length - 1),
                        country_id=NEED_SPECS[i % len(NEED_SPECS)][0],
                    )
                    ExpertiseNeed.objects.create(
                        activity=activity,
                        thematic_area_id=areas[NEED_SPECS[i % len(NEED_SPECS)][1]],
                        expert_days=length,
                    )
            history[key] = [
                Slot(n.pk, n.activity.start_date, n.activity.end_date)
                for n in ExpertiseNeed.objects.filter(activity__action=action)
                .select_related("activity")
                .order_by("activity__start_date")
            ]
    return World(staff, needs, employers, history["PAST"], history["NEXT"])


# --- the roster ---------------------------------------------------------------------------


def roster_size() -> int:
    from experts.models import Expert

    return Expert.objects.filter(email__endswith="@" + DOMAIN).count()


def grow(world: World, size: int) -> tuple[int, float]:
    """Grow the roster to ``size`` experts (10,000 at a time); returns how many were added
    and the seconds it took."""
    from django.db import connection, transaction

    from experts import synthetic
    from experts.models import Deployment

    started = time.perf_counter()
    current = roster_size()
    added = 0
    while current < size:
        count = min(CHUNK, size - current)
        with transaction.atomic():
            entries = synthetic.generate(
                count, seed=SEED, start=current, email_domain=DOMAIN, employers=world.employers
            )
            synthetic.assign_ids(entries)
            deployments = synthetic.generate_deployments(
                entries,
                seed=SEED,
                start=current,
                past=world.past,
                future=world.future,
                staff_id=world.staff.pk,
            )
            synthetic.write(entries, vetted_by=world.staff)
            synthetic.insert_objects(Deployment, deployments)
        current += count
        added += count
        print(
            f"  roster {current:>7,} experts ({time.perf_counter() - started:5.1f} s)", flush=True
        )
    if added:
        # What autovacuum would do soon after a load this size: fresh statistics for the
        # planner and a visibility map for index-only scans.
        with connection.cursor() as cursor:
            for table in (
                "experts_expert",
                "experts_expertlanguage",
                "experts_expert_thematic_areas",
                "experts_expert_skills",
                "experts_expert_countries_of_experience",
                "experts_unavailability",
                "experts_deployment",
            ):
                cursor.execute(f"VACUUM ANALYZE {table}")
    return added, time.perf_counter() - started


# --- measuring ----------------------------------------------------------------------------


class Stopwatch:
    """Wraps the two stages ``services.match_run`` calls, to time them inside the service."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}

    def wrap(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self.laps[name] = self.laps.get(name, 0.0) + time.perf_counter() - started

        return timed


@dataclass
class Run:
    need_id: int
    total: float
    db: float
    scoring: float
    candidates: int
    roster: int
    exclusions: dict[str, int]

    @property
    def writes(self) -> float:
        return self.total - self.db - self.scoring


@dataclass
class SizeResult:
    size: int
    seeded: int
    seed_seconds: float
    runs: list[Run] = field(default_factory=list)
    queries: list[int] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)
    # --compare: variant → milliseconds per run; and any result that differed
    variants: dict[str, list[float]] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)
    load: str = ""  # the machine's load average once this size was measured


def ms(seconds: float) -> float:
    return seconds * 1000


def p95(values: Sequence[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[18]


class QueryTimer:
    """Counts the queries of a run and the time the database cursor spent executing them
    (``connection.execute_wrapper``); with ``keep``, also each query and its parameters."""

    def __init__(self, keep: bool = False) -> None:
        self.count = 0
        self.seconds = 0.0
        self.keep = keep
        self.queries: list[tuple[float, str, Any]] = []

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = time.perf_counter() - started
            self.seconds += elapsed
            self.count += 1
            if self.keep:
                self.queries.append((elapsed, sql, params))


def run_once(
    world: World, need: Any, watch: Stopwatch, timer: QueryTimer | None = None
) -> tuple[Run, QueryTimer]:
    from django.db import connection

    from experts import services
    from experts.models import MatchJob

    job = MatchJob.objects.create(need=need, requested_by=world.staff)
    watch.laps = {}
    timer = timer or QueryTimer()
    with connection.execute_wrapper(timer):
        started = time.perf_counter()
        services.match_run(job_id=job.pk)
        total = time.perf_counter() - started
    job.refresh_from_db()
    run = Run(
        need.pk,
        total,
        watch.laps.get("db", 0.0),
        watch.laps.get("scoring", 0.0),
        job.candidates,
        job.roster_size,
        job.exclusions,
    )
    return run, timer


def measure(world: World, result: SizeResult, repeat: int, watch: Stopwatch) -> None:
    for need in world.needs:  # warm-up: caches and plans
        run_once(world, need, watch)
    for _ in range(repeat):
        for need in world.needs:
            run, timer = run_once(world, need, watch)
            result.runs.append(run)
            result.queries.append(timer.count)
            result.sql_ms.append(ms(timer.seconds))


def heaviest(world: World, result: SizeResult, watch: Stopwatch) -> dict[str, Any]:
    """The queries of the need whose runs took longest, timed, and the plan of the
    slowest SELECT."""
    from django.db import connection, transaction

    by_need: dict[int, list[float]] = {}
    for r in result.runs:
        by_need.setdefault(r.need_id, []).append(r.total)
    need_id = max(by_need, key=lambda pk: statistics.median(by_need[pk]))
    need = next(n for n in world.needs if n.pk == need_id)
    run, timer = run_once(world, need, watch, QueryTimer(keep=True))
    queries = [(ms(seconds), sql, params) for seconds, sql, params in timer.queries]
    selects = [
        q
        for q in queries
        if q[1].lstrip().upper().startswith(("SELECT", "WITH")) and "FOR UPDATE" not in q[1].upper()
    ]
    slowest = max(selects, key=lambda q: q[0])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")  # as selectors runs the shortlist's query
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + slowest[1], slowest[2])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    return {"need": need, "run": run, "queries": queries, "slowest": slowest, "plan": plan}


def _jit(on: bool) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("RESET jit" if on else "SET jit = off")


def compare(world: World, result: SizeResult, repeat: int, stages: dict[str, Any]) -> None:
    """Time the stages as the job runs them (the database keeps only the candidates who can
    reach the shortlist) against the forms they replaced (every candidate returned and
    scored in Python; the portable ORM form), on the same needs, checking that each gives
    exactly the same results."""
    from django.conf import settings

    from experts import selectors

    current_db, current_rank = stages["db"], stages["scoring"]
    weights = dict(settings.MATCHING_WEIGHTS)
    limit = settings.MATCH_SHORTLIST_SIZE

    def timed(name: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        value = func(*args, **kwargs)
        result.variants.setdefault(name, []).append(ms(time.perf_counter() - started))
        return value

    def by_id(candidate: Any) -> int:
        return int(candidate.expert_id)

    def as_it_is(need: Any, spec: Any) -> Any:
        found = current_db(need, weights=weights, limit=limit)
        return current_rank(found[0], spec, weights, limit=limit), found[1:]

    for need in world.needs:
        need = selectors.need_for_matching(need.pk)
        spec = selectors.need_spec(need)
        for _ in range(repeat):
            ranked, counts = timed(
                "as it is: DB stage keeping the shortlist's reach, then scoring",
                as_it_is,
                need,
                spec,
            )
            every = timed("DB stage returning every candidate", current_db, need)
            _jit(False)
            timed("DB stage returning every candidate, JIT off", current_db, need)
            _jit(True)
            got = timed("DB stage, ORM form", selectors._match_candidates_orm, need)
            _jit(False)
            timed("DB stage, ORM form, JIT off", selectors._match_candidates_orm, need)
            _jit(True)
            full = timed(
                "scoring every candidate", current_rank, every[0], spec, weights, limit=limit
            )
            if (ranked, counts) != (full, every[1:]):
                result.mismatches.append(
                    f"the shortlist's cut changes the ranking of need {need.pk}"
                )
            if (sorted(got[0], key=by_id), got[1], got[2]) != (
                sorted(every[0], key=by_id),
                every[1],
                every[2],
            ):
                result.mismatches.append(f"ORM-form candidates differ for need {need.pk}")


# --- reporting ------------------------------------------------------------------------------


def describe_need(index: int) -> str:
    country, area, skills, languages, origin, _offset, days = NEED_SPECS[index]
    return (
        f"{country} · {area} · {len(skills)} skill{'s' if len(skills) > 1 else ''} · "
        f"{'+'.join(languages)} · {origin} · {days} d"
    )


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def machine() -> dict[str, str]:
    from django.db import connection

    info: dict[str, str] = {}
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        models = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
        info["cpu"] = f"{models[0]} × {len(models)}" if models else platform.processor()
    except OSError:
        info["cpu"] = platform.processor()
    info["cores"] = str(os.cpu_count())
    try:
        meminfo = Path("/proc/meminfo").read_text()
        kb = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))  # type: ignore[union-attr]
        info["memory"] = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, AttributeError):
        info["memory"] = "?"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        info["postgresql"] = cursor.fetchone()[0]
        for name in ("shared_buffers", "work_mem", "effective_cache_size", "jit"):
            cursor.execute(f"SHOW {name}")
            info[name] = cursor.fetchone()[0]
    import django

    info["python"] = platform.python_version()
    info["django"] = django.get_version()
    info["os"] = platform.platform()
    return info


def table(results: list[SizeResult]) -> list[str]:
    lines = [
        "| roster | candidates per need (median, min–max) | queries per run | median ms | p95 ms "
        "| DB stage ms (median) | SQL ms (median) | scoring ms (median) | writes ms (median) "
        "| load average |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        totals = [ms(x.total) for x in r.runs]
        candidates = sorted({x.need_id: x.candidates for x in r.runs}.values())
        lines.append(
            f"| {r.runs[0].roster:,} | {statistics.median(candidates):,.0f} "
            f"({candidates[0]:,}–{candidates[-1]:,}) | "
            f"{min(r.queries)}{'' if min(r.queries) == max(r.queries) else f'–{max(r.queries)}'} | "
            f"**{statistics.median(totals):.0f}** | {p95(totals):.0f} | "
            f"{statistics.median(ms(x.db) for x in r.runs):.0f} | "
            f"{statistics.median(r.sql_ms):.0f} | "
            f"{statistics.median(ms(x.scoring) for x in r.runs):.0f} | "
            f"{statistics.median(ms(x.writes) for x in r.runs):.0f} | {r.load} |"
        )
    return lines


def per_need(world: World, result: SizeResult) -> list[str]:
    lines = [
        "| # | need (partner country · area · skills · languages · origin · length) "
        "| candidates | excluded: unvetted / language / unavailable / conflict / invited "
        "| median ms | DB ms | scoring ms |",
        "|---:|---|---:|---|---:|---:|---:|",
    ]
    for index, need in enumerate(world.needs):
        runs = [r for r in result.runs if r.need_id == need.pk]
        e = runs[0].exclusions
        lines.append(
            f"| {index + 1} | {describe_need(index)} | {runs[0].candidates:,} | "
            f"{e.get('inactive_or_unvetted', 0):,} / {e.get('language', 0):,} / "
            f"{e.get('unavailable', 0):,} / {e.get('conflict_of_interest', 0):,} / "
            f"{e.get('already_invited', 0):,} | "
            f"{statistics.median(ms(r.total) for r in runs):.0f} | "
            f"{statistics.median(ms(r.db) for r in runs):.0f} | "
            f"{statistics.median(ms(r.scoring) for r in runs):.0f} |"
        )
    return lines


def comparison(results: list[SizeResult]) -> list[str]:
    compared = [r for r in results if r.variants]
    lines = [
        "| variant (median / p95 ms) | "
        + " | ".join(f"{r.runs[0].roster:,}" for r in compared)
        + " |",
        "|---|" + "---:|" * len(compared),
    ]
    for name in compared[-1].variants:
        cells = [
            f"{statistics.median(r.variants[name]):.0f} / {p95(r.variants[name]):.0f}"
            for r in compared
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    mismatches = [m for r in results for m in r.mismatches]
    lines += [
        "",
        "Results of the earlier forms compared with the code as it is: "
        + (
            "**differ** — " + "; ".join(mismatches[:5])
            if mismatches
            else "identical for every need and run (candidates, exclusion counts, roster size, "
            "ranking with scores and explanations)."
        ),
    ]
    return lines


def shorten(sql: str, width: int = 150) -> str:
    sql = " ".join(sql.split())
    return sql if len(sql) <= width else sql[: width - 1] + "…"


def report(
    args: argparse.Namespace,
    world: World,
    results: list[SizeResult],
    heavy: dict[str, Any],
    info: dict[str, str],
) -> str:
    last = results[-1]
    median_last = statistics.median(ms(r.total) for r in last.runs)
    roster = last.runs[0].roster
    if roster < 100_000:
        verdict = (
            f"not measured at 100,000 (the largest roster here is {roster:,}: "
            f"{median_last:.0f} ms median)"
        )
    elif median_last <= TARGET_MS:
        verdict = f"met: {median_last:.0f} ms median at {roster:,} experts"
    else:
        verdict = (
            f"missed by {median_last - TARGET_MS:.0f} ms ({median_last / TARGET_MS:.1f}× the "
            f"target): {median_last:.0f} ms median at {roster:,} experts"
        )
    index = next(i for i, n in enumerate(world.needs) if n.pk == heavy["need"].pk)
    lines = [
        START_MARK,
        "## Matching one expertise need (bench/matching.py)",
        "",
        f"Measured {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z} by `bench/matching.py` "
        "(generated section: re-running the command replaces it).",
        "",
        f"- Machine: {info['cpu']}, {info['cores']} cores, {info['memory']} RAM; {info['os']}",
        f"- PostgreSQL {info['postgresql']} on the same machine (shared_buffers "
        f"{info['shared_buffers']}, work_mem {info['work_mem']}, effective_cache_size "
        f"{info['effective_cache_size']}, jit {info['jit']}); Python {info['python']}, "
        f"Django {info['django']}",
        f"- Command: `{' '.join(args.command)}`",
        f"- Load average (1, 5, 15 min) when measuring began: {args.load_start}; at the end: "
        f"{load_average()} (2 cores: other work on the machine slows every figure).",
        f"- {len(world.needs)} needs × {args.repeat} timed run(s) per roster size (after one "
        "warm-up run each); each run is "
        "`services.match_run` on a fresh `MatchJob` — the whole job, including locking the "
        f"need and replacing its stored shortlist of {args.shortlist} experts.",
        f"- Target (issue 5): ≤ {TARGET_MS} ms median at 100,000 experts — **{verdict}**.",
        "",
        *table(results),
        "",
        "DB stage = `selectors.match_candidates` (hard exclusions, the facts of each "
        "candidate and, on PostgreSQL, an approximate score that keeps only the candidates "
        "who can reach the shortlist, including building their `Candidate` objects in "
        "Python); *SQL* = the time the database cursor spent executing all the queries of the "
        "run (most of them in the DB stage); scoring = `matching.rank` over the candidates "
        "kept; writes = the rest of the job "
        "(locks, deleting and inserting the shortlist, saving the job); load average = the "
        "machine's 1-minute load average once the size was measured (2 cores).",
        "",
        "Seeding (COPY, then VACUUM ANALYZE): "
        + "; ".join(f"+{r.seeded:,} experts in {r.seed_seconds:.0f} s" for r in results if r.seeded)
        + ("." if any(r.seeded for r in results) else "the roster was already loaded."),
        "",
        f"### Each need at {last.runs[0].roster:,} experts",
        "",
        *per_need(world, last),
        "",
        f"### Where the time goes: the heaviest need (#{index + 1}, {describe_need(index)})",
        "",
        f"One more run: {ms(heavy['run'].total):.0f} ms in all, DB stage "
        f"{ms(heavy['run'].db):.0f} ms, scoring {ms(heavy['run'].scoring):.0f} ms, "
        f"{heavy['run'].candidates:,} candidates. Its queries, slowest first:",
        "",
        "| ms | query |",
        "|---:|---|",
        *(
            f"| {t:.1f} | `{shorten(sql)}` |"
            for t, sql, _params in sorted(heavy["queries"], key=lambda q: -q[0])[:10]
        ),
        "",
        "The plan of the slowest SELECT (`EXPLAIN (ANALYZE, BUFFERS)`):",
        "",
        "```",
        heavy["plan"],
        "```",
    ]
    if any(r.variants for r in results):
        lines += [
            "",
            "### The forms it replaced, measured on the same needs (`--compare`)",
            "",
            "Each stage called directly (no job, no writes), "
            f"{args.repeat} run(s) per need; JIT off = `SET jit = off` for the session.",
            "",
            *comparison(results),
        ]
    lines.append(END_MARK)
    return "\n".join(lines) + "\n"


def write_section(
    path: Path, section: str, *, start: str = START_MARK, end: str = END_MARK
) -> None:
    """Replace the generated section between ``start`` and ``end`` of ``path`` (or add it
    at the end), keeping everything else — other benchmarks' sections included."""
    if path.exists():
        text = path.read_text()
        if start in text and end in text:
            before, rest = text.split(start, 1)
            after = rest.split(end, 1)[1]
            text = before + section.rstrip("\n") + after
        else:
            text = text.rstrip("\n") + "\n\n" + section
    else:
        text = "# Performance\n\n" + section
    path.write_text(text)


def publish(
    section: str, write: str | None, *, start: str = START_MARK, end: str = END_MARK
) -> None:
    """Print the report's section and, with ``--write PATH`` (relative to the project),
    replace that benchmark's section of PATH."""
    print()
    print(section)
    if write:
        path = Path(write)
        if not path.is_absolute():
            path = ROOT / path
        write_section(path, section, start=start, end=end)
        print(f"Wrote {path}")


# --- main ---------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Time matching over a growing synthetic roster on PostgreSQL."
    )
    parser.add_argument(
        "--sizes",
        default="10000,25000,50000,100000",
        help="roster sizes, comma-separated, measured in increasing order",
    )
    parser.add_argument(
        "--needs", type=int, default=20, help=f"how many needs (1–{len(NEED_SPECS)})"
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per need and size")
    parser.add_argument("--write", metavar="PATH", help="write the results into this Markdown file")
    parser.add_argument(
        "--compare",
        action="store_true",
        help="also time the forms the database stage replaced, at each size",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="run even though the database name does not contain 'bench'",
    )
    args = parser.parse_args(argv)
    args.command = [".venv/bin/python", "bench/matching.py", *(argv or sys.argv[1:])]
    sizes = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()})
    if not sizes or sizes[0] < 1:
        fail("--sizes needs positive numbers")
    if not 1 <= args.needs <= len(NEED_SPECS):
        fail(f"--needs must be between 1 and {len(NEED_SPECS)}")

    config = check_url(os.environ.get("DATABASE_URL", ""), args.force)
    ensure_database(config)

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from experts import matching, selectors

    if connection.vendor != "postgresql":
        fail("the configured database is not PostgreSQL.")
    args.shortlist = settings.MATCH_SHORTLIST_SIZE
    print(f"Database {config['NAME']} on {config.get('HOST') or 'localhost'}: migrating")
    call_command("migrate", verbosity=0, interactive=False)
    world = build_world()
    world.needs = world.needs[: args.needs]
    current = roster_size()
    if current > sizes[0]:
        print(f"Note: the roster already holds {current:,} experts; smaller sizes are skipped.")
        sizes = [s for s in sizes if s >= current] or [current]

    watch = Stopwatch()
    stages = {"db": selectors.match_candidates, "scoring": matching.rank}
    # The service calls the stages through their modules: wrapping them there times them
    # inside the real job.
    selectors.match_candidates = watch.wrap("db", selectors.match_candidates)  # type: ignore[method-assign]
    matching.rank = watch.wrap("scoring", matching.rank)  # type: ignore[method-assign]

    results: list[SizeResult] = []
    args.load_start = load_average()
    for size in sizes:
        print(f"Roster of {size:,} experts")
        added, seconds = grow(world, size)
        result = SizeResult(size, added, seconds)
        measure(world, result, args.repeat, watch)
        result.load = load_average().split()[0]
        totals = [ms(r.total) for r in result.runs]
        print(
            f"  median {statistics.median(totals):.0f} ms, p95 {p95(totals):.0f} ms "
            f"(DB {statistics.median(ms(r.db) for r in result.runs):.0f} ms, "
            f"scoring {statistics.median(ms(r.scoring) for r in result.runs):.0f} ms), "
            f"{statistics.median(r.candidates for r in result.runs):,.0f} candidates, "
            f"{max(result.queries)} queries",
            flush=True,
        )
        if args.compare:
            compare(world, result, args.repeat, stages)
            print(
                "  "
                + ", ".join(
                    f"{name} {statistics.median(values):.0f} ms"
                    for name, values in result.variants.items()
                )
                + (f" — {len(result.mismatches)} MISMATCHES" if result.mismatches else ""),
                flush=True,
            )
        results.append(result)

    heavy = heaviest(world, results[-1], watch)
    section = report(args, world, results, heavy, machine())
    publish(section, args.write)


if __name__ == "__main__":
    main()
