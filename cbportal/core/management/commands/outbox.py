"""``manage.py outbox``: what the email outbox holds, for people and for monitoring.

Counts notifications and daily digests by email status, splits the pending ones into due now,
waiting for a retry and held by a worker, gives the oldest pending email's age and lists the
most recent failures. ``--retry-failed`` puts every failed email back in the queue (what the
admin action does for a selection); ``--sweep`` queues what is due now (what beat does every
``NOTIFICATION_SWEEP_SECONDS``). The exit status is 1 when the oldest pending email is older
than ``NOTIFICATION_BACKLOG_WARNING_SECONDS``, so cron or a monitoring agent can alert on it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from cbportal.core import notifications
from cbportal.core.models import DeliveryStatus, Digest, Notification, OutboxEmail

RECENT_FAILURES = 10
RETRY_BATCH = 500

KINDS: tuple[tuple[str, type[OutboxEmail]], ...] = (
    ("notifications", Notification),
    ("digests", Digest),
)

# Rows of the text table: (label, key in each kind's counts).
TABLE_ROWS = (
    ("pending", DeliveryStatus.PENDING.value),
    ("  due now", "due"),
    ("  waiting for a retry", "waiting_for_retry"),
    ("  in flight (claimed)", "claimed"),
    ("waiting for the digest", DeliveryStatus.DIGEST.value),
    ("failed", DeliveryStatus.FAILED.value),
    ("sent", DeliveryStatus.SENT.value),
    ("not emailed", DeliveryStatus.SKIPPED.value),
)


def human_age(seconds: int) -> str:
    """``45 s``, ``12 min 5 s``, ``3 h 12 min``, ``2 d 4 h``: the largest unit and the next."""
    units = (("d", 86400), ("h", 3600), ("min", 60), ("s", 1))
    amounts = []
    rest = max(0, int(seconds))
    for name, size in units:
        amount, rest = divmod(rest, size)
        amounts.append((amount, name))
    for i, (amount, name) in enumerate(amounts):
        if amount:
            parts = [f"{amount} {name}"]
            if i + 1 < len(amounts) and amounts[i + 1][0]:
                parts.append(f"{amounts[i + 1][0]} {amounts[i + 1][1]}")
            return " ".join(parts)
    return "0 s"


def pending_breakdown(model: type[OutboxEmail], now: datetime) -> dict[str, int]:
    """Pending rows split into due now, waiting for their next attempt, and claimed by a
    worker that is still within ``NOTIFICATION_CLAIM_SECONDS`` (one query over the pending
    partial index). A stale claim counts as due: the sweep hands it to another worker."""
    free = notifications.claimable(now)
    counts = model._default_manager.filter(email_status=DeliveryStatus.PENDING).aggregate(
        total=Count("pk"),
        due=Count("pk", filter=free & Q(next_attempt_at__lte=now)),
        waiting_for_retry=Count("pk", filter=free & Q(next_attempt_at__gt=now)),
    )
    return {
        "due": counts["due"],
        "waiting_for_retry": counts["waiting_for_retry"],
        "claimed": counts["total"] - counts["due"] - counts["waiting_for_retry"],
    }


def recent_failures(limit: int = RECENT_FAILURES) -> list[dict[str, Any]]:
    """The ``limit`` failed emails (notifications and digests) whose last attempt was most
    recent. ``next_attempt_at`` is when that last attempt became due; no other column
    records it."""
    failed = {"email_status": DeliveryStatus.FAILED}
    order = ("-next_attempt_at", "-pk")
    sources: tuple[tuple[str, QuerySet[Any]], ...] = (
        ("notification", Notification.objects.filter(**failed).order_by(*order)),
        ("digest", Digest.objects.filter(**failed).order_by(*order)),
    )
    rows: list[dict[str, Any]] = []
    for kind, queryset in sources:
        for row in queryset.select_related("recipient")[:limit]:
            rows.append(
                {
                    "kind": kind,
                    "id": row.pk,
                    "recipient": row.recipient.username,
                    "email": row.recipient.email,
                    "event": getattr(row, "event", "digest"),
                    "attempts": row.attempts,
                    "last_error": row.last_error,
                    "created_at": row.created_at.isoformat(),
                    "last_attempt_due_at": row.next_attempt_at.isoformat(),
                }
            )
    rows.sort(key=lambda r: (r["last_attempt_due_at"], r["id"]), reverse=True)
    return rows[:limit]


def outbox_report(now: datetime | None = None) -> dict[str, Any]:
    """Everything the command prints, as JSON-serialisable data."""
    now = now or timezone.now()
    data = notifications.backlog(now)
    for kind, model in KINDS:
        data[kind].update(pending_breakdown(model, now))
    oldest = data["oldest_pending_seconds"]
    threshold = settings.NOTIFICATION_BACKLOG_WARNING_SECONDS
    data.update(
        {
            "generated_at": now.isoformat(),
            "oldest_pending_age": None if oldest is None else human_age(oldest),
            "warning_seconds": threshold,
            "status": "backlog" if oldest is not None and oldest > threshold else "ok",
            "recent_failures": recent_failures(),
        }
    )
    return data


def retry_all_failed() -> dict[str, int]:
    """Put every failed notification and digest back in the queue, in batches; each batch
    is queued once its transaction has committed. Returns how many of each were requeued."""
    requeued: dict[str, int] = {}
    for kind, model in KINDS:
        requeued[kind] = 0
        last = 0
        while True:
            ids = list(
                model._default_manager.filter(email_status=DeliveryStatus.FAILED, pk__gt=last)
                .order_by("pk")
                .values_list("pk", flat=True)[:RETRY_BATCH]
            )
            if not ids:
                break
            last = ids[-1]
            requeued[kind] += notifications.retry_failed(ids, model)
    return requeued


class Command(BaseCommand):
    help = (
        "Show the email outbox: counts by status, the oldest pending email and the latest "
        "failures. Exits with status 1 when the oldest pending email is older than "
        "NOTIFICATION_BACKLOG_WARNING_SECONDS."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")
        parser.add_argument(
            "--retry-failed",
            action="store_true",
            help="First put every failed notification and digest back in the queue.",
        )
        parser.add_argument(
            "--sweep",
            action="store_true",
            help="First queue every email that is due now (what beat does periodically).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actions: dict[str, Any] = {}
        if options["retry_failed"]:
            actions["retried"] = retry_all_failed()
        if options["sweep"]:
            actions["queued"] = notifications.sweep()
        report = outbox_report()
        if actions:
            report["actions"] = actions
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2))
        else:
            self._write_text(report)
        if report["status"] == "backlog":
            raise CommandError(
                f"The oldest pending email waits for {report['oldest_pending_age']}, more than "
                f"NOTIFICATION_BACKLOG_WARNING_SECONDS ({report['warning_seconds']} s).",
                returncode=1,
            )

    def _write_text(self, report: dict[str, Any]) -> None:
        write = self.stdout.write
        actions = report.get("actions", {})
        if "retried" in actions:
            retried = actions["retried"]
            write(
                f"Requeued {retried['notifications']} failed notification(s) and "
                f"{retried['digests']} failed digest(s)."
            )
        if "queued" in actions:
            write(f"Queued {actions['queued']} due email(s).")
        if actions:
            write("")

        at = timezone.localtime(datetime.fromisoformat(report["generated_at"]))
        write(f"Email outbox at {at:%Y-%m-%d %H:%M:%S %Z}")
        write("")
        write(f"{'':<24}{'notifications':>15}{'digests':>10}")
        for label, key in TABLE_ROWS:
            digests = "-" if key == DeliveryStatus.DIGEST else report["digests"][key]
            write(f"{label:<24}{report['notifications'][key]:>15}{digests:>10}")
        write("")

        threshold = human_age(report["warning_seconds"])
        if report["oldest_pending_age"] is None:
            write(f"Oldest pending email: none (warning after {threshold}).")
        elif report["status"] == "backlog":
            write(
                self.style.ERROR(
                    f"Oldest pending email: {report['oldest_pending_age']} — BACKLOG "
                    f"(warning after {threshold})."
                )
            )
        else:
            write(
                f"Oldest pending email: {report['oldest_pending_age']} (warning after {threshold})."
            )
        write("")

        failures = report["recent_failures"]
        if not failures:
            write("No failed emails.")
            return
        write(self.style.WARNING(f"Most recent failures (at most {RECENT_FAILURES}):"))
        for row in failures:
            error = " ".join(row["last_error"].split())
            if len(error) > 100:
                error = error[:99] + "…"
            write(
                f"  {row['kind']} {row['id']}  {row['email'] or row['recipient']}  "
                f"{row['event']}  {row['attempts']} attempt(s)  {error}"
            )
