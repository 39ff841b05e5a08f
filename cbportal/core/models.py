"""Reference data, the immutable transition log and audit log, and the notification outbox."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cbportal.core.i18n import localized


class ThematicArea(models.Model):
    """Editable list of the programme's thematic areas (seeded by migration)."""

    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    name = models.CharField(_("name"), max_length=150)
    name_fr = models.CharField(_("name (French)"), max_length=150, blank=True)
    name_es = models.CharField(_("name (Spanish)"), max_length=150, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("thematic area")
        verbose_name_plural = _("thematic areas")

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return localized(self)


class GcmObjective(models.Model):
    """The 23 objectives of the Global Compact for Migration (fixed list)."""

    number = models.PositiveSmallIntegerField(
        _("number"), primary_key=True, validators=[MinValueValidator(1), MaxValueValidator(23)]
    )
    title = models.CharField(_("title"), max_length=200)
    title_fr = models.CharField(max_length=200, blank=True)
    title_es = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["number"]
        verbose_name = _("GCM objective")
        verbose_name_plural = _("GCM objectives")

    def __str__(self) -> str:
        return f"{self.number}. {self.display_title}"

    @property
    def display_title(self) -> str:
        return localized(self, "title")


class Language(models.Model):
    """An ISO 639-1 language (loaded by migration)."""

    code = models.CharField(_("ISO code"), max_length=2, primary_key=True)
    name = models.CharField(_("name"), max_length=80)
    name_fr = models.CharField(max_length=80, blank=True)
    name_es = models.CharField(max_length=80, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("language")
        verbose_name_plural = _("languages")

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return localized(self)


class ImmutableRecord(models.Model):
    """A row that, once written, is never changed or deleted through the ORM."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValidationError(_("This record is immutable."))
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValidationError(_("This record is immutable."))


class TransitionEvent(ImmutableRecord):
    """Who moved which object from which state to which, when, and why."""

    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.PositiveBigIntegerField()
    target = GenericForeignKey("content_type", "object_id")
    transition = models.CharField(_("transition"), max_length=40)
    from_state = models.CharField(_("from"), max_length=40)
    to_state = models.CharField(_("to"), max_length=40)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    # Kept so the timeline still names the actor if the account is later anonymised.
    actor_name = models.CharField(max_length=200)
    comment = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("transition event")
        verbose_name_plural = _("transition events")
        indexes = [
            models.Index(
                fields=["content_type", "object_id", "created_at"], name="transition_target_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.transition}: {self.from_state} → {self.to_state}"

    def _workflow(self) -> Any:
        from cbportal.core.workflow import REGISTRY

        model = self.content_type.model_class()
        if model is None:
            return None
        return REGISTRY.get(f"{model._meta.app_label}.{model.__name__}")

    @property
    def transition_label(self) -> str:
        workflow = self._workflow()
        if workflow is None or self.transition not in workflow.transitions:
            return self.transition
        return workflow.get(self.transition).display_label

    @property
    def from_label(self) -> str:
        workflow = self._workflow()
        return workflow.state_label(self.from_state) if workflow else self.from_state

    @property
    def to_label(self) -> str:
        workflow = self._workflow()
        return workflow.state_label(self.to_state) if workflow else self.to_state


class AuditKind(models.TextChoices):
    """What an audit entry records (its ``details`` depend on it, see cbportal.core.audit)."""

    TRANSITION = "transition", _("Workflow transition")
    VETTING = "vetting", _("Vetting decision")
    ROLE = "role", _("Role or permission change")
    ORGANISATION = "organisation", _("Organisation change")
    EVALUATORS = "evaluators", _("Evaluator assignment")
    EXPORT = "export", _("Data export")
    ACCOUNT_CREATED = "account_created", _("Account created")
    INVITATION_ACCEPTED = "invitation_accepted", _("Invitation accepted")
    ACCOUNT_STATUS = "account_status", _("Account activated or deactivated")
    ACCOUNT_DELETED = "account_deleted", _("Account deleted")
    TWO_FACTOR = "two_factor", _("Two-factor authentication change")
    ERASURE = "erasure", _("Personal data erased")


class AuditEntry(ImmutableRecord):
    """Who did what security-relevant thing to which object, when, with what details.

    Written by ``cbportal.core.audit`` only, in the transaction of the change it records.
    Never changed or deleted: the ORM refuses (``ImmutableRecord``) and, on PostgreSQL, so
    does a trigger (migration 0006), except for the actor becoming NULL when an account is
    deleted and the erasure of a person's data (``audit.erase_person``).
    """

    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # Kept so the log still names the actor after the account is deleted.
    actor_name = models.CharField(_("actor name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=30, choices=AuditKind.choices)
    content_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    target = GenericForeignKey("content_type", "object_id")
    # A reference to search by (``REQ-2026-0001``, the action's for its amendments, a
    # username): the object itself may be gone or renamed.
    target_repr = models.CharField(_("object"), max_length=200, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        indexes = [
            models.Index(fields=["kind", "-created_at"], name="audit_kind_idx"),
            models.Index(fields=["actor", "-created_at"], name="audit_actor_idx"),
            models.Index(fields=["content_type", "object_id"], name="audit_target_idx"),
            models.Index(fields=["target_repr"], name="audit_target_repr_idx"),
            # The lists' default order (newest first): read from the index, not sorted.
            models.Index(fields=["-created_at", "-id"], name="audit_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.kind} {self.actor_name}"


class NotificationCategory(models.TextChoices):
    ACCOUNT = "account", _("Account")
    REQUESTS = "requests", _("Requests")
    ACTIONS = "actions", _("Actions")
    DEPLOYMENTS = "deployments", _("Deployments")
    EVALUATIONS = "evaluations", _("Evaluations")
    REMINDERS = "reminders", _("Reminders")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DIGEST = "digest", _("Waiting for the daily digest")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Not emailed")


class DeliveryMode(models.TextChoices):
    """How a user wants one category of notifications (see NotificationPreference)."""

    IMMEDIATE = "immediate", _("Immediately by email")
    DIGEST = "digest", _("In one daily digest email")
    IN_APP = "in_app", _("In CB Portal only, no email")


# Account messages (invitations, password resets) are always emailed at once.
CONFIGURABLE_CATEGORIES: tuple[str, ...] = tuple(
    c for c in NotificationCategory.values if c != NotificationCategory.ACCOUNT
)


class OutboxEmail(models.Model):
    """Delivery state of one email in the outbox (a notification or a daily digest).

    A worker claims a row with a conditional UPDATE on ``claimed_at`` before it sends, so
    two workers never send the same row; a claim older than ``NOTIFICATION_CLAIM_SECONDS``
    belongs to a worker that died and may be taken over.
    """

    email_status = models.CharField(
        _("email status"),
        max_length=10,
        choices=DeliveryStatus.choices,
        default=DeliveryStatus.PENDING,
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        abstract = True


class Digest(OutboxEmail):
    """One daily digest email: everything a user chose to receive in a digest since the
    last one. One per user and day (unique), so building it twice sends it once."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="digests",
    )
    day = models.DateField(_("day"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["-day", "-id"]
        verbose_name = _("daily digest")
        verbose_name_plural = _("daily digests")
        constraints = [
            models.UniqueConstraint(fields=["recipient", "day"], name="digest_one_per_user_day")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(email_status="pending"),
                name="digest_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recipient} {self.day.isoformat()}"


class Notification(OutboxEmail):
    """An in-app notification and, at the same time, the outbox row for its email.

    It is written in the transaction of the change that causes it, so a rolled-back change
    leaves nothing behind and a committed one cannot lose its message: Celery delivers the
    email after commit, and a periodic sweep retries whatever is still pending.
    ``idempotency_key`` is unique, so one event reaches one recipient once. The recipient's
    preference for the category decides whether it is emailed at once (``pending``), in the
    next daily digest (``digest``) or not at all (``skipped``).
    """

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    event = models.CharField(_("event"), max_length=60)
    category = models.CharField(_("category"), max_length=20, choices=NotificationCategory.choices)
    content_type = models.ForeignKey(
        ContentType, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    target = GenericForeignKey("content_type", "object_id")
    subject = models.CharField(_("message"), max_length=255)
    url = models.CharField(_("link"), max_length=500, blank=True)
    context = models.JSONField(default=dict, blank=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    digest = models.ForeignKey(
        Digest,
        verbose_name=_("daily digest"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notifications",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notification_inbox_idx"),
            models.Index(
                fields=["recipient"],
                condition=models.Q(read_at__isnull=True),
                name="notification_unread_idx",
            ),
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(email_status="pending"),
                name="notification_pending_idx",
            ),
            models.Index(
                fields=["recipient", "created_at"],
                condition=models.Q(email_status="digest", digest__isnull=True),
                name="notification_digest_queue_idx",
            ),
            models.Index(fields=["email_status", "-created_at"], name="notification_status_idx"),
        ]

    def __str__(self) -> str:
        return self.subject

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class DeliveryChoice(models.Model):
    """How one category of notifications is delivered (never the account category)."""

    category = models.CharField(_("category"), max_length=20, choices=NotificationCategory.choices)
    mode = models.CharField(_("delivery"), max_length=10, choices=DeliveryMode.choices)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True


class NotificationPreference(DeliveryChoice):
    """A user's choice for one category; without one, their organisation's default applies,
    then ``NOTIFICATION_DEFAULT_MODE``."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="notification_preferences",
    )

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "category"], name="notification_preference_unique"
            ),
            models.CheckConstraint(
                condition=~models.Q(category="account"),
                name="notification_preference_not_account",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.category} → {self.mode}"


class OrganisationNotificationDefault(DeliveryChoice):
    """Staff set, per organisation and category, the delivery its members get unless they
    chose otherwise."""

    organisation = models.ForeignKey(
        "accounts.Organisation",
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="notification_defaults",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("organisation notification default")
        verbose_name_plural = _("organisation notification defaults")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "category"], name="organisation_notification_default_unique"
            ),
            models.CheckConstraint(
                condition=~models.Q(category="account"),
                name="organisation_notification_default_not_account",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation}: {self.category} → {self.mode}"


class ReminderLog(models.Model):
    """One reminder sent for one object and reason on one day.

    The unique constraint is the guarantee that a reminder goes out at most once per day
    for the same object and reason, however often (or concurrently) the job runs.
    ``occurrence`` names what the reminder is about when an object has several (an
    indicator's due date, an invitation's expiry date).
    """

    reason = models.CharField(_("reason"), max_length=60)
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_id = models.PositiveBigIntegerField()
    target = GenericForeignKey("content_type", "object_id")
    occurrence = models.CharField(_("occurrence"), max_length=40, blank=True)
    day = models.DateField(_("day"))
    recipients = models.PositiveSmallIntegerField(_("recipients"), default=0)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["-day", "-id"]
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        constraints = [
            models.UniqueConstraint(
                fields=["reason", "content_type", "object_id", "day"],
                name="reminder_once_per_object_day",
            )
        ]
        indexes = [
            models.Index(
                fields=["reason", "content_type", "object_id", "occurrence", "-day"],
                name="reminder_last_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.reason} {self.object_id} {self.day.isoformat()}"


class ReferenceCounter(models.Model):
    """The last number handed out for one prefix in one year. Its row lock serialises
    concurrent submissions, so numbers are unique and leave no gaps."""

    prefix = models.CharField(max_length=10)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["prefix", "year"], name="reference_counter_unique")
        ]

    def __str__(self) -> str:
        return f"{self.prefix}-{self.year}: {self.last}"
