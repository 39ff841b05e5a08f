"""Monitoring and evaluation: indicators with dated measurements, outcome logs, feedback from
participants and the partner, and the final OECD-DAC evaluation of an action, whose
recommendations can open a follow-up request."""

from __future__ import annotations

import secrets
from datetime import date, timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from actions.models import Action, Activity, Objective
from requests_app.models import AssistanceRequest, CbLevel

__all__ = [
    "DAC_CRITERIA",
    "CbLevel",
    "Direction",
    "EvaluationStatus",
    "Feedback",
    "FeedbackLink",
    "FinalEvaluation",
    "Frequency",
    "Indicator",
    "Measurement",
    "Outcome",
    "Progress",
    "Recommendation",
    "RespondentKind",
    "Unit",
]


class Unit(models.TextChoices):
    NUMBER = "number", _("Number")
    PERCENTAGE = "percentage", _("Percentage")
    YES_NO = "yes_no", _("Yes / no")
    SCALE = "scale", _("Scale 1–5")


class Direction(models.TextChoices):
    INCREASE = "increase", _("Increase")
    DECREASE = "decrease", _("Decrease")


class Frequency(models.TextChoices):
    MONTHLY = "monthly", _("Monthly")
    QUARTERLY = "quarterly", _("Quarterly")
    SEMI_ANNUAL = "semi_annual", _("Every six months")
    ANNUAL = "annual", _("Yearly")
    END_ONLY = "end_only", _("At the end of the action")


# Months between two measurements; ``END_ONLY`` is due at the action's end.
FREQUENCY_MONTHS = {
    Frequency.MONTHLY: 1,
    Frequency.QUARTERLY: 3,
    Frequency.SEMI_ANNUAL: 6,
    Frequency.ANNUAL: 12,
}


class Progress(models.TextChoices):
    NOT_MEASURED = "not_measured", _("Not measured yet")
    ON_TRACK = "on_track", _("On track")
    AT_RISK = "at_risk", _("At risk")
    OFF_TRACK = "off_track", _("Off track")
    ACHIEVED = "achieved", _("Target reached")


class Indicator(models.Model):
    action = models.ForeignKey(
        Action, on_delete=models.CASCADE, related_name="indicators", verbose_name=_("action")
    )
    name = models.CharField(_("name"), max_length=200)
    level = models.CharField(_("capacity level"), max_length=30, choices=CbLevel.choices)
    objective = models.ForeignKey(
        Objective,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="indicators",
        verbose_name=_("objective"),
    )
    unit = models.CharField(_("unit"), max_length=20, choices=Unit.choices)
    baseline = models.DecimalField(_("baseline"), max_digits=12, decimal_places=2)
    target = models.DecimalField(_("target"), max_digits=12, decimal_places=2)
    direction = models.CharField(
        _("direction"), max_length=10, choices=Direction.choices, default=Direction.INCREASE
    )
    means_of_verification = models.TextField(_("means of verification"), blank=True)
    frequency = models.CharField(
        _("measurement frequency"),
        max_length=20,
        choices=Frequency.choices,
        default=Frequency.QUARTERLY,
    )
    # Kept by the measurement services so that lists and the dashboard count progress in
    # the database (see evaluations/progress.py for the rules).
    latest_value = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    latest_date = models.DateField(_("last measured"), null=True, blank=True)
    progress = models.DecimalField(
        _("progress towards target"), max_digits=7, decimal_places=4, null=True, blank=True
    )
    progress_status = models.CharField(
        _("progress"),
        max_length=20,
        choices=Progress.choices,
        default=Progress.NOT_MEASURED,
        db_index=True,
    )
    position = models.PositiveSmallIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["action", "position", "id"]
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")
        constraints = [
            models.CheckConstraint(
                condition=~Q(target=models.F("baseline")), name="indicator_target_differs"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return f"{reverse('evaluations:action', args=[self.action_id])}#indicator-{self.pk}"

    def next_due(self) -> date | None:
        """When the next measurement is expected: one period after the last (or after the
        action's start), never after the action's end; end-only indicators are due at the
        end unless measured in the action's last month. ``None``: nothing more is due."""
        action = self.action
        last = self.latest_date
        if self.frequency == Frequency.END_ONLY:
            measured_at_end = last is not None and last >= add_months(action.end_date, -1)
            return None if measured_at_end else action.end_date
        if last is not None and last >= action.end_date:
            return None
        due = add_months(last or action.start_date, FREQUENCY_MONTHS[Frequency(self.frequency)])
        return min(due, action.end_date)


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    return day + timedelta(days=30 * months)  # pragma: no cover - unreachable


def evidence_path(instance: models.Model, filename: str) -> str:
    action_id = getattr(instance, "action_id", None) or instance.indicator.action_id  # type: ignore[attr-defined]
    return f"evidence/{action_id}/{timezone.now():%Y%m%d%H%M%S}-{filename}"


class Evidence(models.Model):
    """A file or a link that backs a measurement or an outcome."""

    evidence_file = models.FileField(
        _("evidence file"), upload_to=evidence_path, max_length=255, blank=True
    )
    evidence_name = models.CharField(_("file name"), max_length=255, blank=True)
    evidence_url = models.URLField(_("evidence link"), max_length=500, blank=True)

    class Meta:
        abstract = True


class Measurement(Evidence):
    indicator = models.ForeignKey(
        Indicator,
        on_delete=models.CASCADE,
        related_name="measurements",
        verbose_name=_("indicator"),
    )
    date = models.DateField(_("date"))
    value = models.DecimalField(_("value"), max_digits=12, decimal_places=2)
    note = models.TextField(_("note"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        ordering = ["indicator", "-date", "-id"]
        verbose_name = _("measurement")
        verbose_name_plural = _("measurements")
        indexes = [models.Index(fields=["indicator", "-date"], name="measurement_latest_idx")]

    def __str__(self) -> str:
        return f"{self.indicator}: {self.value} ({self.date})"

    def get_absolute_url(self) -> str:
        return self.indicator.get_absolute_url()


class Outcome(Evidence):
    action = models.ForeignKey(
        Action, on_delete=models.CASCADE, related_name="outcomes", verbose_name=_("action")
    )
    level = models.CharField(_("capacity level"), max_length=30, choices=CbLevel.choices)
    description = models.TextField(_("what changed"))
    evidence = models.TextField(_("evidence"), blank=True)
    date = models.DateField(_("date"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        ordering = ["action", "-date", "-id"]
        verbose_name = _("outcome")
        verbose_name_plural = _("outcomes")

    def __str__(self) -> str:
        return self.description[:80]

    def get_absolute_url(self) -> str:
        return f"{reverse('evaluations:action', args=[self.action_id])}#outcome-{self.pk}"


class RespondentKind(models.TextChoices):
    PARTICIPANT = "participant", _("Participant")
    PARTNER = "partner", _("Partner")


def new_feedback_token() -> str:
    return secrets.token_urlsafe(24)


class FeedbackLink(models.Model):
    """A one-response link staff share with a participant (no account needed)."""

    activity = models.ForeignKey(
        Activity,
        on_delete=models.CASCADE,
        related_name="feedback_links",
        verbose_name=_("activity"),
    )
    token = models.CharField(max_length=64, unique=True, default=new_feedback_token)
    respondent = models.CharField(
        _("respondent"),
        max_length=20,
        choices=RespondentKind.choices,
        default=RespondentKind.PARTICIPANT,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(_("answered"), null=True, blank=True)

    class Meta:
        ordering = ["activity", "created_at", "id"]
        verbose_name = _("feedback link")
        verbose_name_plural = _("feedback links")

    def __str__(self) -> str:
        return f"{self.activity}: {self.token[:6]}…"

    def get_absolute_url(self) -> str:
        return reverse("evaluations:feedback-form", args=[self.token])


class Feedback(models.Model):
    activity = models.ForeignKey(
        Activity, on_delete=models.CASCADE, related_name="feedback", verbose_name=_("activity")
    )
    respondent = models.CharField(_("respondent"), max_length=20, choices=RespondentKind.choices)
    satisfaction = models.PositiveSmallIntegerField(
        _("satisfaction"), validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comments = models.TextField(_("comments"), blank=True)
    link = models.OneToOneField(
        FeedbackLink,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="response",
        verbose_name=_("link"),
    )
    # A signed-in partner focal point who answered (participants answer through a link).
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    submitted_at = models.DateTimeField(_("submitted"), default=timezone.now)

    class Meta:
        ordering = ["activity", "-submitted_at", "-id"]
        verbose_name = _("feedback")
        verbose_name_plural = _("feedback")
        constraints = [
            models.CheckConstraint(
                condition=Q(satisfaction__gte=1, satisfaction__lte=5),
                name="feedback_satisfaction_1_5",
            ),
            models.UniqueConstraint(
                fields=["activity", "submitted_by"],
                condition=Q(submitted_by__isnull=False),
                name="feedback_one_per_user_and_activity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.activity}: {self.satisfaction}/5"

    def get_absolute_url(self) -> str:
        return f"{reverse('evaluations:action', args=[self.activity.action_id])}#feedback"


class EvaluationStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")


# The six OECD-DAC criteria, in the order the DAC lists them.
DAC_CRITERIA: tuple[tuple[str, object], ...] = (
    ("relevance", _("Relevance")),
    ("coherence", _("Coherence")),
    ("effectiveness", _("Effectiveness")),
    ("efficiency", _("Efficiency")),
    ("impact", _("Impact")),
    ("sustainability", _("Sustainability")),
)
RATING_LABELS = {
    1: _("Unsatisfactory"),
    2: _("Partly satisfactory"),
    3: _("Satisfactory"),
    4: _("Highly satisfactory"),
}


def _rating(label: object) -> models.PositiveSmallIntegerField:
    return models.PositiveSmallIntegerField(
        label,  # type: ignore[arg-type]
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(4)],
    )


class FinalEvaluation(models.Model):
    action = models.OneToOneField(
        Action, on_delete=models.CASCADE, related_name="evaluation", verbose_name=_("action")
    )
    status = models.CharField(
        _("status"), max_length=10, choices=EvaluationStatus.choices, default=EvaluationStatus.DRAFT
    )
    relevance = _rating(_("Relevance"))
    relevance_justification = models.TextField(_("why (relevance)"), blank=True)
    coherence = _rating(_("Coherence"))
    coherence_justification = models.TextField(_("why (coherence)"), blank=True)
    effectiveness = _rating(_("Effectiveness"))
    effectiveness_justification = models.TextField(_("why (effectiveness)"), blank=True)
    efficiency = _rating(_("Efficiency"))
    efficiency_justification = models.TextField(_("why (efficiency)"), blank=True)
    impact = _rating(_("Impact"))
    impact_justification = models.TextField(_("why (impact)"), blank=True)
    sustainability = _rating(_("Sustainability"))
    sustainability_justification = models.TextField(_("why (sustainability)"), blank=True)
    findings = models.TextField(_("findings"), blank=True)
    lessons = models.TextField(_("lessons learned"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("final evaluation")
        verbose_name_plural = _("final evaluations")
        constraints = [
            models.CheckConstraint(
                condition=Q(**{f"{name}__isnull": True})
                | Q(**{f"{name}__gte": 1, f"{name}__lte": 4}),
                name=f"evaluation_{name}_1_4",
            )
            for name, _label in DAC_CRITERIA
        ]
        indexes = [models.Index(fields=["status", "submitted_at"], name="evaluation_status_idx")]

    def __str__(self) -> str:
        return str(_("Final evaluation of %(action)s") % {"action": self.action.reference})

    def get_absolute_url(self) -> str:
        return reverse("evaluations:evaluation", args=[self.action_id])

    def ratings(self) -> list[tuple[str, object, int | None, str]]:
        """(criterion, label, rating, justification) for the six criteria."""
        return [
            (name, label, getattr(self, name), getattr(self, f"{name}_justification"))
            for name, label in DAC_CRITERIA
        ]


class Recommendation(models.Model):
    evaluation = models.ForeignKey(
        FinalEvaluation, on_delete=models.CASCADE, related_name="recommendations"
    )
    text = models.TextField(_("recommendation"))
    position = models.PositiveSmallIntegerField(default=0)
    # The draft request staff opened from this recommendation (the loop closes).
    follow_up_request = models.OneToOneField(
        AssistanceRequest,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="follows_recommendation",
        verbose_name=_("follow-up request"),
    )

    class Meta:
        ordering = ["evaluation", "position", "id"]
        verbose_name = _("recommendation")
        verbose_name_plural = _("recommendations")

    def __str__(self) -> str:
        return self.text[:80]
