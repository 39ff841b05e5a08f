"""Pages of monitoring and evaluation: "my evaluations" (and the evaluation list of staff
and partners), the indicator list, the monitoring page of an action (indicators with their
measurements, outcomes, feedback and participation per activity), the final evaluation,
the evidence downloads and the public feedback form of participants.

Thin: reads come from evaluations/selectors.py, writes go through evaluations/services.py,
who may do what is asked of evaluations/permissions.py. Forms post to small POST-only views;
when a service refuses the input, the monitoring page is shown again with the user's input
and the errors next to the fields (status 400, or the service's 403/409).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import F, Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from django_ratelimit.core import get_usage
from django_ratelimit.decorators import ratelimit

from actions.models import Action, ActionStatus, Activity
from cbportal.accounts.permissions import is_staff
from cbportal.core.downloads import protected_file_response
from cbportal.core.errors import ApplicationError, NotFound
from cbportal.core.exports import download_format, export_response
from cbportal.core.forms import apply_errors
from cbportal.core.pagination import EstimatingPaginator
from cbportal.core.selectors import timeline_for
from cbportal.core.uploads import DOCUMENTS
from evaluations import permissions, selectors, services
from evaluations.exports import EVALUATION_COLUMNS, INDICATOR_COLUMNS, indicator_rows
from evaluations.forms import (
    EvaluationFilterForm,
    EvaluationForm,
    FeedbackForm,
    FeedbackLinksForm,
    IndicatorFilterForm,
    IndicatorForm,
    MeasurementForm,
    OutcomeForm,
    ParticipantsForm,
)
from evaluations.models import (
    RATING_LABELS,
    CbLevel,
    EvaluationStatus,
    FeedbackLink,
    FinalEvaluation,
    Indicator,
    Measurement,
    Outcome,
    Recommendation,
)
from evaluations.workflow import EVALUATION_WORKFLOW

PAGE_SIZE = 25
FEEDBACK_RATE_GROUP = "evaluations.feedback-form"


def _monitored_action(user: Any, pk: int) -> Action:
    try:
        return selectors.monitored_action(user, pk)
    except NotFound:
        raise Http404 from None


def _may_list(user: Any) -> None:
    if not (is_staff(user) or user.role in ("partner", "evaluator")):
        raise PermissionDenied


# --- "my evaluations" and the evaluation list ----------------------------------------


@login_required
def home(request: HttpRequest) -> HttpResponseBase:
    """Evaluators: their assigned actions and what is due. Staff: every final evaluation,
    filterable and downloadable. Partners: their organisation's submitted evaluations."""
    user: Any = request.user
    _may_list(user)
    if user.role == "evaluator":
        return _evaluator_home(request)
    return _evaluation_list(request)


def _evaluator_home(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    actions = selectors.evaluator_home(user).prefetch_related(
        Prefetch("indicators", queryset=Indicator.objects.order_by("position", "id"))
    )
    page = EstimatingPaginator(actions, PAGE_SIZE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    rows = []
    for action in page.object_list:
        dues = [due for i in action.indicators.all() if (due := i.next_due()) is not None]
        next_due = min(dues) if dues else None
        rows.append(
            {
                "action": action,
                "evaluation": permissions.evaluation_of(action),
                "next_due": next_due,
                "overdue": next_due is not None and next_due < today,
            }
        )
    return render(request, "evaluations/home_evaluator.html", {"page": page, "rows": rows})


def _filtered_evaluations(user: Any, form: EvaluationFilterForm) -> QuerySet[FinalEvaluation]:
    qs = selectors.evaluations_for(user)
    if form.is_valid():
        data = form.cleaned_data
        if data.get("status"):
            qs = qs.filter(status=data["status"])
        if data.get("country"):
            qs = qs.filter(action__country=data["country"])
        if data.get("q"):
            text = data["q"].strip()
            qs = qs.filter(
                Q(action__reference__iexact=text)
                | Q(action__title__icontains=text)
                | Q(action__organisation__name__icontains=text)
            )
    return qs.order_by(F("submitted_at").desc(nulls_first=True), "-created_at", "-id")


def _evaluation_list(request: HttpRequest) -> HttpResponseBase:
    user: Any = request.user
    form = EvaluationFilterForm(request.GET or None, with_status=is_staff(user))
    qs = _filtered_evaluations(user, form)
    fmt, error = download_format(request, announce=False)
    if fmt is not None:
        return export_response(
            qs, EVALUATION_COLUMNS, fmt=fmt, filename="evaluations", request=request
        )
    if error:
        messages.error(request, error)
    page = EstimatingPaginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "evaluations/evaluation_list.html",
        {"form": form, "page": page},
        status=400 if error else 200,
    )


# --- indicators across the portfolio --------------------------------------------------


def _filter_indicators(qs: QuerySet[Indicator], form: IndicatorFilterForm) -> QuerySet[Indicator]:
    if form.is_valid():
        data = form.cleaned_data
        if data.get("action"):
            text = data["action"].strip()
            qs = qs.filter(Q(action__reference__iexact=text) | Q(action__title__icontains=text))
        if data.get("level"):
            qs = qs.filter(level=data["level"])
        if data.get("progress"):
            qs = qs.filter(progress_status=data["progress"])
        if data.get("country"):
            qs = qs.filter(action__country=data["country"])
    return qs.order_by("action__reference", "position", "id")


@login_required
def indicator_list(request: HttpRequest) -> HttpResponseBase:
    """The indicators of every action the user may see, filterable, with a download that
    holds one row per measurement."""
    user: Any = request.user
    _may_list(user)
    form = IndicatorFilterForm(request.GET or None)
    fmt, error = download_format(request, announce=False)
    if fmt is not None:
        export = indicator_rows(_filter_indicators(selectors.indicator_list(user), form))
        return export_response(
            export, INDICATOR_COLUMNS, fmt=fmt, filename="indicators", request=request
        )
    if error:
        messages.error(request, error)
    qs = _filter_indicators(selectors.indicators_for(user).select_related("action__country"), form)
    page = EstimatingPaginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(indicator, _percent(indicator.progress)) for indicator in page.object_list]
    return render(
        request,
        "evaluations/indicator_list.html",
        {"form": form, "page": page, "rows": rows},
        status=400 if error else 200,
    )


# --- the monitoring page of one action ------------------------------------------------


def _objective_choices(action: Action) -> list[tuple[Any, str]]:
    return [(str(o.pk), o.text[:80]) for o in action.objectives.all()]


def _percent(progress: Decimal | None) -> int | None:
    """The share of the way from baseline to target, in whole percent, for the bar."""
    if progress is None:
        return None
    return int((progress * 100).to_integral_value())


def _monitoring_context(
    request: HttpRequest, action: Action, bound: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Everything the monitoring page shows; ``bound`` holds the form the user just sent
    (by slot, e.g. ``"measurement:12"``) so that it is shown with its input and errors."""
    user: Any = request.user
    bound = bound or {}
    staff = is_staff(user)
    can_edit = permissions.can_edit_indicators(user, action)
    can_monitor = permissions.can_monitor(user, action)
    can_links = permissions.can_manage_feedback_links(user, action)
    can_give = permissions.can_give_partner_feedback(user, action)
    objectives = _objective_choices(action)

    indicators = list(selectors.action_indicators(action))
    by_level: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for indicator in indicators:
        indicator.action = action  # next_due() reads the period; no query per indicator
        measurements = list(indicator.measurements.all())
        entry: dict[str, Any] = {
            "indicator": indicator,
            "measurements": measurements,
            "percent": _percent(indicator.progress),
            "next_due": indicator.next_due(),
        }
        if can_edit:
            entry["edit_form"] = bound.get(f"indicator:{indicator.pk}") or IndicatorForm(
                objectives=objectives,
                prefix=f"indicator-{indicator.pk}",
                initial=IndicatorForm.initial_for(indicator),
            )
        if can_monitor:
            entry["measurement_form"] = bound.get(f"measurement:{indicator.pk}") or (
                MeasurementForm(
                    unit=indicator.unit,
                    prefix=f"measurement-{indicator.pk}",
                    initial={"date": timezone.localdate()},
                )
            )
        by_level[indicator.level].append(entry)

    outcomes_by_level: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in selectors.action_outcomes(action):
        outcomes_by_level[outcome.level].append(outcome)
    levels = [
        {
            "value": value,
            "label": label,
            "indicators": by_level.get(value, []),
            "outcomes": outcomes_by_level.get(value, []),
        }
        for value, label in CbLevel.choices
    ]

    activities_qs = selectors.activity_feedback(user, action)
    if can_links:
        activities_qs = activities_qs.prefetch_related(
            Prefetch(
                "feedback_links",
                queryset=FeedbackLink.objects.order_by("created_at", "id"),
                to_attr="link_list",
            )
        )
    feedback = selectors.feedback_for(user).filter(activity__action=action)
    comments: dict[int, list[Any]] = defaultdict(list)
    given: dict[int, Any] = {}
    for item in feedback.order_by("-submitted_at", "-id"):
        if item.comments:
            comments[item.activity_id].append(item)
        if item.submitted_by_id == user.pk:
            given[item.activity_id] = item
    activities = []
    for activity in activities_qs:
        entry = {
            "activity": activity,
            "total": activity.participants_women
            + activity.participants_men
            + activity.participants_other,
            "comments": comments.get(activity.pk, []),
            "given": given.get(activity.pk),
        }
        if can_monitor:
            entry["participants_form"] = bound.get(f"participants:{activity.pk}") or (
                ParticipantsForm(
                    prefix=f"participants-{activity.pk}",
                    initial={
                        "participants_women": activity.participants_women,
                        "participants_men": activity.participants_men,
                        "participants_other": activity.participants_other,
                    },
                )
            )
        if can_links:
            entry["links_form"] = bound.get(f"links:{activity.pk}") or FeedbackLinksForm(
                prefix=f"links-{activity.pk}"
            )
            entry["links"] = [
                (link, request.build_absolute_uri(link.get_absolute_url()))
                for link in activity.link_list  # type: ignore[attr-defined]
            ]
        if can_give and entry["given"] is None:
            entry["feedback_form"] = bound.get(f"feedback:{activity.pk}") or FeedbackForm(
                prefix=f"feedback-{activity.pk}"
            )
        activities.append(entry)

    evaluation = permissions.evaluation_of(action)
    return {
        "action": action,
        "levels": levels,
        "indicator_count": len(indicators),
        "activities": activities,
        "evaluation": evaluation,
        "show_evaluation": evaluation is not None
        and (user.role != "partner" or evaluation.status == EvaluationStatus.SUBMITTED),
        "is_staff": staff,
        "can_edit_indicators": can_edit,
        "can_monitor": can_monitor,
        "can_manage_links": can_links,
        "can_give_feedback": can_give,
        "new_indicator_form": (
            bound.get("indicator:new")
            or IndicatorForm(objectives=objectives, prefix="indicator-new")
        )
        if can_edit
        else None,
        "outcome_form": (
            bound.get("outcome:new")
            or OutcomeForm(prefix="outcome-new", initial={"date": timezone.localdate()})
        )
        if can_monitor
        else None,
        "rating_labels": RATING_LABELS,
    }


@login_required
def action_monitoring(request: HttpRequest, action_id: int) -> HttpResponse:
    """The monitoring page of one action (404 for anyone who may not see the action)."""
    action = _monitored_action(request.user, action_id)
    return render(
        request, "evaluations/action_monitoring.html", _monitoring_context(request, action)
    )


def _page_url(action: Action, anchor: str = "") -> str:
    url = reverse("evaluations:action", args=[action.pk])
    return f"{url}#{anchor}" if anchor else url


def _submit(
    request: HttpRequest,
    action: Action,
    slot: str,
    form: Any,
    call: Callable[[dict[str, Any]], Any],
    *,
    success: str | Callable[[Any], str],
    anchor: str,
) -> HttpResponse:
    """Run ``call`` with the form's data. Success: a message (``success``, or made from
    what ``call`` returned) and back to the page at ``anchor``. Refusal: the page again,
    this form holding the input and the errors."""
    status = 400
    if form.is_valid():
        try:
            result = call(dict(form.cleaned_data))
        except NotFound:
            raise Http404 from None
        except ApplicationError as exc:
            apply_errors(form, exc)
            status = exc.status_code
            if status != 400:
                messages.error(request, exc.full_message)
        else:
            messages.success(request, success(result) if callable(success) else success)
            return redirect(_page_url(action, anchor))
    if status == 400:
        messages.error(request, _("Nothing was saved: please correct the errors shown below."))
    context = _monitoring_context(request, action, {slot: form})
    context["error_slot"] = slot
    return render(request, "evaluations/action_monitoring.html", context, status=status)


def _indicator_of(action: Action, pk: int) -> Indicator:
    indicator = Indicator.objects.filter(pk=pk, action=action).first()
    if indicator is None:
        raise Http404
    return indicator


def _activity_of(action: Action, pk: int) -> Activity:
    activity = Activity.objects.filter(pk=pk, action=action).first()
    if activity is None:
        raise Http404
    return activity


@login_required
@require_POST
def indicator_create(request: HttpRequest, action_id: int) -> HttpResponse:
    user: Any = request.user
    action = _monitored_action(user, action_id)
    form = IndicatorForm(
        request.POST, objectives=_objective_choices(action), prefix="indicator-new"
    )
    return _submit(
        request,
        action,
        "indicator:new",
        form,
        lambda data: services.indicator_create(action_id=action.pk, by=user, data=data),
        success=_("Indicator added."),
        anchor="indicators",
    )


@login_required
@require_POST
def indicator_update(request: HttpRequest, action_id: int, pk: int) -> HttpResponse:
    user: Any = request.user
    action = _monitored_action(user, action_id)
    indicator = _indicator_of(action, pk)
    form = IndicatorForm(
        request.POST, objectives=_objective_choices(action), prefix=f"indicator-{indicator.pk}"
    )
    return _submit(
        request,
        action,
        f"indicator:{indicator.pk}",
        form,
        lambda data: services.indicator_update(indicator_id=indicator.pk, by=user, data=data),
        success=_("Indicator saved."),
        anchor=f"indicator-{indicator.pk}",
    )


@login_required
@require_POST
def measurement_create(request: HttpRequest, action_id: int, pk: int) -> HttpResponse:
    user: Any = request.user
    action = _monitored_action(user, action_id)
    indicator = _indicator_of(action, pk)
    form = MeasurementForm(
        request.POST, request.FILES, unit=indicator.unit, prefix=f"measurement-{indicator.pk}"
    )
    return _submit(
        request,
        action,
        f"measurement:{indicator.pk}",
        form,
        lambda data: services.measurement_record(indicator_id=indicator.pk, by=user, data=data),
        success=_("Measurement recorded."),
        anchor=f"indicator-{indicator.pk}",
    )


@login_required
@require_POST
def outcome_create(request: HttpRequest, action_id: int) -> HttpResponse:
    user: Any = request.user
    action = _monitored_action(user, action_id)
    form = OutcomeForm(request.POST, request.FILES, prefix="outcome-new")
    return _submit(
        request,
        action,
        "outcome:new",
        form,
        lambda data: services.outcome_record(action_id=action.pk, by=user, data=data),
        success=_("Outcome logged."),
        anchor="outcomes",
    )


@login_required
@require_POST
def participants_record(request: HttpRequest, action_id: int, pk: int) -> HttpResponse:
    user: Any = request.user
    action = _monitored_action(user, action_id)
    activity = _activity_of(action, pk)
    form = ParticipantsForm(request.POST, prefix=f"participants-{activity.pk}")
    return _submit(
        request,
        action,
        f"participants:{activity.pk}",
        form,
        lambda data: services.participants_record(activity_id=activity.pk, by=user, data=data),
        success=_("Participants saved."),
        anchor=f"activity-{activity.pk}",
    )


@login_required
@require_POST
def feedback_links_create(request: HttpRequest, action_id: int, pk: int) -> HttpResponse:
    user: Any = request.user
    action = _monitored_action(user, action_id)
    activity = _activity_of(action, pk)
    form = FeedbackLinksForm(request.POST, prefix=f"links-{activity.pk}")

    def created(links: list[FeedbackLink]) -> str:
        return ngettext(
            "%(count)d feedback link created: share one with each participant.",
            "%(count)d feedback links created: share one with each participant.",
            len(links),
        ) % {"count": len(links)}

    return _submit(
        request,
        action,
        f"links:{activity.pk}",
        form,
        lambda data: services.feedback_links_create(
            activity_id=activity.pk, by=user, count=data["count"]
        ),
        success=created,
        anchor=f"links-{activity.pk}",
    )


@login_required
@require_POST
def partner_feedback(request: HttpRequest, action_id: int, pk: int) -> HttpResponse:
    user: Any = request.user
    action = _monitored_action(user, action_id)
    activity = _activity_of(action, pk)
    form = FeedbackForm(request.POST, prefix=f"feedback-{activity.pk}")
    return _submit(
        request,
        action,
        f"feedback:{activity.pk}",
        form,
        lambda data: services.feedback_submit(activity_id=activity.pk, by=user, data=data),
        success=_("Thank you: your feedback is recorded."),
        anchor=f"activity-{activity.pk}",
    )


def _confirm_delete(
    request: HttpRequest,
    action: Action,
    *,
    what: str,
    details: list[tuple[str, Any]],
    delete: Callable[[], None],
    done: str,
    anchor: str,
) -> HttpResponse:
    """GET: a page asking to confirm (works without JavaScript). POST: delete, then back."""
    if request.method == "POST":
        try:
            delete()
        except NotFound:
            raise Http404 from None
        except ApplicationError as exc:
            messages.error(request, exc.full_message)
        else:
            messages.success(request, done)
        return redirect(_page_url(action, anchor))
    return render(
        request,
        "evaluations/confirm_delete.html",
        {"action": action, "what": what, "details": details, "back": _page_url(action, anchor)},
    )


@login_required
def indicator_delete(request: HttpRequest, action_id: int, pk: int) -> HttpResponse:
    user: Any = request.user
    action = _monitored_action(user, action_id)
    indicator = _indicator_of(action, pk)
    if not permissions.can_edit_indicators(user, action):
        raise PermissionDenied
    return _confirm_delete(
        request,
        action,
        what=_("the indicator “%(name)s”") % {"name": indicator.name},
        details=[(_("Capacity level"), indicator.get_level_display())],
        delete=lambda: services.indicator_delete(indicator_id=indicator.pk, by=user),
        done=_("Indicator removed."),
        anchor="indicators",
    )


@login_required
def measurement_delete(request: HttpRequest, action_id: int, pk: int) -> HttpResponse:
    user: Any = request.user
    action = _monitored_action(user, action_id)
    measurement = (
        Measurement.objects.filter(pk=pk, indicator__action=action)
        .select_related("indicator", "recorded_by")
        .first()
    )
    if measurement is None:
        raise Http404
    if not permissions.can_monitor(user, action):
        raise PermissionDenied
    return _confirm_delete(
        request,
        action,
        what=_("this measurement of “%(name)s”") % {"name": measurement.indicator.name},
        details=[
            (_("Date"), measurement.date),
            (
                _("Value"),
                render_to_string(
                    "evaluations/includes/value.html",
                    {"value": measurement.value, "unit": measurement.indicator.unit},
                ),
            ),
            (_("Recorded by"), measurement.recorded_by.display_name),
        ],
        delete=lambda: services.measurement_delete(measurement_id=measurement.pk, by=user),
        done=_("Measurement removed; progress is recomputed."),
        anchor=f"indicator-{measurement.indicator_id}",
    )


@login_required
def outcome_delete(request: HttpRequest, action_id: int, pk: int) -> HttpResponse:
    user: Any = request.user
    action = _monitored_action(user, action_id)
    outcome = Outcome.objects.filter(pk=pk, action=action).select_related("recorded_by").first()
    if outcome is None:
        raise Http404
    if not permissions.can_monitor(user, action):
        raise PermissionDenied
    return _confirm_delete(
        request,
        action,
        what=_("this outcome"),
        details=[
            (_("Date"), outcome.date),
            (_("What changed"), outcome.description),
            (_("Recorded by"), outcome.recorded_by.display_name),
        ],
        delete=lambda: services.outcome_delete(outcome_id=outcome.pk, by=user),
        done=_("Outcome removed."),
        anchor="outcomes",
    )


# --- evidence downloads ---------------------------------------------------------------


def _content_type(name: str) -> str:
    suffix = PurePath(name).suffix.lower()
    for kind in DOCUMENTS:
        if suffix in kind.extensions:
            return kind.content_type
    return "application/octet-stream"


def _evidence_response(obj: Measurement | Outcome | None) -> HttpResponseBase:
    if obj is None or not obj.evidence_file:
        raise Http404
    name = obj.evidence_name or PurePath(obj.evidence_file.name or "evidence").name
    return protected_file_response(
        obj.evidence_file, filename=name, content_type=_content_type(name)
    )


@login_required
def measurement_evidence(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The evidence file of a measurement, for those who may see the action (else 404)."""
    return _evidence_response(selectors.measurements_for(request.user).filter(pk=pk).first())


@login_required
def outcome_evidence(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The evidence file of an outcome, for those who may see the action (else 404)."""
    return _evidence_response(selectors.outcomes_for(request.user).filter(pk=pk).first())


# --- the final evaluation -------------------------------------------------------------


def _submit_blocker(evaluation: FinalEvaluation | None, action: Action, user: Any) -> str | None:
    """Why the evaluator cannot submit the stored draft now (None: they can). With nothing
    stored yet, an evaluator of a completed action may write and submit in one go: the
    service checks the posted evaluation is complete."""
    if evaluation is None:
        if action.status == ActionStatus.COMPLETED:
            return None
        return _("Save a draft first; it can be submitted once it is complete.")
    try:
        EVALUATION_WORKFLOW.check(evaluation, "submit", user)
    except ApplicationError as exc:
        return exc.message
    return None


@login_required
def evaluation(request: HttpRequest, action_id: int) -> HttpResponse:
    """The final evaluation of an action: the assigned evaluator writes and submits it;
    staff read it and open follow-up requests; the partner reads it once submitted."""
    user: Any = request.user
    action = _monitored_action(user, action_id)
    current = selectors.evaluation_for_action(user, action)
    if user.role == "partner" and current is None:
        raise Http404
    conflicted = user.role == "evaluator" and selectors.deployed_on_action(user, action.pk)
    writable = not conflicted and permissions.can_write_evaluation(user, action)
    form: EvaluationForm | None = None
    status = 200
    if request.method == "POST":
        if not writable:
            raise PermissionDenied
        form = EvaluationForm(request.POST)
        response = _save_evaluation(request, action, form)
        if response is not None:
            return response
        status = 400
    elif writable:
        form = EvaluationForm(initial=EvaluationForm.initial_for(current))
    if current is not None:
        current.is_assigned = permissions.is_assigned_evaluator(user, action)  # type: ignore[attr-defined]
    context = {
        "action": action,
        "evaluation": current,
        "form": form,
        "conflicted": conflicted,
        "can_submit": writable
        and (
            "submit" in EVALUATION_WORKFLOW.allowed(current, user)
            if current is not None
            else action.status == ActionStatus.COMPLETED
        ),
        "submit_blocker": _submit_blocker(current, action, user) if writable else None,
        "can_follow_up": current is not None and permissions.can_follow_up(user, current),
        "recommendations": list(current.recommendations.all()) if current is not None else [],
        "rating_labels": RATING_LABELS,
        "timeline": timeline_for(current) if current is not None else [],
    }
    return render(request, "evaluations/evaluation.html", context, status=status)


def _save_evaluation(
    request: HttpRequest, action: Action, form: EvaluationForm
) -> HttpResponse | None:
    """Save the draft (and submit it when asked); None: show the form again with errors."""
    user: Any = request.user
    if not form.is_valid():
        messages.error(request, _("Nothing was saved: please correct the errors shown below."))
        return None
    try:
        saved = services.evaluation_save(action_id=action.pk, by=user, data=form.service_data())
    except NotFound:
        raise Http404 from None
    except ApplicationError as exc:
        apply_errors(form, exc)
        messages.error(request, exc.full_message)
        return None
    back = reverse("evaluations:evaluation", args=[action.pk])
    if "submit" not in request.POST:
        messages.success(request, _("Draft saved."))
        return redirect(back)
    try:
        services.evaluation_submit(evaluation_id=saved.pk, by=user)
    except ApplicationError as exc:
        messages.error(
            request,
            _("Your draft is saved, but it cannot be submitted yet: %(reason)s")
            % {"reason": exc.message},
        )
    else:
        messages.success(
            request,
            _("The final evaluation is submitted. Programme staff and the partner are told."),
        )
    return redirect(back)


@login_required
@require_POST
def follow_up(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff open a new draft request for the partner from a recommendation."""
    user: Any = request.user
    recommendation = (
        Recommendation.objects.filter(
            pk=pk, evaluation__in=selectors.evaluations_for(user).values("pk")
        )
        .select_related("evaluation")
        .first()
    )
    if recommendation is None:
        raise Http404
    back = reverse("evaluations:evaluation", args=[recommendation.evaluation.action_id])
    try:
        opened = services.recommendation_follow_up(recommendation_id=recommendation.pk, by=user)
    except NotFound:
        raise Http404 from None
    except ApplicationError as exc:
        messages.error(request, exc.full_message)
    else:
        messages.success(
            request,
            _(
                "Follow-up request “%(title)s” opened as a draft; the partner completes and "
                "submits it."
            )
            % {"title": opened.title},
        )
    return redirect(f"{back}#recommendation-{recommendation.pk}")


# --- the public feedback form of participants -----------------------------------------


def _feedback_rate(group: str, request: HttpRequest) -> str:
    # Read at request time, so that the setting can change without a restart (and in tests).
    return str(settings.FEEDBACK_RATE_LIMIT)


def _retry_after(request: HttpRequest) -> int:
    usage = get_usage(
        request, group=FEEDBACK_RATE_GROUP, key="ip", rate=_feedback_rate, method="POST"
    )
    left = int(usage["time_left"]) if usage and usage.get("time_left") else 0
    return max(left, 1)


@ratelimit(group=FEEDBACK_RATE_GROUP, key="ip", rate=_feedback_rate, method="POST", block=False)
def feedback_form(request: HttpRequest, token: str) -> HttpResponse:
    """A participant's answer through a shared link: no account, one answer per link,
    answers per client address rate-limited."""
    if request.method == "POST" and getattr(request, "limited", False):
        response = render(request, "evaluations/feedback_limited.html", status=429)
        response["Retry-After"] = str(_retry_after(request))
        return response
    try:
        link = selectors.feedback_link(token)
    except NotFound:
        raise Http404 from None
    activity = link.activity
    context: dict[str, Any] = {"link": link, "activity": activity, "action": activity.action}
    if link.used_at is not None:
        return render(
            request,
            "evaluations/feedback_closed.html",
            {**context, "answered": True},
            status=409 if request.method == "POST" else 200,
        )
    if not permissions.collects_feedback(activity.action):
        return render(
            request,
            "evaluations/feedback_closed.html",
            {**context, "answered": False},
            status=409 if request.method == "POST" else 200,
        )
    form = FeedbackForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.feedback_submit_by_link(token=link.token, data=form.cleaned_data)
            except NotFound:
                raise Http404 from None
            except ApplicationError as exc:
                if exc.status_code == 409:
                    link.refresh_from_db()
                    return render(
                        request,
                        "evaluations/feedback_closed.html",
                        {**context, "answered": link.used_at is not None, "message": exc.message},
                        status=409,
                    )
                apply_errors(form, exc)
            else:
                return redirect("evaluations:feedback-thanks", token=link.token)
    return render(
        request, "evaluations/feedback_form.html", {**context, "form": form}, status=status
    )


def feedback_thanks(request: HttpRequest, token: str) -> HttpResponse:
    try:
        link = selectors.feedback_link(token)
    except NotFound:
        raise Http404 from None
    if link.used_at is None:
        return redirect("evaluations:feedback-form", token=link.token)
    return render(
        request,
        "evaluations/feedback_thanks.html",
        {"activity": link.activity, "action": link.activity.action},
    )
