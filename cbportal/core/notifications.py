"""Notifications through one outbox.

``notify_on_commit(event, obj, recipients)`` writes one ``Notification`` row per recipient
inside the caller's transaction (the in-app notification *and* the email's outbox row) and,
once the transaction commits, queues one Celery task per row to be emailed now. If the
broker is down, the rows stay pending and ``sweep`` (Celery beat) queues them later; if the
transaction rolls back, nothing was written and nothing is queued.

Each recipient's preference for the event's category (their own choice, else their
organisation's default, else ``NOTIFICATION_DEFAULT_MODE``) decides whether the row is
emailed at once, waits for the daily digest (``digests_build``), or stays in-app only.

``deliver(id)`` and ``deliver_digest(id)`` claim their row with a conditional UPDATE, so two
workers that receive the same id never both send it, render the email in the recipient's
language and record the outcome (sent / retry later with backoff / failed after the last
attempt, shown to staff with a retry action).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, models, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from cbportal.core.events import get_event
from cbportal.core.models import (
    CONFIGURABLE_CATEGORIES,
    DeliveryMode,
    DeliveryStatus,
    Digest,
    Notification,
    NotificationPreference,
    OrganisationNotificationDefault,
    OutboxEmail,
)

logger = logging.getLogger(__name__)


def absolute_url(path: str) -> str:
    if path.startswith(("http://", "https://")):
        return path
    return f"{settings.SITE_URL}{path}"


def _render_subject(event: str, context: dict[str, Any]) -> str:
    subject = render_to_string(f"emails/{event}/subject.txt", context)
    return " ".join(subject.split())[:255]


def delivery_modes(users: Iterable[Any], category: str) -> dict[int, str]:
    """Each user's delivery mode for ``category`` (two queries whatever the number of users).

    The user's own preference wins, then their organisation's default, then
    ``NOTIFICATION_DEFAULT_MODE``. Account messages are always immediate."""
    users = [u for u in users if u is not None]
    if category not in CONFIGURABLE_CATEGORIES:
        return {u.pk: DeliveryMode.IMMEDIATE for u in users}
    fallback = settings.NOTIFICATION_DEFAULT_MODE
    own = dict(
        NotificationPreference.objects.filter(
            user__in=[u.pk for u in users], category=category
        ).values_list("user_id", "mode")
    )
    org_ids = {u.organisation_id for u in users if u.organisation_id and u.pk not in own}
    org_modes = (
        dict(
            OrganisationNotificationDefault.objects.filter(
                organisation__in=org_ids, category=category
            ).values_list("organisation_id", "mode")
        )
        if org_ids
        else {}
    )
    return {u.pk: own.get(u.pk) or org_modes.get(u.organisation_id) or fallback for u in users}


def _email_status(user: Any, mode: str) -> str:
    if not user.email or mode == DeliveryMode.IN_APP:
        return DeliveryStatus.SKIPPED
    if mode == DeliveryMode.DIGEST:
        return DeliveryStatus.DIGEST
    return DeliveryStatus.PENDING


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

    users: list[Any] = []
    seen: set[int] = set()
    for user in recipients:
        if user is None or user.pk in seen or not user.is_active:
            continue
        seen.add(user.pk)
        users.append(user)
    modes = delivery_modes(users, spec.category)

    created: list[Notification] = []
    for user in users:
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
                "email_status": _email_status(user, modes[user.pk]),
            },
        )
        if was_created and notification.email_status == DeliveryStatus.PENDING:
            created.append(notification)

    ids = [n.pk for n in created]
    if ids:
        transaction.on_commit(lambda: enqueue(ids))
    return created


def enqueue(ids: Iterable[int]) -> int:
    """Queue notification emails; a broker failure is logged, never raised (the sweep
    retries)."""
    from cbportal.core.tasks import deliver_notification

    return _enqueue(deliver_notification, ids, "notification")


def enqueue_digests(ids: Iterable[int]) -> int:
    from cbportal.core.tasks import deliver_digest as task

    return _enqueue(task, ids, "digest")


def _enqueue(task: Any, ids: Iterable[int], kind: str) -> int:
    queued = 0
    for pk in ids:
        try:
            task.delay(pk)
            queued += 1
        except Exception:  # the broker is down: the row stays pending for the sweep
            logger.warning("Could not queue %s %s; the sweep will retry it", kind, pk)
    return queued


def claimable(now: Any) -> Q:
    stale = now - timedelta(seconds=settings.NOTIFICATION_CLAIM_SECONDS)
    return Q(email_status=DeliveryStatus.PENDING) & (
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=stale)
    )


def _claim(model: type[OutboxEmail], pk: int, now: Any) -> bool:
    return bool(
        model._default_manager.filter(claimable(now), pk=pk).update(
            claimed_at=now, attempts=F("attempts") + 1
        )
    )


def _email_context(user: Any) -> dict[str, Any]:
    return {
        "recipient": user,
        "site_url": settings.SITE_URL,
        "notifications_url": absolute_url(reverse("core:notifications")),
        "preferences_url": absolute_url(reverse("core:notification-preferences")),
    }


def _message(user: Any, subject: str, text: str, html: str) -> EmailMultiAlternatives:
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


def build_email(notification: Notification) -> EmailMultiAlternatives:
    event = get_event(notification.event)
    user = notification.recipient
    target = notification.target if notification.content_type_id else None
    with translation.override(user.language or settings.LANGUAGE_CODE):
        context: dict[str, Any] = {
            **notification.context,
            **_email_context(user),
            "target": target,
            "notification": notification,
            "object_url": absolute_url(notification.url) if notification.url else "",
        }
        if event.context is not None:
            context.update(event.context(notification))
        subject = _render_subject(notification.event, context)
        text = render_to_string(f"emails/{notification.event}/body.txt", context)
        text += render_to_string("emails/footer.txt", context)
        html = render_to_string(f"emails/{notification.event}/body.html", context)
    return _message(user, subject, text, html)


def build_digest_email(digest: Digest) -> EmailMultiAlternatives:
    """One email listing the digest's notifications, grouped by category, oldest first."""
    user = digest.recipient
    items = list(digest.notifications.order_by("category", "created_at", "pk"))
    with translation.override(user.language or settings.LANGUAGE_CODE):
        groups: dict[str, list[dict[str, Any]]] = {}
        for n in items:
            groups.setdefault(n.get_category_display(), []).append(
                {
                    "subject": n.subject,
                    "created_at": n.created_at,
                    "url": absolute_url(n.url) if n.url else "",
                }
            )
        context = {
            **_email_context(user),
            "digest": digest,
            "count": len(items),
            "groups": sorted(groups.items()),
        }
        subject = _render_subject("digest", context)
        text = render_to_string("emails/digest/body.txt", context)
        text += render_to_string("emails/footer.txt", context)
        html = render_to_string("emails/digest/body.html", context)
    return _message(user, subject, text, html)


def retry_delay(attempts: int) -> int:
    """Seconds before the next attempt: 1, 2, 4, 8 … minutes, at most one hour."""
    return int(min(60 * 2 ** max(attempts - 1, 0), 3600))


def _deliver(
    model: type[OutboxEmail],
    pk: int,
    load: Callable[[int], Any],
    build: Callable[[Any], EmailMultiAlternatives],
    on_sent: Callable[[Any, Any], None] | None = None,
) -> str:
    now = timezone.now()
    if not _claim(model, pk, now):
        return "claimed"
    rows = model._default_manager.filter(pk=pk)
    row = load(pk)
    user = row.recipient
    if not user.email or not user.is_active:
        rows.update(email_status=DeliveryStatus.SKIPPED, claimed_at=None)
        return "skipped"
    try:
        build(row).send(fail_silently=False)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if row.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS:
            rows.update(email_status=DeliveryStatus.FAILED, claimed_at=None, last_error=error)
            logger.error("%s %s failed for good: %s", model.__name__, pk, error)
            return "failed"
        rows.update(
            claimed_at=None,
            last_error=error,
            next_attempt_at=now + timedelta(seconds=retry_delay(row.attempts)),
        )
        logger.warning("%s %s not sent (attempt %s): %s", model.__name__, pk, row.attempts, error)
        return "retry"
    sent_at = timezone.now()
    with transaction.atomic():
        rows.update(
            email_status=DeliveryStatus.SENT, sent_at=sent_at, claimed_at=None, last_error=""
        )
        if on_sent is not None:
            on_sent(row, sent_at)
    return "sent"


def deliver(notification_id: int) -> str:
    """Send one pending notification's email. Returns ``sent``, ``retry``, ``failed``,
    ``skipped`` or ``claimed`` (someone else holds it, or it is no longer pending)."""
    return _deliver(
        Notification,
        notification_id,
        lambda pk: Notification.objects.select_related("recipient").get(pk=pk),
        build_email,
    )


def _digest_sent(digest: Digest, sent_at: Any) -> None:
    digest.notifications.filter(email_status=DeliveryStatus.DIGEST).update(
        email_status=DeliveryStatus.SENT, sent_at=sent_at
    )


def deliver_digest(digest_id: int) -> str:
    """Send one daily digest; its notifications are marked sent with it."""
    return _deliver(
        Digest,
        digest_id,
        lambda pk: Digest.objects.select_related("recipient").get(pk=pk),
        build_digest_email,
        on_sent=_digest_sent,
    )


def digests_build(*, today: date | None = None) -> int:
    """Gather each user's notifications waiting for the digest into one ``Digest`` for
    ``today`` and queue it. A user with nothing waiting gets nothing; running twice on one
    day adds what arrived in between to the same digest only if it has not been sent yet.
    Returns how many digests were queued."""
    today = today or timezone.localdate()
    waiting = Notification.objects.filter(email_status=DeliveryStatus.DIGEST, digest__isnull=True)
    queued: list[int] = []
    for user_id in waiting.values_list("recipient_id", flat=True).distinct().order_by():
        with transaction.atomic():
            try:
                with transaction.atomic():
                    digest, _created = Digest.objects.get_or_create(recipient_id=user_id, day=today)
            except IntegrityError:  # another run created it a moment ago
                digest = Digest.objects.get(recipient_id=user_id, day=today)
            digest = Digest.objects.select_for_update().get(pk=digest.pk)
            if digest.email_status != DeliveryStatus.PENDING or digest.claimed_at is not None:
                continue  # already sent (or being sent) today: the rest waits for tomorrow
            added = waiting.filter(recipient_id=user_id).update(digest=digest)
            if added:
                queued.append(digest.pk)
    ids = list(dict.fromkeys(queued))
    if ids:
        transaction.on_commit(lambda: enqueue_digests(ids))
    return len(ids)


def due_for_delivery(now: Any | None = None) -> list[int]:
    """Ids of pending notifications whose next attempt is due and that nobody holds (or
    whose holder died: its claim is older than ``NOTIFICATION_CLAIM_SECONDS``)."""
    return _due(Notification, now)


def _due(model: type[OutboxEmail], now: Any | None) -> list[int]:
    now = now or timezone.now()
    return list(
        model._default_manager.filter(claimable(now), next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:500]
    )


def sweep() -> int:
    """Queue every notification and digest that is due; run by Celery beat."""
    now = timezone.now()
    return enqueue(_due(Notification, now)) + enqueue_digests(_due(Digest, now))


def retry_failed(ids: Iterable[int], model: type[OutboxEmail] = Notification) -> int:
    """Staff put failed emails back in the queue (the outbox page, the admin, ``manage.py
    outbox --retry-failed``): attempts start again and each row is queued once the change
    commits. Rows among ``ids`` that are no longer failed are left alone. Returns how many
    were requeued."""
    queue = enqueue_digests if model is Digest else enqueue
    with transaction.atomic():
        failed = list(
            model._default_manager.select_for_update()
            .filter(pk__in=list(ids), email_status=DeliveryStatus.FAILED)
            .values_list("pk", flat=True)
        )
        if not failed:
            return 0
        count = model._default_manager.filter(pk__in=failed).update(
            email_status=DeliveryStatus.PENDING,
            attempts=0,
            next_attempt_at=timezone.now(),
            claimed_at=None,
        )
        transaction.on_commit(lambda: queue(failed))
    return count


def health(now: Any | None = None) -> dict[str, Any]:
    """Pending and failed emails per outbox table and the oldest pending one's age, from
    indexed queries only (the partial ``*_pending_idx`` indexes and
    ``notification_status_idx``): cheap enough for /healthz and every staff page load.
    ``late`` is true when that age exceeds ``NOTIFICATION_BACKLOG_WARNING_SECONDS``."""
    now = now or timezone.now()
    result: dict[str, Any] = {}
    oldest = None
    for name, model in (("notifications", Notification), ("digests", Digest)):
        rows = model._default_manager
        pending = rows.filter(email_status=DeliveryStatus.PENDING).aggregate(
            count=models.Count("pk"), oldest=models.Min("created_at")
        )
        result[name] = {
            DeliveryStatus.PENDING.value: pending["count"],
            DeliveryStatus.FAILED.value: rows.filter(email_status=DeliveryStatus.FAILED).count(),
        }
        if pending["oldest"] is not None and (oldest is None or pending["oldest"] < oldest):
            oldest = pending["oldest"]
    seconds = None if oldest is None else max(0, int((now - oldest).total_seconds()))
    result["oldest_pending_seconds"] = seconds
    result["late"] = seconds is not None and seconds > settings.NOTIFICATION_BACKLOG_WARNING_SECONDS
    return result


def backlog(now: Any | None = None) -> dict[str, Any]:
    """``health()`` plus a count of every status (a scan of the outbox tables: for
    ``manage.py outbox``, not for pages or probes)."""
    result = health(now)
    for name, model in (("notifications", Notification), ("digests", Digest)):
        counts = dict(
            model._default_manager.values_list("email_status")
            .annotate(n=models.Count("pk"))
            .order_by()
        )
        result[name] = {status: counts.get(status, 0) for status in DeliveryStatus.values}
    return result
