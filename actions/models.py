"""Tailor-made actions: the plan agreed with the partner (objectives linked to capacity
gaps, activities, the expertise each activity needs) and its amendments."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cbportal.accounts.models import Country, Organisation
from cbportal.core.models import GcmObjective, Language, ThematicArea
from requests_app.models import AssistanceRequest, CapacityGap, NeedsAssessment


class ActionStatus(models.TextChoices):
    DESIGN = "design", _("In design")
    PROPOSED = "proposed", _("Proposed for approval")
    APPROVED = "approved", _("Approved")
    IN_IMPLEMENTATION = "in_implementation", _("In implementation")
    COMPLETED = "completed", _("Completed")
    CLOSED = "closed", _("Closed")
    SUSPENDED = "suspended", _("Suspended")
    CANCELLED = "cancelled", _("Cancelled")


# While the plan is agreed, its scope changes only through an amendment.
PLAN_LOCKED_STATUSES = (
    ActionStatus.APPROVED,
    ActionStatus.IN_IMPLEMENTATION,
    ActionStatus.SUSPENDED,
)


class Action(models.Model):
    reference = models.CharField(_("reference"), max_length=20, unique=True)
    assessment = models.OneToOneField(
        NeedsAssessment,
        on_delete=models.PROTECT,
        related_name="action",
        verbose_name=_("needs assessment"),
    )
    request = models.ForeignKey(
        AssistanceRequest,
        on_delete=models.PROTECT,
        related_name="actions",
        verbose_name=_("request"),
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="actions", verbose_name=_("partner")
    )
    country = models.ForeignKey(
        Country, on_delete=models.PROTECT, related_name="actions", verbose_name=_("country")
    )
    title = models.CharField(_("title"), max_length=200)
    summary = models.TextField(
        _("public summary"),
        blank=True,
        help_text=_("Shown on the public portfolio if the partner agrees."),
    )
    publish = models.BooleanField(_("partner agrees to publish"), default=False)
    start_date = models.DateField(_("start"))
    end_date = models.DateField(_("end"))
    thematic_areas = models.ManyToManyField(
        ThematicArea, blank=True, related_name="actions", verbose_name=_("thematic areas")
    )
    gcm_objectives = models.ManyToManyField(
        GcmObjective, blank=True, related_name="actions", verbose_name=_("GCM objectives")
    )
    evaluators = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="evaluated_actions",
        verbose_name=_("evaluators"),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=ActionStatus.choices, default=ActionStatus.DESIGN
    )
    status_before_suspension = models.CharField(
        max_length=20, choices=ActionStatus.choices, blank=True
    )
    drafted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("drafted by"),
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signed_name = models.CharField(_("signed by"), max_length=200, blank=True)
    signed_at = models.DateTimeField(_("co-signed"), null=True, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("action")
        verbose_name_plural = _("actions")
        indexes = [
            models.Index(fields=["status", "-created_at"], name="action_status_idx"),
            models.Index(fields=["organisation", "-created_at"], name="action_org_idx"),
            models.Index(fields=["country", "status"], name="action_country_idx"),
            # The lists' default order (newest first): read from the index, not sorted.
            models.Index(fields=["-created_at", "-id"], name="action_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=F("start_date")), name="action_period_in_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("actions:detail", args=[self.pk])

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None

    @property
    def plan_is_locked(self) -> bool:
        return self.status in PLAN_LOCKED_STATUSES

    def has_submitted_evaluation(self) -> bool:
        """Whether the final evaluation is submitted (the ``close`` guard). Lists annotate
        ``evaluation_submitted`` so that this costs no query per row."""
        annotated = getattr(self, "evaluation_submitted", None)
        if annotated is not None:
            return bool(annotated)
        from django.apps import apps

        evaluation = apps.get_model("evaluations", "FinalEvaluation")
        return evaluation.objects.filter(action_id=self.pk, status="submitted").exists()


class Objective(models.Model):
    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="objectives")
    text = models.TextField(_("objective"))
    gaps = models.ManyToManyField(
        CapacityGap, related_name="objectives", verbose_name=_("capacity gaps it closes")
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("objective")
        verbose_name_plural = _("objectives")

    def __str__(self) -> str:
        return self.text[:80]


class ActivityType(models.TextChoices):
    LEGISLATION_REVIEW = "legislation_review", _("Legislation review")
    POLICY_DRAFTING = "policy_drafting", _("Policy or strategy drafting")
    MANUAL = "manual", _("Manual or handbook")
    GUIDELINES = "guidelines", _("Guidelines")
    SOP = "sop", _("Standard operating procedures")
    TRAINING = "training", _("Training")
    POLICY_WORKSHOP = "policy_workshop", _("Policy workshop")
    INFORMATION_EXCHANGE = "information_exchange", _("Information exchange session")
    CONSULTATION = "consultation", _("Consultation")
    FACT_FINDING = "fact_finding", _("Fact-finding mission")
    STUDY_VISIT = "study_visit", _("Study visit")
    PEER_EXCHANGE = "peer_exchange", _("Peer-to-peer exchange")
    MENTORING = "mentoring", _("Mentoring")
    TWINNING = "twinning", _("Twinning")
    NETWORKING = "networking", _("Networking event")


class Modality(models.TextChoices):
    ONSITE = "onsite", _("On-site")
    REMOTE = "remote", _("Remote")
    HYBRID = "hybrid", _("Hybrid")


class ActivityStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class Activity(models.Model):
    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="activities")
    type = models.CharField(_("type"), max_length=30, choices=ActivityType.choices)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    start_date = models.DateField(_("start"))
    end_date = models.DateField(_("end"))
    modality = models.CharField(
        _("modality"), max_length=10, choices=Modality.choices, default=Modality.ONSITE
    )
    country = models.ForeignKey(
        Country,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("country"),
    )
    city = models.CharField(_("city"), max_length=100, blank=True)
    expected_participants = models.PositiveIntegerField(_("expected participants"), default=0)
    participants_women = models.PositiveIntegerField(_("of whom women"), default=0)
    participants_men = models.PositiveIntegerField(_("of whom men"), default=0)
    participants_other = models.PositiveIntegerField(_("of whom other or not stated"), default=0)
    status = models.CharField(
        _("status"), max_length=10, choices=ActivityStatus.choices, default=ActivityStatus.PLANNED
    )
    objectives = models.ManyToManyField(
        Objective, blank=True, related_name="activities", verbose_name=_("objectives")
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["start_date", "position", "id"]
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=F("start_date")), name="activity_period_in_order"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return f"{self.action.get_absolute_url()}#activity-{self.pk}"


class Skill(models.Model):
    """A free tag shared by expertise needs and experts' profiles."""

    name = models.CharField(_("name"), max_length=80, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("skill")
        verbose_name_plural = _("skills")

    def __str__(self) -> str:
        return self.name


class OriginPreference(models.TextChoices):
    EU_MEMBER_STATE = "eu_member_state", _("EU member state")
    PARTNER_REGION_PEER = "partner_region_peer", _("Peer from the partner's region")
    ANY = "any", _("Any")


class ExpertiseNeed(models.Model):
    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="needs")
    thematic_area = models.ForeignKey(
        ThematicArea, on_delete=models.PROTECT, related_name="+", verbose_name=_("thematic area")
    )
    skills = models.ManyToManyField(
        Skill, blank=True, related_name="needs", verbose_name=_("skills")
    )
    languages = models.ManyToManyField(
        Language, blank=True, related_name="+", verbose_name=_("required languages")
    )
    experts_needed = models.PositiveSmallIntegerField(
        _("experts needed"), default=1, validators=[MinValueValidator(1)]
    )
    expert_days = models.PositiveSmallIntegerField(
        _("expert-days"), default=1, validators=[MinValueValidator(1)]
    )
    origin_preference = models.CharField(
        _("origin preference"),
        max_length=30,
        choices=OriginPreference.choices,
        default=OriginPreference.ANY,
    )
    notes = models.TextField(_("terms of reference"), blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("expertise need")
        verbose_name_plural = _("expertise needs")
        constraints = [
            models.CheckConstraint(
                condition=Q(experts_needed__gte=1), name="need_experts_positive"
            ),
            models.CheckConstraint(condition=Q(expert_days__gte=1), name="need_days_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.thematic_area} × {self.experts_needed}"


class AmendmentStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PROPOSED = "proposed", _("Proposed for approval")
    APPROVED = "approved", _("Approved, awaiting the partner")
    APPLIED = "applied", _("Co-signed and applied")
    REJECTED = "rejected", _("Rejected")


class AmendmentReason(models.TextChoices):
    INSTITUTIONAL_CHANGE = "institutional_change", _("Institutional change")
    POLITICAL_CHANGE = "political_change", _("Political change")
    PARTNER_REQUEST = "partner_request", _("Partner request")
    IMPLEMENTATION_DELAY = "implementation_delay", _("Implementation delay")
    OTHER = "other", _("Other")


class Amendment(models.Model):
    """A change of scope of an agreed plan: what, why, who asked — approved by a second
    person and co-signed by the partner before it applies. ``proposal`` is the whole plan
    as it would be; ``before`` is the plan as it was when proposed; the diff is computed
    from the two."""

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="amendments")
    number = models.PositiveSmallIntegerField(_("number"))
    status = models.CharField(
        _("status"), max_length=20, choices=AmendmentStatus.choices, default=AmendmentStatus.DRAFT
    )
    reason_category = models.CharField(_("reason"), max_length=30, choices=AmendmentReason.choices)
    reason = models.TextField(_("explanation"))
    requested_by = models.CharField(_("requested by"), max_length=200)
    before = models.JSONField(default=dict)
    proposal = models.JSONField(default=dict)
    drafted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signed_name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["action", "number"]
        verbose_name = _("amendment")
        verbose_name_plural = _("amendments")
        constraints = [
            models.UniqueConstraint(fields=["action", "number"], name="amendment_number_unique"),
            # One amendment in progress at a time keeps the diff meaningful.
            models.UniqueConstraint(
                fields=["action"],
                condition=Q(status__in=["draft", "proposed", "approved"]),
                name="amendment_one_open_per_action",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action.reference} amendment {self.number}"

    def get_absolute_url(self) -> str:
        return reverse("actions:amendment", args=[self.action_id, self.pk])
