"""Query budgets: every list endpoint and list page asks the database a fixed number of
times, at most ``BUDGET``, however many rows it shows (issue 10).

Each list surface is asked, as each role that sees rows in it, once on the world of
``tests/security/world.py`` (one object of each kind per side) and once after
``tests/security/growth.py`` has added ``COPIES`` more of each kind per side; API lists are
asked with ``page_size=200`` (every row on the page) and again with ``page_size=2``. The
number of queries must be the same every time, and at most ``BUDGET``. A surface that did
not grow fails, naming itself: the comparison would prove nothing. Each request is made
twice and the second one counted (what a running server keeps warm is warm); savepoints of
the test's own transaction are not counted.

The tables are complete by construction: every GET operation of the OpenAPI schema whose
answer is a list (paginated or plain) must be in ``API``, and every URL pattern outside the
API and the Django admin must be classified here as a list page (``PAGES``) or not
(``NOT_LIST_PAGES``), so a new list cannot ship without a budget. Exports and the Django
admin's own pages are out of scope.

Known exceptions are listed with their measured counts in ``OVER_BUDGET`` (over the budget
but constant) and ``GROWS`` (the count grows with the data: an N+1); the tests check those
counts exactly, so fixing one (or making it worse) fails until the entry is updated.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache
from django.core.paginator import Page
from django.db import connection, transaction
from django.db.models import QuerySet
from django.test import Client, TestCase
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.security.growth import grow
from tests.security.test_page_matrix import _patterns
from tests.security.world import World

BUDGET = 12  # queries per request, whatever the page size and the table size
COPIES = 3  # more objects of each kind per side (each list then shows at least 3× rows)

Url = Callable[[World], str]


@dataclass(frozen=True)
class Surface:
    """One list: ``api`` (a schema path) or ``page`` (a URL name), how to reach it on the
    world, who sees rows in it and what shows that it grew:

    - ``rows``: API only, the row count (``count``, or the list's length) at least tripled;
    - ``more``: more rows (a page: the lengths of the lists and pages in its context; reference
      data: the row count);
    - ``changed``: a report, whose figures change (its JSON, or the page's text);
    - ``fixed``: one row per notification category, whatever the data (nothing to grow).
    """

    kind: str
    name: str
    url: Url
    roles: tuple[str, ...]
    growth: str = "rows"


def _a(attr: str, template: str) -> Url:
    """A nested list of side A's ``attr``: ``template`` with its ``{id}``."""
    return lambda w: template.format(id=getattr(w.sides["A"], attr).pk)


def _fixed(path: str) -> Url:
    return lambda w: path


def api(path: str, roles: tuple[str, ...], url: Url | None = None, growth: str = "rows") -> Surface:
    return Surface("api", path, url or _fixed(path), roles, growth)


def page(name: str, path: str | Url, roles: tuple[str, ...], growth: str = "more") -> Surface:
    return Surface("page", name, _fixed(path) if isinstance(path, str) else path, roles, growth)


PARTNER_STAFF = ("partner", "staff")
PARTNER_STAFF_EVALUATOR = ("partner", "staff", "evaluator")
EVERYONE = ("partner", "staff", "expert", "evaluator")

# Every list of the API (complete: test_every_api_list_has_a_budget), and the portfolio
# report (an aggregate over the same data).
API = [
    api("/api/v1/actions/", PARTNER_STAFF_EVALUATOR),
    api("/api/v1/activities/", PARTNER_STAFF_EVALUATOR),
    api("/api/v1/assessments/", PARTNER_STAFF),
    api("/api/v1/audit/", ("staff",)),
    api("/api/v1/countries/", ("anonymous", "staff"), growth="more"),
    api("/api/v1/deployments/", ("partner", "staff", "expert")),
    api("/api/v1/evaluations/", PARTNER_STAFF_EVALUATOR),
    api("/api/v1/expertise-needs/", PARTNER_STAFF_EVALUATOR),
    api(
        "/api/v1/expertise-needs/{id}/matches/",
        ("staff",),
        _a("need", "/api/v1/expertise-needs/{id}/matches/"),
    ),
    # An expert sees one roster entry, their own: only staff's roster grows.
    api("/api/v1/experts/", ("staff",)),
    api(
        "/api/v1/experts/{id}/unavailability/",
        ("staff", "expert"),
        _a("expert", "/api/v1/experts/{id}/unavailability/"),
    ),
    api("/api/v1/feedback-links/", ("staff",)),
    api("/api/v1/feedback/", PARTNER_STAFF_EVALUATOR),
    api("/api/v1/gcm-objectives/", ("anonymous", "staff"), growth="more"),
    api("/api/v1/indicators/", PARTNER_STAFF_EVALUATOR),
    api("/api/v1/languages/", ("anonymous", "staff"), growth="more"),
    api("/api/v1/measurements/", PARTNER_STAFF_EVALUATOR),
    api("/api/v1/notification-preferences/", EVERYONE, growth="fixed"),
    api("/api/v1/notifications/", EVERYONE),
    # A partner sees its own organisation only: staff's list grows.
    api("/api/v1/organisations/", ("staff",)),
    api(
        "/api/v1/organisations/{id}/notification-defaults/",
        ("staff",),
        _a("organisation", "/api/v1/organisations/{id}/notification-defaults/"),
        growth="fixed",
    ),
    api("/api/v1/outcomes/", PARTNER_STAFF_EVALUATOR),
    api("/api/v1/public/actions/", ("anonymous", "partner")),
    api("/api/v1/reports/portfolio/", ("staff",), growth="changed"),
    api("/api/v1/requests/", PARTNER_STAFF),
    api(
        "/api/v1/requests/{id}/attachments/",
        PARTNER_STAFF,
        _a("draft_request", "/api/v1/requests/{id}/attachments/"),
    ),
    # Amendments of an action in design are staff's drafts: the partner sees none.
    api(
        "/api/v1/actions/{id}/amendments/",
        ("staff",),
        _a("action", "/api/v1/actions/{id}/amendments/"),
    ),
    api("/api/v1/thematic-areas/", ("anonymous", "staff"), growth="more"),
]
# Schema operations answered with an object that are budgeted all the same: reports.
API_REPORTS = {"/api/v1/reports/portfolio/"}

# Every page that shows a list or table of objects; the others are in NOT_LIST_PAGES.
PAGES = [
    page("core:home", "/", ("partner", "staff", "approver", "expert", "evaluator")),
    page("core:notifications", "/notifications/", EVERYONE),
    page("core:outbox", "/notifications/outbox/", ("staff",)),
    page("core:audit", "/audit/", ("staff",)),
    page("accounts:invitations", "/accounts/invitations/", ("staff",)),
    page("requests_app:list", "/requests/", PARTNER_STAFF),
    page("requests_app:triage", "/requests/triage/", ("staff",)),
    page("actions:list", "/actions/", PARTNER_STAFF_EVALUATOR),
    page("actions:approvals", "/actions/approvals/", ("approver",)),
    page("experts:roster", "/experts/", ("staff",)),
    page("experts:vetting", "/experts/vetting/", ("staff",)),
    page("experts:invitations", "/experts/invitations/", ("expert",)),
    page("experts:deployments", "/experts/deployments/", ("partner", "staff", "expert")),
    page("experts:board", _a("action", "/experts/actions/{id}/board/"), ("staff",)),
    page("experts:action-experts", _a("action", "/experts/actions/{id}/experts/"), PARTNER_STAFF),
    page("experts:shortlist", _a("need", "/experts/needs/{id}/shortlist/"), ("staff",)),
    page("evaluations:home", "/evaluations/", PARTNER_STAFF_EVALUATOR),
    page("evaluations:indicators", "/evaluations/indicators/", PARTNER_STAFF_EVALUATOR),
    page("evaluations:action", _a("action", "/evaluations/actions/{id}/"), PARTNER_STAFF_EVALUATOR),
    page("dashboard:index", "/dashboard/", ("staff",), growth="changed"),
    page("portfolio:index", "/portfolio/", ("anonymous", "partner")),
]

# Pages that show one object (with at most a few fixed parts), a form, a file, or answer a
# POST only: not lists.
NOT_LIST_PAGES = {
    # accounts and sign-in
    "accounts:invitation-accept",
    "accounts:invitation-resend",
    "accounts:login",
    "accounts:logout",
    "accounts:password-change",
    "accounts:password-change-done",
    "accounts:password-reset",
    "accounts:password-reset-complete",
    "accounts:password-reset-confirm",
    "accounts:password-reset-done",
    "accounts:profile",
    "accounts:two-factor-disable",
    "accounts:two-factor-qr",
    "accounts:two-factor-setup",
    "accounts:two-factor-verify",
    "set_language",
    # core
    "core:healthz",
    "core:livez",
    "core:notification-preferences",  # one row per notification category
    "core:notification-read",
    "core:notifications-read-all",
    "core:organisation-notification-defaults",  # one row per notification category
    "core:outbox-retry",
    # requests
    "requests_app:assessment",
    "requests_app:assessment-transition",
    "requests_app:attachment",
    "requests_app:attachment-delete",
    "requests_app:attachment-upload",
    "requests_app:create",
    "requests_app:detail",
    "requests_app:edit",
    "requests_app:gap-add",
    "requests_app:gap-delete",
    "requests_app:gap-edit",
    "requests_app:transition",
    # actions
    "actions:amendment",
    "actions:amendment-create",
    "actions:amendment-transition",
    "actions:create",
    "actions:detail",
    "actions:edit",
    "actions:plan",
    "actions:report",
    "actions:report-pdf",
    "actions:transition",
    # experts
    "experts:anonymise",
    "experts:create",
    "experts:cv",
    "experts:cv-remove",
    "experts:cv-upload",
    "experts:deployment",
    "experts:deployment-transition",
    "experts:detail",
    "experts:edit",
    "experts:export",
    "experts:invitation-link",
    "experts:match",
    "experts:profile",
    "experts:rate",
    "experts:report",
    "experts:report-attachment",
    "experts:request-deletion",
    "experts:shortlist-add",
    "experts:unavailability-add",
    "experts:unavailability-remove",
    "experts:vet",
    # monitoring and evaluation
    "evaluations:evaluation",
    "evaluations:feedback-form",
    "evaluations:feedback-links",  # POST only
    "evaluations:feedback-thanks",
    "evaluations:follow-up",
    "evaluations:indicator-create",
    "evaluations:indicator-delete",
    "evaluations:indicator-update",
    "evaluations:measurement-create",
    "evaluations:measurement-delete",
    "evaluations:measurement-evidence",
    "evaluations:outcome-create",
    "evaluations:outcome-delete",
    "evaluations:outcome-evidence",
    "evaluations:participants",  # POST only
    "evaluations:partner-feedback",
    # public
    "portfolio:detail",
    "api-docs",
    "schema",
}

# Surfaces over BUDGET today, with the count they make (the same at both sizes) and why.
# The test checks each count exactly: update the entry when the count moves.
OVER_BUDGET: dict[str, tuple[int, str]] = {
    "api:/api/v1/reports/portfolio/ as staff": (
        17,
        "one aggregate per figure: actions by status, region, thematic area, GCM objective; "
        "requests' totals, per month received and decided, two medians by two queries each; "
        "deployments per month and by administration type; indicators; evaluations; feedback",
    ),
    "api:/api/v1/actions/{id}/amendments/ as staff": (
        13,
        "the action with 5 prefetches (thematic areas, GCM objectives, objectives, their gaps, "
        "evaluators), then for the amendment in progress the allowed transitions' guards "
        "check its plan: the assessment's gap ids, every country code, the thematic areas, "
        "every language code and the action's deployments (one amendment at a time is in "
        "progress, so this does not grow)",
    ),
    "page:core:home as approver": (
        15,
        "triage preview with 3 prefetches (thematic areas, GCM objectives, languages), open "
        "actions and approvals each with 2 prefetches (thematic areas, GCM objectives), "
        "amendment approvals, unread count and recent notifications: prefetches the previews "
        "may not show",
    ),
    "page:core:home as expert": (
        13,
        "own profile with 5 prefetches (languages, thematic areas, skills, countries, "
        "unavailability), three deployment queries (invitations, upcoming missions, reports "
        "due), unread count and recent notifications",
    ),
    "page:evaluations:action as staff": (
        13,
        "the action with evaluators and objectives, then indicators, measurements, outcomes, "
        "feedback, activities, feedback links, evaluation, each one query (staff see the "
        "feedback links: one more than the partner and the evaluator)",
    ),
    "page:dashboard:index as staff": (
        22,
        "one aggregate query (or two, for medians) per table and figure of the dashboard",
    ),
}

# Surfaces whose count grows with the data (an N+1): (queries at size 1, at size 2), why.
GROWS: dict[str, tuple[tuple[int, int], str]] = {
    "page:core:audit as staff": (
        (12, 13),
        "entries.prefetch_related('target') (cbportal/core/views.py, audit_log) makes one "
        "query per kind of target on the page (a GenericForeignKey): bounded by the number "
        "of audited models, not by rows, but more kinds of objects mean more queries (7 "
        "kinds on the first page of the world as built, 8 once grown)",
    ),
}

SURFACES = API + PAGES
CASES = [(s, role) for s in SURFACES for role in s.roles]


def case_id(surface: Surface, role: str) -> str:
    return f"{surface.kind}:{surface.name} as {role}"


# --- measuring ----------------------------------------------------------------------------------

_TRANSACTION_CONTROL = re.compile(r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)\b")


@dataclass
class Measure:
    status: int
    queries: list[str]
    rows: int | None  # what shows growth (None for a report)
    text: str  # a report's figures

    @property
    def count(self) -> int:
        return len(self.queries)


def _with_query(url: str, query: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{query}" if query else url


def _client(surface: Surface, world: World, tokens: dict[str, str], role: str) -> Any:
    if surface.kind == "api":
        client = APIClient()
        if role != "anonymous":
            client.credentials(HTTP_AUTHORIZATION=f"Token {tokens[role]}")
        return client
    client = Client()
    if world.users[role] is not None:
        client.force_login(world.users[role])
    return client


def measure(
    surface: Surface, world: World, tokens: dict[str, str], role: str, query: str = ""
) -> Measure:
    """The queries of one request, asked a second time (the first warms what a running
    server keeps warm), inside a transaction rolled back after it. Savepoints are not
    queries: they come from the test's own transaction (a server runs in autocommit)."""
    if surface.kind == "api" and not query and surface.growth != "changed":
        query = "page_size=200"
    url = _with_query(surface.url(world), query)
    cache.clear()  # throttles count per request here, not per module
    client = _client(surface, world, tokens, role)
    with transaction.atomic():
        client.get(url)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        transaction.set_rollback(True)
    queries = [q["sql"] for q in captured.captured_queries]
    queries = [q for q in queries if not _TRANSACTION_CONTROL.match(q)]
    rows: int | None
    if surface.kind == "api":
        data = response.json() if response.status_code == 200 else None
        text = json.dumps(data, sort_keys=True)
        if isinstance(data, dict) and "count" in data:
            rows = data["count"]
        elif isinstance(data, dict) and "results" in data:
            rows = len(data["results"])
        elif isinstance(data, list):
            rows = len(data)
        else:
            rows = None
    else:
        text = _page_text(response)
        rows = _context_rows(response)
    return Measure(response.status_code, queries, rows, text)


def _page_text(response: Any) -> str:
    """The page without what changes on every request (nonces, CSRF tokens)."""
    text = response.content.decode(errors="replace")
    text = re.sub(r'nonce="[^"]*"', "", text)
    return re.sub(r'(csrfmiddlewaretoken" value=|csrf-token" content=)"[^"]*"', "", text)


def _length(value: Any, depth: int = 0) -> int:
    """Rows in a context value: the items of lists, tuples and evaluated querysets, a
    page's total, and (a few levels down) the rows of the items themselves."""
    if depth > 4:
        return 0
    if isinstance(value, Page):
        return int(value.paginator.count) + sum(_length(v, depth + 1) for v in value.object_list)
    if isinstance(value, QuerySet):
        cached = value._result_cache
        return 0 if cached is None else len(cached)
    if isinstance(value, list | tuple):
        return len(value) + sum(_length(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return sum(_length(v, depth + 1) for v in value.values())
    return 0


def _context_rows(response: Any) -> int:
    if response.context is None:
        return 0
    seen: dict[str, Any] = {}
    for context in response.context:
        for key, value in context.flatten().items():
            seen.setdefault(key, value)
    return sum(_length(v) for v in seen.values())


def _explain(before: Measure, after: Measure) -> str:
    """The queries the second measure makes that the first did not (by shape)."""

    def shape(sql: str) -> str:
        return re.sub(r"\b\d+\b|'[^']*'", "?", sql)

    first = [shape(q) for q in before.queries]
    extra = []
    for sql in after.queries:
        if shape(sql) in first:
            first.remove(shape(sql))
        else:
            extra.append(sql[:300])
    return "\n  ".join(extra[:12]) or "(same shapes)"


# --- the world at two sizes ---------------------------------------------------------------------


@dataclass
class Sizes:
    tokens: dict[str, str]
    small: dict[str, Measure]


def run_queued_matching() -> None:
    """Run the matching jobs still queued, here. Matching runs in a Celery worker; with a
    real one (the services mode), the worker cannot see this module's uncommitted world, so
    the runs the world queued would never happen (in eager mode they already ran)."""
    from experts import services as expert_services
    from experts.models import MatchJob, MatchJobStatus

    for job_id in MatchJob.objects.filter(status=MatchJobStatus.QUEUED).values_list(
        "pk", flat=True
    ):
        expert_services.match_run(job_id=job_id)


@pytest.fixture(scope="module")
def sizes(world: World, django_db_blocker: Any) -> Iterator[Sizes]:
    """Every surface measured on the world as built, then the world grown (inside the
    world's transaction, rolled back with it)."""
    with django_db_blocker.unblock():
        tokens = {
            role: Token.objects.get_or_create(user=user)[0].key
            for role, user in world.users.items()
            if user is not None
        }
        run_queued_matching()
        small = {case_id(s, role): measure(s, world, tokens, role) for s, role in CASES}
        with TestCase.captureOnCommitCallbacks(execute=True):
            grow(world, COPIES)
        run_queued_matching()
    yield Sizes(tokens, small)


@pytest.mark.parametrize(("surface", "role"), CASES, ids=[case_id(s, r) for s, r in CASES])
def test_it_asks_a_fixed_number_of_queries(
    surface: Surface, role: str, world: World, sizes: Sizes, db: Any
) -> None:
    key = case_id(surface, role)
    before = sizes.small[key]
    after = measure(surface, world, sizes.tokens, role)
    assert (before.status, after.status) == (200, 200), key

    # The list grew, or the comparison proves nothing.
    if surface.growth == "fixed":
        assert before.rows and after.rows == before.rows, (key, before.rows, after.rows)
    elif surface.growth == "changed":
        assert after.text != before.text, f"{key}: the report did not change with the data"
    else:
        assert before.rows, f"{key}: {role} sees no rows on the world as built"
        assert after.rows is not None
        wanted = 3 * before.rows if surface.growth == "rows" else before.rows + 1
        assert after.rows >= wanted, f"{key} did not grow: {before.rows} → {after.rows} rows"

    # The same count at both sizes (and at both page sizes).
    counts = [before.count, after.count]
    if surface.kind == "api" and isinstance(after.rows, int) and surface.growth != "fixed":
        counts.append(measure(surface, world, sizes.tokens, role, "page_size=2").count)
    if key in GROWS:
        (small, large), _why = GROWS[key]
        assert (before.count, after.count) == (small, large), (
            f"{key}: GROWS says {small} → {large}, measured {before.count} → {after.count}"
        )
    else:
        assert len(set(counts)) == 1, (
            f"{key}: {counts} queries (size 1, size 2"
            f"{', page_size=2' if len(counts) > 2 else ''}); new at size 2:\n  "
            + _explain(before, after)
        )

    # Within the budget (a GROWS entry states its counts already).
    if key in GROWS:
        pass
    elif key in OVER_BUDGET:
        expected, _why = OVER_BUDGET[key]
        assert after.count == expected, (
            f"{key}: OVER_BUDGET says {expected}, measured {after.count}"
        )
    else:
        assert after.count <= BUDGET, f"{key}: {after.count} queries > {BUDGET}:\n  " + "\n  ".join(
            q[:200] for q in after.queries
        )


# --- completeness -------------------------------------------------------------------------------


def _api_lists() -> set[str]:
    """Every GET operation of the schema answered with a list (paginated or plain)."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    found = set()
    for path, item in schema["paths"].items():
        get = item.get("get")
        if get is None:
            continue
        content = get["responses"].get("200", {}).get("content", {})
        for media in content.values():
            body = media.get("schema", {})
            if "$ref" in body:
                body = components[body["$ref"].rsplit("/", 1)[-1]]
            if body.get("type") == "array" or "results" in body.get("properties", {}):
                found.add(path)
    return found


def test_every_api_list_has_a_budget() -> None:
    budgeted = {s.name for s in API}
    lists = _api_lists()
    assert lists, "no list found in the schema"
    assert (sorted(lists - budgeted), sorted(budgeted - lists - API_REPORTS)) == ([], []), (
        "(API lists without a budget, budgeted paths that are not lists)"
    )


def test_every_page_is_classified() -> None:
    names = {n for n in _patterns() if not n.startswith("admin")}
    listed = {s.name for s in PAGES}
    assert not listed & NOT_LIST_PAGES
    assert (
        sorted(names - listed - NOT_LIST_PAGES),
        sorted((listed | NOT_LIST_PAGES) - names),
    ) == ([], []), "(unclassified URL patterns, classified names that no longer exist)"


def test_the_exceptions_name_real_cases() -> None:
    keys = {case_id(s, role) for s, role in CASES}
    assert sorted((set(OVER_BUDGET) | set(GROWS)) - keys) == []
    assert not set(OVER_BUDGET) & set(GROWS)
    assert {k: n for k, (n, _why) in OVER_BUDGET.items() if n <= BUDGET} == {}
