"""Assistance requests from partner authorities, their messages and attachments, and the
needs assessment agreed with the partner (capacity gaps at three CB levels)."""

from __future__ import annotations

import uuid
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cbportal.accounts.models import Country, Organisation
from cbportal.core.models import GcmObjective, Language, ThematicArea


class RequestStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    UNDER_REVIEW = "under_review", _("Under review")
    INFO_REQUESTED = "info_requested", _("Information requested")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    WITHDRAWN = "withdrawn", _("Withdrawn")


OPEN_STATUSES = (RequestStatus.SUBMITTED, RequestStatus.UNDER_REVIEW, RequestStatus.INFO_REQUESTED)
DECIDED_STATUSES = (RequestStatus.ACCEPTED, RequestStatus.DECLINED)


class AssistanceRequest(models.Model):
    """A partner authority's request for capacity-building support."""

    reference = models.CharField(_("reference"), max_length=20, unique=True, null=True, blank=True)
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="requests",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    country = models.ForeignKey(
        Country, verbose_name=_("country"), on_delete=models.PROTECT, related_name="requests"
    )
    title = models.CharField(_("title"), max_length=200)
    problem_statement = models.TextField(_("problem statement"), blank=True)
    expected_outcomes = models.TextField(_("expected outcomes"), blank=True)
    target_institutions = models.TextField(_("target institutions"), blank=True)
    thematic_areas = models.ManyToManyField(
        ThematicArea, verbose_name=_("thematic areas"), blank=True, related_name="requests"
    )
    gcm_objectives = models.ManyToManyField(
        GcmObjective, verbose_name=_("GCM objectives"), blank=True, related_name="requests"
    )
    languages = models.ManyToManyField(
        Language, verbose_name=_("working languages"), blank=True, related_name="requests"
    )
    preferred_start = models.DateField(_("preferred start"), null=True, blank=True)
    preferred_end = models.DateField(_("preferred end"), null=True, blank=True)

    status = models.CharField(
        _("status"), max_length=20, choices=RequestStatus.choices, default=RequestStatus.DRAFT
    )
    case_officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("case officer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cases",
    )
    decision_reason = models.TextField(_("reason for the decision"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True)
    # Service-level targets fixed at submission (working days, see requests_app/sla.py).
    first_response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    decision_due_at = models.DateTimeField(_("decision due"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("assistance request")
        verbose_name_plural = _("assistance requests")
        indexes = [
            models.Index(fields=["organisation", "-created_at"], name="request_org_created_idx"),
            models.Index(fields=["status", "submitted_at"], name="request_status_submitted_idx"),
            models.Index(fields=["country", "status"], name="request_country_status_idx"),
            # The lists' default order (newest first): read from the index, not sorted.
            models.Index(fields=["-created_at", "-id"], name="request_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(preferred_end__isnull=True)
                | Q(preferred_start__isnull=True)
                | Q(preferred_end__gte=models.F("preferred_start")),
                name="request_period_in_order",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "withdrawn"]) | Q(reference__isnull=False),
                name="request_submitted_has_reference",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference or _('Draft')}: {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("requests_app:detail", args=[self.pk])

    @property
    def display_reference(self) -> str:
        return self.reference or str(_("Draft"))

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class MessageKind(models.TextChoices):
    QUESTION = "question", _("Information requested")
    ANSWER = "answer", _("Partner's answer")


class RequestMessage(models.Model):
    """The information-request thread: staff questions and partner answers."""

    request = models.ForeignKey(
        AssistanceRequest, on_delete=models.CASCADE, related_name="messages"
    )
    kind = models.CharField(max_length=10, choices=MessageKind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    author_name = models.CharField(max_length=200)
    text = models.TextField(_("message"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("request message")
        verbose_name_plural = _("request messages")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.created_at:%Y-%m-%d})"


class AttachmentKind(models.TextChoices):
    OFFICIAL_LETTER = "official_letter", _("Official letter")
    BACKGROUND = "background", _("Background document")


def attachment_path(instance: Any, filename: str) -> str:
    # A random name: the stored path reveals nothing and cannot be guessed.
    suffix = PurePath(filename).suffix.lower()[:10]
    return f"requests/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{suffix}"


class RequestAttachment(models.Model):
    request = models.ForeignKey(
        AssistanceRequest, on_delete=models.CASCADE, related_name="attachments"
    )
    kind = models.CharField(
        _("kind"), max_length=20, choices=AttachmentKind.choices, default=AttachmentKind.BACKGROUND
    )
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=255)
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.original_name

    def get_absolute_url(self) -> str:
        return reverse("requests_app:attachment", args=[self.request_id, self.pk])


class AssessmentStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", _("In progress")
    SHARED = "shared", _("Shared with the partner")
    VALIDATED = "validated", _("Validated by the partner")


class AssessmentMethod(models.TextChoices):
    DESK_REVIEW = "desk_review", _("Desk review")
    INTERVIEWS = "interviews", _("Interviews")
    FACT_FINDING = "fact_finding_mission", _("Fact-finding mission")
    SELF_ASSESSMENT = "self_assessment_workshop", _("Self-assessment workshop")
    OTHER = "other", _("Other")


class NeedsAssessment(models.Model):
    """What capacity is missing, agreed between the case officer and the partner."""

    request = models.OneToOneField(
        AssistanceRequest,
        on_delete=models.PROTECT,
        related_name="assessment",
        verbose_name=_("request"),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=AssessmentStatus.choices,
        default=AssessmentStatus.IN_PROGRESS,
    )
    summary = models.TextField(_("summary"), blank=True)
    methods = models.JSONField(_("methods"), default=list, blank=True)
    methods_other = models.CharField(_("other method"), max_length=200, blank=True)
    stakeholders_consulted = models.TextField(_("stakeholders consulted"), blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    shared_at = models.DateTimeField(_("shared"), null=True, blank=True)
    validated_at = models.DateTimeField(_("validated"), null=True, blank=True)
    validated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("needs assessment")
        verbose_name_plural = _("needs assessments")
        indexes = [
            # The list's default order (newest first), read from the index.
            models.Index(fields=["-created_at", "-id"], name="assessment_created_idx"),
        ]

    def __str__(self) -> str:
        return str(_("Needs assessment for %(ref)s") % {"ref": self.request.display_reference})

    def get_absolute_url(self) -> str:
        return reverse("requests_app:assessment", args=[self.pk])

    @property
    def method_labels(self) -> list[str]:
        labels = dict(AssessmentMethod.choices)
        return [str(labels.get(m, m)) for m in self.methods]


class CbLevel(models.TextChoices):
    INDIVIDUAL = "individual", _("Individual")
    ORGANISATIONAL = "organisational", _("Organisational")
    ENABLING_ENVIRONMENT = "enabling_environment", _("Enabling environment")


class Priority(models.TextChoices):
    HIGH = "high", _("High")
    MEDIUM = "medium", _("Medium")
    LOW = "low", _("Low")


class CapacityGap(models.Model):
    assessment = models.ForeignKey(NeedsAssessment, on_delete=models.CASCADE, related_name="gaps")
    level = models.CharField(_("CB level"), max_length=30, choices=CbLevel.choices)
    description = models.TextField(_("description"))
    baseline = models.TextField(_("baseline"), blank=True)
    target = models.TextField(_("target"), blank=True)
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.MEDIUM
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["level", "position", "id"]
        verbose_name = _("capacity gap")
        verbose_name_plural = _("capacity gaps")

    def __str__(self) -> str:
        return f"{self.get_level_display()}: {self.description[:60]}"
