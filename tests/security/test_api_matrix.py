"""The API's access-control matrix, complete by construction.

Every operation of the generated OpenAPI schema (path × method) has an entry in ``OPS``
saying, for each role of ``world.ROLES`` and each side of the world, the exact answer:

- a status code (``401`` unauthenticated, ``404`` outside the user's scope, ``403`` a
  visible object the user may not change or a collection the role may not use, ``409``
  an allowed role but the wrong state, ``400`` bad input — DESIGN.md §5);
- ``LISTED`` / ``UNLISTED`` for lists and exports: 200, and the side's object is (is not)
  among the rows.

An operation missing from ``OPS`` fails ``test_every_operation_has_expectations`` (so a
new endpoint cannot ship unclassified), an entry for an operation that no longer exists
fails it too, and a URL pattern under ``api/v1/`` that the schema does not show fails
``test_every_api_route_is_in_the_schema`` (an endpoint hidden from the schema cannot
escape). The expectations come from DESIGN.md and the permission predicates, not from
recording what the app answers.

Side-bound roles (``OWN_SIDE``) read ``(own, other)``: ``partner`` owns side A, ``partner2``
side B, and so on; ``evaluator`` on side B is an evaluator not assigned to the action.
Staff, the approver and the administrator read ``(A, B)``; so does the anonymous visitor.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import PASSWORD
from tests.requests_app.helpers import PDF_BYTES
from tests.security.world import OWN_SIDE, ROLES, SIDES, Side, World

LISTED = "200+"  # 200, and the side's object is among the rows
UNLISTED = "200-"  # 200, and it is not
ONE = ("*",)  # an operation that names nothing of either side: one column
MINE = ("own", "other")  # notifications: the caller's own, and someone else's

Cell = int | str
Spec = Cell | tuple[Cell, Cell]
Grid = dict[str, tuple[Cell, Cell]]
Params = Callable[[World, Side, str], dict[str, Any]]
Body = Callable[[World, Side], Any]
Marker = Callable[[World, Side], Any]


# --- expectation helpers ------------------------------------------------------------------


def _grid(other_of: Callable[[Cell], Cell], kw: dict[str, Spec | None]) -> Grid:
    """Expand per-role specs to every role: ``partner=200`` means 200 on the partner's own
    side and ``other_of(200)`` on the other; ``(x, y)`` is explicit. ``approver`` and
    ``admin`` default to what ``staff`` gets; the ``*2`` roles mirror their namesakes."""
    staff = kw["staff"]
    kw = {**kw, "approver": kw.get("approver") or staff, "admin": kw.get("admin") or staff}
    grid: Grid = {}
    for role in ROLES:
        spec = kw[role.rstrip("2")]
        assert spec is not None
        if isinstance(spec, tuple):
            grid[role] = spec
        elif role in OWN_SIDE:
            grid[role] = (spec, other_of(spec))
        else:
            grid[role] = (spec, spec)
    return grid


def obj(
    *,
    partner: Spec,
    expert: Spec,
    evaluator: Spec,
    staff: Spec,
    approver: Spec | None = None,
    admin: Spec | None = None,
    anonymous: Spec = 401,
) -> Grid:
    """An operation on one side's object: the other side's object is out of scope (404)."""
    return _grid(lambda own: 404, locals())


def listing(
    *,
    partner: Spec,
    expert: Spec,
    evaluator: Spec,
    staff: Spec,
    approver: Spec | None = None,
    admin: Spec | None = None,
    anonymous: Spec = 401,
) -> Grid:
    """A list or export: a role that lists its own side's object does not list the other's;
    any other answer is the same on both sides."""
    return _grid(lambda own: UNLISTED if own == LISTED else own, locals())


def flat(
    *,
    partner: Spec,
    expert: Spec,
    evaluator: Spec,
    staff: Spec,
    approver: Spec | None = None,
    admin: Spec | None = None,
    anonymous: Spec = 401,
) -> Grid:
    """The same answer whichever side (a collection, a body naming nothing out of scope)."""
    return _grid(lambda own: own, locals())


def by_side(a: Cell, b: Cell) -> Grid:
    """``a`` on side A's object and ``b`` on side B's, for every role alike (public data)."""
    return {
        role: (a, b) if OWN_SIDE.get(role, "A") == "A" else (b, a)  # own first for side-bound
        for role in ROLES
    }


def everyone(code: Cell, *, anonymous: Cell = 401) -> Grid:
    return flat(partner=code, expert=code, evaluator=code, staff=code, anonymous=anonymous)


def staff_only(code: Cell, *, others: Cell = 403) -> Grid:
    return flat(partner=others, expert=others, evaluator=others, staff=code)


# --- operations ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Op:
    path: str
    method: str
    grid: Grid
    params: Params | None = None
    body: Body | None = None
    multipart: bool = False
    query: str = ""
    marker: Marker | None = None  # lists: (key, value) of the side's row; exports: a text
    download: bool = False  # a 200 must be an attachment, never sniffed
    sides: tuple[str, ...] = SIDES

    def expected(self, role: str, side: str) -> Cell:
        first, second = self.grid[role]
        if side == "*":
            return first
        if side in MINE:
            return first if side == "own" else second
        if role in OWN_SIDE:
            return first if OWN_SIDE[role] == side else second
        return first if side == "A" else second


def pk(attr: str, name: str = "id") -> Params:
    """The path parameter ``name`` is the primary key of the side's ``attr``."""
    return lambda w, s, role: {name: getattr(s, attr).pk}


def row(attr: str, key: str = "id") -> Marker:
    return lambda w, s: (key, getattr(s, attr).pk)


def pdf(name: str = "letter.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def day(offset: int) -> str:
    return (timezone.localdate() + timedelta(days=offset)).isoformat()


def invite_action(s: Side) -> Any:
    """The approved action (not yet co-signed) the side's open invitation is on."""
    return s.invitation.need.activity.action


def notification(w: World, s: Side, role: str) -> dict[str, Any]:
    """The caller's own notification (``own``), or another user's (``other``)."""
    if s.name == "own":
        user = role if role != "anonymous" else "partner"
        return {"id": w.notification_of(user).pk}
    return {"id": w.notification_of("partner2" if role == "partner" else "partner").pk}


def audit_entry(w: World, s: Side, role: str) -> dict[str, Any]:
    from cbportal.core.models import AuditEntry

    return {"id": AuditEntry.objects.order_by("pk").values_list("pk", flat=True).first()}


def activity_body(w: World, s: Side) -> dict[str, Any]:
    a = s.activity
    return {
        "action": a.action_id,
        "type": a.type,
        "title": "Training of trainers",
        "start_date": a.start_date.isoformat(),
        "end_date": a.end_date.isoformat(),
        "modality": "remote",
    }


def need_body(w: World, s: Side) -> dict[str, Any]:
    n = s.need
    return {
        "activity": n.activity_id,
        "thematic_area": n.thematic_area.slug,
        "experts_needed": 1,
        "expert_days": 3,
    }


def report_body(w: World, s: Side) -> dict[str, Any]:
    return {
        "summary": "Trained 15 analysts.",
        "outputs": "Training materials.",
        "recommendations": "Repeat in a year.",
        "days_worked": 1,
    }


REASON = {"reason": "The partner asked for it."}
MODES = {"modes": {}}
AMENDMENT = {
    "reason_category": "implementation_delay",
    "reason": "The training moves.",
    "requested_by": "Director of the unit",
}
R, RI = "/api/v1/requests/", "/api/v1/requests/{id}/"
AS = "/api/v1/assessments/{id}/"
AC = "/api/v1/actions/{id}/"
DP = "/api/v1/deployments/{id}/"
EX = "/api/v1/experts/{id}/"


def _ops() -> list[Op]:
    ops: list[Op] = []

    def add(path: str, method: str, grid: Grid, **kw: Any) -> None:
        ops.append(Op(path, method, grid, **kw))

    # --- accounts and reference data ------------------------------------------------------
    add(
        "/api/v1/auth/token/",
        "post",
        # No authentication here: the body's credentials decide. The anonymous visitor
        # sends a wrong password.
        flat(partner=200, expert=200, evaluator=200, staff=200, anonymous=400),
        body=None,
        sides=ONE,
    )
    add("/api/v1/me/", "get", everyone(200), sides=ONE)
    add("/api/v1/me/", "patch", everyone(200), body=lambda w, s: {"first_name": "Ada"}, sides=ONE)
    add(
        "/api/v1/organisations/",
        "get",
        listing(partner=LISTED, expert=UNLISTED, evaluator=UNLISTED, staff=LISTED),
        marker=row("organisation"),
    )
    add(
        "/api/v1/organisations/{id}/",
        "get",
        obj(partner=200, expert=404, evaluator=404, staff=200),
        params=pk("organisation"),
    )
    for method, body in (("get", None), ("put", MODES), ("patch", MODES)):
        add(
            "/api/v1/organisations/{id}/notification-defaults/",
            method,
            # Staff business; the role check comes before the organisation is looked up.
            flat(partner=403, expert=403, evaluator=403, staff=200),
            params=pk("organisation"),
            body=(lambda w, s, b=body: b) if body else None,
        )
    public = everyone(200, anonymous=200)
    add("/api/v1/countries/", "get", public, sides=ONE)
    add("/api/v1/countries/{id}/", "get", public, params=lambda w, s, r: {"id": "TN"}, sides=ONE)
    add("/api/v1/thematic-areas/", "get", public, sides=ONE)
    add(
        "/api/v1/thematic-areas/{slug}/",
        "get",
        public,
        params=lambda w, s, r: {"slug": "data"},
        sides=ONE,
    )
    add("/api/v1/gcm-objectives/", "get", public, sides=ONE)
    add(
        "/api/v1/gcm-objectives/{number}/",
        "get",
        public,
        params=lambda w, s, r: {"number": 23},
        sides=ONE,
    )
    add("/api/v1/languages/", "get", public, sides=ONE)
    add(
        "/api/v1/languages/{code}/", "get", public, params=lambda w, s, r: {"code": "fr"}, sides=ONE
    )

    # --- notifications: each user's own, nobody else's ------------------------------------
    add(
        "/api/v1/notifications/",
        "get",
        flat(
            partner=(LISTED, UNLISTED),
            expert=(LISTED, UNLISTED),
            evaluator=(LISTED, UNLISTED),
            staff=(LISTED, UNLISTED),
        ),
        marker=lambda w, s: ("id", None),  # resolved per role in _run
        sides=MINE,
    )
    own_only = flat(partner=(200, 404), expert=(200, 404), evaluator=(200, 404), staff=(200, 404))
    add("/api/v1/notifications/{id}/", "get", own_only, params=notification, sides=MINE)
    add("/api/v1/notifications/{id}/mark-read/", "post", own_only, params=notification, sides=MINE)
    add("/api/v1/notifications/mark-all-read/", "post", everyone(200), sides=ONE)
    add("/api/v1/notification-preferences/", "get", everyone(200), sides=ONE)
    for method in ("put", "patch"):
        add(
            "/api/v1/notification-preferences/",
            method,
            everyone(200),
            body=lambda w, s: MODES,
            sides=ONE,
        )

    # --- requests ---------------------------------------------------------------------------
    add(
        R,
        "get",
        listing(partner=LISTED, expert=UNLISTED, evaluator=UNLISTED, staff=LISTED),
        marker=row("draft_request"),
    )
    add(
        R,
        "post",
        flat(partner=201, expert=403, evaluator=403, staff=403),
        body=lambda w, s: {"title": "Irregular migration statistics"},
        sides=ONE,
    )
    add(
        "/api/v1/requests/export/",
        "get",
        listing(partner=LISTED, expert=UNLISTED, evaluator=UNLISTED, staff=LISTED),
        query="?file=csv",
        marker=lambda w, s: s.organisation.name,
    )
    add(
        RI,
        "get",
        obj(partner=200, expert=404, evaluator=404, staff=200),
        params=pk("draft_request"),
    )
    for method in ("put", "patch"):
        add(
            RI,
            method,
            # Staff see every request and change none: the partner owns its drafts.
            obj(partner=200, expert=404, evaluator=404, staff=403),
            params=pk("draft_request"),
            body=lambda w, s: {"title": "Border data, revised"},
        )
    partner_fires = obj(partner=200, expert=404, evaluator=404, staff=403)
    staff_fires = obj(partner=403, expert=404, evaluator=404, staff=200)
    add(RI + "submit/", "post", partner_fires, params=pk("draft_request"))
    add(RI + "withdraw/", "post", partner_fires, params=pk("submitted_request"))
    add(RI + "start-review/", "post", staff_fires, params=pk("submitted_request"))
    add(
        RI + "request-info/",
        "post",
        staff_fires,
        params=pk("submitted_request"),
        body=lambda w, s: {"message": "Which border posts?"},
    )
    wrong_state = obj(partner=403, expert=404, evaluator=404, staff=409)
    add(RI + "accept/", "post", wrong_state, params=pk("submitted_request"))
    add(
        RI + "decline/",
        "post",
        wrong_state,
        params=pk("submitted_request"),
        body=lambda w, s: REASON,
    )
    add(
        RI + "respond/",
        "post",
        obj(partner=409, expert=404, evaluator=404, staff=403),
        params=pk("submitted_request"),
        body=lambda w, s: {"message": "Posts A and B."},
    )
    add(
        RI + "attachments/",
        "get",
        obj(partner=200, expert=404, evaluator=404, staff=200),
        params=pk("draft_request"),
    )
    add(
        RI + "attachments/",
        "post",
        # Staff add documents during triage (submitted to info requested), not to a draft.
        obj(partner=201, expert=404, evaluator=404, staff=409),
        params=pk("draft_request"),
        body=lambda w, s: {"file": pdf(), "kind": "official_letter"},
        multipart=True,
    )
    add(
        RI + "attachments/{attachment_id}/",
        "get",
        obj(partner=200, expert=404, evaluator=404, staff=200),
        params=lambda w, s, r: {"id": s.draft_request.pk, "attachment_id": s.attachment.pk},
        download=True,
    )

    # --- assessments --------------------------------------------------------------------------
    add(
        "/api/v1/assessments/",
        "get",
        listing(partner=LISTED, expert=UNLISTED, evaluator=UNLISTED, staff=LISTED),
        marker=row("open_assessment"),
    )
    add(
        AS,
        "get",
        obj(partner=200, expert=404, evaluator=404, staff=200),
        params=pk("open_assessment"),
    )
    for method in ("put", "patch"):
        add(
            AS,
            method,
            obj(partner=403, expert=404, evaluator=404, staff=200),
            params=pk("open_assessment"),
            body=lambda w, s: {"summary": "Border data are collected on paper."},
        )
    add(
        AS + "share/",
        "post",
        obj(partner=403, expert=404, evaluator=404, staff=200),
        params=pk("open_assessment"),
    )
    for name in ("return", "validate"):
        add(
            AS + f"{name}/",
            "post",
            # The partner's step, once the assessment is shared (it is in progress).
            obj(partner=409, expert=404, evaluator=404, staff=403),
            params=pk("open_assessment"),
            body=lambda w, s: {"comment": "Add the regional office."},
        )

    # --- actions -------------------------------------------------------------------------------
    add(
        "/api/v1/actions/",
        "get",
        listing(partner=LISTED, expert=UNLISTED, evaluator=LISTED, staff=LISTED),
        marker=row("action"),
    )
    add(
        "/api/v1/actions/",
        "post",
        # Staff design actions from a validated assessment (this one is in progress);
        # the assessment is named in the body, so the role check decides for others.
        flat(partner=403, expert=403, evaluator=403, staff=409),
        body=lambda w, s: {"assessment": s.open_assessment.pk},
    )
    add(
        "/api/v1/actions/export/",
        "get",
        listing(partner=LISTED, expert=UNLISTED, evaluator=LISTED, staff=LISTED),
        query="?file=csv",
        marker=lambda w, s: s.action.reference,
    )
    add(AC, "get", obj(partner=200, expert=404, evaluator=200, staff=200), params=pk("action"))
    for method in ("put", "patch"):
        add(
            AC,
            method,
            obj(partner=403, expert=404, evaluator=403, staff=200),
            params=pk("action"),
            body=lambda w, s: {"assessment": s.action.assessment_id, "title": "Border data"},
        )
    # An action in design is internal: the partner sees it once approved for signature.
    add(
        AC + "propose/",
        "post",
        obj(partner=404, expert=404, evaluator=404, staff=200),
        params=pk("design_action"),
    )
    add(
        AC + "cancel/",
        "post",
        obj(partner=404, expert=404, evaluator=404, staff=200),
        params=pk("design_action"),
        body=lambda w, s: REASON,
    )
    # Four eyes: only an approver (not the proposer) approves or returns; the plain staff
    # user and the administrator hold no approver flag.
    for name, body in (("approve", None), ("return", REASON)):
        add(
            AC + f"{name}/",
            "post",
            obj(partner=404, expert=404, evaluator=404, staff=403, approver=200, admin=403),
            params=pk("proposed_action"),
            body=(lambda w, s, b=body: b) if body else None,
        )
    add(
        AC + "sign/",
        "post",
        obj(partner=200, expert=404, evaluator=404, staff=403),
        params=lambda w, s, r: {"id": invite_action(s).pk},
    )
    add(
        AC + "start/",
        "post",
        # Not co-signed yet.
        obj(partner=403, expert=404, evaluator=404, staff=409),
        params=lambda w, s, r: {"id": invite_action(s).pk},
    )
    add(
        AC + "suspend/",
        "post",
        obj(partner=403, expert=404, evaluator=403, staff=200),
        params=pk("action"),
        body=lambda w, s: REASON,
    )
    add(
        AC + "resume/",
        "post",
        obj(partner=403, expert=404, evaluator=403, staff=409),
        params=pk("action"),
        body=lambda w, s: REASON,
    )
    add(
        AC + "complete/",
        "post",
        # An amendment is in progress.
        obj(partner=403, expert=404, evaluator=403, staff=409),
        params=pk("action"),
    )
    add(
        AC + "close/",
        "post",
        obj(partner=403, expert=404, evaluator=403, staff=409),
        params=pk("closed_action"),
    )
    add(
        AC + "amendments/",
        "get",
        obj(partner=200, expert=404, evaluator=200, staff=200),
        params=pk("action"),
    )
    add(
        AC + "amendments/",
        "post",
        # One amendment at a time: the draft one is still open.
        obj(partner=403, expert=404, evaluator=403, staff=409),
        params=pk("action"),
        body=lambda w, s: AMENDMENT,
    )

    def amendment(w: World, s: Side, role: str) -> dict[str, Any]:
        return {"id": s.action.pk, "amendment_id": s.amendment.pk, "transition": "propose"}

    # A draft amendment is internal: partners and evaluators see it once approved.
    add(
        AC + "amendments/{amendment_id}/",
        "get",
        obj(partner=404, expert=404, evaluator=404, staff=200),
        params=amendment,
    )
    add(
        AC + "amendments/{amendment_id}/",
        "patch",
        obj(partner=404, expert=404, evaluator=404, staff=200),
        params=amendment,
        body=lambda w, s: {"reason": "The training moves by two weeks."},
    )
    add(
        AC + "amendments/{amendment_id}/{transition}/",
        "post",
        obj(partner=404, expert=404, evaluator=404, staff=200),
        params=amendment,
    )

    # --- activities and expertise needs (the plan of a running action is locked) -----------
    add(
        "/api/v1/activities/",
        "get",
        listing(partner=LISTED, expert=UNLISTED, evaluator=LISTED, staff=LISTED),
        marker=row("activity"),
    )
    add(
        "/api/v1/activities/",
        "post",
        obj(partner=403, expert=404, evaluator=403, staff=409),
        body=activity_body,
    )
    add(
        "/api/v1/activities/export/",
        "get",
        listing(partner=LISTED, expert=UNLISTED, evaluator=LISTED, staff=LISTED),
        query="?file=csv",
        marker=lambda w, s: s.action.reference,
    )
    plan_item = obj(partner=403, expert=404, evaluator=403, staff=409)
    AV = "/api/v1/activities/{id}/"
    add(AV, "get", obj(partner=200, expert=404, evaluator=200, staff=200), params=pk("activity"))
    add(AV, "put", plan_item, params=pk("activity"), body=activity_body)
    add(AV, "patch", plan_item, params=pk("activity"), body=lambda w, s: {"title": "Refresher"})
    add(AV, "delete", plan_item, params=pk("activity"))
    add(
        "/api/v1/expertise-needs/",
        "get",
        listing(partner=LISTED, expert=UNLISTED, evaluator=LISTED, staff=LISTED),
        marker=row("need"),
    )
    add("/api/v1/expertise-needs/", "post", plan_item, body=need_body)
    NV = "/api/v1/expertise-needs/{id}/"
    add(NV, "get", obj(partner=200, expert=404, evaluator=200, staff=200), params=pk("need"))
    add(NV, "put", plan_item, params=pk("need"), body=need_body)
    add(NV, "patch", plan_item, params=pk("need"), body=lambda w, s: {"expert_days": 4})
    add(NV, "delete", plan_item, params=pk("need"))
    add(
        NV + "match/",
        "post",
        obj(partner=403, expert=404, evaluator=403, staff=202),
        params=pk("need"),
    )
    add(
        NV + "matches/",
        "get",
        obj(partner=403, expert=404, evaluator=403, staff=200),
        params=pk("need"),
    )
    add(
        "/api/v1/match-jobs/{id}/",
        "get",
        obj(partner=404, expert=404, evaluator=404, staff=200),
        params=pk("match_job"),
    )

    # --- experts ---------------------------------------------------------------------------------
    add(
        "/api/v1/experts/",
        "get",
        listing(partner=UNLISTED, expert=LISTED, evaluator=UNLISTED, staff=LISTED),
        marker=row("expert"),
    )
    add(
        "/api/v1/experts/",
        "post",
        # An expert creates their profile once (they have one).
        flat(partner=403, expert=409, evaluator=403, staff=201),
        body=lambda w, s: {"full_name": "Amina Diallo", "administration_type": "partner_country"},
        sides=ONE,
    )
    add(
        "/api/v1/experts/export/",
        "get",
        listing(partner=UNLISTED, expert=LISTED, evaluator=UNLISTED, staff=LISTED),
        query="?file=csv",
        marker=lambda w, s: s.expert.full_name,
    )
    own_profile = obj(partner=404, expert=200, evaluator=404, staff=200)
    add(EX, "get", own_profile, params=pk("expert"))
    for method in ("put", "patch"):
        add(
            EX,
            method,
            own_profile,
            params=pk("expert"),
            body=lambda w, s: {
                "full_name": s.expert.full_name,
                "administration_type": s.expert.administration_type,
                "home_institution": "Ministry of the Interior",
            },
        )
    add(
        EX + "approve/",
        "post",
        # A pending entry has no account: only staff see it.
        obj(partner=404, expert=404, evaluator=404, staff=200),
        params=pk("pending_expert"),
    )
    add(
        EX + "reject/",
        "post",
        obj(partner=404, expert=403, evaluator=404, staff=200),
        params=pk("expert"),
        body=lambda w, s: REASON,
    )
    add(EX + "cv/", "get", own_profile, params=pk("expert"), download=True)
    for method in ("post", "put"):
        add(
            EX + "cv/",
            method,
            own_profile,
            params=pk("expert"),
            body=lambda w, s: {"file": pdf("cv.pdf")},
            multipart=True,
        )
    add(
        EX + "cv/",
        "delete",
        obj(partner=404, expert=204, evaluator=404, staff=204),
        params=pk("expert"),
    )
    add(EX + "export/", "get", own_profile, params=pk("expert"), download=True)
    add(
        EX + "request-deletion/",
        "post",
        obj(partner=404, expert=200, evaluator=404, staff=403),
        params=pk("expert"),
    )
    add(
        EX + "anonymise/",
        "post",
        # Staff erase the data, but not during a confirmed mission (the expert has one).
        obj(partner=404, expert=403, evaluator=404, staff=409),
        params=pk("expert"),
    )
    add(EX + "unavailability/", "get", own_profile, params=pk("expert"))
    add(
        EX + "unavailability/",
        "post",
        obj(partner=404, expert=201, evaluator=404, staff=201),
        params=pk("expert"),
        body=lambda w, s: {"start_date": day(400), "end_date": day(402), "note": "Leave"},
    )
    add(
        EX + "unavailability/{period_id}/",
        "delete",
        obj(partner=404, expert=204, evaluator=404, staff=204),
        params=lambda w, s, r: {"id": s.expert.pk, "period_id": s.unavailability.pk},
    )

    # --- deployments -------------------------------------------------------------------------------
    # The partner sees its actions' missions (confirmed ones), not invitations; evaluators
    # see no deployments.
    add(
        "/api/v1/deployments/",
        "get",
        listing(partner=LISTED, expert=LISTED, evaluator=UNLISTED, staff=LISTED),
        marker=row("mission"),
    )
    add(
        "/api/v1/deployments/",
        "post",
        flat(partner=403, expert=403, evaluator=403, staff=201),
        body=lambda w, s: {"expertise_need": s.need.pk, "expert": s.pending_expert.pk},
    )
    add(
        "/api/v1/deployments/export/",
        "get",
        listing(partner=LISTED, expert=LISTED, evaluator=UNLISTED, staff=LISTED),
        query="?file=csv",
        marker=lambda w, s: s.action.reference,
    )
    mission = obj(partner=200, expert=200, evaluator=404, staff=200)
    add(DP, "get", mission, params=pk("mission"))
    add(DP + "report/", "get", mission, params=pk("mission"))
    add(
        DP + "report/",
        "post",
        # The deployed expert corrects the filed report until completion.
        obj(partner=403, expert=200, evaluator=404, staff=403),
        params=pk("mission"),
        body=report_body,
    )
    add(
        DP + "report/attachments/{attachment_id}/",
        "get",
        mission,
        params=lambda w, s, r: {"id": s.mission.pk, "attachment_id": s.report_attachment.pk},
        download=True,
    )
    add(
        DP + "complete/",
        "post",
        obj(partner=403, expert=403, evaluator=404, staff=200),
        params=pk("mission"),
    )
    add(
        DP + "rate/",
        "post",
        # Rated once completed (the mission is confirmed).
        obj(partner=403, expert=403, evaluator=404, staff=409),
        params=pk("mission"),
        body=lambda w, s: {"rating": 4},
    )
    # An open invitation: the invited expert answers; the partner does not see it.
    answer = obj(partner=404, expert=200, evaluator=404, staff=403)
    add(DP + "accept/", "post", answer, params=pk("invitation"))
    add(DP + "decline/", "post", answer, params=pk("invitation"), body=lambda w, s: REASON)
    staff_wrong_state = obj(partner=404, expert=403, evaluator=404, staff=409)
    add(DP + "invite/", "post", staff_wrong_state, params=pk("invitation"))
    add(DP + "confirm/", "post", staff_wrong_state, params=pk("invitation"))
    add(
        DP + "cancel/",
        "post",
        obj(partner=404, expert=403, evaluator=404, staff=200),
        params=pk("invitation"),
        body=lambda w, s: REASON,
    )

    # --- monitoring ----------------------------------------------------------------------------------
    monitors = obj(partner=200, expert=404, evaluator=200, staff=200)
    for name, attr, body in (
        (
            "indicators",
            "indicator",
            lambda w, s: {
                "action": s.action.pk,
                "level": "organisational",
                "name": "Border posts reporting weekly",
                "unit": "number",
                "baseline": "2",
                "target": "10",
            },
        ),
        (
            "measurements",
            "measurement",
            lambda w, s: {"indicator": s.indicator.pk, "date": day(-1), "value": "31"},
        ),
        (
            "outcomes",
            "outcome",
            lambda w, s: {
                "action": s.action.pk,
                "level": "individual",
                "description": "Officers use the new form.",
                "date": day(-1),
            },
        ),
    ):
        add(
            f"/api/v1/{name}/",
            "get",
            listing(partner=LISTED, expert=UNLISTED, evaluator=LISTED, staff=LISTED),
            marker=row(attr),
        )
        add(
            f"/api/v1/{name}/",
            "post",
            # The action is named in the body: out of scope, it "does not exist" (400).
            obj(partner=(403, 400), expert=(400, 400), evaluator=(201, 400), staff=201),
            body=body,
        )
        add(f"/api/v1/{name}/{{id}}/", "get", monitors, params=pk(attr))
    add(
        "/api/v1/indicators/{id}/",
        "patch",
        obj(partner=403, expert=404, evaluator=200, staff=200),
        params=pk("indicator"),
        body=lambda w, s: {"name": "Posts reporting weekly"},
    )
    add(
        "/api/v1/indicators/{id}/",
        "delete",
        # It has measurements.
        obj(partner=403, expert=404, evaluator=409, staff=409),
        params=pk("indicator"),
    )
    for name, attr in (("measurements", "measurement"), ("outcomes", "outcome")):
        add(
            f"/api/v1/{name}/{{id}}/",
            "delete",
            # Staff, or the evaluator who recorded it.
            obj(partner=403, expert=404, evaluator=204, staff=204),
            params=pk(attr),
        )
    add(
        "/api/v1/indicators/export/",
        "get",
        listing(partner=LISTED, expert=UNLISTED, evaluator=LISTED, staff=LISTED),
        query="?file=csv",
        marker=lambda w, s: s.action.reference,
    )

    # --- feedback ------------------------------------------------------------------------------------
    add(
        "/api/v1/feedback/",
        "get",
        listing(partner=LISTED, expert=UNLISTED, evaluator=LISTED, staff=LISTED),
        marker=row("feedback"),
    )
    add(
        "/api/v1/feedback/",
        "post",
        # The partner answered already (once per activity).
        obj(partner=(409, 400), expert=(400, 400), evaluator=(403, 400), staff=403),
        body=lambda w, s: {"activity": s.activity.pk, "satisfaction": 5, "comments": "Good."},
    )
    add(
        "/api/v1/feedback/{id}/",
        "get",
        obj(partner=200, expert=404, evaluator=200, staff=200),
        params=pk("feedback"),
    )
    add(
        "/api/v1/feedback-links/",
        "get",
        listing(partner=403, expert=403, evaluator=403, staff=LISTED),
        marker=row("feedback_link"),
    )
    add(
        "/api/v1/feedback-links/",
        "post",
        flat(partner=403, expert=403, evaluator=403, staff=201),
        body=lambda w, s: {"activity": s.activity.pk, "count": 1},
    )

    # --- final evaluations -----------------------------------------------------------------------------
    EV = "/api/v1/evaluations/{id}/"
    # Drafts are the evaluator's and staff's; the partner reads submitted ones.
    add(
        "/api/v1/evaluations/",
        "get",
        listing(partner=UNLISTED, expert=UNLISTED, evaluator=LISTED, staff=LISTED),
        marker=row("draft_evaluation"),
    )
    add(
        "/api/v1/evaluations/",
        "post",
        # Only the assigned evaluator writes it; this action has its draft already.
        obj(partner=(403, 400), expert=(400, 400), evaluator=(409, 400), staff=403),
        body=lambda w, s: {"action": s.action.pk},
    )
    add(
        "/api/v1/evaluations/export/",
        "get",
        listing(partner=LISTED, expert=UNLISTED, evaluator=LISTED, staff=LISTED),
        query="?file=csv",
        marker=lambda w, s: s.closed_action.reference,
    )
    add(EV, "get", obj(partner=200, expert=404, evaluator=200, staff=200), params=pk("evaluation"))
    add(
        EV,
        "patch",
        obj(partner=404, expert=404, evaluator=200, staff=403),
        params=pk("draft_evaluation"),
        body=lambda w, s: {"findings": "The SOP is in use."},
    )
    add(
        EV + "submit/",
        "post",
        # The action is still in implementation.
        obj(partner=404, expert=404, evaluator=409, staff=403),
        params=pk("draft_evaluation"),
    )
    add(
        EV + "recommendations/{recommendation_id}/follow-up/",
        "post",
        obj(partner=403, expert=404, evaluator=403, staff=201),
        params=lambda w, s, r: {"id": s.evaluation.pk, "recommendation_id": s.recommendation.pk},
    )

    # --- reports, the public portfolio, the audit log ------------------------------------------------
    add("/api/v1/reports/portfolio/", "get", staff_only(200), sides=ONE)
    published = (LISTED, UNLISTED)  # A's partner agreed to publish its closed action
    add(
        "/api/v1/public/actions/",
        "get",
        by_side(*published),
        marker=lambda w, s: ("reference", s.closed_action.reference),
    )
    add(
        "/api/v1/public/actions/{reference}/",
        "get",
        by_side(200, 404),
        params=lambda w, s, r: {"reference": s.closed_action.reference},
    )
    add("/api/v1/audit/", "get", staff_only(200), sides=ONE)
    # One entry of a log the role may not read is simply not found (its queryset is empty).
    add("/api/v1/audit/{id}/", "get", staff_only(200, others=404), params=audit_entry, sides=ONE)
    return ops


OPS: dict[tuple[str, str], Op] = {(op.path, op.method): op for op in _ops()}


def _token_body(w: World, role: str) -> dict[str, str]:
    if role == "anonymous":
        return {"username": "partner", "password": "not-the-password"}
    return {"username": w.users[role].username, "password": PASSWORD}


# --- the schema and the routes --------------------------------------------------------------------


def schema_operations() -> set[tuple[str, str]]:
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        (path, method)
        for path, item in schema["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }


_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


def api_routes() -> Iterator[tuple[str, set[str]]]:
    """Every route under ``api/v1/`` as the schema spells its path (``{id}`` for the
    primary key), with the methods its view answers (empty for a plain Django view)."""

    def walk(patterns: list[Any], prefix: str) -> Iterator[tuple[str, Any]]:
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                yield prefix + str(p.pattern), p.callback

    for raw, callback in walk(get_resolver().url_patterns, "/"):
        if not raw.startswith("/api/v1/"):
            continue
        text = raw.replace("^", "").replace("$", "").replace("\\.", ".")
        text = re.sub(r"\.\(\?P<format>[^)]*\)/?", "", text)  # format-suffix variants
        if "(?P<format>" in raw:
            continue
        text = _CONVERTER.sub(r"{\1}", _GROUP.sub(r"{\1}", text)).replace("{pk}", "{id}")
        actions = getattr(callback, "actions", None)
        cls = getattr(callback, "cls", None)
        # A method the view declines (``http_method_names``) answers 405: not an operation.
        answered = set(getattr(cls, "http_method_names", ())) & {
            "get",
            "post",
            "put",
            "patch",
            "delete",
        }
        if actions:
            methods = set(actions) & answered
        elif cls is not None:
            methods = {m for m in answered if hasattr(cls, m)}
        else:
            methods = set()
        yield text, methods


# --- running a cell -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tokens(world: World, django_db_blocker: Any) -> dict[str, str]:
    with django_db_blocker.unblock():
        return {
            role: Token.objects.get_or_create(user=user)[0].key
            for role, user in world.users.items()
            if user is not None
        }


@pytest.fixture(scope="module")
def tally() -> Iterator[dict[str, Any]]:
    """Counts what the module checked; written for the lead to quote."""
    counts: dict[str, Any] = {"operations": 0, "cells": 0, "by_expected": {}, "not_offered": 0}
    yield counts
    if not counts["cells"]:
        return
    counts["by_expected"] = dict(sorted(counts["by_expected"].items()))
    out = Path(__file__).resolve().parents[2] / "test-results" / "access-matrix-api.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({**counts, "roles": len(ROLES), "sides": len(SIDES)}, indent=2))
    print(f"\nAPI access matrix: {counts['operations']} operations, {counts['cells']} cells")


def _listed(response: Any, key: str, value: Any) -> bool:
    data = response.json()
    rows = data["results"] if isinstance(data, dict) and "results" in data else data
    return any(r.get(key) == value for r in rows)


def _cell(
    op: Op, world: World, tokens: dict[str, str], role: str, side_name: str
) -> tuple[Cell, str]:
    """The answer ``role`` gets on ``side_name``, and the error body (to explain a miss)."""
    side = world.sides.get(side_name) or world.sides["A"]
    if side_name in MINE:
        side = Side(side_name, None, None, None, None)
    params = op.params(world, side, role) if op.params else {}
    url = op.path.format(**params) + op.query
    client = APIClient()
    if role != "anonymous":
        client.credentials(HTTP_AUTHORIZATION=f"Token {tokens[role]}")
    if op.path == "/api/v1/auth/token/":
        body: Any = _token_body(world, role)
    else:
        body = op.body(world, side) if op.body else None
    cache.clear()  # throttles count per test, not per module
    with transaction.atomic():
        response = getattr(client, op.method)(
            url, body, format="multipart" if op.multipart else "json"
        )
        transaction.set_rollback(True)
    code: int = response.status_code
    if code == 401 and "WWW-Authenticate" not in response:
        return "401 without WWW-Authenticate", ""
    if code >= 400:
        return code, response.content.decode(errors="replace")[:300]
    if code == 200 and op.download:
        disposition = response.get("Content-Disposition", "")
        if (
            not disposition.startswith("attachment")
            or response.get("X-Content-Type-Options") != "nosniff"
        ):
            return "200 inline", disposition
    if code == 200 and op.marker is not None:
        if op.sides == MINE:
            mine = notification(world, side, role)["id"]
            return (LISTED if _listed(response, "id", mine) else UNLISTED), ""
        marker = op.marker(world, side)
        if isinstance(marker, tuple):
            return (LISTED if _listed(response, *marker) else UNLISTED), ""
        content = b"".join(response.streaming_content) if response.streaming else response.content
        return (LISTED if marker in content.decode("utf-8-sig") else UNLISTED), ""
    return code, ""


def _table(op: Op, got: dict[tuple[str, str], tuple[Cell, str]]) -> str:
    lines = [
        f"{op.method.upper()} {op.path}",
        f"{'role':<11}" + "".join(f"{s:>26}" for s in op.sides),
    ]
    for role in ROLES:
        cells = []
        for s in op.sides:
            want, have = op.expected(role, s), got[role, s][0]
            mark = "" if want == have else " ✗"
            cells.append(f"{f'{want} → {have}{mark}':>26}")
        lines.append(f"{role:<11}" + "".join(cells))
    lines += [
        f"{role} on {s}: {note}"
        for (role, s), (have, note) in got.items()
        if have != op.expected(role, s) and note
    ]
    return "\n".join(lines)


@pytest.mark.parametrize(
    ("path", "method"), sorted(OPS), ids=[f"{m.upper()} {p}" for p, m in sorted(OPS)]
)
def test_access(
    world: World, tokens: dict[str, str], tally: dict[str, Any], path: str, method: str
) -> None:
    op = OPS[path, method]
    got = {(role, s): _cell(op, world, tokens, role, s) for role in ROLES for s in op.sides}
    tally["operations"] += 1
    tally["cells"] += len(got)
    for key in got:
        want = str(op.expected(*key))
        tally["by_expected"][want] = tally["by_expected"].get(want, 0) + 1
    wrong = [key for key, (have, _note) in got.items() if have != op.expected(*key)]
    assert not wrong, "\n" + _table(op, got)


# --- completeness -----------------------------------------------------------------------------------


def test_every_operation_has_expectations() -> None:
    operations = schema_operations()
    unclassified = sorted(operations - set(OPS))
    stale = sorted(set(OPS) - operations)
    assert (unclassified, stale) == ([], []), (
        f"operations without expectations: {unclassified}; "
        f"expectations for operations that do not exist: {stale}"
    )


def test_every_api_route_is_in_the_schema() -> None:
    operations = schema_operations()
    paths = {path for path, _method in operations}
    missing = []
    for path, methods in api_routes():
        if path not in paths:
            missing.append(path)
            continue
        missing += [f"{m.upper()} {path}" for m in methods if (path, m) not in operations]
    assert sorted(set(missing)) == []


def test_methods_a_route_does_not_offer_answer_405(
    world: World, tokens: dict[str, str], tally: dict[str, Any]
) -> None:
    """Staff (who may use everything) get 405 for every method a path does not list."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {tokens['staff']}")
    offered: dict[str, set[str]] = {}
    for path, method in schema_operations():
        offered.setdefault(path, set()).add(method)
    wrong = {}
    for path, methods in sorted(offered.items()):
        op = OPS.get((path, sorted(methods)[0]))
        if op is None:
            continue
        side = world.sides["A"] if op.sides != MINE else Side("own", None, None, None, None)
        url = op.path.format(**(op.params(world, side, "staff") if op.params else {}))
        for method in {"get", "post", "put", "patch", "delete"} - methods:
            cache.clear()
            with transaction.atomic():
                code = getattr(client, method)(url, {}, format="json").status_code
                transaction.set_rollback(True)
            tally["not_offered"] += 1
            if code != 405:
                wrong[f"{method.upper()} {url}"] = code
    assert wrong == {}
