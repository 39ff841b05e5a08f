#!/usr/bin/env python
"""HTTP benchmark (issue 10): the portal as an operator runs it — gunicorn with the
production settings on loopback, against the scale data set — loaded by wrk at a fixed
concurrency, each surface set against the framework's own ceiling measured in the same run.

    make seed-scale               # once: 100,000 experts, 50,000 requests, … (~4 minutes)
    make bench                    # this script, on that database, twice; writes the report

    DATABASE_URL=postgres://cbportal:cbportal@127.0.0.1:5432/cbportal_scale \\
        .venv/bin/python bench/web.py [--runs 2] [--duration 10] [--connections 8]
                                      [--workers 5] [--only NAME,…] [--write docs/performance.md]

For every surface it first requests the URL once in process (Django's test client, the same
production settings and database) to check the answer (200, the expected shape) and count
its queries; then gunicorn serves it to ``wrk`` — ``--connections`` connections for
``--duration`` seconds (after a short warm-up), then one connection for a few seconds (the
single-user latency). It reports requests per second, p50/p95/p99 latency, queries per
request and throughput as a share of surface (0), the trivial JSON endpoint ``/livez``
behind the same middleware. Matching (8) runs in a Celery worker, not in a request: it is
timed in process over the whole roster, as the worker runs it.

Signed-in surfaces use real sessions of the demo accounts seed_scale keeps (staff with a
verified authenticator, as production requires of staff). The API's throttles are raised
for the run (their cost, a cache round trip per request, stays). Nothing is written to the
database but those sessions, one authenticator and the timed matching jobs.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://cbportal:cbportal@127.0.0.1:5432/cbportal_scale"
START_MARK = "<!-- bench/web.py: start -->"
END_MARK = "<!-- bench/web.py: end -->"
SCRIPT = "bench/web.py"
HEADERS = {"X-Forwarded-Proto": "https", "Accept-Language": "en"}
# What production needs and the benchmark states itself: see cbportal/settings/production.py.
SERVER_ENV = {
    "DJANGO_SETTINGS_MODULE": "cbportal.settings.production",
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "CONN_MAX_AGE": "600",
    "API_THROTTLE_USER": "100000000/minute",
    "API_THROTTLE_ANON": "100000000/minute",
    "DJANGO_LOG_LEVEL": "WARNING",
}
WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d,'
    .. ' "p50": %d, "p95": %d, "p99": %d, "max": %d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
"""


def fail(message: str) -> NoReturn:
    print(f"{SCRIPT}: {message}", file=sys.stderr)
    sys.exit(2)


@dataclass
class Surface:
    key: str
    label: str
    path: str
    user: str | None  # a demo username, or None for anonymous
    kind: str  # "api", "page" or "ceiling"
    rows: str = ""  # what the answer holds, for the table


@dataclass
class Load:
    rps: float
    p50: float
    p95: float
    p99: float
    requests: int
    non_2xx: int


@dataclass
class Result:
    surface: Surface
    queries: int
    queries_big_page: int | None
    bytes: int
    load: Load | None = None
    single: Load | None = None


@dataclass
class Run:
    results: list[Result] = field(default_factory=list)
    matching_ms: list[float] = field(default_factory=list)
    matching_queries: int = 0
    matching_candidates: int = 0
    matching_roster: int = 0
    started: str = ""
    load: str = ""  # the load average when the run began: anything else busy shows here
    seconds: float = 0.0


# --- set-up --------------------------------------------------------------------------------


def configure(database_url: str, redis_url: str) -> None:
    """Production settings in this process too (the in-process checks and query counts)."""
    os.environ.update(SERVER_ENV)
    os.environ["DATABASE_URL"] = database_url
    os.environ["REDIS_URL"] = redis_url
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(64))
    import django

    django.setup()


def check_database(database_url: str) -> None:
    """Refuse SQLite, other engines, a database not named for the scale data, and a machine
    without wrk, before anything is imported or touched."""
    import environ

    if not database_url or database_url.startswith("sqlite"):
        fail(
            "this benchmark measures PostgreSQL filled by seed_scale and refuses to run on "
            f"SQLite (DATABASE_URL is {database_url or 'not set'}).\n"
            f"  Run: make seed-scale && make bench\n"
            f"  or:  DATABASE_URL={DEFAULT_URL} .venv/bin/python {SCRIPT}"
        )
    config = environ.Env.db_url_config(database_url)
    if config["ENGINE"] != "django.db.backends.postgresql":
        fail(f"DATABASE_URL must point at PostgreSQL, not {config['ENGINE']}.")
    name = str(config["NAME"])
    if "scale" not in name and "bench" not in name:
        fail(
            f"the database {name!r} does not look like the scale data set (its name should "
            f"contain 'scale' or 'bench'; make seed-scale fills cbportal_scale)."
        )
    if shutil.which("wrk") is None:
        fail("wrk is not installed: apt-get install wrk (make bench installs it with apt).")


def seeded(min_experts: int) -> None:
    from experts.models import Expert

    experts = Expert.objects.count()
    if experts < min_experts:
        fail(
            f"the database holds {experts:,} experts, fewer than {min_experts:,}: fill it "
            "first with make seed-scale (or pass --min-experts)."
        )


def session_cookie(username: str) -> str:
    """A signed-in session of ``username`` as the login view would leave it (staff's with
    their authenticator verified)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from cbportal.accounts.models import User
    from cbportal.accounts.services import two_factor_required

    user = User.objects.get(username=username)
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    # The backend the login view records: the last one, after axes' lock-out check.
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    if two_factor_required(user):
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="bench/web.py", confirmed=True)
        store[DEVICE_ID_SESSION_KEY] = device.persistent_id
    store.create()
    return str(store.session_key)


def pick(args: argparse.Namespace) -> tuple[list[Surface], Any]:
    """The surfaces, over real rows of the data set: the running action with the most
    expertise needs (and its first need), the commonest country of submitted requests, the
    commonest language of the roster."""
    from django.db.models import Count

    from actions.models import Action, ActionStatus, ExpertiseNeed
    from experts.models import ExpertLanguage
    from requests_app.models import AssistanceRequest, RequestStatus

    action = (
        Action.objects.filter(status=ActionStatus.IN_IMPLEMENTATION)
        .annotate(n=Count("activities__needs"))
        .order_by("-n", "pk")
        .first()
    )
    if action is None:
        fail("no running action: was the data set seeded?")
    need = ExpertiseNeed.objects.filter(activity__action=action).order_by("pk").first()
    if need is None:
        fail(f"the action {action.pk} has no expertise need")
    country = (
        AssistanceRequest.objects.filter(status=RequestStatus.SUBMITTED)
        .values_list("country__code", flat=True)
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    language = (
        ExpertLanguage.objects.values_list("language__code", flat=True)
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    surfaces = [
        Surface("0", "trivial JSON endpoint `/livez` (the ceiling)", "/livez", None, "ceiling"),
        # Not a target: what any signed-in request costs (session, user, authenticator).
        Surface(
            "0b", "signed-in trivial JSON `/api/v1/me/` (staff)", "/api/v1/me/", "staff", "fixed"
        ),
        Surface("1a", "requests list as staff, unfiltered", "/api/v1/requests/", "staff", "api"),
        Surface(
            "1b",
            "requests list as staff, filtered (status, country, newest submitted first)",
            f"/api/v1/requests/?status=submitted&status=under_review&country={country}"
            "&ordering=-submitted_at",
            "staff",
            "api",
        ),
        Surface("1c", "requests page as staff", "/requests/", "staff", "page"),
        Surface("2a", "requests list as a partner (scoped)", "/api/v1/requests/", "partner", "api"),
        Surface(
            "2b",
            "requests list as a partner, filtered (status)",
            "/api/v1/requests/?status=declined&status=accepted&status=withdrawn",
            "partner",
            "api",
        ),
        Surface("2c", "requests page as a partner", "/requests/", "partner", "page"),
        Surface(
            "3a",
            "roster search, three filters (language, region, vetting status)",
            f"/api/v1/experts/?language={language}&region=Africa&vetting_status=approved",
            "staff",
            "api",
        ),
        Surface(
            "3b",
            "roster page, the same three filters",
            f"/experts/?language={language}&region=Africa&vetting_status=approved",
            "staff",
            "page",
        ),
        Surface("4a", "deployments list as staff", "/api/v1/deployments/", "staff", "api"),
        Surface("4b", "deployments list as an expert", "/api/v1/deployments/", "expert", "api"),
        Surface(
            "5",
            f"action detail page (action {action.pk})",
            f"/actions/{action.pk}/",
            "staff",
            "page",
        ),
        Surface("6", "triage queue page", "/requests/triage/", "staff", "page"),
        Surface("7a", "dashboard page (last 12 months)", "/dashboard/", "staff", "page"),
        Surface("7b", "portfolio report API", "/api/v1/reports/portfolio/", "staff", "api"),
        Surface(
            "8b",
            f"shortlist of need {need.pk} (API, after a match)",
            f"/api/v1/expertise-needs/{need.pk}/matches/",
            "staff",
            "api",
        ),
    ]
    if args.only:
        keep = set(args.only.split(","))
        surfaces = [s for s in surfaces if s.key in keep or s.kind == "ceiling"]
    return surfaces, need


# --- measuring -------------------------------------------------------------------------------


def in_process(surface: Surface, cookies: dict[str, str]) -> Result:
    """One request through Django's test client: the answer must be a 200 of the right kind;
    its queries are counted on the second request (the first warms caches). For API lists,
    the queries at page_size=200 too: they must not grow with the page."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(headers=HEADERS)
    if surface.user:
        client.cookies["sessionid"] = cookies[surface.user]

    def get(path: str) -> tuple[Any, int]:
        client.get(path, secure=True)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path, secure=True)
        return response, len(captured)

    response, queries = get(surface.path)
    if response.status_code != 200:
        fail(f"{surface.path} as {surface.user or 'anonymous'} answered {response.status_code}")
    content_type = response.get("Content-Type", "")
    expected = "text/html" if surface.kind == "page" else "application/json"
    if expected not in content_type:
        fail(f"{surface.path} answered {content_type}, not {expected}")
    big = None
    if surface.kind == "api" and "count" in response.json():
        surface.rows = f"{len(response.json()['results'])} of {response.json()['count']:,}"
        sep = "&" if "?" in surface.path else "?"
        big = get(f"{surface.path}{sep}page_size=200")[1]
    return Result(surface, queries, big, len(response.content))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """gunicorn with the production settings on a loopback port, as the image runs it."""

    def __init__(self, workers: int, log: Path) -> None:
        self.port = free_port()
        self.workers = workers
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        env = {**os.environ}
        self.handle = self.log.open("wb")
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "cbportal.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.workers),
                "--worker-tmp-dir",
                "/dev/shm" if Path("/dev/shm").is_dir() else tempfile.gettempdir(),
                "--timeout",
                "60",
                "--access-logfile",
                "-",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                fail(f"gunicorn stopped (exit {self.process.returncode}); see {self.log}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        else:
            fail(f"gunicorn did not start within 60 s; see {self.log}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.handle.close()


def wrk(
    url: str, cookie: str | None, *, connections: int, threads: int, seconds: float, lua: Path
) -> Load:
    command = [
        "wrk",
        f"--connections={connections}",
        f"--threads={threads}",
        f"--duration={max(1, round(seconds))}s",
        "--timeout=30s",
        f"--script={lua}",
    ]
    for name, value in HEADERS.items():
        command += ["--header", f"{name}: {value}"]
    if cookie:
        command += ["--header", f"Cookie: sessionid={cookie}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=False)
    line = next((x for x in output.stdout.splitlines() if x.startswith("WRK ")), None)
    if output.returncode != 0 or line is None:
        fail(f"wrk failed on {url}: {output.stderr or output.stdout}")
    data = json.loads(line[4:])
    duration = data["duration_us"] / 1e6
    return Load(
        rps=data["requests"] / duration,
        p50=data["p50"] / 1000,
        p95=data["p95"] / 1000,
        p99=data["p99"] / 1000,
        requests=data["requests"],
        non_2xx=data["non_2xx"] + data["socket_errors"],
    )


def time_matching(need: Any, runs: int) -> tuple[list[float], int, int, int]:
    """Matching one need over the whole roster as the worker runs it (services.match_run),
    ``runs`` times after one warm-up: milliseconds each, and the last run's queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cbportal.accounts.models import User
    from experts import services
    from experts.models import MatchJob

    staff = User.objects.get(username="staff")
    times: list[float] = []
    queries = 0
    job = None
    for index in range(runs + 1):
        job = MatchJob.objects.create(need=need, requested_by=staff)
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            services.match_run(job_id=job.pk)
            elapsed = time.perf_counter() - started
        if index:
            times.append(elapsed * 1000)
            queries = len(captured)
    assert job is not None
    job.refresh_from_db()
    return times, queries, job.candidates, job.roster_size


def run_all(
    args: argparse.Namespace, surfaces: list[Surface], need: Any, cookies: dict[str, str]
) -> Run:
    from bench.matching import load_average

    run = Run(started=time.strftime("%Y-%m-%d %H:%M %Z"), load=load_average())
    began = time.perf_counter()
    print("Matching one need over the roster (in process, as the worker runs it) …", flush=True)
    run.matching_ms, run.matching_queries, run.matching_candidates, run.matching_roster = (
        time_matching(need, args.matching_runs)
    )
    results = [in_process(surface, cookies) for surface in surfaces]
    with tempfile.TemporaryDirectory() as tmp:
        lua = Path(tmp) / "report.lua"
        lua.write_text(WRK_SCRIPT)
        log = Path(args.log)
        log.parent.mkdir(parents=True, exist_ok=True)
        with Server(args.workers, log) as server:
            base = f"http://127.0.0.1:{server.port}"
            for result in results:
                surface = result.surface
                url = base + surface.path
                cookie = cookies.get(surface.user) if surface.user else None
                print(f"  ({surface.key}) {surface.label} …", flush=True)
                wrk(url, cookie, connections=args.connections, threads=2, seconds=2, lua=lua)
                result.load = wrk(
                    url,
                    cookie,
                    connections=args.connections,
                    threads=2,
                    seconds=args.duration,
                    lua=lua,
                )
                result.single = wrk(
                    url, cookie, connections=1, threads=1, seconds=args.single, lua=lua
                )
                if result.load.non_2xx or result.single.non_2xx:
                    fail(
                        f"{surface.path} answered {result.load.non_2xx + result.single.non_2xx}"
                        f" non-2xx responses or socket errors under load; see {log}"
                    )
    run.results = results
    run.seconds = time.perf_counter() - began
    return run


# --- the report --------------------------------------------------------------------------------


def targets(result: Result, ceiling: float) -> str:
    """Which of the issue's targets the surface misses, if any."""
    assert result.load and result.single
    misses = []
    if result.surface.kind == "fixed":
        return "– (the fixed cost of signing in)"
    if result.surface.kind != "ceiling":
        share = result.load.rps / ceiling
        if share < 0.25:
            misses.append(f"throughput {share:.0%} < 25 %")
        limit = 100 if result.surface.key.startswith("7") else 20
        if result.single.p50 > limit:
            misses.append(f"p50 {result.single.p50:.1f} > {limit} ms")
        if result.queries > 12:
            misses.append(f"{result.queries} queries > 12")
        if result.queries_big_page is not None and result.queries_big_page != result.queries:
            misses.append(f"{result.queries_big_page} queries at 200 rows")
    return "; ".join(misses) or "met"


def table(run: Run) -> list[str]:
    ceiling = next(r for r in run.results if r.surface.kind == "ceiling").load
    assert ceiling is not None
    lines = [
        "| # | surface | rows | req/s | share of (0) | p50 ms | p95 ms | p99 ms "
        "| 1 user p50 ms | 1 user p99 ms | queries | KiB | targets |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for result in run.results:
        load, single = result.load, result.single
        assert load and single
        queries = str(result.queries)
        if result.queries_big_page is not None:
            queries += f" ({result.queries_big_page} at 200 rows)"
        lines.append(
            f"| {result.surface.key} | {result.surface.label} | {result.surface.rows or '–'} "
            f"| {load.rps:,.0f} | {load.rps / ceiling.rps:.0%} | {load.p50:.1f} | {load.p95:.1f}"
            f" | {load.p99:.1f} | {single.p50:.1f} | {single.p99:.1f} | {queries} "
            f"| {result.bytes / 1024:.1f} | {targets(result, ceiling.rps)} |"
        )
    median = statistics.median(run.matching_ms)
    lines.append(
        f"| 8 | matching one need over {run.matching_roster:,} experts (the worker's job, "
        f"{len(run.matching_ms)} runs; {run.matching_candidates:,} candidates) | – | – | – "
        f"| {median:.0f} | {max(run.matching_ms):.0f} (max) | – | – | – "
        f"| {run.matching_queries} | – | {'met' if median <= 300 else f'median {median:.0f} > 300 ms'} |"
    )
    return lines


def counts() -> list[str]:
    from actions.models import Action, Activity, ExpertiseNeed
    from cbportal.core.models import AuditEntry, Notification, TransitionEvent
    from experts.models import Deployment, Expert
    from requests_app.models import AssistanceRequest

    models = [
        ("experts", Expert),
        ("requests", AssistanceRequest),
        ("actions", Action),
        ("activities", Activity),
        ("expertise needs", ExpertiseNeed),
        ("deployments", Deployment),
        ("transition events", TransitionEvent),
        ("audit entries", AuditEntry),
        ("notifications", Notification),
    ]
    from django.db import connection

    parts = []
    with connection.cursor() as cursor:
        for label, model in models:
            # The planner's estimate: exact enough, and instant on a million rows.
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                [model._meta.db_table],
            )
            parts.append(f"{cursor.fetchone()[0]:,} {label}")
    return [", ".join(parts) + " (PostgreSQL's row estimates)."]


def report(args: argparse.Namespace, runs: list[Run]) -> str:
    from bench.matching import machine

    info = machine()
    lines = [
        START_MARK,
        "## The portal under load (bench/web.py, `make bench`)",
        "",
        "gunicorn with the production settings (`cbportal.settings.production`: PostgreSQL, "
        "Redis cache, persistent connections, session sign-in with the staff's second factor "
        "verified) on loopback, against the scale data set of `make seed-scale`; "
        f"[wrk](https://github.com/wg/wrk) at {args.connections} connections for "
        f"{args.duration} s per surface after a 2 s warm-up, then 1 connection for "
        f"{args.single} s (the *1 user* columns). {args.workers} sync workers. Queries are "
        "counted per request in process with the same settings (for API lists, also at "
        "`page_size=200`). *Share of (0)* is the surface's throughput over that of `/livez` "
        "(a JSON view behind the same middleware that touches no database) in the same "
        "run. wrk shares the machine's two cores with gunicorn and PostgreSQL.",
        "",
        "Targets (issue 10): at least 25 % of (0); one user's p50 at most 20 ms (100 ms for "
        "the dashboard); at most 12 queries, the same at any page size; matching at most "
        "300 ms median.",
        "",
        "Data: " + counts()[0],
        "",
        "Machine: " + ", ".join(f"{k} {v}" for k, v in info.items()) + ".",
        "",
        "Commands: `make seed-scale` then `make bench` (that is, "
        f"`DATABASE_URL={DEFAULT_URL} .venv/bin/python bench/web.py --runs {args.runs} "
        f"--duration {args.duration} --connections {args.connections} --workers {args.workers} "
        "--write docs/performance.md`).",
        "",
    ]
    for index, run in enumerate(runs, 1):
        lines += [
            f"### Run {index} of {len(runs)}: {run.started} ({run.seconds:.0f} s, load average "
            f"{run.load} at the start)",
            "",
            *table(run),
            "",
        ]
    lines.append(END_MARK)
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Load the portal over HTTP with wrk.")
    parser.add_argument("--runs", type=int, default=2, help="whole runs, each reported")
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per surface")
    parser.add_argument("--single", type=int, default=4, help="seconds of one-user load")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--matching-runs", type=int, default=7)
    parser.add_argument("--only", help="surface keys, comma-separated (e.g. 1a,5)")
    parser.add_argument("--min-experts", type=int, default=50_000)
    parser.add_argument("--log", default=str(ROOT / "test-results" / "bench" / "gunicorn.log"))
    parser.add_argument("--write", metavar="PATH", help="write the report into this Markdown file")
    args = parser.parse_args(argv)
    for name in ("runs", "duration", "single", "connections", "workers", "matching_runs"):
        if getattr(args, name) < 1:
            fail(f"--{name.replace('_', '-')} must be at least 1")
    database_url = os.environ.get("DATABASE_URL", "")
    check_database(database_url)
    configure(database_url, os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    seeded(args.min_experts)
    surfaces, need = pick(args)
    users = {s.user for s in surfaces if s.user}
    cookies = {username: session_cookie(username) for username in sorted(users)}
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        check=True,
    )
    runs = []
    for index in range(args.runs):
        print(f"Run {index + 1} of {args.runs}", flush=True)
        runs.append(run_all(args, surfaces, need, cookies))
    from bench.matching import publish

    publish(report(args, runs), args.write, start=START_MARK, end=END_MARK)


if __name__ == "__main__":
    main()
