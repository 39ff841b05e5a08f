"""Home pages per role, notifications and their preferences, the staff email delivery page,
the staff audit log, health check and error pages."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Count, QuerySet
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseBase,
    HttpResponseRedirect,
    HttpResponseServerError,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.template import loader
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from cbportal.accounts.permissions import is_staff
from cbportal.core import audit, selectors, services
from cbportal.core import notifications as outbox_delivery
from cbportal.core.errors import ApplicationError
from cbportal.core.exports import Column, download_format, export_response
from cbportal.core.forms import (
    AuditFilterForm,
    DeliveryModesForm,
    OrganisationChoiceForm,
    OutboxFilterForm,
    OutboxRetryForm,
    apply_errors,
)
from cbportal.core.models import (
    AuditEntry,
    DeliveryStatus,
    Digest,
    Notification,
)
from cbportal.core.pagination import EstimatingPaginator

logger = logging.getLogger(__name__)

HOME_TEMPLATES = {
    "partner": "core/home_partner.html",
    "staff": "core/home_staff.html",
    "expert": "core/home_expert.html",
    "evaluator": "core/home_evaluator.html",
}


def home(request: HttpRequest) -> HttpResponse:
    """The public landing page, or the signed-in user's role home page."""
    user: Any = request.user
    if not user.is_authenticated:
        return render(request, "core/landing.html")
    template = HOME_TEMPLATES.get(user.role, "core/home_staff.html")
    context: dict[str, Any] = {"recent_notifications": selectors.notifications_for(user)[:5]}
    context.update(_home_blocks(user))
    return render(request, template, context)


def _home_blocks(user: Any) -> dict[str, Any]:
    """The few rows each role's home page previews (each list is bounded)."""
    from requests_app import selectors as requests
    from requests_app.sla import triage_sla

    blocks: dict[str, Any] = {}
    if user.role == "partner":
        blocks["my_requests"] = list(requests.request_list(user).order_by("-created_at", "-id")[:5])
        blocks["assessments_to_review"] = list(requests.partner_assessments_to_review(user)[:5])
    elif is_staff(user):
        queue = list(requests.triage_queue(user)[:5])
        blocks["triage"] = [(r, triage_sla(r)) for r in queue]
    elif user.role == "expert":
        blocks.update(_expert_home_blocks(user))
    from actions import selectors as actions

    if user.role in ("partner", "evaluator"):
        blocks["my_actions"] = list(actions.actions_for(user).order_by("-created_at", "-id")[:5])
    elif is_staff(user):
        blocks["my_actions"] = list(
            actions.action_list(user)
            .exclude(status__in=["closed", "cancelled"])
            .order_by("-updated_at")[:5]
        )
        if user.is_approver:
            pending_actions, pending_amendments = actions.approval_queue(user)
            blocks["approvals"] = list(pending_actions[:5])
            blocks["amendment_approvals"] = list(pending_amendments[:5])
    if user.role == "evaluator":
        from evaluations import selectors as evaluations

        blocks["my_evaluations"] = list(evaluations.evaluator_home(user)[:5])
    return blocks


def _expert_home_blocks(user: Any) -> dict[str, Any]:
    """The expert's open invitations, upcoming missions and reports due (a few of each)."""
    from django.utils import timezone

    from experts import selectors as experts
    from experts.models import DeploymentStatus

    today = timezone.localdate()
    confirmed = experts.deployment_list(user).filter(
        expert__user=user, status=DeploymentStatus.CONFIRMED
    )
    return {
        "expert_profile": experts.own_profile(user),
        "open_invitations": list(experts.invitations_for(user)[:5]),
        "upcoming_missions": list(
            confirmed.filter(end_date__gte=today).order_by("start_date", "id")[:5]
        ),
        "reports_due": list(
            confirmed.filter(start_date__lte=today, report__isnull=True).order_by("end_date", "id")[
                :5
            ]
        ),
    }


@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    qs = selectors.notifications_for(request.user)
    only_unread = request.GET.get("unread") == "1"
    if only_unread:
        qs = qs.filter(read_at__isnull=True)
    page = EstimatingPaginator(qs, 25).get_page(request.GET.get("page"))
    return render(request, "core/notifications.html", {"page": page, "only_unread": only_unread})


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one notification read, then follow its link (or go back to the list)."""
    notification = get_object_or_404(Notification, pk=pk, recipient=request.user)
    services.notification_mark_read(notification_id=notification.pk, by=request.user)
    target = notification.url if request.POST.get("open") == "1" else None
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return HttpResponseRedirect(target)
    return redirect("core:notifications")


@login_required
@require_POST
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    count = services.notification_mark_all_read(by=request.user)
    messages.success(
        request,
        ngettext(
            "%(count)d notification marked as read.",
            "%(count)d notifications marked as read.",
            count,
        )
        % {"count": count},
    )
    return redirect("core:notifications")


def _check_broker() -> str:
    from cbportal.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return "ok"


def _outbox_health() -> dict[str, Any]:
    """The email outbox for /healthz: totals over notifications and digests."""
    data = outbox_delivery.health()
    kinds = ("notifications", "digests")
    return {
        "pending": sum(data[k][DeliveryStatus.PENDING] for k in kinds),
        "failed": sum(data[k][DeliveryStatus.FAILED] for k in kinds),
        "oldest_pending_seconds": data["oldest_pending_seconds"],
        "status": "backlog" if data["late"] else "ok",
    }


@never_cache
@require_safe
def livez(request: HttpRequest) -> JsonResponse:
    """Liveness alone: the process answers, through the whole middleware stack, touching
    neither the database nor the broker. An orchestrator restarts web when this fails;
    /healthz (readiness) says whether it can serve, and restarting web would not mend a
    database that is down. The HTTP benchmark's ceiling (bench/web.py) is this view."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and readiness: the database answers and, when configured, the broker (503
    when either does not). The ``outbox`` section reports the email backlog but never makes
    the answer a 503: restarting web would not deliver a single email (a worker, beat or
    the SMTP server would; see docs/operations.md)."""
    checks: dict[str, str] = {}
    healthy = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        checks["database"] = "ok"
    except Exception as exc:
        logger.warning("healthz: database check failed: %s", exc)
        checks["database"] = "error"
        healthy = False
    if settings.REDIS_URL:
        try:
            checks["broker"] = _check_broker()
        except Exception as exc:
            logger.warning("healthz: broker check failed: %s", exc)
            checks["broker"] = "error"
            healthy = False
    else:
        checks["broker"] = "not configured (tasks run eagerly)"
    outbox: dict[str, Any] = {
        "pending": None,
        "failed": None,
        "oldest_pending_seconds": None,
        "status": "error",
    }
    if checks["database"] == "ok":
        try:
            outbox = _outbox_health()
        except Exception as exc:
            logger.warning("healthz: outbox check failed: %s", exc)
    return JsonResponse(
        {"status": "ok" if healthy else "error", "checks": checks, "outbox": outbox},
        status=200 if healthy else 503,
    )


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse(
            {
                "type": "client_error",
                "errors": [{"code": "not_found", "detail": _("Not found."), "attr": None}],
            },
            status=404,
        )
    return render(request, "404.html", status=404)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "403.html", status=403)


def server_error(request: HttpRequest) -> HttpResponse:
    # No request context: the page must render even when the database is what failed.
    return HttpResponseServerError(loader.render_to_string("500.html"))


@login_required
def notification_preferences(request: HttpRequest) -> HttpResponse:
    """The user chooses, per category, immediate email, a daily digest or in-app only."""
    rows = selectors.notification_preferences(request.user)
    form = DeliveryModesForm(
        request.POST or None,
        defaults={r["category"]: r["default_label"] for r in rows},
        initial_modes={r["category"]: r["mode"] for r in rows},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.notification_preferences_set(user=request.user, modes=form.modes())
        except ApplicationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Your notification preferences are saved."))
            return redirect("core:notification-preferences")
    return render(
        request,
        "core/notification_preferences.html",
        {"form": form, "rows": rows},
        status=400 if form.errors else 200,
    )


@login_required
def organisation_notification_defaults(request: HttpRequest) -> HttpResponse:
    """Programme staff set an organisation's defaults (its members' own choices win)."""
    if not is_staff(request.user):
        raise PermissionDenied
    chooser = OrganisationChoiceForm(request.GET or None)
    organisation = chooser.cleaned_data["organisation"] if chooser.is_valid() else None
    form = None
    if organisation is not None:
        rows = selectors.organisation_notification_defaults(organisation)
        form = DeliveryModesForm(
            request.POST or None,
            defaults={r["category"]: r["default_label"] for r in rows},
            initial_modes={r["category"]: r["mode"] for r in rows},
        )
        if request.method == "POST" and form.is_valid():
            try:
                services.organisation_notification_defaults_set(
                    organisation=organisation, modes=form.modes(), by=request.user
                )
            except ApplicationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("Notification defaults saved for %(organisation)s.")
                    % {"organisation": organisation},
                )
                return redirect(f"{request.path}?organisation={organisation.pk}")
    elif request.method == "POST":
        return HttpResponseBadRequest(_("Choose an organisation first."))
    invalid = bool(chooser.errors) or bool(form is not None and form.errors)
    return render(
        request,
        "core/organisation_notification_defaults.html",
        {"chooser": chooser, "organisation": organisation, "form": form},
        status=400 if invalid else 200,
    )


OUTBOX_PAGE_SIZE = 25


def _outbox_rows(form: OutboxFilterForm) -> QuerySet[Any]:
    """Every user's notifications (or daily digests), newest first, narrowed by the filters;
    one query per page whatever the number of rows."""
    if form.shows == OutboxFilterForm.DIGESTS:
        digests = Digest.objects.select_related("recipient").annotate(items=Count("notifications"))
        return form.filter(digests).order_by("-created_at", "-id")
    rows = Notification.objects.select_related("recipient", "digest")
    return form.filter(rows).order_by("-created_at", "-id")


def _outbox_summary() -> dict[str, Any]:
    data = outbox_delivery.health()
    seconds = data["oldest_pending_seconds"]
    return {
        "pending_notifications": data["notifications"][DeliveryStatus.PENDING],
        "pending_digests": data["digests"][DeliveryStatus.PENDING],
        "failed_notifications": data["notifications"][DeliveryStatus.FAILED],
        "failed_digests": data["digests"][DeliveryStatus.FAILED],
        "oldest_pending": None if seconds is None else timezone.now() - timedelta(seconds=seconds),
        "backlog_late": data["late"],
    }


@login_required
@require_safe
def outbox(request: HttpRequest) -> HttpResponse:
    """Programme staff follow email delivery: each notification's (or digest's) email
    status, attempts and last error, the backlog, and a retry for failed emails."""
    if not is_staff(request.user):
        raise PermissionDenied
    form = OutboxFilterForm(request.GET or None)
    valid = not form.is_bound or form.is_valid()
    page = (
        EstimatingPaginator(_outbox_rows(form), OUTBOX_PAGE_SIZE).get_page(request.GET.get("page"))
        if valid
        else None
    )
    failed_ids = (
        [row.pk for row in page.object_list if row.email_status == DeliveryStatus.FAILED]
        if page is not None
        else []
    )
    return render(
        request,
        "core/outbox.html",
        {
            "form": form,
            "shows": form.shows,
            "page": page,
            "failed_ids": failed_ids,
            "filtered": any(
                request.GET.get(name) for name in form.fields if name not in ("kind", "page")
            ),
            "summary": _outbox_summary(),
        },
        status=200 if valid else 400,
    )


def _outbox_retry(*, kind: str, ids: list[int], by: Any) -> int:
    """Put the chosen failed emails back in the queue; rows no longer failed are left alone."""
    model = Digest if kind == OutboxFilterForm.DIGESTS else Notification
    count = outbox_delivery.retry_failed(ids, model=model)
    logger.info("%s put %d failed %s back in the queue", by, count, kind)
    return count


@login_required
@require_POST
def outbox_retry(request: HttpRequest) -> HttpResponse:
    """Retry one failed email, or every failed one shown, then go back to the same list."""
    if not is_staff(request.user):
        raise PermissionDenied
    form = OutboxRetryForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(_("Choose the failed emails to send again."))
    count = _outbox_retry(
        kind=form.cleaned_data["kind"], ids=form.cleaned_data["ids"], by=request.user
    )
    if count:
        messages.success(
            request,
            ngettext(
                "%(count)d email queued to be sent again.",
                "%(count)d emails queued to be sent again.",
                count,
            )
            % {"count": count},
        )
    else:
        messages.warning(
            request,
            _("None of these emails is failed any more; someone may have retried them already."),
        )
    query = request.GET.urlencode()
    return redirect(f"{reverse('core:outbox')}?{query}" if query else reverse("core:outbox"))


# --- the audit log ----------------------------------------------------------------------

AUDIT_PAGE_SIZE = 50


def _audit_link(entry: AuditEntry, user: Any) -> str:
    """Where the row's object opens, for this viewer: the object's page (staff see every
    object that has a workflow), an account's admin page for administrators; else none."""
    target = entry.target  # prefetched: no query
    if target is None:
        return ""
    if isinstance(target, get_user_model()):
        if user.is_superuser:
            return reverse("admin:accounts_user_change", args=[target.pk])
        return ""
    get_url = getattr(target, "get_absolute_url", None)
    return str(get_url()) if get_url is not None else ""


def _audit_object_type(entry: AuditEntry) -> str:
    if entry.content_type is None:
        return ""
    model = entry.content_type.model_class()
    name = str(model._meta.verbose_name) if model is not None else entry.content_type.model
    return name[:1].upper() + name[1:]


def _audit_rows(entries: Any, user: Any) -> list[dict[str, Any]]:
    return [
        {
            "entry": entry,
            "object_type": _audit_object_type(entry),
            "link": _audit_link(entry, user),
            "lines": audit.detail_lines(entry),
        }
        for entry in entries
    ]


AUDIT_COLUMNS = [
    Column(_lazy("Time"), "created_at"),
    Column(_lazy("Who"), "actor_name"),
    Column(_lazy("Username"), lambda e: e.actor.username if e.actor is not None else ""),
    Column(_lazy("What"), "get_kind_display"),
    Column(_lazy("Object type"), _audit_object_type),
    Column(_lazy("Object"), "target_repr"),
    Column(_lazy("Object id"), "object_id"),
    Column(
        _lazy("Details"),
        lambda e: "; ".join(f"{label}: {value}" for label, value in audit.detail_lines(e)),
    ),
]


@login_required
@require_safe
def audit_log(request: HttpRequest) -> HttpResponseBase:
    """Programme staff (approvers included) browse the audit log, filtered; nobody can
    change it here or anywhere. ``?export=csv|xlsx`` downloads the filtered log (and that
    download is audited too). Anyone else gets a 403, as on the other staff pages (the API
    answers 403 to the list and 404 to one entry, which is an object)."""
    user: Any = request.user
    if not is_staff(user):
        raise PermissionDenied
    form = AuditFilterForm(request.GET or None)
    valid = not form.is_bound or form.is_valid()
    fmt, refused = download_format(request)
    entries = selectors.audit_entries(**form.filters()) if valid else None
    if entries is not None and fmt is not None:
        return export_response(
            entries, AUDIT_COLUMNS, fmt=fmt, filename=_("audit log"), request=request
        )
    page = (
        EstimatingPaginator(entries.prefetch_related("target"), AUDIT_PAGE_SIZE).get_page(
            request.GET.get("page")
        )
        if entries is not None
        else None
    )
    return render(
        request,
        "core/audit.html",
        {
            "form": form,
            "page": page,
            "rows": _audit_rows(page.object_list, user) if page is not None else [],
            "filtered": bool(form.is_bound and valid and form.filters()),
        },
        status=200 if valid and not refused else 400,
    )
