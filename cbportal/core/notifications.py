"""Notifications through one outbox.

``notify_on_commit(event, obj, recipients)`` writes one ``Notification`` row per recipient
inside the caller's transaction (the in-app notification *and* the email's outbox row) and,
once the transaction commits, queues one Celery task per row. If the broker is down, the
rows stay pending and ``sweep`` (Celery beat) queues them later; if the transaction rolls
back, nothing was written and nothing is queued.

``deliver(notification_id)`` claims the row with a conditional UPDATE, so two workers that
receive the same id never both send it, renders the email in the recipient's language and
records the outcome (sent / retry later with backoff / failed after the last attempt).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.mail import EmailMultiAlternatives
from django.db import models, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation

from cbportal.core.events import get_event
from cbportal.core.models import DeliveryStatus, Notification

logger = logging.getLogger(__name__)


def absolute_url(path: str) -> str:
    if path.startswith(("http://", "https://")):
        return path
    return f"{settings.SITE_URL}{path}"


def _render_subject(event: str, context: dict[str, Any]) -> str:
    subject = render_to_string(f"emails/{event}/subject.txt", context)
    return " ".join(subject.split())[:255]


def notify_on_commit(
    event: str,
    obj: models.Model | None,
    recipients: Iterable[Any],
    *,
    context: dict[str, Any] | None = None,
    key: str | None = None,
    url: str = "",
) -> list[Notification]:
    """Record ``event`` for each recipient now and deliver it after commit.

    ``key`` identifies the occurrence (for a transition, its event id): the same key for the
    same recipient never creates a second notification. ``context`` must be JSON-serialisable;
    it is stored and given to the templates together with ``target`` (``obj``).
    """
    spec = get_event(event)
    occurrence = key or uuid.uuid4().hex
    stored_context = dict(context or {})
    if not url and obj is not None and hasattr(obj, "get_absolute_url"):
        url = obj.get_absolute_url()
    content_type = ContentType.objects.get_for_model(obj) if obj is not None else None

    created: list[Notification] = []
    seen: set[int] = set()
    for user in recipients:
        if user is None or user.pk in seen or not user.is_active:
            continue
        seen.add(user.pk)
        with translation.override(user.language or settings.LANGUAGE_CODE):
            subject = _render_subject(event, {**stored_context, "target": obj, "recipient": user})
        notification, was_created = Notification.objects.get_or_create(
            idempotency_key=f"{event}:{occurrence}:{user.pk}",
            defaults={
                "recipient": user,
                "event": event,
                "category": spec.category,
                "content_type": content_type,
                "object_id": obj.pk if obj is not None else None,
                "subject": subject,
                "url": url,
                "context": stored_context,
                "email_status": (DeliveryStatus.PENDING if user.email else DeliveryStatus.SKIPPED),
            },
        )
        if was_created and notification.email_status == DeliveryStatus.PENDING:
            created.append(notification)

    ids = [n.pk for n in created]
    if ids:
        transaction.on_commit(lambda: enqueue(ids))
    return created


def enqueue(ids: Iterable[int]) -> int:
    """Queue delivery tasks; a broker failure is logged, never raised (the sweep retries)."""
    from cbportal.core.tasks import deliver_notification

    queued = 0
    for pk in ids:
        try:
            deliver_notification.delay(pk)
            queued += 1
        except Exception:  # the broker is down: the row stays pending for the sweep
            logger.warning("Could not queue notification %s; the sweep will retry it", pk)
    return queued


def _claim(notification_id: int, now: Any) -> bool:
    stale = now - timedelta(seconds=settings.NOTIFICATION_CLAIM_SECONDS)
    return bool(
        Notification.objects.filter(pk=notification_id, email_status=DeliveryStatus.PENDING)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=stale))
        .update(claimed_at=now, attempts=F("attempts") + 1)
    )


def build_email(notification: Notification) -> EmailMultiAlternatives:
    event = get_event(notification.event)
    user = notification.recipient
    target = notification.target if notification.content_type_id else None
    with translation.override(user.language or settings.LANGUAGE_CODE):
        context: dict[str, Any] = {
            **notification.context,
            "target": target,
            "recipient": user,
            "notification": notification,
            "site_url": settings.SITE_URL,
            "object_url": absolute_url(notification.url) if notification.url else "",
            "notifications_url": absolute_url("/notifications/"),
        }
        if event.context is not None:
            context.update(event.context(notification))
        subject = _render_subject(notification.event, context)
        text = render_to_string(f"emails/{notification.event}/body.txt", context)
        html = render_to_string(f"emails/{notification.event}/body.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
        reply_to=settings.EMAIL_REPLY_TO or None,
        headers={"Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(html, "text/html")
    return message


def retry_delay(attempts: int) -> int:
    """Seconds before the next attempt: 1, 2, 4, 8 … minutes, at most one hour."""
    return int(min(60 * 2 ** max(attempts - 1, 0), 3600))


def deliver(notification_id: int) -> str:
    """Send one pending notification's email. Returns ``sent``, ``retry``, ``failed``,
    ``skipped`` or ``claimed`` (someone else holds it, or it is no longer pending)."""
    now = timezone.now()
    if not _claim(notification_id, now):
        return "claimed"
    notification = Notification.objects.select_related("recipient").get(pk=notification_id)
    if not notification.recipient.email or not notification.recipient.is_active:
        Notification.objects.filter(pk=notification_id).update(
            email_status=DeliveryStatus.SKIPPED, claimed_at=None
        )
        return "skipped"
    try:
        build_email(notification).send(fail_silently=False)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if notification.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS:
            Notification.objects.filter(pk=notification_id).update(
                email_status=DeliveryStatus.FAILED, claimed_at=None, last_error=error
            )
            logger.error("Notification %s failed for good: %s", notification_id, error)
            return "failed"
        Notification.objects.filter(pk=notification_id).update(
            claimed_at=None,
            last_error=error,
            next_attempt_at=now + timedelta(seconds=retry_delay(notification.attempts)),
        )
        logger.warning(
            "Notification %s not sent (attempt %s): %s",
            notification_id,
            notification.attempts,
            error,
        )
        return "retry"
    Notification.objects.filter(pk=notification_id).update(
        email_status=DeliveryStatus.SENT, sent_at=timezone.now(), claimed_at=None, last_error=""
    )
    return "sent"


def due_for_delivery(now: Any | None = None) -> list[int]:
    """Ids of pending rows whose next attempt is due and that nobody holds (or whose holder
    died: its claim is older than ``NOTIFICATION_CLAIM_SECONDS``)."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.NOTIFICATION_CLAIM_SECONDS)
    return list(
        Notification.objects.filter(email_status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=stale))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:500]
    )


def sweep() -> int:
    """Queue every notification that is due; run by Celery beat."""
    return enqueue(due_for_delivery())


def retry_failed(ids: Iterable[int]) -> int:
    """Staff put failed notifications back in the queue (admin action)."""
    count = Notification.objects.filter(
        pk__in=list(ids), email_status=DeliveryStatus.FAILED
    ).update(
        email_status=DeliveryStatus.PENDING,
        attempts=0,
        next_attempt_at=timezone.now(),
        claimed_at=None,
    )
    return count
