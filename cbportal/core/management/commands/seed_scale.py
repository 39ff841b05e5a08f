"""Fill PostgreSQL with a programme's worth of synthetic data (issue 10, "Scale data").

    manage.py seed_scale [--scale 1.0] [--seed cbportal-scale] [--reset]
    make seed-scale [SCALE=1]      # into its own database, cbportal_scale

At ``--scale 1``: 100,000 experts, 50,000 requests, 20,000 actions, about 100,000
activities and as many expertise needs, 200,000 deployments (mission reports for the
completed ones), about 1,000,000 transition events with as many audit entries, 500,000
notifications; a few thousand users (focal points of hundreds of partner authorities,
tens of case officers and approvers, evaluators, experts with a login). First the demo
(``seed_demo``: the seven demo accounts and their cases in every state), then the bulk,
which the demo accounts share: their organisations' requests, the staff's cases, the
approver's approvals, the evaluator's actions, the expert's missions. Rows are written
with ``COPY``, then the sequences are moved past them and the tables analysed.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from io import StringIO
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils import timezone

from cbportal.accounts.models import Organisation, OrganisationKind, Role, User
from cbportal.core import synthetic_history, synthetic_portfolio
from cbportal.core.models import ReferenceCounter
from experts import synthetic
from experts.models import Deployment, Expert
from requests_app.models import AssistanceRequest

FULL = {
    "requests": 50_000,
    "actions": 20_000,
    "experts": 100_000,
    "deployments": 200_000,
    "notifications": 500_000,
    "organisations": 400,
    "staff": 40,
    "approvers": 8,
    "evaluators": 60,
}
ACTIVITIES_PER_ACTION = 5.0
EXPERT_ACCOUNTS = 0.03  # of approved, consenting roster entries: about 2,000 logins
DOMAIN = "scale.cbportal.localhost"
YEARS = 6

# Emptied by --reset (CASCADE reaches what refers to them: sessions' users, tokens…).
# Reference data (countries, languages, thematic areas, GCM objectives, skills) stays.
RESET_TABLES = (
    "accounts_user",
    "accounts_organisation",
    "requests_app_assistancerequest",
    "actions_action",
    "experts_expert",
    "core_transitionevent",
    "core_auditentry",
    "core_notification",
    "core_digest",
    "core_reminderlog",
    "core_referencecounter",
)

# The table at the end: what the issue counts, then what comes with it.
COUNTED = (
    ("experts", "experts_expert"),
    ("expert languages", "experts_expertlanguage"),
    ("expert skills", "experts_expert_skills"),
    ("expert countries", "experts_expert_countries_of_experience"),
    ("unavailability periods", "experts_unavailability"),
    ("requests", "requests_app_assistancerequest"),
    ("needs assessments", "requests_app_needsassessment"),
    ("actions", "actions_action"),
    ("activities", "actions_activity"),
    ("expertise needs", "actions_expertiseneed"),
    ("deployments", "experts_deployment"),
    ("mission reports", "experts_missionreport"),
    ("transition events", "core_transitionevent"),
    ("audit entries", "core_auditentry"),
    ("notifications", "core_notification"),
    ("indicators", "evaluations_indicator"),
    ("measurements", "evaluations_measurement"),
    ("final evaluations", "evaluations_finalevaluation"),
    ("feedback", "evaluations_feedback"),
    ("organisations", "accounts_organisation"),
    ("users", "accounts_user"),
)

STAGES = (
    "demo",
    "people",
    "requests",
    "assessments",
    "actions",
    "activities",
    "experts",
    "deployments",
    "mission reports",
    "indicators",
    "evaluations",
    "history",
    "counters and sequences",
    "commit",
    "analyze",
)
FRENCH = {"MA", "TN", "DZ", "LB", "SN", "CI", "ML", "NE", "BF", "GN", "CM", "RW", "HT"}
SPANISH = {"MX", "CO", "EC", "GT", "HN", "SV", "CR", "PE", "AR", "CL", "DO"}
FIRST_NAMES = ("Amina", "Karim", "Fatou", "Luis", "Olena", "Nino", "Grace", "Youssef", "Ana")
LAST_NAMES = ("Haddad", "Diallo", "Morales", "Kovalenko", "Beridze", "Otieno", "Silva", "Khan")
STAFF_FIRST = ("Clara", "Jonas", "Marta", "Pieter", "Elena", "Tomasz", "Inês", "Sophie")
STAFF_LAST = ("Weber", "Rossi", "Navarro", "Jansen", "Dubois", "Nowak", "Costa", "Lindqvist")


class Progress:
    """A one-line progress bar on a terminal (a line per stage otherwise), with the time
    each stage took."""

    width = 30

    def __init__(self, out: Any, stages: tuple[str, ...]) -> None:
        self.out, self.stages = out, stages
        self.started = time.perf_counter()
        self.current: str | None = None
        self.lap = self.started
        self.seconds: dict[str, float] = {}
        self.tty = hasattr(out, "isatty") and out.isatty()
        self.fraction = 0.0

    def stage(self, name: str) -> None:
        self._close()
        self.current, self.lap, self.fraction = name, time.perf_counter(), 0.0
        self._draw()

    def within(self, fraction: float) -> None:
        self.fraction = min(1.0, fraction)
        if self.tty:
            self._draw()

    def _close(self) -> None:
        if self.current is not None:
            self.seconds[self.current] = self.seconds.get(self.current, 0.0) + (
                time.perf_counter() - self.lap
            )

    def finish(self) -> None:
        self._close()
        self.current = None
        if self.tty:
            self.out.write("\n")

    def _draw(self) -> None:
        assert self.current is not None
        index = self.stages.index(self.current) if self.current in self.stages else 0
        done = (index + self.fraction) / len(self.stages)
        filled = int(done * self.width)
        bar = "#" * filled + "-" * (self.width - filled)
        elapsed = time.perf_counter() - self.started
        line = f"[{bar}] {done * 100:3.0f}% {self.current:<24} {elapsed:6.1f} s"
        if self.tty:
            self.out.write("\r" + line)
            self.out.flush()
        else:
            self.out.write(line + "\n")


class Command(BaseCommand):
    help = "Fill PostgreSQL with a large realistic synthetic data set (scale benchmarks)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--scale",
            type=float,
            default=1.0,
            help="1.0 = 50,000 requests, 100,000 experts… (0.01 for a quick run)",
        )
        parser.add_argument("--seed", default="cbportal-scale", help="same seed → same data")
        parser.add_argument(
            "--reset",
            action="store_true",
            help="empty the users, organisations, cases, roster and history first (TRUNCATE)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError(
                "seed_scale needs PostgreSQL (it writes with COPY): set DATABASE_URL="
                "postgres://… — for example `make seed-scale`."
            )
        scale: float = options["scale"]
        if not 0 < scale <= 10:
            raise CommandError("--scale must be above 0 and at most 10.")
        if AssistanceRequest.objects.exists():
            if not options["reset"]:
                raise CommandError(
                    "The database already holds requests: run with --reset to empty it first "
                    "(users, organisations, cases, roster and history are deleted)."
                )
            self._reset()
        seed: str = options["seed"]
        out = self.stdout._out if hasattr(self.stdout, "_out") else sys.stdout
        progress = Progress(out, STAGES)
        started = time.perf_counter()
        now = timezone.now().replace(microsecond=0)

        progress.stage("demo")
        call_command("seed_demo", quiet=True, stdout=StringIO())
        with transaction.atomic():
            counts = self._seed(scale, seed, now, progress)
            # PostgreSQL checks the foreign keys of every row written when the
            # transaction commits (Django's constraints are deferred): a stage of its own.
            progress.stage("commit")
        progress.stage("analyze")
        synthetic_portfolio.analyze(log=lambda line: None)
        progress.finish()

        elapsed = time.perf_counter() - started
        self.stdout.write("")
        self.stdout.write(f"{'stage':<26} {'seconds':>8}")
        for name in STAGES:
            if name in progress.seconds:
                self.stdout.write(f"{name:<26} {progress.seconds[name]:>8.1f}")
        self.stdout.write("")
        self.stdout.write(f"{'table':<26} {'rows':>10}")
        with connection.cursor() as cursor:
            for label, table in COUNTED:
                cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
                self.stdout.write(f"{label:<26} {cursor.fetchone()[0]:>10,}")
        for label, n in counts.items():
            self.stdout.write(f"{label:<26} {n:>10,}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded at scale {scale:g} in {elapsed:.0f} s. Demo accounts: partner, "
                "partner2, staff, approver, expert, evaluator, admin (password cbportal-demo)."
            )
        )

    @transaction.atomic
    def _reset(self) -> None:
        tables = ", ".join(connection.ops.quote_name(t) for t in RESET_TABLES)
        with connection.cursor() as cursor:
            # Inside a transaction that wrote rows (a test's), PostgreSQL refuses to
            # truncate while their deferred foreign-key checks are pending: run them first.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")

    def _seed(
        self, scale: float, seed: str, now: dt.datetime, progress: Progress
    ) -> dict[str, int]:
        def n(key: str, least: int = 1) -> int:
            return max(least, round(FULL[key] * scale))

        progress.stage("people")
        people, languages, names = self._people(scale, seed, now, n)
        taken = {(c.prefix, c.year): c.last for c in ReferenceCounter.objects.all()}
        naming = synthetic_portfolio.ProgrammeNaming(seed, taken)
        sizes = synthetic_portfolio.Sizes(
            requests=n("requests", 20),
            actions=n("actions", 5),
            experts=n("experts", 50),
            years=YEARS,
            activities_per_action=ACTIVITIES_PER_ACTION,
            deployments=n("deployments", 10),
            expert_accounts=EXPERT_ACCOUNTS,
            mission_reports=True,
            strict=False,
        )
        portfolio = synthetic_portfolio.seed_portfolio(
            sizes,
            people,
            seed=seed,
            now=now,
            naming=naming,
            log=lambda line: None,
            stage=progress.stage,
        )
        # The roster's expert logins receive notifications in their language.
        for entry in portfolio.roster:
            user_id = entry.expert.user_id
            if user_id is not None:
                names[user_id] = entry.expert.full_name
                languages[user_id] = (
                    "fr" if any(c == "fr" and lvl >= "C1" for c, lvl in entry.languages) else "en"
                )

        progress.stage("history")
        expected = max(1, len(portfolio.deployments) * 3 + len(portfolio.requests) * 3)
        written = [0]

        def tick(count: int) -> None:
            written[0] += count
            progress.within(written[0] / expected)

        history = synthetic_history.write_history(
            portfolio,
            people,
            seed=seed,
            now=now,
            notifications=n("notifications", 50),
            languages=languages,
            names=names,
            tick=tick,
        )

        progress.stage("counters and sequences")
        for (prefix, year), last in naming.last.items():
            ReferenceCounter.objects.update_or_create(
                prefix=prefix, year=year, defaults={"last": last}
            )
        self._reset_sequences()
        return {
            "transition events written": history.transitions,
            "notifications written": history.notifications,
        }

    def _people(
        self, scale: float, seed: str, now: dt.datetime, n: Any
    ) -> tuple[synthetic_portfolio.People, dict[int, str], dict[int, str]]:
        """Partner authorities across the partner countries (weighted as the roster's
        nationalities) with one to four focal points each, the case officers, approvers and
        evaluators; the demo's organisations, staff, approver and evaluator among them."""
        import random

        rng = random.Random(f"{seed}:people")  # noqa: S311 - synthetic data
        unusable = make_password(None)
        weights = {c: w for c, (_g, _l, w) in synthetic.PARTNER_COUNTRIES.items()}
        codes = list(weights)
        organisations: list[Organisation] = []
        seen: set[tuple[str, str]] = set()
        for _i in range(n("organisations", 3)):
            code = rng.choices(codes, weights=[weights[c] for c in codes])[0]
            body = rng.choice(synthetic.PARTNER_BODIES)
            name = body
            copy = 2
            while (name.lower(), code) in seen:
                name, copy = f"{body} ({copy})", copy + 1
            seen.add((name.lower(), code))
            organisations.append(
                Organisation(
                    name=name,
                    acronym="".join(w[0] for w in body.split() if w[0].isupper())[:10],
                    kind=OrganisationKind.NATIONAL_AUTHORITY,
                    country_id=code,
                    created_at=now - dt.timedelta(days=YEARS * 366),
                )
            )
        synthetic_portfolio.insert(Organisation, organisations)

        def person(username: str, role: str, **extra: Any) -> User:
            return User(
                username=username,
                first_name=rng.choice(extra.pop("firsts", FIRST_NAMES)),
                last_name=rng.choice(extra.pop("lasts", LAST_NAMES)),
                email=f"{username}@{DOMAIN}",
                role=role,
                password=unusable,
                date_joined=now - dt.timedelta(days=rng.randint(30, YEARS * 365)),
                **extra,
            )

        partners: list[User] = []
        for o in organisations:
            language = "fr" if o.country_id in FRENCH else "es" if o.country_id in SPANISH else "en"
            for k in range(rng.choice((1, 1, 2, 2, 3, 4))):
                partners.append(
                    person(
                        f"fp{o.pk}-{k + 1}", Role.PARTNER, organisation_id=o.pk, language=language
                    )
                )
        staff = [
            person(f"officer{k + 1}", Role.STAFF, firsts=STAFF_FIRST, lasts=STAFF_LAST)
            for k in range(n("staff", 2))
        ]
        approvers = [
            person(
                f"approver{k + 1}",
                Role.STAFF,
                is_approver=True,
                firsts=STAFF_FIRST,
                lasts=STAFF_LAST,
            )
            for k in range(n("approvers", 1))
        ]
        evaluators = [
            person(f"evaluator{k + 1}", Role.EVALUATOR) for k in range(n("evaluators", 1))
        ]
        synthetic_portfolio.insert(User, [*partners, *staff, *approvers, *evaluators])

        demo = {
            u.username: u
            for u in User.objects.filter(
                username__in=["partner", "partner2", "staff", "approver", "evaluator", "expert"]
            )
        }
        demo_orgs = [demo[k].organisation for k in ("partner", "partner2") if k in demo]
        focal: dict[int, list[int]] = {}
        for p in partners:
            assert p.organisation_id is not None
            focal.setdefault(p.organisation_id, []).append(p.pk)
        all_orgs: list[Organisation] = list(organisations)
        org_weights = [float(weights[o.country_id]) for o in organisations]
        for org in demo_orgs:
            if org is None:
                continue
            # The demo's authorities are busy ones: about 0.4 % of all requests each.
            all_orgs.append(org)
            org_weights.append(sum(org_weights) * 0.004)
            focal.setdefault(org.pk, []).extend(
                User.objects.filter(organisation=org, role=Role.PARTNER).values_list(
                    "pk", flat=True
                )
            )
        staff_ids = [u.pk for u in staff]
        approver_ids = [u.pk for u in approvers]
        evaluator_ids = [u.pk for u in evaluators]
        # The demo staff member is one of the busier case officers; the approver and the
        # evaluator take their share.
        if "staff" in demo:
            staff_ids += [demo["staff"].pk] * 2
        if "approver" in demo:
            approver_ids.append(demo["approver"].pk)
        if "evaluator" in demo:
            evaluator_ids.append(demo["evaluator"].pk)

        extra_experts: list[tuple[int, int]] = []
        booked: dict[int, list[tuple[dt.date, dt.date]]] = {}
        expert = Expert.objects.filter(user__username="expert").first()
        if expert is not None:
            extra_experts.append((expert.pk, max(1, round(8 * scale))))
            booked[expert.pk] = [
                (s, e)
                for s, e in Deployment.objects.filter(
                    expert=expert, status__in=["confirmed", "completed"]
                ).values_list("start_date", "end_date")
                if s is not None and e is not None
            ]

        people = synthetic_portfolio.People(
            organisations=all_orgs,
            org_weights=org_weights,
            partners=focal,
            staff=staff_ids,
            approvers=approver_ids,
            evaluators=evaluator_ids,
            email_domain=DOMAIN,
            extra_experts=extra_experts,
            booked=booked,
        )
        languages: dict[int, str] = {}
        names: dict[int, str] = {}
        for u in User.objects.only("pk", "language", "first_name", "last_name", "username"):
            languages[u.pk] = u.language or "en"
            names[u.pk] = u.display_name
        return people, languages, names

    def _reset_sequences(self) -> None:
        from django.apps import apps

        models = [m for m in apps.get_models() if m._meta.managed and not m._meta.proxy]
        statements = connection.ops.sequence_reset_sql(no_style(), models)
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
