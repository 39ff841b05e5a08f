"""Every write use-case of monitoring and evaluation.

Who may do what is in evaluations/permissions.py; a user who may not see the action gets
``NotFound`` (404), one who sees it but may not change it ``TransitionForbidden`` (403).
Bad input raises ``ApplicationError`` with field errors and saves nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Prefetch, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from actions.models import Action, ActionStatus, Activity
from actions.permissions import can_view_action
from actions.services import case_officer, partner_contacts
from cbportal.accounts.models import Role, User
from cbportal.core.errors import (
    ApplicationError,
    NotFound,
    TransitionForbidden,
    TransitionNotAllowed,
)
from cbportal.core.notifications import notify_on_commit
from cbportal.core.reminders import remind
from cbportal.core.services import fire_transition
from cbportal.core.uploads import DOCUMENTS, clean_filename, validate_upload
from evaluations import permissions, progress
from evaluations.models import (
    DAC_CRITERIA,
    CbLevel,
    Direction,
    EvaluationStatus,
    Feedback,
    FeedbackLink,
    FinalEvaluation,
    Frequency,
    Indicator,
    Measurement,
    Outcome,
    Recommendation,
    RespondentKind,
    Unit,
)
from evaluations.selectors import deployed_on_action
from evaluations.workflow import EVALUATION_WORKFLOW
from requests_app.models import AssistanceRequest

Errors = dict[str, list[str]]


# --- shared checks --------------------------------------------------------------------


def _lock_action(action_id: int, by: User) -> Action:
    try:
        action = (
            Action.objects.select_for_update(of=("self",))
            .select_related("request__case_officer", "organisation")
            .get(pk=action_id)
        )
    except (Action.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    if not can_view_action(by, action):
        raise NotFound()
    return action


def _raise(errors: Errors) -> None:
    if errors:
        raise ApplicationError(_("Please correct the errors below."), errors=errors)


def _text(data: dict[str, Any], name: str) -> str:
    return str(data.get(name) or "").strip()


def _choice(value: Any, choices: Any, name: str, message: str, errors: Errors) -> str:
    if value not in choices.values:
        errors.setdefault(name, []).append(message)
        return ""
    return str(value)


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value))
    text = str(value if value is not None else "").strip().replace(",", ".")
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def unit_value_error(unit: str, value: Decimal) -> str | None:
    """Why ``value`` is not a valid reading of ``unit`` (None when it is)."""
    if unit == Unit.YES_NO and value not in (0, 1):
        return _("Answer yes (1) or no (0).")
    if unit == Unit.SCALE and (value != value.to_integral_value() or not 1 <= value <= 5):
        return _("Use a whole number from 1 to 5.")
    if unit == Unit.PERCENTAGE and not 0 <= value <= 100:
        return _("A percentage is between 0 and 100.")
    return None


def clean_unit_value(unit: str, raw: Any, name: str, errors: Errors) -> Decimal | None:
    value = _decimal(raw)
    if value is None:
        errors.setdefault(name, []).append(_("Enter a number."))
        return None
    if abs(value) >= Decimal("1e10"):
        errors.setdefault(name, []).append(_("This number is too large."))
        return None
    if value != value.quantize(Decimal("0.01")):
        errors.setdefault(name, []).append(_("Use at most two decimal places."))
        return None
    problem = unit_value_error(unit, value)
    if problem:
        errors.setdefault(name, []).append(problem)
        return None
    return value


def _date(raw: Any, name: str, errors: Errors) -> date | None:
    if isinstance(raw, date):
        return raw
    try:
        parsed = parse_date(str(raw or "").strip()) if raw else None
    except ValueError:  # well formed but impossible, such as 2025-02-30
        parsed = None
    if parsed is None:
        errors.setdefault(name, []).append(_("Enter a valid date (YYYY-MM-DD)."))
    return parsed


def _check_in_action_period(action: Action, day: date | None, errors: Errors) -> None:
    if day is None:
        return
    if not action.start_date <= day <= action.end_date:
        errors.setdefault("date", []).append(
            _("The date must fall within the action's period, %(start)s to %(end)s.")
            % {
                "start": date_format(action.start_date, "SHORT_DATE_FORMAT"),
                "end": date_format(action.end_date, "SHORT_DATE_FORMAT"),
            }
        )
    elif day > timezone.localdate():
        errors.setdefault("date", []).append(_("The date cannot be in the future."))


def _check_evidence(data: dict[str, Any], errors: Errors) -> Any:
    """Validate the optional evidence file and link; returns the upload (or None)."""
    upload = data.get("evidence_file")
    url = _text(data, "evidence_url")
    if url and not url.lower().startswith(("http://", "https://")):
        errors.setdefault("evidence_url", []).append(
            _("Enter a web address starting with http:// or https://.")
        )
    elif len(url) > 500:
        errors.setdefault("evidence_url", []).append(
            _("Keep the web address under 500 characters.")
        )
    if upload:
        try:
            validate_upload(upload, DOCUMENTS)
        except ApplicationError as exc:
            errors.setdefault("evidence_file", []).append(exc.message)
    return upload or None


def _delete_file_on_commit(obj: Measurement | Outcome) -> None:
    """The evidence file goes once the deletion of its record has committed."""
    name, storage = obj.evidence_file.name, obj.evidence_file.storage
    if name:
        transaction.on_commit(lambda: storage.delete(name))


def _attach_evidence(obj: Measurement | Outcome, data: dict[str, Any], upload: Any) -> None:
    obj.evidence_url = _text(data, "evidence_url")
    if upload:
        name = clean_filename(str(getattr(upload, "name", "evidence")))
        obj.evidence_name = name
        obj.evidence_file.save(name, upload, save=False)


# --- indicators -----------------------------------------------------------------------

INDICATOR_FIELDS = (
    "name",
    "level",
    "objective",
    "unit",
    "baseline",
    "target",
    "direction",
    "means_of_verification",
    "frequency",
)


def _clean_indicator(
    action: Action, data: dict[str, Any], current: Indicator | None, errors: Errors
) -> dict[str, Any]:
    merged = {
        name: getattr(current, name if name != "objective" else "objective_id")
        for name in INDICATOR_FIELDS
        if current is not None
    }
    merged.update({k: v for k, v in data.items() if k in INDICATOR_FIELDS})
    clean: dict[str, Any] = {}
    clean["name"] = str(merged.get("name") or "").strip()
    if not clean["name"]:
        errors.setdefault("name", []).append(_("Name the indicator."))
    elif len(clean["name"]) > 200:
        errors.setdefault("name", []).append(_("Keep the name under 200 characters."))
    clean["level"] = _choice(
        merged.get("level"), CbLevel, "level", _("Choose a capacity level."), errors
    )
    clean["unit"] = _choice(merged.get("unit"), Unit, "unit", _("Choose a unit."), errors)
    clean["direction"] = _choice(
        merged.get("direction") or Direction.INCREASE,
        Direction,
        "direction",
        _("Choose whether the indicator should increase or decrease."),
        errors,
    )
    clean["frequency"] = _choice(
        merged.get("frequency") or Frequency.QUARTERLY,
        Frequency,
        "frequency",
        _("Choose how often it is measured."),
        errors,
    )
    clean["means_of_verification"] = str(merged.get("means_of_verification") or "").strip()
    objective = merged.get("objective")
    objective_id = getattr(objective, "pk", objective)
    if objective_id in ("", None):
        clean["objective_id"] = None
    else:
        try:
            objective_id = int(objective_id)
        except (TypeError, ValueError):
            objective_id = None
        if objective_id is None or not action.objectives.filter(pk=objective_id).exists():
            errors.setdefault("objective", []).append(_("Choose one of this action's objectives."))
        else:
            clean["objective_id"] = objective_id
    if clean["unit"]:
        baseline = clean_unit_value(clean["unit"], merged.get("baseline"), "baseline", errors)
        target = clean_unit_value(clean["unit"], merged.get("target"), "target", errors)
        clean["baseline"], clean["target"] = baseline, target
        if baseline is not None and target is not None and clean["direction"]:
            if target == baseline:
                errors.setdefault("target", []).append(
                    _("The target must differ from the baseline.")
                )
            elif clean["direction"] == Direction.INCREASE and target < baseline:
                errors.setdefault("target", []).append(
                    _("An indicator that should increase needs a target above its baseline.")
                )
            elif clean["direction"] == Direction.DECREASE and target > baseline:
                errors.setdefault("target", []).append(
                    _("An indicator that should decrease needs a target below its baseline.")
                )
    unit_changed = current is not None and clean["unit"] and clean["unit"] != current.unit
    if unit_changed and current is not None and current.measurements.exists():
        errors.setdefault("unit", []).append(
            _("The unit cannot change once measurements are recorded.")
        )
    return clean


def _may_edit_indicators(action: Action, by: User) -> None:
    if not permissions.can_edit_indicators(by, action):
        if action.status not in permissions.INDICATOR_STATES:
            raise TransitionNotAllowed(
                _("This action is %(state)s: its indicators cannot change.")
                % {"state": action.get_status_display().lower()}
            )
        raise TransitionForbidden(
            _("Only programme staff and the action's evaluators define its indicators.")
        )


def _refresh_progress(indicator: Indicator, action: Action) -> None:
    """Recompute the indicator's latest value and progress from its measurements."""
    latest = indicator.measurements.order_by("-date", "-id").first()
    result = progress.assess(
        baseline=indicator.baseline,
        target=indicator.target,
        value=latest.value if latest else None,
        measured_on=latest.date if latest else None,
        start=action.start_date,
        end=action.end_date,
    )
    indicator.latest_value = latest.value if latest else None
    indicator.latest_date = latest.date if latest else None
    indicator.progress = result.progress
    indicator.progress_status = result.status
    indicator.save(
        update_fields=["latest_value", "latest_date", "progress", "progress_status", "updated_at"]
    )


@transaction.atomic
def indicator_create(*, action_id: int, by: User, data: dict[str, Any]) -> Indicator:
    """Staff or an assigned evaluator define an indicator of the action. Notifies nobody."""
    action = _lock_action(action_id, by)
    _may_edit_indicators(action, by)
    errors: Errors = {}
    clean = _clean_indicator(action, data, None, errors)
    _raise(errors)
    position = (action.indicators.aggregate(m=Max("position"))["m"] or 0) + 1
    indicator = Indicator.objects.create(action=action, created_by=by, position=position, **clean)
    return indicator


def _lock_indicator(indicator_id: int, by: User) -> tuple[Indicator, Action]:
    try:
        indicator = Indicator.objects.select_for_update(of=("self",)).get(pk=indicator_id)
    except (Indicator.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    action = _lock_action(indicator.action_id, by)
    return indicator, action


@transaction.atomic
def indicator_update(*, indicator_id: int, by: User, data: dict[str, Any]) -> Indicator:
    """Staff or an assigned evaluator change an indicator; progress is recomputed against
    the new baseline and target. Notifies nobody."""
    indicator, action = _lock_indicator(indicator_id, by)
    _may_edit_indicators(action, by)
    errors: Errors = {}
    clean = _clean_indicator(action, data, indicator, errors)
    _raise(errors)
    for name, value in clean.items():
        setattr(indicator, name, value)
    indicator.save()
    _refresh_progress(indicator, action)
    return indicator


@transaction.atomic
def indicator_delete(*, indicator_id: int, by: User) -> None:
    """Staff or an assigned evaluator remove an indicator that has no measurements."""
    indicator, action = _lock_indicator(indicator_id, by)
    _may_edit_indicators(action, by)
    if indicator.measurements.exists():
        raise TransitionNotAllowed(
            _("This indicator has measurements; it cannot be removed. Change it instead.")
        )
    indicator.delete()


# --- measurements ---------------------------------------------------------------------


def _may_monitor(action: Action, by: User) -> None:
    if not permissions.can_monitor(by, action):
        if action.status not in permissions.MONITORED_STATES:
            raise TransitionNotAllowed(
                _("This action is %(state)s: nothing can be recorded on it.")
                % {"state": action.get_status_display().lower()}
            )
        raise TransitionForbidden(
            _("Only programme staff and the action's evaluators record monitoring data.")
        )


@transaction.atomic
def measurement_record(*, indicator_id: int, by: User, data: dict[str, Any]) -> Measurement:
    """Staff or an assigned evaluator record a dated value of an indicator, with a note and
    evidence (a file or a link). The value must suit the indicator's unit and the date fall
    within the action's period. Progress is recomputed. Notifies nobody."""
    indicator, action = _lock_indicator(indicator_id, by)
    _may_monitor(action, by)
    errors: Errors = {}
    day = _date(data.get("date"), "date", errors)
    _check_in_action_period(action, day, errors)
    value = clean_unit_value(indicator.unit, data.get("value"), "value", errors)
    upload = _check_evidence(data, errors)
    _raise(errors)
    assert day is not None and value is not None
    measurement = Measurement(
        indicator=indicator, date=day, value=value, note=_text(data, "note"), recorded_by=by
    )
    _attach_evidence(measurement, data, upload)
    measurement.save()
    _refresh_progress(indicator, action)
    return measurement


@transaction.atomic
def measurement_delete(*, measurement_id: int, by: User) -> None:
    """Staff, or the evaluator who recorded it, remove a mistaken measurement; progress is
    recomputed from the others. Notifies nobody."""
    try:
        measurement = Measurement.objects.select_related("indicator").get(pk=measurement_id)
    except (Measurement.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    indicator, action = _lock_indicator(measurement.indicator_id, by)
    _may_monitor(action, by)
    if by.role == "evaluator" and measurement.recorded_by_id != by.pk:
        raise TransitionForbidden(_("Only programme staff can remove another person's record."))
    _delete_file_on_commit(measurement)
    measurement.delete()
    _refresh_progress(indicator, action)


# --- outcomes -------------------------------------------------------------------------


@transaction.atomic
def outcome_record(*, action_id: int, by: User, data: dict[str, Any]) -> Outcome:
    """Staff or an assigned evaluator log an observed change at one capacity level, with its
    evidence. Notifies nobody."""
    action = _lock_action(action_id, by)
    _may_monitor(action, by)
    errors: Errors = {}
    level = _choice(data.get("level"), CbLevel, "level", _("Choose a capacity level."), errors)
    description = _text(data, "description")
    if not description:
        errors.setdefault("description", []).append(_("Describe what changed."))
    day = _date(data.get("date"), "date", errors)
    _check_in_action_period(action, day, errors)
    upload = _check_evidence(data, errors)
    _raise(errors)
    assert day is not None
    outcome = Outcome(
        action=action,
        level=level,
        description=description,
        evidence=_text(data, "evidence"),
        date=day,
        recorded_by=by,
    )
    _attach_evidence(outcome, data, upload)
    outcome.save()
    return outcome


@transaction.atomic
def outcome_delete(*, outcome_id: int, by: User) -> None:
    """Staff, or the evaluator who logged it, remove an outcome. Notifies nobody."""
    try:
        outcome = Outcome.objects.get(pk=outcome_id)
    except (Outcome.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    action = _lock_action(outcome.action_id, by)
    _may_monitor(action, by)
    if by.role == "evaluator" and outcome.recorded_by_id != by.pk:
        raise TransitionForbidden(_("Only programme staff can remove another person's record."))
    _delete_file_on_commit(outcome)
    outcome.delete()


# --- feedback -------------------------------------------------------------------------


def _lock_activity(activity_id: int, by: User | None) -> Activity:
    try:
        activity = (
            Activity.objects.select_for_update(of=("self",))
            .select_related("action")
            .get(pk=activity_id)
        )
    except (Activity.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    if by is not None and not can_view_action(by, activity.action):
        raise NotFound()
    return activity


@transaction.atomic
def feedback_links_create(*, activity_id: int, by: User, count: int) -> list[FeedbackLink]:
    """Staff create one-response links for an activity's participants to share (by email,
    on a slide, on paper). Notifies nobody."""
    from django.conf import settings

    activity = _lock_activity(activity_id, by)
    if not permissions.can_manage_feedback_links(by, activity.action):
        if not by.role == "staff" and not by.is_superuser:
            raise TransitionForbidden(_("Only programme staff create feedback links."))
        raise TransitionNotAllowed(_("Feedback is collected once the action is in implementation."))
    limit = settings.FEEDBACK_LINKS_MAX
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= limit:
        raise ApplicationError(
            _("Create between 1 and %(limit)s links at a time.") % {"limit": limit},
            field="count",
        )
    links = [FeedbackLink(activity=activity, created_by=by) for _i in range(count)]
    return FeedbackLink.objects.bulk_create(links)


def _clean_feedback(data: dict[str, Any], errors: Errors) -> tuple[int | None, str]:
    raw = data.get("satisfaction")
    satisfaction: int | None = None
    try:
        satisfaction = int(str(raw).strip()) if raw not in (None, "") else None
    except ValueError:
        satisfaction = None
    if isinstance(raw, bool) or satisfaction is None or not 1 <= satisfaction <= 5:
        errors.setdefault("satisfaction", []).append(
            _("Rate your satisfaction from 1 (very dissatisfied) to 5 (very satisfied).")
        )
        satisfaction = None
    comments = _text(data, "comments")
    if len(comments) > 5000:
        errors.setdefault("comments", []).append(_("Keep comments under 5,000 characters."))
    return satisfaction, comments


@transaction.atomic
def feedback_submit_by_link(*, token: str, data: dict[str, Any]) -> Feedback:
    """A participant answers through a shared link (no account). One answer per link: a
    second answer is refused and the first is kept. Notifies nobody."""
    try:
        link = (
            FeedbackLink.objects.select_for_update(of=("self",))
            .select_related("activity__action")
            .get(token=str(token))
        )
    except FeedbackLink.DoesNotExist:
        raise NotFound() from None
    if link.used_at is not None:
        raise TransitionNotAllowed(
            _("This link has already been used: thank you, your answer was recorded.")
        )
    if not permissions.collects_feedback(link.activity.action):
        raise TransitionNotAllowed(_("This activity no longer collects feedback."))
    errors: Errors = {}
    satisfaction, comments = _clean_feedback(data, errors)
    _raise(errors)
    assert satisfaction is not None
    link.used_at = timezone.now()
    link.save(update_fields=["used_at"])
    return Feedback.objects.create(
        activity=link.activity,
        respondent=link.respondent,
        satisfaction=satisfaction,
        comments=comments,
        link=link,
    )


@transaction.atomic
def feedback_submit(*, activity_id: int, by: User, data: dict[str, Any]) -> Feedback:
    """A partner focal point rates an activity of their organisation's action (once per
    person and activity). Notifies nobody."""
    activity = _lock_activity(activity_id, by)
    if not permissions.can_give_partner_feedback(by, activity.action):
        if by.role != "partner":
            raise TransitionForbidden(_("Only the partner's focal points give partner feedback."))
        raise TransitionNotAllowed(_("Feedback is collected once the action is in implementation."))
    errors: Errors = {}
    satisfaction, comments = _clean_feedback(data, errors)
    _raise(errors)
    if Feedback.objects.filter(activity=activity, submitted_by=by).exists():
        raise TransitionNotAllowed(_("You have already given feedback on this activity."))
    assert satisfaction is not None
    try:
        with transaction.atomic():
            return Feedback.objects.create(
                activity=activity,
                respondent=RespondentKind.PARTNER,
                satisfaction=satisfaction,
                comments=comments,
                submitted_by=by,
            )
    except IntegrityError:  # a second tab won the race
        raise TransitionNotAllowed(_("You have already given feedback on this activity.")) from None


@transaction.atomic
def participants_record(*, activity_id: int, by: User, data: dict[str, Any]) -> Activity:
    """Staff or an assigned evaluator record how many women, men and others took part in an
    activity (sex-disaggregated participation). Notifies nobody."""
    activity = _lock_activity(activity_id, by)
    _may_monitor(activity.action, by)
    errors: Errors = {}
    counts: dict[str, int] = {}
    for name in ("participants_women", "participants_men", "participants_other"):
        raw = data.get(name, getattr(activity, name))
        try:
            value = int(str(raw).strip())
        except (TypeError, ValueError):
            value = -1
        if isinstance(raw, bool) or value < 0 or value > 1_000_000:
            errors.setdefault(name, []).append(_("Enter a whole number, 0 or more."))
        counts[name] = value
    _raise(errors)
    for name, value in counts.items():
        setattr(activity, name, value)
    activity.save(update_fields=list(counts))
    return activity


# --- final evaluation -----------------------------------------------------------------

RATING_FIELDS = [name for name, _label in DAC_CRITERIA]
TEXT_FIELDS = [*(f"{name}_justification" for name in RATING_FIELDS), "findings", "lessons"]


def _clean_rating(raw: Any, name: str, errors: Errors) -> int | None:
    if raw in (None, ""):
        return None
    try:
        value = int(str(raw).strip())
    except ValueError:
        value = 0
    if isinstance(raw, bool) or not 1 <= value <= 4:
        errors.setdefault(name, []).append(
            _("Rate from 1 (unsatisfactory) to 4 (highly satisfactory).")
        )
        return None
    return value


def _clean_recommendations(raw: Any, errors: Errors) -> list[str] | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = raw.splitlines()
    if not isinstance(raw, list | tuple):
        errors.setdefault("recommendations", []).append(
            _("Give the recommendations as a list, or one per line.")
        )
        return None
    items = []
    for item in raw:
        text = str(item.get("text", "") if isinstance(item, dict) else item).strip()
        if text:
            items.append(text)
    if len(items) > 50:
        errors.setdefault("recommendations", []).append(_("Give at most 50 recommendations."))
    return items


@transaction.atomic
def evaluation_save(*, action_id: int, by: User, data: dict[str, Any]) -> FinalEvaluation:
    """An assigned evaluator starts or edits the draft final evaluation: the six OECD-DAC
    criteria rated 1–4 with a justification, findings, lessons learned, recommendations
    (one per line or item). An evaluator deployed on the action as an expert may not.
    Notifies nobody."""
    action = _lock_action(action_id, by)
    if not permissions.is_assigned_evaluator(by, action):
        raise TransitionForbidden(
            _("Only an evaluator assigned to this action writes its final evaluation.")
        )
    if deployed_on_action(by, action.pk):
        raise TransitionForbidden(
            _(
                "You were deployed as an expert on this action, so you cannot evaluate it "
                "(conflict of interest). Programme staff will assign another evaluator."
            )
        )
    evaluation = FinalEvaluation.objects.select_for_update().filter(action=action).first()
    if evaluation is not None and evaluation.status != EvaluationStatus.DRAFT:
        raise TransitionNotAllowed(_("A submitted evaluation cannot change."))
    if action.status not in permissions.MONITORED_STATES:
        raise TransitionNotAllowed(
            _("This action is %(state)s: it cannot be evaluated.")
            % {"state": action.get_status_display().lower()}
        )
    errors: Errors = {}
    values: dict[str, Any] = {}
    for name in RATING_FIELDS:
        if name in data:
            values[name] = _clean_rating(data[name], name, errors)
    for name in TEXT_FIELDS:
        if name in data:
            values[name] = _text(data, name)
    recommendations = _clean_recommendations(data.get("recommendations"), errors)
    _raise(errors)
    if evaluation is None:
        evaluation = FinalEvaluation(action=action, created_by=by)
    for name, value in values.items():
        setattr(evaluation, name, value)
    evaluation.save()
    if recommendations is not None:
        evaluation.recommendations.all().delete()
        Recommendation.objects.bulk_create(
            Recommendation(evaluation=evaluation, text=text, position=i)
            for i, text in enumerate(recommendations, start=1)
        )
    return evaluation


@transaction.atomic
def evaluation_submit(*, evaluation_id: int, by: User, comment: str = "") -> FinalEvaluation:
    """The assigned evaluator submits the complete final evaluation of a completed action;
    staff may then close the action. Notifies the case officer and the partner."""
    try:
        evaluation = (
            FinalEvaluation.objects.select_for_update(of=("self",))
            .select_related("action__request__case_officer")
            .get(pk=evaluation_id)
        )
    except (FinalEvaluation.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    if not permissions.can_view_evaluation(by, evaluation):
        raise NotFound()
    EVALUATION_WORKFLOW.check(evaluation, "submit", by)
    evaluation.submitted_by = by
    evaluation.submitted_at = timezone.now()
    evaluation, event = fire_transition(
        evaluation,
        EVALUATION_WORKFLOW,
        "submit",
        by=by,
        comment=comment,
        extra_fields=["submitted_by", "submitted_at"],
        checked=True,
    )
    action = evaluation.action
    notify_on_commit(
        "evaluation_submitted",
        evaluation,
        [*case_officer(action), *partner_contacts(action)],
        key=str(event.pk),
    )
    return evaluation


@transaction.atomic
def recommendation_follow_up(*, recommendation_id: int, by: User) -> AssistanceRequest:
    """Staff turn a recommendation of a submitted evaluation into a new draft request for
    the same partner, linked to the recommendation (the pipeline closes its loop). The
    partner edits and submits it. Notifies the partner's focal points."""
    try:
        recommendation = (
            Recommendation.objects.select_for_update(of=("self",))
            .select_related("evaluation__action__request", "evaluation__action__country")
            .get(pk=recommendation_id)
        )
    except (Recommendation.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    evaluation = recommendation.evaluation
    if not permissions.can_view_evaluation(by, evaluation):
        raise NotFound()
    if not permissions.can_follow_up(by, evaluation):
        if by.role != "staff" and not by.is_superuser:
            raise TransitionForbidden(_("Only programme staff open follow-up requests."))
        raise TransitionNotAllowed(_("Follow-up requests come from a submitted evaluation."))
    if recommendation.follow_up_request_id is not None:
        raise TransitionNotAllowed(
            _("A follow-up request was already opened from this recommendation.")
        )
    action = evaluation.action
    first_line = recommendation.text.strip().splitlines()[0]
    title = first_line if len(first_line) <= 200 else first_line[:199] + "…"
    request = AssistanceRequest.objects.create(
        organisation=action.organisation,
        created_by=by,
        country=action.country,
        title=title,
        problem_statement=_(
            "Follow-up of %(reference)s “%(title)s”. The final evaluation recommended:\n\n"
            "%(recommendation)s"
        )
        % {
            "reference": action.reference,
            "title": action.title,
            "recommendation": recommendation.text,
        },
        expected_outcomes=action.request.expected_outcomes,
        target_institutions=action.request.target_institutions,
    )
    request.thematic_areas.set(action.thematic_areas.all())
    request.gcm_objectives.set(action.gcm_objectives.all())
    request.languages.set(action.request.languages.all())
    recommendation.follow_up_request = request
    recommendation.save(update_fields=["follow_up_request"])
    notify_on_commit(
        "follow_up_request_opened",
        request,
        partner_contacts(action),
        context={"action_reference": action.reference, "action_title": action.title},
        key=f"recommendation-{recommendation.pk}",
    )
    return request


# --- evaluator assignment (called by actions.services.action_update) ------------------


def check_evaluators(action: Action, evaluators: Sequence[User]) -> None:
    """Refuse an evaluator who was deployed on the action as an expert."""
    from evaluations.selectors import conflicted_evaluators

    conflicted = conflicted_evaluators(action.pk, list(evaluators))
    if conflicted:
        raise ApplicationError(
            _(
                "%(names)s worked on this action as an expert and cannot evaluate it "
                "(conflict of interest)."
            )
            % {"names": ", ".join(user.display_name for user in conflicted)},
            field="evaluators",
        )


def notify_evaluators_assigned(action: Action, evaluators: Sequence[User]) -> None:
    notify_on_commit(
        "evaluator_assigned",
        action,
        evaluators,
        url=action.get_absolute_url(),
    )


# --- reminders ------------------------------------------------------------------------


def _reminder_recipients(lookup: str) -> Prefetch[Any]:
    """Prefetch, as ``reminder_recipients``, the action's evaluators who can still act on
    it (active, evaluator role — as ``permissions.is_assigned_evaluator``)."""
    return Prefetch(lookup, queryset=_can_act(User.objects.all()), to_attr="reminder_recipients")


def _can_act(users: QuerySet[User]) -> QuerySet[User]:
    """The evaluators among ``users`` who can still act (active, evaluator role)."""
    return users.filter(is_active=True, role=Role.EVALUATOR).order_by("pk")


def measurements_remind_due(*, today: date | None = None) -> int:
    """Beat (``evaluations.tasks.remind_measurements_due``): remind the evaluators of
    running or completed actions about each indicator due a measurement, again every
    ``REMINDERS["measurement_due"]`` days while it stays due and at most once a day
    (``cbportal.core.reminders.remind``). Notifies ``measurement_due``. Returns how many
    indicators were reminded about."""
    today = today or timezone.localdate()
    reminded = 0
    candidates = (
        Indicator.objects.filter(
            action__status__in=[ActionStatus.IN_IMPLEMENTATION, ActionStatus.COMPLETED]
        )
        .select_related("action")
        .prefetch_related(_reminder_recipients("action__evaluators"))
        .order_by("pk")
    )
    for indicator in candidates.iterator(chunk_size=500):
        due = indicator.next_due()
        evaluators: list[User] = indicator.action.reminder_recipients  # type: ignore[attr-defined]
        if due is None or due > today or not evaluators:
            continue
        if remind(
            "measurement_due",
            indicator,
            evaluators,
            today=today,
            occurrence=due.isoformat(),
            context={"due": due.isoformat(), "action_reference": indicator.action.reference},
        ):
            reminded += 1
    return reminded


def evaluation_due_date(action: Action) -> date | None:
    """The final evaluation is due ``FINAL_EVALUATION_DUE_DAYS`` after the action was
    completed (None for an action never completed)."""
    if action.completed_at is None:
        return None
    completed = timezone.localdate(action.completed_at)
    return completed + timedelta(days=settings.FINAL_EVALUATION_DUE_DAYS)


def evaluation_due_notify(
    action: Action, *, today: date, evaluators: list[User] | None = None
) -> bool:
    """Tell the action's assigned evaluators who can still act (``evaluators`` when the
    caller prefetched them, else one query) that its final
    evaluation is due — unless they were told today or within the reminder interval — and
    with what due date. Called when staff complete the action (the first notice) and by
    the daily reminder (the later ones), through one ``ReminderLog``, so a completion and
    the same day's reminder send one email. An evaluator deployed on the action as an
    expert (conflict of interest, who may not write it) is left out."""
    if evaluators is None:
        evaluators = list(_can_act(action.evaluators.all()))
    if not evaluators:
        return False
    due = evaluation_due_date(action)
    # A generator: the conflict checks (one query per evaluator) run only when ``remind``
    # is about to send, not on the days the reminder is not due.
    recipients = (u for u in evaluators if not deployed_on_action(u, action.pk))
    return remind(
        "evaluation_due",
        action,
        recipients,
        today=today,
        context={
            "action_reference": action.reference,
            "due": due.isoformat() if due else "",
            "overdue": due is not None and due < today,
        },
        url=reverse("evaluations:evaluation", args=[action.pk]),
    )


def evaluations_remind_due(*, today: date | None = None) -> int:
    """Beat (``evaluations.tasks.remind_evaluations_due``): remind the assigned evaluators
    of each completed action whose final evaluation is not submitted yet, again every
    ``REMINDERS["evaluation_due"]`` days and at most once a day, with the due date and
    whether it has passed. An evaluator deployed on the action as an expert (conflict of
    interest, who may not write it) is left out. Notifies ``evaluation_due``. Returns how
    many actions were reminded about."""
    today = today or timezone.localdate()
    reminded = 0
    candidates = (
        Action.objects.filter(status=ActionStatus.COMPLETED)
        .exclude(evaluation__status=EvaluationStatus.SUBMITTED)
        .prefetch_related(_reminder_recipients("evaluators"))
        .order_by("completed_at", "pk")
    )
    for action in candidates.iterator(chunk_size=200):
        recipients: list[User] = action.reminder_recipients  # type: ignore[attr-defined]
        if evaluation_due_notify(action, today=today, evaluators=recipients):
            reminded += 1
    return reminded
