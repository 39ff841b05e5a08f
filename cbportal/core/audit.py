"""The audit log: who did which security-relevant thing, when, with what details.

Every write goes through ``audit_record`` (or a helper below that builds its details),
called by the service that makes the change, inside its transaction: workflow transitions
(``core.services.record_transition``, vetting decisions included), account and permission
changes (invitations, the Django admin's user pages, two-factor devices), evaluator
assignments (``actions.services.action_update``), every data export and the erasure of an
expert's personal data. Rows are never changed or deleted afterwards (``ImmutableRecord``;
on PostgreSQL a trigger too, migration ``core.0006``); the two deliberate exceptions switch
the trigger on for their own transaction only (``allow_erasure``, ``allow_demo_history``).

What an entry's ``details`` mean is read back, translated, by ``detail_lines``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sized
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import connection, models
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from cbportal.core.models import AuditEntry, AuditKind, TransitionEvent

# Account fields that decide what someone may do (the organisation has its own kind).
PERMISSION_FIELDS = ("role", "is_approver", "is_staff", "is_superuser", "groups", "permissions")


def _actor_name(by: Any) -> str:
    return by.display_name if by is not None else "system"


def describe(obj: models.Model) -> str:
    """A reference to search the log by, read without a query: the object's own
    ``reference`` (``REQ-2026-0001``), else that of a loaded parent (an amendment, a
    deployment or an evaluation is found under its action's), else a username."""
    queue: list[models.Model] = [obj]
    visited: set[int] = set()
    while queue and len(visited) < 20:
        current = queue.pop(0)
        if id(current) in visited:
            continue
        visited.add(id(current))
        reference = getattr(current, "reference", None)
        if isinstance(reference, str) and reference:
            return reference
        for field in current._meta.concrete_fields:
            to_one = field.many_to_one or field.one_to_one
            if to_one and field.is_cached(current):  # type: ignore[attr-defined]
                parent = field.get_cached_value(current)  # type: ignore[attr-defined]
                if parent is not None:
                    queue.append(parent)
    username = getattr(obj, "username", None)
    return str(username) if username else ""


def audit_record(
    *,
    kind: str,
    by: Any,
    target: models.Model | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one audit entry. ``by`` is the acting user (None for the system);
    ``target`` the object concerned, if there is one (a list export has none)."""
    if kind not in AuditKind.values:
        raise ValueError(f"unknown audit kind {kind!r}")
    return AuditEntry.objects.create(
        kind=kind,
        actor=by,
        actor_name=_actor_name(by),
        content_type=ContentType.objects.get_for_model(target) if target is not None else None,
        object_id=target.pk if target is not None else None,
        target_repr=describe(target)[:200] if target is not None else "",
        details=details or {},
    )


def audit_transition(
    event: TransitionEvent, *, obj: models.Model, kind: str = AuditKind.TRANSITION
) -> AuditEntry:
    """The audit entry of a transition just recorded as ``event``."""
    return audit_record(
        kind=kind,
        by=event.actor,
        target=obj,
        details={
            "transition": event.transition,
            "from": event.from_state,
            "to": event.to_state,
            "comment": event.comment,
            "event": event.pk,
        },
    )


# --- accounts ---------------------------------------------------------------------------


def _organisation(user: Any) -> dict[str, Any] | None:
    if user.organisation_id is None:
        return None
    return {"id": user.organisation_id, "name": str(user.organisation)}


def user_snapshot(user: Any) -> dict[str, Any]:
    """What decides a user's access, as stored now (compare two to audit a change)."""
    return {
        "role": user.role,
        "is_approver": user.is_approver,
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
        "is_active": user.is_active,
        "organisation": _organisation(user),
        "groups": sorted(user.groups.values_list("name", flat=True)) if user.pk else [],
        "permissions": sorted(
            f"{app}.{codename}"
            for app, codename in user.user_permissions.values_list(
                "content_type__app_label", "codename"
            )
        )
        if user.pk
        else [],
    }


def audit_account_created(*, user: Any, by: Any, how: str) -> AuditEntry:
    """A new account (``how``: ``invitation`` or ``administration``) and its access."""
    return audit_record(
        kind=AuditKind.ACCOUNT_CREATED,
        by=by,
        target=user,
        details={"how": how, **user_snapshot(user)},
    )


def audit_user_change(*, user: Any, before: dict[str, Any], by: Any) -> list[AuditEntry]:
    """Compare ``user`` with ``before`` (a ``user_snapshot`` of the stored row) and audit
    what changed: role and permissions, organisation, active flag (one entry each)."""
    after = user_snapshot(user)
    entries = []
    changes = {
        name: [before[name], after[name]]
        for name in PERMISSION_FIELDS
        if before[name] != after[name]
    }
    if changes:
        entries.append(
            audit_record(kind=AuditKind.ROLE, by=by, target=user, details={"changes": changes})
        )
    if before["organisation"] != after["organisation"]:
        entries.append(
            audit_record(
                kind=AuditKind.ORGANISATION,
                by=by,
                target=user,
                details={"before": before["organisation"], "after": after["organisation"]},
            )
        )
    if before["is_active"] != after["is_active"]:
        entries.append(
            audit_record(
                kind=AuditKind.ACCOUNT_STATUS,
                by=by,
                target=user,
                details={"is_active": [before["is_active"], after["is_active"]]},
            )
        )
    return entries


def audit_account_deleted(*, user: Any, by: Any) -> AuditEntry:
    """Written before the row goes: the entry keeps the username and the access it had."""
    return audit_record(
        kind=AuditKind.ACCOUNT_DELETED, by=by, target=user, details=user_snapshot(user)
    )


def _people(users: Iterable[Any]) -> list[dict[str, Any]]:
    return [{"id": u.pk, "name": u.display_name} for u in sorted(users, key=lambda u: u.pk)]


def audit_evaluators(*, action: Any, before: Iterable[Any], after: Iterable[Any], by: Any) -> None:
    """The evaluators assigned to ``action`` changed from ``before`` to ``after`` (nothing
    is written when they did not)."""
    old = {u.pk: u for u in before}
    new = {u.pk: u for u in after}
    added = [u for pk, u in new.items() if pk not in old]
    removed = [u for pk, u in old.items() if pk not in new]
    if added or removed:
        audit_record(
            kind=AuditKind.EVALUATORS,
            by=by,
            target=action,
            details={"added": _people(added), "removed": _people(removed)},
        )


# --- exports ----------------------------------------------------------------------------


def audit_export(
    request: Any, *, fmt: str, rows: Any = None, target: models.Model | None = None
) -> AuditEntry:
    """A download is about to be sent: which list or document (the URL name), in which
    format, with which filters (the query string), and how many rows when that is known
    without counting (a queryset is not counted: that would be one more full query)."""
    match = getattr(request, "resolver_match", None)
    query = {key: values[0] if len(values) == 1 else values for key, values in request.GET.lists()}
    details: dict[str, Any] = {
        "export": match.view_name if match is not None else "",
        "path": request.path,
        "format": fmt,
        "query": query,
    }
    if isinstance(rows, Sized) and not isinstance(rows, QuerySet):
        details["rows"] = len(rows)
    return audit_record(kind=AuditKind.EXPORT, by=request.user, target=target, details=details)


# --- the two deliberate rewrites --------------------------------------------------------


def _set_local(name: str) -> None:
    # A transaction-local setting the PostgreSQL trigger reads; SQLite has no trigger.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, 'on', true)", [name])


def allow_erasure() -> None:
    """For the rest of the current transaction the trigger lets the names, comments and
    details of history rows be blanked (the right to erasure), nothing else."""
    _set_local("cbportal.erasure")


def allow_demo_history() -> None:
    """For the rest of the current transaction the trigger lets the times of history rows
    be moved (the demo data spreads its timelines over a year), nothing else."""
    _set_local("cbportal.demo_history")


def erase_person(*, expert: Any, user: Any, by: Any) -> AuditEntry:
    """The erasure of an expert's personal data reaches the audit log as it reaches the
    transition log: the expert's name (as actor and as the object's reference) and the
    words of comments about them or by them go; what happened, when, stays. Then the
    erasure itself is recorded. Call inside the erasure's transaction, after the account
    was renamed."""
    allow_erasure()
    expert_type = ContentType.objects.get_for_model(expert)
    touched = models.Q(content_type=expert_type, object_id=expert.pk)
    if user is not None:
        AuditEntry.objects.filter(actor=user).update(actor_name=str(expert.full_name))
        user_type = ContentType.objects.get_for_model(user)
        AuditEntry.objects.filter(content_type=user_type, object_id=user.pk).update(
            target_repr=user.username
        )
        touched |= models.Q(actor=user)
    for entry in AuditEntry.objects.filter(touched, details__has_key="comment"):
        details = {**entry.details, "comment": ""}
        AuditEntry.objects.filter(pk=entry.pk).update(details=details)
    return audit_record(kind=AuditKind.ERASURE, by=by, target=expert)


# --- reading ----------------------------------------------------------------------------


def _yes_no(value: Any) -> str:
    return _("yes") if value else _("no")


def _field_value(name: str, value: Any) -> str:
    from cbportal.accounts.models import Role

    if name == "role":
        try:
            return str(Role(value).label)
        except ValueError:
            return str(value)
    if isinstance(value, bool):
        return _yes_no(value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    if isinstance(value, dict):
        return str(value.get("name", ""))
    return "—" if value in (None, "") else str(value)


def _field_label(name: str) -> str:
    labels = {
        "role": _("Role"),
        "is_approver": _("Approver"),
        "is_staff": _("Django administration access"),
        "is_superuser": _("Administrator"),
        "is_active": _("Active"),
        "organisation": _("Organisation"),
        "groups": _("Groups"),
        "permissions": _("Permissions"),
    }
    return labels.get(name, name)


def _names(people: Any) -> str:
    return ", ".join(str(p.get("name", p.get("id"))) for p in people or []) or "—"


def _workflow_for(entry: AuditEntry) -> Any:
    from cbportal.core.workflow import REGISTRY

    if entry.content_type is None:
        return None
    model = entry.content_type.model_class()
    if model is None:
        return None
    return REGISTRY.get(f"{model._meta.app_label}.{model.__name__}")


def detail_lines(entry: AuditEntry) -> list[tuple[str, str]]:
    """An entry's details as (label, value) lines in the current language, for the page
    and the CSV download."""
    d = entry.details or {}
    kind = entry.kind
    if kind in (AuditKind.TRANSITION, AuditKind.VETTING):
        workflow = _workflow_for(entry)
        name = str(d.get("transition", ""))
        label = name
        if workflow is not None and name in workflow.transitions:
            label = workflow.get(name).display_label

        def state(value: Any) -> str:
            return workflow.state_label(str(value)) if workflow else str(value)

        lines = [
            (_("Transition"), label),
            (_("From"), state(d.get("from", ""))),
            (_("To"), state(d.get("to", ""))),
        ]
        if d.get("comment"):
            lines.append((_("Comment"), str(d["comment"])))
        return lines
    if kind == AuditKind.ROLE:
        return [
            (_field_label(name), f"{_field_value(name, b)} → {_field_value(name, a)}")
            for name, (b, a) in (d.get("changes") or {}).items()
        ]
    if kind == AuditKind.ORGANISATION:
        return [
            (
                _("Organisation"),
                f"{_field_value('organisation', d.get('before'))} → "
                f"{_field_value('organisation', d.get('after'))}",
            )
        ]
    if kind == AuditKind.ACCOUNT_STATUS:
        before, after = d.get("is_active", [None, None])
        return [(_("Active"), f"{_yes_no(before)} → {_yes_no(after)}")]
    if kind == AuditKind.EVALUATORS:
        return [(_("Added"), _names(d.get("added"))), (_("Removed"), _names(d.get("removed")))]
    if kind == AuditKind.EXPORT:
        lines = [(_("Format"), str(d.get("format", "")).upper())]
        if d.get("export"):
            lines.append((_("Download"), str(d["export"])))
        query = d.get("query") or {}
        if query:
            lines.append(
                (_("Filters"), "; ".join(f"{k}={_field_value(k, v)}" for k, v in query.items()))
            )
        if "rows" in d:
            lines.append((_("Rows"), str(d["rows"])))
        return lines
    if kind == AuditKind.TWO_FACTOR:
        changes = {
            "enabled": _("turned on"),
            "replaced": _("new authenticator app"),
            "disabled": _("turned off"),
        }
        return [(_("Two-factor authentication"), str(changes.get(d.get("change", ""), "")))]
    if kind in (AuditKind.ACCOUNT_CREATED, AuditKind.ACCOUNT_DELETED):
        lines = []
        if d.get("how") == "invitation":
            lines.append((_("How"), _("by invitation")))
        elif d.get("how") == "administration":
            lines.append((_("How"), _("in the Django administration")))
        for name in ("role", "organisation", "is_approver", "is_staff", "is_superuser"):
            if name in d and (name in ("role", "organisation") or d[name]):
                lines.append((_field_label(name), _field_value(name, d[name])))
        return lines
    return []
