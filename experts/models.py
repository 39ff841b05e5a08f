"""The expert roster, deployments of experts on expertise needs, mission reports and the
stored shortlists of matching."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from actions.models import ExpertiseNeed, Skill
from cbportal.accounts.models import Country, Organisation
from cbportal.core.models import Language, ThematicArea


class AdministrationType(models.TextChoices):
    EU_MEMBER_STATE = "eu_member_state", _("EU member-state administration")
    PARTNER_COUNTRY = "partner_country", _("Partner-country administration")
    INTERNATIONAL_ORGANISATION = "international_organisation", _("International organisation")
    ACADEMIA_CIVIL_SOCIETY = "academia_civil_society", _("Academia / civil society")


class VettingStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting vetting")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class CefrLevel(models.TextChoices):
    """Common European Framework of Reference levels; as strings they sort in order."""

    A1 = "A1", "A1"
    A2 = "A2", "A2"
    B1 = "B1", "B1"
    B2 = "B2", "B2"
    C1 = "C1", "C1"
    C2 = "C2", "C2"


def cv_path(instance: Expert, filename: str) -> str:
    # The stored name is random: the original name is kept for display and download only.
    return f"cv/{instance.pk or 'new'}/{timezone.now():%Y%m%d%H%M%S}-{filename}"


class Expert(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="expert_profile",
        verbose_name=_("account"),
    )
    full_name = models.CharField(_("full name"), max_length=200)
    email = models.EmailField(_("contact email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    home_institution = models.CharField(_("home institution"), max_length=200, blank=True)
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="experts",
        verbose_name=_("employer registered in CB Portal"),
        help_text=_("Used to detect conflicts of interest with a requesting organisation."),
    )
    administration_type = models.CharField(
        _("administration type"), max_length=30, choices=AdministrationType.choices
    )
    nationality = models.ForeignKey(
        Country,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("nationality"),
    )
    residence = models.ForeignKey(
        Country,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("country of residence"),
    )
    thematic_areas = models.ManyToManyField(
        ThematicArea, blank=True, related_name="experts", verbose_name=_("thematic areas")
    )
    skills = models.ManyToManyField(
        Skill, blank=True, related_name="experts", verbose_name=_("skills")
    )
    countries_of_experience = models.ManyToManyField(
        Country, blank=True, related_name="experienced_experts", verbose_name=_("experience in")
    )
    years_experience = models.PositiveSmallIntegerField(
        _("years of experience"), default=0, validators=[MaxValueValidator(70)]
    )
    biography = models.TextField(_("short biography"), blank=True, max_length=3000)
    cv = models.FileField(_("CV"), upload_to=cv_path, max_length=255, blank=True)
    cv_name = models.CharField(max_length=255, blank=True)
    cv_content_type = models.CharField(max_length=100, blank=True)
    cv_size = models.PositiveIntegerField(default=0)
    cv_uploaded_at = models.DateTimeField(null=True, blank=True)
    vetting_status = models.CharField(
        _("vetting"), max_length=10, choices=VettingStatus.choices, default=VettingStatus.PENDING
    )
    vetting_note = models.TextField(_("vetting note"), blank=True)
    vetted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    vetted_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    consent_contact = models.BooleanField(_("agrees to be contacted about missions"), default=False)
    consent_retention = models.BooleanField(
        _("agrees that CB Portal keeps the data"), default=False
    )
    consent_at = models.DateTimeField(_("consent given"), null=True, blank=True)
    share_contact = models.BooleanField(
        _("share email and phone with partners of my confirmed missions"), default=False
    )
    # Denormalised by the rating service: the track-record component reads them for every
    # candidate without touching the deployments table.
    rating_sum = models.PositiveIntegerField(default=0)
    rating_count = models.PositiveIntegerField(default=0)
    # Lower-case name, biography and skills, kept by the services for roster search
    # (a trigram index serves it on PostgreSQL).
    search_document = models.TextField(default="", blank=True, editable=False)
    deletion_requested_at = models.DateTimeField(_("deletion requested"), null=True, blank=True)
    anonymised_at = models.DateTimeField(_("anonymised"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["full_name", "id"]
        verbose_name = _("expert")
        verbose_name_plural = _("experts")
        indexes = [
            models.Index(
                fields=["vetting_status", "is_active", "administration_type"],
                name="expert_pool_idx",
            ),
            models.Index(fields=["nationality", "vetting_status"], name="expert_nationality_idx"),
            models.Index(fields=["-created_at"], name="expert_created_idx"),
            # The roster's default order.
            models.Index(fields=["full_name", "id"], name="expert_name_idx"),
            # Matching reads these columns of every expert still on the roster, per need: an
            # index-only scan of this narrow index (8 MB at 100,000 experts) instead of the
            # table, whose biographies make it twenty times larger (PostgreSQL; SQLite keeps
            # a plain partial index).
            models.Index(
                fields=["id"],
                include=[
                    "is_active",
                    "vetting_status",
                    "organisation",
                    "administration_type",
                    "nationality",
                    "rating_sum",
                    "rating_count",
                ],
                condition=Q(anonymised_at__isnull=True),
                name="expert_matching_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(years_experience__lte=70), name="expert_years_plausible"
            ),
        ]

    def __str__(self) -> str:
        return self.full_name

    def get_absolute_url(self) -> str:
        return reverse("experts:detail", args=[self.pk])

    @property
    def is_anonymised(self) -> bool:
        return self.anonymised_at is not None

    @property
    def average_rating(self) -> float | None:
        return round(self.rating_sum / self.rating_count, 1) if self.rating_count else None

    @property
    def is_eligible(self) -> bool:
        return (
            self.is_active
            and self.vetting_status == VettingStatus.APPROVED
            and self.anonymised_at is None
        )


class ExpertLanguage(models.Model):
    expert = models.ForeignKey(Expert, on_delete=models.CASCADE, related_name="languages")
    language = models.ForeignKey(
        Language, on_delete=models.PROTECT, related_name="+", verbose_name=_("language")
    )
    level = models.CharField(_("level (CEFR)"), max_length=2, choices=CefrLevel.choices)

    class Meta:
        ordering = ["-level", "language"]
        verbose_name = _("language skill")
        verbose_name_plural = _("language skills")
        constraints = [
            models.UniqueConstraint(fields=["expert", "language"], name="expert_language_unique"),
            models.CheckConstraint(
                condition=Q(level__in=CefrLevel.values), name="expert_language_level_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["language", "level", "expert"], name="expert_lang_level_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.language_id} {self.level}"


class Unavailability(models.Model):
    expert = models.ForeignKey(Expert, on_delete=models.CASCADE, related_name="unavailability")
    start_date = models.DateField(_("from"))
    end_date = models.DateField(_("to"))
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["start_date", "id"]
        verbose_name = _("unavailability period")
        verbose_name_plural = _("unavailability periods")
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=F("start_date")), name="unavailability_in_order"
            ),
        ]
        indexes = [
            models.Index(fields=["expert", "start_date", "end_date"], name="unavail_expert_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.start_date} → {self.end_date}"


class DeploymentStatus(models.TextChoices):
    SHORTLISTED = "shortlisted", _("Shortlisted")
    INVITED = "invited", _("Invited")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    EXPIRED = "expired", _("Invitation expired")
    CONFIRMED = "confirmed", _("Confirmed")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


# Deployments that hold the expert's calendar: they may never overlap (DB exclusion
# constraint on PostgreSQL, row lock in the service everywhere).
BOOKED_STATUSES = (DeploymentStatus.CONFIRMED, DeploymentStatus.COMPLETED)
# Deployments that are still going somewhere.
OPEN_STATUSES = (
    DeploymentStatus.SHORTLISTED,
    DeploymentStatus.INVITED,
    DeploymentStatus.ACCEPTED,
    DeploymentStatus.CONFIRMED,
)


class Deployment(models.Model):
    expert = models.ForeignKey(
        Expert, on_delete=models.PROTECT, related_name="deployments", verbose_name=_("expert")
    )
    need = models.ForeignKey(
        ExpertiseNeed,
        on_delete=models.CASCADE,
        related_name="deployments",
        verbose_name=_("expertise need"),
    )
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=DeploymentStatus.choices,
        default=DeploymentStatus.SHORTLISTED,
    )
    score = models.FloatField(_("match score"), null=True, blank=True)
    shortlisted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    invited_at = models.DateTimeField(_("invited"), null=True, blank=True)
    expires_at = models.DateTimeField(_("invitation expires"), null=True, blank=True)
    # Rotated at every invitation and cleared when the expert answers: the signed link in
    # the email works once.
    invitation_nonce = models.CharField(max_length=32, blank=True)
    responded_at = models.DateTimeField(_("answered"), null=True, blank=True)
    decline_reason = models.TextField(_("reason for declining"), blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    start_date = models.DateField(_("mission start"), null=True, blank=True)
    end_date = models.DateField(_("mission end"), null=True, blank=True)
    expert_days = models.PositiveSmallIntegerField(_("expert-days"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    cancel_reason = models.TextField(_("reason for cancelling"), blank=True)
    status_before_cancel = models.CharField(max_length=12, blank=True)
    rating = models.PositiveSmallIntegerField(
        _("mission rating"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    rating_note = models.TextField(_("rating note"), blank=True)
    rated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("deployment")
        verbose_name_plural = _("deployments")
        constraints = [
            models.UniqueConstraint(fields=["expert", "need"], name="deployment_once_per_need"),
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                name="deployment_rating_range",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["confirmed", "completed"])
                | Q(
                    start_date__isnull=False, end_date__isnull=False, end_date__gte=F("start_date")
                ),
                name="deployment_booked_has_dates",
            ),
            # On PostgreSQL, migration 0002 adds the exclusion constraint
            # ``deployment_no_double_booking`` (no two booked deployments of one expert with
            # overlapping dates).
        ]
        indexes = [
            models.Index(fields=["expert", "status", "start_date"], name="deployment_expert_idx"),
            models.Index(fields=["need", "status"], name="deployment_need_idx"),
            models.Index(fields=["status", "expires_at"], name="deployment_expiry_idx"),
            models.Index(fields=["status", "end_date"], name="deployment_end_idx"),
            # The lists' default order (newest first): read from the index, not sorted.
            models.Index(fields=["-created_at", "-id"], name="deployment_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.expert} — {self.need.activity}"

    def get_absolute_url(self) -> str:
        return reverse("experts:deployment", args=[self.pk])

    @property
    def is_booked(self) -> bool:
        return self.status in BOOKED_STATUSES

    @property
    def invitation_has_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()


class MissionReport(models.Model):
    deployment = models.OneToOneField(
        Deployment, on_delete=models.CASCADE, related_name="report", verbose_name=_("deployment")
    )
    summary = models.TextField(_("summary"))
    outputs = models.TextField(_("outputs"))
    recommendations = models.TextField(_("recommendations"))
    days_worked = models.PositiveSmallIntegerField(
        _("days actually worked"), validators=[MinValueValidator(1)]
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    submitted_at = models.DateTimeField(_("submitted"), default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("mission report")
        verbose_name_plural = _("mission reports")
        constraints = [
            models.CheckConstraint(condition=Q(days_worked__gte=1), name="report_days_positive"),
        ]

    def __str__(self) -> str:
        return str(_("Mission report of %(deployment)s") % {"deployment": self.deployment})


def report_attachment_path(instance: ReportAttachment, filename: str) -> str:
    return f"reports/{instance.report.deployment_id}/{timezone.now():%Y%m%d%H%M%S}-{filename}"


class ReportAttachment(models.Model):
    report = models.ForeignKey(MissionReport, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("file"), upload_to=report_attachment_path, max_length=255)
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("report attachment")
        verbose_name_plural = _("report attachments")

    def __str__(self) -> str:
        return self.original_name

    def get_absolute_url(self) -> str:
        return reverse("experts:report-attachment", args=[self.report.deployment_id, self.pk])


class MatchJobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class MatchJob(models.Model):
    """One run of matching for one expertise need (queued by staff, run by Celery)."""

    need = models.ForeignKey(ExpertiseNeed, on_delete=models.CASCADE, related_name="match_jobs")
    status = models.CharField(
        _("status"), max_length=10, choices=MatchJobStatus.choices, default=MatchJobStatus.QUEUED
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    roster_size = models.PositiveIntegerField(default=0)
    candidates = models.PositiveIntegerField(default=0)
    # Hard exclusions counted by reason: {"inactive_or_unvetted": 120, "language": 80, ...}
    exclusions = models.JSONField(default=dict)
    weights = models.JSONField(default=dict)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("matching run")
        verbose_name_plural = _("matching runs")
        indexes = [models.Index(fields=["need", "-created_at"], name="matchjob_need_idx")]

    def __str__(self) -> str:
        return f"match #{self.pk} for need {self.need_id}"


class MatchResult(models.Model):
    """One line of the stored shortlist of a need: replaced as a whole by each run."""

    need = models.ForeignKey(ExpertiseNeed, on_delete=models.CASCADE, related_name="matches")
    job = models.ForeignKey(MatchJob, on_delete=models.CASCADE, related_name="results")
    expert = models.ForeignKey(Expert, on_delete=models.CASCADE, related_name="+")
    rank = models.PositiveIntegerField()
    score = models.FloatField()
    components = models.JSONField(default=dict)
    explanation = models.JSONField(default=dict)

    class Meta:
        ordering = ["need", "rank"]
        verbose_name = _("match")
        verbose_name_plural = _("matches")
        constraints = [
            models.UniqueConstraint(fields=["need", "rank"], name="match_rank_unique"),
            models.UniqueConstraint(fields=["need", "expert"], name="match_expert_unique"),
        ]

    def __str__(self) -> str:
        return f"#{self.rank} {self.expert_id} ({self.score})"
