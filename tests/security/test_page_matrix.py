"""Access-control matrix of the pages: every URL pattern outside the API (the schema, its
docs and the Django admin included), for every role, on its own side's object and on the
other side's, answers exactly what the table below says.

The table is complete by construction: ``test_every_page_has_an_expectation`` walks the URL
resolver and fails on any pattern without an entry (and on entries whose pattern is gone),
so a new page cannot ship unclassified. Expectations come from DESIGN.md §1 and the
permission predicates (an object the user may not see answers 404; a visible object the
user may not change answers 403, or, for a button, a redirect back carrying an error
message), never from recording what the app answers.

Cell codes: an HTTP status; ``LOGIN`` (302 to the sign-in page with ``next`` = the page);
``ADMIN_LOGIN`` (302 to the admin's sign-in page with ``next``); ``GO`` (302 elsewhere,
no error message: the write was done or the page sends the user on); ``NO`` (302 carrying
an error or warning message: the write was refused).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.messages import constants as message_levels
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from tests.requests_app.helpers import PDF_BYTES
from tests.security.world import OWN_SIDE, ROLES, SIDES, Side, World

LOGIN = "LOGIN"
ADMIN_LOGIN = "ADMIN_LOGIN"
GO = "GO"
NO = "NO"

STAFF_ROLES = ("staff", "approver", "admin")
KINDS = {
    "partner": ("partner", "partner2"),
    "expert": ("expert", "expert2"),
    "evaluator": ("evaluator", "evaluator2"),
}


@dataclass(frozen=True)
class Own:
    """``own`` on the role's own side, ``other`` on the other side."""

    own: Any
    other: Any


@dataclass(frozen=True)
class Sides:
    """Whoever asks: ``a`` on side A's object, ``b`` on side B's."""

    a: Any
    b: Any


def expect(
    *,
    anon: Any = LOGIN,
    partner: Any,
    expert: Any,
    evaluator: Any,
    staff: Any,
    approver: Any = None,
    admin: Any = None,
    **roles: Any,
) -> dict[str, Any]:
    """Role → expected cell. ``partner``/``expert``/``evaluator`` apply to both people of
    that kind; ``approver`` and ``admin`` default to ``staff``; any role may be named
    exactly in ``roles`` (``partner2=…``) to override its kind."""
    table: dict[str, Any] = {"anonymous": anon}
    for kind, value in (("partner", partner), ("expert", expert), ("evaluator", evaluator)):
        for role in KINDS[kind]:
            table[role] = value
    table["staff"] = staff
    table["approver"] = staff if approver is None else approver
    table["admin"] = staff if admin is None else admin
    unknown = set(roles) - set(ROLES)
    assert not unknown, unknown
    table.update(roles)
    return table


def everyone(value: Any, *, anon: Any = None) -> dict[str, Any]:
    return dict.fromkeys(ROLES, value) | ({"anonymous": anon} if anon is not None else {})


def signed_in(value: Any) -> dict[str, Any]:
    return everyone(value, anon=LOGIN)


def staff_only(value: Any = 200, *, others: Any = 403, anon: Any = LOGIN) -> dict[str, Any]:
    return expect(anon=anon, partner=others, expert=others, evaluator=others, staff=value)


def resolve_cell(spec: Any, role: str, side: str | None) -> Any:
    if isinstance(spec, Own):
        assert side is not None and role in OWN_SIDE, (spec, role, side)
        return spec.own if OWN_SIDE[role] == side else spec.other
    if isinstance(spec, Sides):
        assert side is not None
        return spec.a if side == "A" else spec.b
    return spec


# --- what is posted --------------------------------------------------------------------


def pdf(name: str = "document.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def gap_data(prefix: str) -> dict[str, str]:
    return {
        f"{prefix}-level": "individual",
        f"{prefix}-description": "Analysts lack training in risk analysis.",
        f"{prefix}-baseline": "None trained",
        f"{prefix}-target": "Ten trained",
        f"{prefix}-priority": "medium",
    }


def indicator_data(prefix: str) -> dict[str, str]:
    """A percentage indicator, as the world's (whose unit cannot change once measured)."""
    return {
        f"{prefix}-name": "Share of border posts applying the SOPs",
        f"{prefix}-level": "organisational",
        f"{prefix}-unit": "percentage",
        f"{prefix}-baseline": "20",
        f"{prefix}-target": "70",
        f"{prefix}-direction": "increase",
        f"{prefix}-frequency": "quarterly",
    }


def default_modes() -> dict[str, str]:
    from cbportal.core.models import CONFIGURABLE_CATEGORIES

    return dict.fromkeys(CONFIGURABLE_CATEGORIES, "default")


def yesterday() -> str:
    return (timezone.localdate() - timedelta(days=1)).isoformat()


# --- what is checked beyond the status ---------------------------------------------------


def body(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return bytes(response.content)


def download(response: Any, world: World, role: str, side: str | None) -> list[str]:
    """A stored document: always an attachment, never sniffed, never cached."""
    problems = []
    if not response.get("Content-Disposition", "").startswith("attachment"):
        problems.append(f"Content-Disposition {response.get('Content-Disposition')!r}")
    if response.get("X-Content-Type-Options") != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    return problems


def report_pdf(response: Any, world: World, role: str, side: str | None) -> list[str]:
    """The report PDF is made by the app (not an upload): shown inline, but never sniffed."""
    problems = []
    if response["Content-Type"] != "application/pdf" or not body(response).startswith(b"%PDF"):
        problems.append(f"not a PDF: {response['Content-Type']}")
    if not response.get("Content-Disposition", "").startswith(("inline", "attachment")):
        problems.append(f"Content-Disposition {response.get('Content-Disposition')!r}")
    if response.get("X-Content-Type-Options") != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    return problems


def rows_of(marker: Callable[[Side], str]) -> Callable[..., list[str]]:
    """A CSV export holds the rows of the sides the role sees: its own side only for
    side-bound roles, both for staff."""

    def check(response: Any, world: World, role: str, side: str | None) -> list[str]:
        problems = download(response, world, role, side)
        content = body(response).decode("utf-8-sig")
        own = OWN_SIDE.get(role)
        for name in SIDES:
            wanted = own is None or own == name
            present = marker(world.sides[name]) in content
            if wanted != present:
                problems.append(
                    f"{'missing' if wanted else 'LEAKS'} side {name}'s row "
                    f"{marker(world.sides[name])!r}"
                )
        return problems

    return check


def spreadsheet(response: Any, world: World, role: str, side: str | None) -> list[str]:
    problems = download(response, world, role, side)
    if not body(response).startswith(b"PK"):
        problems.append("not an XLSX file")
    return problems


# --- the table ------------------------------------------------------------------------------

Url = Callable[..., str]


@dataclass
class Page:
    """One request to one URL pattern, and its expected answer per role (and side)."""

    name: str  # the URL name with its namespace (the route for unnamed admin patterns)
    url: Url  # (world, side) → path for per-side entries; (world, role) → path otherwise
    expected: dict[str, Any]
    method: str = "GET"
    variant: str = ""
    per_side: bool = True
    data: Callable[[World, Side | None], dict[str, Any]] | None = None
    check: Callable[..., list[str]] | None = None  # on the 200s
    prepare: Callable[[World, Any], None] | None = (
        None  # (world, user), inside the request's transaction
    )

    @property
    def key(self) -> str:
        return " ".join(p for p in (self.name, self.method, self.variant) if p)


PAGES: list[Page] = []


def page(name: str, url: Url, expected: dict[str, Any], **kwargs: Any) -> None:
    PAGES.append(Page(name, url, expected, **kwargs))


def single(name: str, url: str | Url, expected: dict[str, Any], **kwargs: Any) -> None:
    path_of: Url = (lambda w, role, _u=url: _u) if isinstance(url, str) else url
    PAGES.append(Page(name, path_of, expected, per_side=False, **kwargs))


def post_only(name: str, url: Url, *, per_side: bool = True, login: bool = True) -> None:
    """A POST-only page asked with GET: 405 (after the sign-in redirect when it needs one)."""
    PAGES.append(
        Page(
            name,
            url,
            signed_in(405) if login else everyone(405),
            variant="(POST only)",
            per_side=per_side,
        )
    )


# core ---------------------------------------------------------------------------------------

single("core:home", "/", everyone(200))
single("core:healthz", "/healthz", everyone(200))
single("core:livez", "/livez", everyone(200))
single("core:notifications", "/notifications/", signed_in(200))
page(
    "core:notification-read",
    lambda w, s: f"/notifications/{s.notification.pk}/read/",
    # Side X's notification belongs to X's partner: nobody else reads it, staff included.
    expect(partner=Own(GO, 404), expert=404, evaluator=404, staff=404),
    method="POST",
)
single(
    "core:notification-read",
    lambda w, role: (
        f"/notifications/{w.notification_of(role if role != 'anonymous' else 'partner').pk}/read/"
    ),
    signed_in(GO),
    method="POST",
    variant="own",
)
post_only("core:notification-read", lambda w, s: f"/notifications/{s.notification.pk}/read/")
single("core:notifications-read-all", "/notifications/read-all/", signed_in(GO), method="POST")
post_only("core:notifications-read-all", lambda w, role: "/notifications/read-all/", per_side=False)
single("core:notification-preferences", "/notifications/preferences/", signed_in(200))
single(
    "core:notification-preferences",
    "/notifications/preferences/",
    signed_in(GO),
    method="POST",
    data=lambda w, s: default_modes(),
)
single(
    "core:organisation-notification-defaults", "/notifications/organisation-defaults/", staff_only()
)
page(
    "core:organisation-notification-defaults",
    lambda w, s: f"/notifications/organisation-defaults/?organisation={s.organisation.pk}",
    staff_only(),
    variant="?organisation",
)
page(
    "core:organisation-notification-defaults",
    lambda w, s: f"/notifications/organisation-defaults/?organisation={s.organisation.pk}",
    staff_only(GO),
    method="POST",
    variant="?organisation",
    data=lambda w, s: default_modes(),
)
single("core:outbox", "/notifications/outbox/", staff_only())
single("core:outbox-retry", "/notifications/outbox/retry/", staff_only(400), method="POST")
post_only("core:outbox-retry", lambda w, role: "/notifications/outbox/retry/", per_side=False)
# The audit log: programme staff and the approver (and the administrator, staff too); nobody
# else learns it exists.
single("core:audit", "/audit/", staff_only())
single(
    "core:audit",
    "/audit/?export=csv",
    staff_only(),
    variant="?export=csv",
    check=download,
)

# accounts -----------------------------------------------------------------------------------

single("accounts:login", "/accounts/login/", everyone(GO, anon=200))
single("accounts:two-factor-verify", "/accounts/login/verify/", everyone(GO))
single("accounts:logout", "/accounts/logout/", everyone(GO), method="POST")
single("accounts:logout", "/accounts/logout/", everyone(405), variant="(POST only)")
single("accounts:profile", "/accounts/profile/", signed_in(200))
single(
    "accounts:profile",
    "/accounts/profile/",
    signed_in(GO),
    method="POST",
    data=lambda w, s: {"language": "fr"},
)
single("accounts:two-factor-setup", "/accounts/two-factor/", signed_in(200))


def _unconfirmed_device(world: World, user: Any) -> None:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if user is not None:
        TOTPDevice.objects.create(user=user, name="phone", confirmed=False)


single(
    "accounts:two-factor-qr",
    "/accounts/two-factor/qr.svg",
    signed_in(200),
    prepare=_unconfirmed_device,
)
single("accounts:two-factor-disable", "/accounts/two-factor/disable/", signed_in(GO), method="POST")
post_only(
    "accounts:two-factor-disable", lambda w, role: "/accounts/two-factor/disable/", per_side=False
)
single("accounts:password-change", "/accounts/password/change/", signed_in(200))
single("accounts:password-change-done", "/accounts/password/change/done/", signed_in(200))
single("accounts:password-reset", "/accounts/password/reset/", everyone(200))
single(
    "accounts:password-reset",
    "/accounts/password/reset/",
    everyone(GO),
    method="POST",
    data=lambda w, s: {"email": "partner@example.org"},
)
single("accounts:password-reset-done", "/accounts/password/reset/done/", everyone(200))


def _reset_link(w: World, s: Side) -> str:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    # The token covers last_login: make it from the stored user, not the world's copy
    # (which a force_login since rolled back has changed in memory).
    user = get_user_model().objects.get(pk=s.partner.pk)
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return f"/accounts/reset/{uid}/{default_token_generator.make_token(user)}/"


# A valid link moves on to the set-password step whoever opens it; a tampered one says so.
page("accounts:password-reset-confirm", _reset_link, everyone(GO))
page(
    "accounts:password-reset-confirm",
    lambda w, s: _reset_link(w, s)[:-2] + "x/",
    everyone(200),
    variant="tampered",
)
single("accounts:password-reset-complete", "/accounts/reset/done/", everyone(200))
single("accounts:invitations", "/accounts/invitations/", staff_only())
page(
    "accounts:invitation-resend",
    lambda w, s: f"/accounts/invitations/{s.account_invitation.pk}/resend/",
    staff_only(GO),
    method="POST",
)
post_only(
    "accounts:invitation-resend",
    lambda w, s: f"/accounts/invitations/{s.account_invitation.pk}/resend/",
)
# The signed link is its own authority: the same page whoever holds it.
page(
    "accounts:invitation-accept",
    lambda w, s: f"/accounts/invitation/{s.account_invitation_token}/",
    everyone(200),
)
page(
    "accounts:invitation-accept",
    lambda w, s: f"/accounts/invitation/{s.account_invitation_token}x/",
    everyone(400),
    variant="tampered",
)
single(
    "set_language",
    "/i18n/setlang/",
    everyone(GO),
    method="POST",
    data=lambda w, s: {"language": "fr"},
)
single("set_language", "/i18n/setlang/", everyone(405), variant="(POST only)")

# requests ---------------------------------------------------------------------------------

LISTERS = {"partner": 200, "expert": 403, "evaluator": 403, "staff": 200}
single("requests_app:list", "/requests/", expect(**LISTERS))
single(
    "requests_app:list",
    "/requests/?export=csv",
    expect(**LISTERS),
    variant="?export=csv",
    check=rows_of(lambda s: s.draft_request.title),
)
single(
    "requests_app:list",
    "/requests/?export=xlsx",
    expect(**LISTERS),
    variant="?export=xlsx",
    check=spreadsheet,
)
single("requests_app:triage", "/requests/triage/", staff_only())
single(
    "requests_app:triage",
    "/requests/triage/?export=csv",
    staff_only(),
    variant="?export=csv",
    check=rows_of(lambda s: s.submitted_request.title),
)
single(
    "requests_app:create",
    "/requests/new/",
    expect(partner=200, expert=403, evaluator=403, staff=403),
)
single(
    "requests_app:create",
    "/requests/new/",
    expect(partner=200, expert=403, evaluator=403, staff=403),
    method="POST",
    data=lambda w, s: {},
)
REQUEST_SEEN = {"partner": Own(200, 404), "expert": 404, "evaluator": 404, "staff": 200}
page("requests_app:detail", lambda w, s: f"/requests/{s.draft_request.pk}/", expect(**REQUEST_SEEN))
page(
    "requests_app:edit",
    lambda w, s: f"/requests/{s.draft_request.pk}/edit/",
    expect(partner=Own(200, 404), expert=404, evaluator=404, staff=NO),
)
page(
    "requests_app:transition",
    lambda w, s: f"/requests/{s.draft_request.pk}/do/submit/",
    expect(partner=Own(GO, 404), expert=404, evaluator=404, staff=NO),
    method="POST",
    variant="submit",
)
page(
    "requests_app:transition",
    lambda w, s: f"/requests/{s.submitted_request.pk}/do/start-review/",
    expect(partner=Own(NO, 404), expert=404, evaluator=404, staff=GO),
    method="POST",
    variant="start-review",
)
page(
    "requests_app:transition",
    lambda w, s: f"/requests/{s.draft_request.pk}/do/accept/",
    # Staff may accept, but not a draft: refused for its state.
    expect(partner=Own(NO, 404), expert=404, evaluator=404, staff=NO),
    method="POST",
    variant="accept (wrong state)",
)
post_only("requests_app:transition", lambda w, s: f"/requests/{s.draft_request.pk}/do/submit/")
page(
    "requests_app:attachment-upload",
    lambda w, s: f"/requests/{s.draft_request.pk}/attachments/",
    # Staff attach documents once the request is submitted, not to a draft.
    expect(partner=Own(GO, 404), expert=404, evaluator=404, staff=NO),
    method="POST",
    data=lambda w, s: {"file": pdf(), "kind": "background"},
)
post_only(
    "requests_app:attachment-upload", lambda w, s: f"/requests/{s.draft_request.pk}/attachments/"
)
page(
    "requests_app:attachment",
    lambda w, s: f"/requests/{s.draft_request.pk}/attachments/{s.attachment.pk}/",
    expect(**REQUEST_SEEN),
    check=download,
)
page(
    "requests_app:attachment-delete",
    lambda w, s: f"/requests/{s.draft_request.pk}/attachments/{s.attachment.pk}/delete/",
    expect(partner=Own(GO, 404), expert=404, evaluator=404, staff=NO),
    method="POST",
)
post_only(
    "requests_app:attachment-delete",
    lambda w, s: f"/requests/{s.draft_request.pk}/attachments/{s.attachment.pk}/delete/",
)
page(
    "requests_app:assessment",
    lambda w, s: f"/requests/assessments/{s.open_assessment.pk}/",
    expect(**REQUEST_SEEN),
)
page(
    "requests_app:assessment",
    lambda w, s: f"/requests/assessments/{s.open_assessment.pk}/",
    expect(partner=Own(403, 404), expert=404, evaluator=404, staff=GO),
    method="POST",
    data=lambda w, s: {"summary": "Agreed gaps.", "methods": [], "stakeholders_consulted": ""},
)
# Staff edit the gaps of an assessment in progress; the partner sees them but may not.
GAP_EDIT = {"partner": Own(403, 404), "expert": 404, "evaluator": 404, "staff": GO}
page(
    "requests_app:gap-add",
    lambda w, s: f"/requests/assessments/{s.open_assessment.pk}/gaps/",
    expect(**GAP_EDIT),
    method="POST",
    data=lambda w, s: gap_data("new"),
)
post_only(
    "requests_app:gap-add", lambda w, s: f"/requests/assessments/{s.open_assessment.pk}/gaps/"
)
page(
    "requests_app:gap-edit",
    lambda w, s: f"/requests/assessments/{s.open_assessment.pk}/gaps/{s.gap.pk}/",
    expect(**GAP_EDIT),
    method="POST",
    data=lambda w, s: gap_data(f"gap{s.gap.pk}"),
)
post_only(
    "requests_app:gap-edit",
    lambda w, s: f"/requests/assessments/{s.open_assessment.pk}/gaps/{s.gap.pk}/",
)
page(
    "requests_app:gap-delete",
    lambda w, s: f"/requests/assessments/{s.open_assessment.pk}/gaps/{s.gap.pk}/delete/",
    expect(partner=Own(NO, 404), expert=404, evaluator=404, staff=GO),
    method="POST",
)
post_only(
    "requests_app:gap-delete",
    lambda w, s: f"/requests/assessments/{s.open_assessment.pk}/gaps/{s.gap.pk}/delete/",
)
page(
    "requests_app:assessment-transition",
    lambda w, s: f"/requests/assessments/{s.open_assessment.pk}/do/share/",
    expect(partner=Own(NO, 404), expert=404, evaluator=404, staff=GO),
    method="POST",
    variant="share",
)
post_only(
    "requests_app:assessment-transition",
    lambda w, s: f"/requests/assessments/{s.open_assessment.pk}/do/share/",
)

# actions ----------------------------------------------------------------------------------

ACTION_LISTERS = {"partner": 200, "expert": 403, "evaluator": 200, "staff": 200}
single("actions:list", "/actions/", expect(**ACTION_LISTERS))
single(
    "actions:list",
    "/actions/?export=csv",
    expect(**ACTION_LISTERS),
    variant="?export=csv",
    check=rows_of(lambda s: s.action.reference),
)
single(
    "actions:list",
    "/actions/?export=csv&rows=activities",
    expect(**ACTION_LISTERS),
    variant="?export=csv&rows=activities",
    check=rows_of(lambda s: s.action.reference),
)
single(
    "actions:list",
    "/actions/?export=xlsx",
    expect(**ACTION_LISTERS),
    variant="?export=xlsx",
    check=spreadsheet,
)
# Only approvers approve; the administrator is not one.
single(
    "actions:approvals",
    "/actions/approvals/",
    expect(partner=403, expert=403, evaluator=403, staff=403, approver=200, admin=403),
)
page(
    "actions:create",
    lambda w, s: f"/actions/new/{s.open_assessment.pk}/",
    staff_only(),
)
ACTION_SEEN = {"partner": Own(200, 404), "expert": 404, "evaluator": Own(200, 404), "staff": 200}
page("actions:detail", lambda w, s: f"/actions/{s.action.pk}/", expect(**ACTION_SEEN))
page(
    "actions:detail",
    lambda w, s: f"/actions/{s.design_action.pk}/",
    # Before approval the plan is internal; nobody is assigned to evaluate it.
    expect(partner=404, expert=404, evaluator=404, staff=200),
    variant="in design",
)
page(
    "actions:edit",
    lambda w, s: f"/actions/{s.action.pk}/edit/",
    # The partner's form (publication) is posted from the action page: GET sends it back.
    expect(partner=Own(GO, 404), expert=404, evaluator=Own(403, 404), staff=200),
)
page("actions:report", lambda w, s: f"/actions/{s.action.pk}/report/", expect(**ACTION_SEEN))
page(
    "actions:report-pdf",
    lambda w, s: f"/actions/{s.closed_action.pk}/report.pdf",
    expect(**ACTION_SEEN),
    check=report_pdf,
)
page(
    "actions:plan",
    lambda w, s: f"/actions/{s.design_action.pk}/plan/",
    expect(partner=404, expert=404, evaluator=404, staff=200),
)
page(
    "actions:plan",
    lambda w, s: f"/actions/{s.action.pk}/plan/",
    expect(partner=Own(403, 404), expert=404, evaluator=Own(403, 404), staff=NO),
    variant="in implementation",
)
page(
    "actions:transition",
    lambda w, s: f"/actions/{s.action.pk}/do/suspend/",
    expect(partner=Own(NO, 404), expert=404, evaluator=Own(NO, 404), staff=GO),
    method="POST",
    variant="suspend",
    data=lambda w, s: {"text": "Elections."},
)
post_only("actions:transition", lambda w, s: f"/actions/{s.action.pk}/do/suspend/")
page(
    "actions:amendment-create",
    lambda w, s: f"/actions/{s.action.pk}/amendments/new/",
    expect(partner=Own(403, 404), expert=404, evaluator=Own(403, 404), staff=200),
)
# A draft amendment is internal until it is approved for the partner's signature.
page(
    "actions:amendment",
    lambda w, s: f"/actions/{s.action.pk}/amendments/{s.amendment.pk}/",
    expect(partner=404, expert=404, evaluator=404, staff=200),
)
page(
    "actions:amendment-transition",
    lambda w, s: f"/actions/{s.action.pk}/amendments/{s.amendment.pk}/do/propose/",
    expect(partner=404, expert=404, evaluator=404, staff=GO),
    method="POST",
    variant="propose",
)
post_only(
    "actions:amendment-transition",
    lambda w, s: f"/actions/{s.action.pk}/amendments/{s.amendment.pk}/do/propose/",
)

# experts ----------------------------------------------------------------------------------

single("experts:roster", "/experts/", staff_only())
single(
    "experts:roster",
    "/experts/?export=csv",
    staff_only(),
    variant="?export=csv",
    check=rows_of(lambda s: s.expert.full_name),
)
single("experts:create", "/experts/new/", staff_only())
single("experts:vetting", "/experts/vetting/", staff_only())
single(
    "experts:profile",
    "/experts/profile/",
    expect(partner=403, expert=GO, evaluator=403, staff=GO),
)
EXPERT_SEEN = {"partner": 404, "expert": Own(200, 404), "evaluator": 404, "staff": 200}
EXPERT_EDIT = {"partner": 404, "expert": Own(GO, 404), "evaluator": 404, "staff": GO}
page("experts:detail", lambda w, s: f"/experts/{s.expert.pk}/", expect(**EXPERT_SEEN))
page("experts:edit", lambda w, s: f"/experts/{s.expert.pk}/edit/", expect(**EXPERT_SEEN))
page(
    "experts:vet",
    lambda w, s: f"/experts/{s.pending_expert.pk}/vet/",
    expect(partner=404, expert=404, evaluator=404, staff=GO),
    method="POST",
    data=lambda w, s: {"vet-decision": "approve"},
)
page(
    "experts:vet",
    lambda w, s: f"/experts/{s.expert.pk}/vet/",
    # The expert sees their own profile but does not vet it.
    expect(partner=404, expert=Own(403, 404), evaluator=404, staff=NO),
    method="POST",
    variant="own profile (already vetted)",
    data=lambda w, s: {"vet-decision": "approve"},
)
post_only("experts:vet", lambda w, s: f"/experts/{s.pending_expert.pk}/vet/")
# The CV is for staff and the expert only (never partners).
page(
    "experts:cv", lambda w, s: f"/experts/{s.expert.pk}/cv/", expect(**EXPERT_SEEN), check=download
)
page(
    "experts:cv-upload",
    lambda w, s: f"/experts/{s.expert.pk}/cv/upload/",
    expect(**EXPERT_EDIT),
    method="POST",
    data=lambda w, s: {"cv-file": pdf("cv.pdf")},
)
post_only("experts:cv-upload", lambda w, s: f"/experts/{s.expert.pk}/cv/upload/")
page(
    "experts:cv-remove",
    lambda w, s: f"/experts/{s.expert.pk}/cv/remove/",
    expect(**EXPERT_EDIT),
    method="POST",
)
post_only("experts:cv-remove", lambda w, s: f"/experts/{s.expert.pk}/cv/remove/")
page(
    "experts:unavailability-add",
    lambda w, s: f"/experts/{s.expert.pk}/unavailability/",
    expect(**EXPERT_EDIT),
    method="POST",
    data=lambda w, s: {
        "period-start_date": (timezone.localdate() + timedelta(days=400)).isoformat(),
        "period-end_date": (timezone.localdate() + timedelta(days=402)).isoformat(),
        "period-note": "Training",
    },
)
post_only("experts:unavailability-add", lambda w, s: f"/experts/{s.expert.pk}/unavailability/")
page(
    "experts:unavailability-remove",
    lambda w, s: f"/experts/{s.expert.pk}/unavailability/{s.unavailability.pk}/remove/",
    expect(**EXPERT_EDIT),
    method="POST",
)
post_only(
    "experts:unavailability-remove",
    lambda w, s: f"/experts/{s.expert.pk}/unavailability/{s.unavailability.pk}/remove/",
)
page(
    "experts:export",
    lambda w, s: f"/experts/{s.expert.pk}/export/",
    expect(**EXPERT_SEEN),
    check=download,
)
page(
    "experts:request-deletion",
    lambda w, s: f"/experts/{s.expert.pk}/request-deletion/",
    # The expert asks for their own data to be deleted; staff anonymise instead.
    expect(partner=404, expert=Own(GO, 404), evaluator=404, staff=NO),
    method="POST",
)
post_only("experts:request-deletion", lambda w, s: f"/experts/{s.expert.pk}/request-deletion/")
page(
    "experts:anonymise",
    lambda w, s: f"/experts/{s.expert.pk}/anonymise/",
    expect(partner=404, expert=Own(403, 404), evaluator=404, staff=200),
)
page(
    "experts:anonymise",
    lambda w, s: f"/experts/{s.expert.pk}/anonymise/",
    # The expert's mission is confirmed: no anonymising it now (its state, not the person).
    expect(partner=404, expert=Own(403, 404), evaluator=404, staff=409),
    method="POST",
    data=lambda w, s: {"confirm": "on"},
)
page("experts:shortlist", lambda w, s: f"/experts/needs/{s.need.pk}/shortlist/", staff_only())
page(
    "experts:match",
    lambda w, s: f"/experts/needs/{s.need.pk}/match/",
    staff_only(GO),
    method="POST",
)
post_only("experts:match", lambda w, s: f"/experts/needs/{s.need.pk}/match/")


def _shortlist_add(w: World, s: Side) -> str:
    return f"/experts/needs/{s.need.pk}/experts/{w.sides[w.other(s.name)].expert.pk}/"


page(
    "experts:shortlist-add",
    _shortlist_add,
    staff_only(GO),
    method="POST",
    data=lambda w, s: {"do": "shortlist"},
)
post_only("experts:shortlist-add", _shortlist_add)
page("experts:board", lambda w, s: f"/experts/actions/{s.action.pk}/board/", staff_only())
page(
    "experts:board",
    lambda w, s: f"/experts/actions/{s.action.pk}/board/?export=csv",
    staff_only(),
    variant="?export=csv",
    check=download,
)
single(
    "experts:invitations",
    "/experts/invitations/",
    expect(partner=403, expert=200, evaluator=403, staff=403),
)
# The signed link of side X's invitation was sent to X's expert: anyone else signed in is
# told it was sent to someone else (the link names nothing they can open).
page(
    "experts:invitation-link",
    lambda w, s: f"/experts/invitations/answer/{s.invitation_token}/",
    expect(partner=400, expert=Own(200, 400), evaluator=400, staff=400),
)
page(
    "experts:invitation-link",
    lambda w, s: f"/experts/invitations/answer/{s.invitation_token[:-2]}xx/",
    expect(partner=400, expert=400, evaluator=400, staff=400),
    variant="tampered",
)
page(
    "experts:invitation-link",
    lambda w, s: f"/experts/invitations/answer/{s.invitation_token}/",
    expect(partner=400, expert=Own(GO, 400), evaluator=400, staff=400),
    method="POST",
    variant="accept",
    data=lambda w, s: {"answer": "accept"},
)
DEPLOYMENT_LISTERS = {"partner": 200, "expert": 200, "evaluator": 403, "staff": 200}
single("experts:deployments", "/experts/deployments/", expect(**DEPLOYMENT_LISTERS))
single(
    "experts:deployments",
    "/experts/deployments/?export=csv",
    expect(**DEPLOYMENT_LISTERS),
    variant="?export=csv",
    check=rows_of(lambda s: s.action.reference),
)
MISSION_SEEN = {"partner": Own(200, 404), "expert": Own(200, 404), "evaluator": 404, "staff": 200}
page(
    "experts:deployment",
    lambda w, s: f"/experts/deployments/{s.mission.pk}/",
    expect(**MISSION_SEEN),
)
page(
    "experts:deployment",
    lambda w, s: f"/experts/deployments/{s.invitation.pk}/",
    # An invitation is not a mission yet: the partner does not see it.
    expect(partner=404, expert=Own(200, 404), evaluator=404, staff=200),
    variant="invitation",
)
page(
    "experts:report",
    lambda w, s: f"/experts/deployments/{s.mission.pk}/report/",
    expect(partner=Own(403, 404), expert=Own(200, 404), evaluator=404, staff=403),
)
page(
    "experts:report-attachment",
    lambda w, s: (
        f"/experts/deployments/{s.mission.pk}/report/attachments/{s.report_attachment.pk}/"
    ),
    expect(**MISSION_SEEN),
    check=download,
)
page(
    "experts:rate",
    lambda w, s: f"/experts/deployments/{s.mission.pk}/rate/",
    # Staff rate completed missions; this one is reported but not completed yet.
    expect(partner=Own(403, 404), expert=Own(403, 404), evaluator=404, staff=409),
    method="POST",
    data=lambda w, s: {"rating": "4", "note": ""},
)
post_only("experts:rate", lambda w, s: f"/experts/deployments/{s.mission.pk}/rate/")
page(
    "experts:deployment-transition",
    lambda w, s: f"/experts/deployments/{s.invitation.pk}/cancel/",
    expect(partner=404, expert=Own(NO, 404), evaluator=404, staff=GO),
    method="POST",
    variant="cancel",
    data=lambda w, s: {"text": "The activity moved."},
)
post_only(
    "experts:deployment-transition", lambda w, s: f"/experts/deployments/{s.invitation.pk}/cancel/"
)
page(
    "experts:action-experts",
    lambda w, s: f"/experts/actions/{s.action.pk}/experts/",
    expect(partner=Own(200, 404), expert=403, evaluator=403, staff=200),
)

# evaluations ------------------------------------------------------------------------------

EVAL_LISTERS = {"partner": 200, "expert": 403, "evaluator": 200, "staff": 200}
single("evaluations:home", "/evaluations/", expect(**EVAL_LISTERS))
single(
    "evaluations:home",
    "/evaluations/?export=csv",
    # The evaluator's home is "my evaluations", not a downloadable list.
    expect(partner=200, expert=403, evaluator=200, staff=200),
    variant="?export=csv",
    check=lambda r, w, role, side: (
        []
        if role.startswith("evaluator")
        else rows_of(lambda s: s.closed_action.reference)(r, w, role, side)
    ),
)
single("evaluations:indicators", "/evaluations/indicators/", expect(**EVAL_LISTERS))
single(
    "evaluations:indicators",
    "/evaluations/indicators/?export=csv",
    expect(**EVAL_LISTERS),
    variant="?export=csv",
    check=rows_of(lambda s: s.action.reference),
)
page(
    "evaluations:action", lambda w, s: f"/evaluations/actions/{s.action.pk}/", expect(**ACTION_SEEN)
)
# Staff and the assigned evaluator record; the partner sees the action but may not.
MONITOR = {"partner": Own(403, 404), "expert": 404, "evaluator": Own(GO, 404), "staff": GO}
MONITOR_CONFIRM = {
    "partner": Own(403, 404),
    "expert": 404,
    "evaluator": Own(200, 404),
    "staff": 200,
}
page(
    "evaluations:indicator-create",
    lambda w, s: f"/evaluations/actions/{s.action.pk}/indicators/new/",
    expect(**MONITOR),
    method="POST",
    data=lambda w, s: indicator_data("indicator-new"),
)
post_only(
    "evaluations:indicator-create",
    lambda w, s: f"/evaluations/actions/{s.action.pk}/indicators/new/",
)
page(
    "evaluations:indicator-update",
    lambda w, s: f"/evaluations/actions/{s.action.pk}/indicators/{s.indicator.pk}/",
    expect(**MONITOR),
    method="POST",
    data=lambda w, s: indicator_data(f"indicator-{s.indicator.pk}"),
)
post_only(
    "evaluations:indicator-update",
    lambda w, s: f"/evaluations/actions/{s.action.pk}/indicators/{s.indicator.pk}/",
)
page(
    "evaluations:indicator-delete",
    lambda w, s: f"/evaluations/actions/{s.action.pk}/indicators/{s.indicator.pk}/delete/",
    expect(**MONITOR_CONFIRM),
)
page(
    "evaluations:indicator-delete",
    lambda w, s: f"/evaluations/actions/{s.action.pk}/indicators/{s.indicator.pk}/delete/",
    # It has measurements: kept, for those who may delete indicators too.
    expect(partner=Own(403, 404), expert=404, evaluator=Own(NO, 404), staff=NO),
    method="POST",
)
page(
    "evaluations:measurement-create",
    lambda w, s: f"/evaluations/actions/{s.action.pk}/indicators/{s.indicator.pk}/measurements/",
    expect(**MONITOR),
    method="POST",
    data=lambda w, s: {
        f"measurement-{s.indicator.pk}-date": yesterday(),
        f"measurement-{s.indicator.pk}-value": "40",
    },
)
post_only(
    "evaluations:measurement-create",
    lambda w, s: f"/evaluations/actions/{s.action.pk}/indicators/{s.indicator.pk}/measurements/",
)
page(
    "evaluations:measurement-delete",
    lambda w, s: f"/evaluations/actions/{s.action.pk}/measurements/{s.measurement.pk}/delete/",
    expect(**MONITOR_CONFIRM),
)
page(
    "evaluations:measurement-delete",
    lambda w, s: f"/evaluations/actions/{s.action.pk}/measurements/{s.measurement.pk}/delete/",
    expect(**MONITOR),
    method="POST",
)
page(
    "evaluations:outcome-create",
    lambda w, s: f"/evaluations/actions/{s.action.pk}/outcomes/new/",
    expect(**MONITOR),
    method="POST",
    data=lambda w, s: {
        "outcome-new-level": "individual",
        "outcome-new-description": "Analysts use the new method.",
        "outcome-new-evidence": "Interviews",
        "outcome-new-date": yesterday(),
    },
)
post_only(
    "evaluations:outcome-create", lambda w, s: f"/evaluations/actions/{s.action.pk}/outcomes/new/"
)
page(
    "evaluations:outcome-delete",
    lambda w, s: f"/evaluations/actions/{s.action.pk}/outcomes/{s.outcome.pk}/delete/",
    expect(**MONITOR_CONFIRM),
)
page(
    "evaluations:outcome-delete",
    lambda w, s: f"/evaluations/actions/{s.action.pk}/outcomes/{s.outcome.pk}/delete/",
    expect(**MONITOR),
    method="POST",
)
page(
    "evaluations:participants",
    lambda w, s: f"/evaluations/actions/{s.action.pk}/activities/{s.activity.pk}/participants/",
    expect(**MONITOR),
    method="POST",
    data=lambda w, s: {
        f"participants-{s.activity.pk}-participants_women": "6",
        f"participants-{s.activity.pk}-participants_men": "5",
        f"participants-{s.activity.pk}-participants_other": "0",
    },
)
post_only(
    "evaluations:participants",
    lambda w, s: f"/evaluations/actions/{s.action.pk}/activities/{s.activity.pk}/participants/",
)
page(
    "evaluations:feedback-links",
    lambda w, s: f"/evaluations/actions/{s.action.pk}/activities/{s.activity.pk}/feedback-links/",
    # Feedback links are staff business.
    expect(partner=Own(403, 404), expert=404, evaluator=Own(403, 404), staff=GO),
    method="POST",
    data=lambda w, s: {f"links-{s.activity.pk}-count": "1"},
)
post_only(
    "evaluations:feedback-links",
    lambda w, s: f"/evaluations/actions/{s.action.pk}/activities/{s.activity.pk}/feedback-links/",
)
page(
    "evaluations:partner-feedback",
    lambda w, s: f"/evaluations/actions/{s.action.pk}/activities/{s.activity.pk}/feedback/",
    # The partner already gave its feedback on this activity: one answer each.
    expect(partner=Own(409, 404), expert=404, evaluator=Own(403, 404), staff=403),
    method="POST",
    data=lambda w, s: {f"feedback-{s.activity.pk}-satisfaction": "5"},
)
post_only(
    "evaluations:partner-feedback",
    lambda w, s: f"/evaluations/actions/{s.action.pk}/activities/{s.activity.pk}/feedback/",
)
page(
    "evaluations:evaluation",
    lambda w, s: f"/evaluations/actions/{s.action.pk}/evaluation/",
    # The partner reads the evaluation once it is submitted; this one is a draft.
    expect(partner=404, expert=404, evaluator=Own(200, 404), staff=200),
    variant="draft",
)
page(
    "evaluations:evaluation",
    lambda w, s: f"/evaluations/actions/{s.closed_action.pk}/evaluation/",
    expect(partner=Own(200, 404), expert=404, evaluator=Own(200, 404), staff=200),
    variant="submitted",
)
page(
    "evaluations:evaluation",
    lambda w, s: f"/evaluations/actions/{s.action.pk}/evaluation/",
    # A draft may be incomplete: the assigned evaluator's empty draft is saved.
    expect(partner=404, expert=404, evaluator=Own(GO, 404), staff=403),
    method="POST",
    variant="draft",
)
page(
    "evaluations:follow-up",
    lambda w, s: f"/evaluations/recommendations/{s.recommendation.pk}/follow-up/",
    expect(partner=Own(NO, 404), expert=404, evaluator=Own(NO, 404), staff=GO),
    method="POST",
)
post_only(
    "evaluations:follow-up",
    lambda w, s: f"/evaluations/recommendations/{s.recommendation.pk}/follow-up/",
)
page(
    "evaluations:measurement-evidence",
    lambda w, s: f"/evaluations/measurements/{s.measurement.pk}/evidence/",
    expect(**ACTION_SEEN),
    check=download,
)
page(
    "evaluations:outcome-evidence",
    lambda w, s: f"/evaluations/outcomes/{s.outcome.pk}/evidence/",
    expect(**ACTION_SEEN),
    check=download,
)
page(
    "evaluations:feedback-form",
    lambda w, s: f"/evaluations/feedback/{s.feedback_link.token}/",
    everyone(200),
)
page(
    "evaluations:feedback-form",
    lambda w, s: f"/evaluations/feedback/{s.feedback_link.token}/",
    everyone(GO),
    method="POST",
    data=lambda w, s: {"satisfaction": "5", "comments": "Useful."},
)
page(
    "evaluations:feedback-form",
    lambda w, s: f"/evaluations/feedback/{s.feedback_link.token}x/",
    everyone(404),
    variant="tampered",
)
# Not answered yet: the thanks page sends back to the form.
page(
    "evaluations:feedback-thanks",
    lambda w, s: f"/evaluations/feedback/{s.feedback_link.token}/thanks/",
    everyone(GO),
)
page(
    "evaluations:feedback-thanks",
    lambda w, s: f"/evaluations/feedback/{s.feedback_link.token}x/thanks/",
    everyone(404),
    variant="tampered",
)

# dashboard, portfolio, API schema -----------------------------------------------------------

single("dashboard:index", "/dashboard/", staff_only())
single(
    "dashboard:index",
    "/dashboard/?table=timeliness&export=csv",
    staff_only(),
    variant="?export=csv",
    check=download,
)
single("portfolio:index", "/portfolio/", everyone(200))
# A's partner agreed to publish its closed action; B's did not.
page(
    "portfolio:detail",
    lambda w, s: f"/portfolio/{s.closed_action.reference}/",
    everyone(Sides(200, 404)),
)
page(
    "portfolio:detail",
    lambda w, s: f"/portfolio/{s.action.reference}/",
    everyone(404),
    variant="running, unpublished",
)
single("schema", "/api/schema/", everyone(200))
single("api-docs", "/api/docs/", everyone(200))


# --- the Django admin ------------------------------------------------------------------------

# What the project's own admins refuse (has_*_permission), stated here so that a change to
# them shows; third-party admins are asked.
ADMIN_REFUSES = {
    "core.gcmobjective": {"add", "change", "delete"},
    "core.language": {"add", "change", "delete"},
    "core.transitionevent": {"add", "change", "delete"},
    "core.digest": {"add", "change", "delete"},
    "core.reminderlog": {"add", "change", "delete"},
    "core.auditentry": {"add", "change", "delete"},
    "accounts.country": {"add", "delete"},
    "accounts.invitation": {"add"},
    "core.notification": {"add"},
}
PROJECT_APPS = ("core", "accounts")


def _admin_refuses(model_admin: Any, superuser: Any) -> set[str]:
    label = model_admin.model._meta.label_lower
    if model_admin.model._meta.app_label in PROJECT_APPS:
        return ADMIN_REFUSES.get(label, set())
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = superuser
    refused = set()
    if not model_admin.has_add_permission(request):
        refused.add("add")
    if not model_admin.has_change_permission(request):
        refused.add("change")
    if not model_admin.has_delete_permission(request):
        refused.add("delete")
    return refused


def _admin_objects(world: World) -> dict[str, Any]:
    """One object of every model the admin shows (those the world lacks are made here,
    inside the world's transaction)."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    from django.contrib.auth.models import Group
    from django.contrib.contenttypes.models import ContentType
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice
    from rest_framework.authtoken.models import Token, TokenProxy

    from cbportal.core.models import Digest, NotificationPreference, ReminderLog

    admin_user = world.users["admin"]
    made = {
        Group: lambda: Group.objects.create(name="Reviewers"),
        TokenProxy: lambda: Token.objects.create(user=world.users["staff"]),
        AccessAttempt: lambda: AccessAttempt.objects.create(
            username="partner", ip_address="10.0.0.1", user_agent="test", failures_since_start=1
        ),
        AccessLog: lambda: AccessLog.objects.create(
            username="partner", ip_address="10.0.0.1", user_agent="test"
        ),
        AccessFailureLog: lambda: AccessFailureLog.objects.create(
            username="partner", ip_address="10.0.0.1", user_agent="test"
        ),
        TOTPDevice: lambda: TOTPDevice.objects.create(user=admin_user, name="phone"),
        StaticDevice: lambda: StaticDevice.objects.create(user=admin_user, name="backup"),
        Digest: lambda: Digest.objects.create(
            recipient=world.users["partner"], day=timezone.localdate()
        ),
        ReminderLog: lambda: ReminderLog.objects.create(
            reason="triage",
            content_type=ContentType.objects.get_for_model(world.sides["A"].submitted_request),
            object_id=world.sides["A"].submitted_request.pk,
            day=timezone.localdate(),
        ),
        NotificationPreference: lambda: NotificationPreference.objects.create(
            user=world.users["partner"], category=_configurable_category(), mode="digest"
        ),
    }
    objects: dict[str, Any] = {}
    for model in admin.site._registry:
        obj = model._default_manager.order_by("pk").first()
        if obj is None and model in made:
            made[model]()
            # Re-read through the model itself (a token's admin address is its user's id).
            obj = model._default_manager.order_by("pk").first()
        if obj is None:
            from cbportal.core.models import OrganisationNotificationDefault

            if model is OrganisationNotificationDefault:
                obj = model.objects.create(
                    organisation=world.sides["A"].organisation,
                    category=_configurable_category(),
                    mode="digest",
                    updated_by=admin_user,
                )
        assert obj is not None, f"no {model._meta.label} for the admin matrix"
        objects[model._meta.label_lower] = obj
    return objects


def _configurable_category() -> str:
    from cbportal.core.models import CONFIGURABLE_CATEGORIES

    return str(next(iter(CONFIGURABLE_CATEGORIES)))


def admin_pages(world: World, objects: dict[str, Any]) -> list[Page]:
    """Every admin pattern: anonymous visitors and every signed-in role but the
    administrator are sent to the admin's sign-in page; the administrator gets each page
    of each model, or the refusal its admin states."""
    from django.contrib.contenttypes.models import ContentType

    superuser = world.users["admin"]
    pages: list[Page] = []

    def add(
        name: str, path: str, admin_answer: Any, *, others: Any = ADMIN_LOGIN, **kw: Any
    ) -> None:
        pages.append(
            Page(
                name,
                lambda w, role, _p=path: _p,
                everyone(others) | {"admin": admin_answer},
                per_side=False,
                **kw,
            )
        )

    # The sign-in page shows its form to anyone who is not admin staff.
    add("admin:login", "/admin/login/", GO, others=200)
    # Signing out of the admin without being admin staff just leads to its index.
    add("admin:logout", "/admin/logout/", GO, others=GO, method="POST")
    add("admin:logout", "/admin/logout/", 405, others=GO, variant="(POST only)")
    add("admin:index", "/admin/", 200)
    add("admin:password_change", "/admin/password_change/", 200)
    add("admin:password_change_done", "/admin/password_change/done/", 200)
    # Without the field it completes, the autocomplete refuses.
    add("admin:autocomplete", "/admin/autocomplete/", 403)
    add("admin:jsi18n", "/admin/jsi18n/", 200)
    request = world.sides["A"].draft_request
    add(
        "admin:view_on_site",
        f"/admin/r/{ContentType.objects.get_for_model(request).pk}/{request.pk}/",
        GO,
    )
    for app_label in sorted({m._meta.app_label for m in admin.site._registry}):
        add(
            r"admin:app_list",
            f"/admin/{app_label}/",
            200,
            variant=app_label,
        )
    add(r"admin/(?P<url>.*)$", "/admin/no-such-page/", 404)
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        label = meta.label_lower
        base = f"/admin/{meta.app_label}/{meta.model_name}/"
        obj = objects[label]
        refused = _admin_refuses(model_admin, superuser)
        prefix = f"admin:{meta.app_label}_{meta.model_name}"
        add(f"{prefix}_changelist", base, 200)
        add(f"{prefix}_add", f"{base}add/", 403 if "add" in refused else 200)
        add(f"{prefix}_change", f"{base}{obj.pk}/change/", 200)
        add(f"{prefix}_history", f"{base}{obj.pk}/history/", 200)
        add(f"{prefix}_delete", f"{base}{obj.pk}/delete/", 403 if "delete" in refused else 200)
        # The bare object address moves on to its change page.
        add(f"admin/{meta.app_label}/{meta.model_name}/<path:object_id>/", f"{base}{obj.pk}/", GO)
        for extra in model_admin.get_urls():
            if (
                extra.name
                and extra.name.startswith("otp_totp_totpdevice_")
                and "pk" in str(extra.pattern)
            ):
                suffix = extra.name.removeprefix("otp_totp_totpdevice_")
                add(f"admin:{extra.name}", f"{base}{obj.pk}/{suffix}/", 200)
    user = world.users["partner"]
    add("admin:auth_user_password_change", f"/admin/accounts/user/{user.pk}/password/", 200)
    return pages


# --- running it ------------------------------------------------------------------------------


def outcome(response: Any, requested: str) -> str:
    """The cell code of one answer."""
    if response.status_code != 302:
        return str(response.status_code)
    location = response["Location"]
    for code, login_url in ((LOGIN, settings.LOGIN_URL), (ADMIN_LOGIN, "admin:login")):
        base = reverse(login_url)
        if location.startswith(f"{base}?"):
            nxt = parse_qs(urlsplit(location).query).get("next", [""])[0]
            return code if nxt == requested else f"{code} (next={nxt!r})"
    stored = list(get_messages(response.wsgi_request))
    refused = any(m.level >= message_levels.WARNING for m in stored)
    return NO if refused else GO


@dataclass
class Tally:
    cells: int = 0
    entries: set[str] = field(default_factory=set)


TALLY = Tally()


@pytest.fixture(scope="module")
def tally(world: World) -> Iterator[Tally]:
    yield TALLY
    out = Path(settings.BASE_DIR) / "test-results"
    out.mkdir(exist_ok=True)
    summary = {
        "url_patterns": len(_patterns()),
        "entries": len(TALLY.entries),
        "roles": len(ROLES),
        "sides": len(SIDES),
        "cells": TALLY.cells,
    }
    (out / "access-matrix-pages.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\naccess matrix (pages): {summary}")


@pytest.fixture(scope="module")
def admin_table(world: World, django_db_blocker: Any) -> list[Page]:
    with django_db_blocker.unblock():
        return admin_pages(world, _admin_objects(world))


def _request(entry: Page, world: World, role: str, side: str | None) -> tuple[str, list[str]]:
    user = world.users[role]
    cache.clear()
    with transaction.atomic():
        client = Client()
        if user is not None:
            client.force_login(user)
        if entry.prepare is not None:
            entry.prepare(world, user)
        target = world.sides[side] if side is not None else None
        path = entry.url(world, target) if entry.per_side else entry.url(world, role)
        if entry.method == "POST":
            data = entry.data(world, target) if entry.data is not None else {}
            response = client.post(path, data)
        else:
            response = client.get(path)
        got = outcome(response, path)
        problems = (
            entry.check(response, world, role, side)
            if (entry.check is not None and response.status_code == 200)
            else []
        )
        # Read a download to its end: the test client then closes it (and its file) with
        # request_finished detached. Calling close() here would fire close_old_connections,
        # which on PostgreSQL closes the connection in the middle of the transaction.
        body(response)
        transaction.set_rollback(True)
    return got, problems


def run(entry: Page, world: World) -> None:
    sides: tuple[str | None, ...] = SIDES if entry.per_side else (None,)
    lines, failed = [], False
    for role in ROLES:
        row = []
        for side in sides:
            wanted = str(resolve_cell(entry.expected[role], role, side))
            got, problems = _request(entry, world, role, side)
            TALLY.cells += 1
            ok = got == wanted and not problems
            failed |= not ok
            cell = wanted if got == wanted else f"{wanted} ≠ {got}"
            if problems:
                cell += " [" + "; ".join(problems) + "]"
            row.append(f"{'  ' if ok else '✗ '}{(side or '-')}: {cell}")
        lines.append(f"  {role:<11}" + "   ".join(f"{c:<26}" for c in row))
    TALLY.entries.add(entry.key)
    assert not failed, f"{entry.key}: expected ≠ got\n" + "\n".join(lines)


@pytest.mark.parametrize("entry", PAGES, ids=[p.key for p in PAGES])
def test_it_answers_each_role_as_expected(entry, world, tally, db):
    run(entry, world)


def test_the_admin_answers_each_role_as_expected(world, tally, admin_table, db):
    """The admin's patterns are known once the world exists (one object per model), so
    one test walks them all and lists every failing entry."""
    failures = []
    for entry in admin_table:
        try:
            run(entry, world)
        except AssertionError as exc:
            failures.append(str(exc))
    assert not failures, "\n\n".join(failures)


# --- completeness ------------------------------------------------------------------------------


def _patterns() -> list[str]:
    """Every URL pattern outside the API (its schema and docs are pages), by name — or by
    route for the admin's unnamed ones."""
    found: list[str] = []

    def walk(patterns: list[Any], namespace: str, prefix: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = (
                    f"{namespace}:{p.namespace}"
                    if namespace and p.namespace
                    else p.namespace or namespace
                )
                walk(p.url_patterns, ns or "", prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                route = prefix + str(p.pattern)
                if route.startswith("api/v1/"):
                    continue
                name = f"{namespace}:{p.name}" if namespace and p.name else p.name
                # Unnamed (the admin's per-model object address, its catch-all): the route.
                found.append(name or route)

    walk(get_resolver().url_patterns, "", "")
    return found


def test_every_page_has_an_expectation(world, admin_table):
    patterns = set(_patterns())
    covered = {p.name for p in PAGES} | {p.name for p in admin_table}
    missing = sorted(patterns - covered)
    stale = sorted(covered - patterns)
    assert not missing and not stale, (
        f"URL patterns without an expectation: {missing}\n"
        f"expectations whose pattern no longer exists: {stale}"
    )


def test_every_page_checks_every_role(world):
    incomplete = [p.key for p in PAGES if set(p.expected) != set(ROLES)]
    assert incomplete == []
    assert len({p.key for p in PAGES}) == len(PAGES), "two entries share a key"
