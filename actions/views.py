"""Pages of actions: list, approval queue, detail, plan editor, amendments. Thin: they
call services (actions/services.py) and selectors."""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.exceptions import PermissionDenied, SuspiciousFileOperation
from django.db.models import Count, QuerySet, Sum
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from actions import permissions, plan, selectors, services
from actions.exports import ACTION_COLUMNS, ACTIVITY_COLUMNS
from actions.forms import (
    ActionCreateForm,
    ActionFilterForm,
    ActionForm,
    ActivityForm,
    AmendmentForm,
    NeedForm,
    ObjectiveForm,
    PeriodForm,
    PublishForm,
    skill_suggestions,
)
from actions.models import Action, ActivityType, Amendment, Modality, OriginPreference
from actions.workflow import ACTION_WORKFLOW, AMENDMENT_WORKFLOW
from cbportal.core import audit
from cbportal.core.errors import ApplicationError, NotFound
from cbportal.core.exports import download_format, export_response
from cbportal.core.forms import apply_errors
from cbportal.core.models import Language, ThematicArea
from cbportal.core.pagination import EstimatingPaginator
from cbportal.core.selectors import timeline_for
from evaluations import selectors as evaluation_selectors
from experts import selectors as expert_selectors
from experts.models import BOOKED_STATUSES, AdministrationType, Deployment
from requests_app.models import NeedsAssessment

PAGE_SIZE = 25


def _get_action(user: Any, pk: int) -> Action:
    try:
        return selectors.action_detail(user, pk)
    except NotFound:
        raise Http404 from None


def _get_amendment(user: Any, action: Action, amendment_id: int) -> Amendment:
    amendment = (
        action.amendments.filter(pk=amendment_id)
        .select_related("drafted_by", "proposed_by")
        .first()
    )
    if amendment is None or not permissions.can_view_amendment(user, amendment):
        raise Http404
    return amendment


def listed_actions(user: Any, form: ActionFilterForm) -> QuerySet[Action]:
    """The actions the user may see, filtered by a valid ``form`` (or unfiltered when it is
    unbound), newest first: what the list page shows and what it downloads."""
    qs = selectors.action_list(user).order_by("-created_at", "-id")
    if form.is_bound:
        data = form.cleaned_data
        if data.get("status"):
            qs = qs.filter(status=data["status"])
        if data.get("country"):
            qs = qs.filter(country=data["country"])
        if data.get("region"):
            qs = qs.filter(country__region=data["region"])
        if data.get("thematic_area"):
            qs = qs.filter(thematic_areas=data["thematic_area"])
        if data.get("gcm_objective"):
            qs = qs.filter(gcm_objectives=data["gcm_objective"])
        if data.get("active_on"):
            qs = qs.filter(start_date__lte=data["active_on"], end_date__gte=data["active_on"])
    return qs.distinct()


@login_required
def action_list(request: HttpRequest) -> HttpResponseBase:
    """The actions the user may see. ``?export=csv|xlsx`` downloads the filtered list (all
    pages); with ``rows=activities`` it downloads the activities of those actions."""
    user: Any = request.user
    if user.role not in ("staff", "partner", "evaluator") and not user.is_superuser:
        raise PermissionDenied
    fmt, refused = download_format(request)
    form = ActionFilterForm(request.GET or None)
    valid = not form.is_bound or form.is_valid()
    if valid and fmt is not None:
        actions = listed_actions(user, form)
        if request.GET.get("rows") == "activities":
            activities = (
                selectors.activities_for(user)
                .filter(action__in=actions.values("pk"))
                .order_by("action__reference", "start_date", "position", "id")
            )
            return export_response(
                activities, ACTIVITY_COLUMNS, fmt=fmt, filename=_("activities"), request=request
            )
        return export_response(
            actions, ACTION_COLUMNS, fmt=fmt, filename=_("actions"), request=request
        )
    page = (
        EstimatingPaginator(listed_actions(user, form), PAGE_SIZE).get_page(request.GET.get("page"))
        if valid
        else None
    )
    return render(
        request,
        "actions/action_list.html",
        {"form": form, "page": page},
        status=400 if refused or not valid else 200,
    )


@login_required
def approval_queue(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if not getattr(user, "is_approver", False):
        raise PermissionDenied
    actions, amendments = selectors.approval_queue(user)
    return render(
        request,
        "actions/approval_queue.html",
        {"actions": actions[:100], "amendments": amendments[:100]},
    )


@login_required
def action_create(request: HttpRequest, assessment_id: int) -> HttpResponse:
    user: Any = request.user
    if not permissions.is_staff(user):
        raise PermissionDenied
    assessment = NeedsAssessment.objects.select_related("request").filter(pk=assessment_id).first()
    if assessment is None:
        raise Http404
    req = assessment.request
    form = ActionCreateForm(
        request.POST or None,
        initial={
            "title": req.title,
            "start_date": req.preferred_start,
            "end_date": req.preferred_end,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            action = services.action_create(
                assessment_id=assessment.pk, by=user, data=form.cleaned_data
            )
        except ApplicationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("Action %(ref)s created. Now design its plan.") % {"ref": action.reference},
            )
            return redirect("actions:plan", action.pk)
    return render(request, "actions/action_create.html", {"form": form, "assessment": assessment})


def _plan_date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def _plan_context(user: Any, action: Action, current: plan.Plan, **extra: Any) -> dict[str, Any]:
    """Everything the plan view and editor need, from the plan as data."""
    gaps = {g.pk: g for g in action.assessment.gaps.all()}
    objectives = [
        {**o, "gap_objects": [gaps[g] for g in o["gaps"] if g in gaps]}
        for o in current.get("objectives", [])
    ]
    titles = {o["key"]: o["text"] for o in current.get("objectives", [])}
    areas = {a.slug: a for a in ThematicArea.objects.all()}
    languages = {
        lang.code: lang
        for lang in Language.objects.filter(
            code__in={
                c
                for a in current.get("activities", [])
                for n in a.get("needs", [])
                for c in n.get("languages", [])
            }
        )
    }
    activities = []
    for a in current.get("activities", []):
        activities.append(
            {
                **a,
                # The plan keeps ISO dates; the page shows them in the reader's format.
                "start": _plan_date(a.get("start_date")),
                "end": _plan_date(a.get("end_date")),
                "type_label": dict(ActivityType.choices).get(a["type"], a["type"]),
                "modality_label": dict(Modality.choices).get(a.get("modality"), ""),
                "objective_texts": [titles[k] for k in a.get("objectives", []) if k in titles],
                "needs": [
                    {
                        **n,
                        "area": areas.get(n["thematic_area"]),
                        "language_objects": [
                            languages[c] for c in n.get("languages", []) if c in languages
                        ],
                        "origin_label": dict(OriginPreference.choices).get(
                            n.get("origin_preference"), ""
                        ),
                    }
                    for n in a.get("needs", [])
                ],
            }
        )
    return {"plan": current, "objectives": objectives, "activities": activities, **extra}


def _editor_forms(
    action: Action, current: plan.Plan, errors: dict[str, Any] | None = None
) -> dict[str, Any]:
    gap_choices = [
        (str(g.pk), f"{g.get_level_display()}: {g.description[:80]}")
        for g in action.assessment.gaps.all()
    ]
    objective_choices = [(o["key"], o["text"][:80]) for o in current.get("objectives", [])]
    errors = errors or {}
    forms: dict[str, Any] = {
        "period_form": errors.get("period")
        or PeriodForm(
            initial={"start_date": current["start_date"], "end_date": current["end_date"]},
            prefix="period",
        ),
        "new_objective_form": errors.get("objective:")
        or ObjectiveForm(gap_choices=gap_choices, prefix="objective"),
        "new_activity_form": errors.get("activity:")
        or ActivityForm(
            objective_choices=objective_choices,
            prefix="activity",
            initial={"start_date": current["start_date"], "end_date": current["start_date"]},
        ),
        "objective_forms": {
            o["key"]: errors.get(f"objective:{o['key']}")
            or ObjectiveForm(
                gap_choices=gap_choices,
                prefix=f"objective-{o['key']}",
                initial={"text": o["text"], "gaps": [str(g) for g in o["gaps"]]},
            )
            for o in current.get("objectives", [])
        },
        "activity_forms": {
            a["key"]: errors.get(f"activity:{a['key']}")
            or ActivityForm(
                objective_choices=objective_choices,
                prefix=f"activity-{a['key']}",
                initial={
                    **{k: v for k, v in a.items() if k != "needs"},
                    "country": a.get("country") or None,
                },
            )
            for a in current.get("activities", [])
        },
        "new_need_forms": {
            a["key"]: errors.get(f"need:{a['key']}:")
            or NeedForm(prefix=f"need-{a['key']}", initial={"activity_key": a["key"]})
            for a in current.get("activities", [])
        },
        "skill_suggestions": skill_suggestions(),
    }
    return forms


def _plan_edit_from_post(
    request: HttpRequest, action: Action, current: plan.Plan
) -> tuple[Any, Any, str]:
    """Read the posted operation into a plan edit; returns (edit, bound form, error slot)."""
    op = request.POST.get("op", "")
    gap_choices = [(str(g.pk), "") for g in action.assessment.gaps.all()]
    objective_choices = [(o["key"], "") for o in current.get("objectives", [])]
    if op == "period":
        form: Any = PeriodForm(request.POST, prefix="period")
        if not form.is_valid():
            return None, form, "period"
        d = form.cleaned_data
        return (lambda p, a: plan.set_period(p, d["start_date"], d["end_date"])), form, "period"
    if op in ("objective", "objective-delete"):
        key = request.POST.get("key", "")
        if op == "objective-delete":
            return (lambda p, a: plan.remove_objective(p, key)), None, ""
        prefix = f"objective-{key}" if key else "objective"
        form = ObjectiveForm(request.POST, gap_choices=gap_choices, prefix=prefix)
        slot = f"objective:{key}"
        if not form.is_valid():
            return None, form, slot
        d = form.cleaned_data
        return (
            (
                lambda p, a: plan.save_objective(
                    p, a, key=key or None, text=d["text"], gaps=[int(g) for g in d["gaps"]]
                )
            ),
            form,
            slot,
        )
    if op in ("activity", "activity-delete"):
        key = request.POST.get("key", "")
        if op == "activity-delete":
            return (lambda p, a: plan.remove_activity(p, key)), None, ""
        prefix = f"activity-{key}" if key else "activity"
        form = ActivityForm(request.POST, objective_choices=objective_choices, prefix=prefix)
        slot = f"activity:{key}"
        if not form.is_valid():
            return None, form, slot
        d = dict(form.cleaned_data)
        d["country"] = d["country"].code if d.get("country") else ""
        return (lambda p, a: plan.save_activity(p, key=key or None, data=d)), form, slot
    if op in ("need", "need-delete"):
        activity_key, key = request.POST.get("activity_key", ""), request.POST.get("key", "")
        if op == "need-delete":
            return (lambda p, a: plan.remove_need(p, activity_key=activity_key, key=key)), None, ""
        form = NeedForm(request.POST, prefix=f"need-{activity_key}")
        slot = f"need:{activity_key}:{key}"
        if not form.is_valid():
            return None, form, slot
        d = dict(form.cleaned_data)
        d["languages"] = [lang.code for lang in d.get("languages") or []]
        return (
            (lambda p, a: plan.save_need(p, activity_key=activity_key, key=key or None, data=d)),
            form,
            slot,
        )
    raise Http404


def _plan_response(
    request: HttpRequest,
    action: Action,
    current: plan.Plan,
    *,
    post_url: str,
    status: int = 200,
    errors: dict[str, Any] | None = None,
    page_url: str,
) -> HttpResponse:
    context = {
        "action": action,
        "post_url": post_url,
        "editable": True,
        **_plan_context(request.user, action, current),
        **_editor_forms(action, current, errors),
    }
    if request.headers.get("X-Requested-With") == "fetch":
        return HttpResponse(
            render_to_string("actions/includes/plan_editor.html", context, request=request),
            status=status,
        )
    if status >= 400:
        context["page_url"] = page_url
        return render(request, "actions/plan_edit.html", context, status=status)
    return redirect(page_url)


def _handle_plan_post(
    request: HttpRequest,
    action: Action,
    current: plan.Plan,
    apply_edit: Any,
    *,
    post_url: str,
    page_url: str,
) -> HttpResponse:
    edit, form, slot = _plan_edit_from_post(request, action, current)
    if edit is None:
        return _plan_response(
            request,
            action,
            current,
            post_url=post_url,
            status=400,
            errors={slot: form},
            page_url=page_url,
        )
    try:
        apply_edit(edit)
    except ApplicationError as exc:
        if form is None:
            messages.error(request, exc.full_message)
            return _plan_response(
                request, action, current, post_url=post_url, status=400, page_url=page_url
            )
        apply_errors(form, exc)
        return _plan_response(
            request,
            action,
            current,
            post_url=post_url,
            status=400,
            errors={slot: form},
            page_url=page_url,
        )
    return None  # type: ignore[return-value]


@login_required
def plan_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The plan editor of an action in design: period, objectives, activities, needs."""
    user: Any = request.user
    action = _get_action(user, pk)
    if not permissions.is_staff(user):
        raise PermissionDenied
    if not permissions.can_edit_plan(user, action):
        messages.error(
            request, _("The plan can only be edited by staff while the action is in design.")
        )
        return redirect(action.get_absolute_url())
    page_url = request.path
    if request.method == "POST":
        current = plan.snapshot(action)
        response = _handle_plan_post(
            request,
            action,
            current,
            lambda edit: services.action_plan_edit(action_id=action.pk, by=user, edit=edit),
            post_url=request.path,
            page_url=page_url,
        )
        if response is not None:
            return response
        action = _get_action(user, pk)
        return _plan_response(
            request, action, plan.snapshot(action), post_url=request.path, page_url=page_url
        )
    current = plan.snapshot(action)
    context = {
        "action": action,
        "post_url": request.path,
        "page_url": page_url,
        "editable": True,
        **_plan_context(user, action, current),
        **_editor_forms(action, current),
    }
    return render(request, "actions/plan_edit.html", context)


def _with_changes(amendments: list[Amendment]) -> list[Amendment]:
    refs = plan.Refs()  # one set of lookups for the whole history
    for amendment in amendments:
        amendment.changes = plan.diff(amendment.before, amendment.proposal, refs)  # type: ignore[attr-defined]
    return amendments


@login_required
def action_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    action = _get_action(user, pk)
    allowed = ACTION_WORKFLOW.allowed(action, user)
    current = plan.snapshot(action)
    context = {
        "action": action,
        "transitions": [
            (ACTION_WORKFLOW.get(n), reverse("actions:transition", args=[action.pk, n]))
            for n in allowed
        ],
        "timeline": timeline_for(action),
        "amendments": _with_changes(list(selectors.amendments_for(user, action))),
        "can_edit_plan": permissions.can_edit_plan(user, action),
        "can_amend": permissions.can_amend(user, action),
        "is_staff": permissions.is_staff(user),
        "publish_form": PublishForm(initial={"publish": action.publish})
        if user.role == "partner"
        else None,
        "assessment_gaps": action.assessment.gaps.all(),
        **_plan_context(user, action, current),
    }
    return render(request, "actions/action_detail.html", context)


@login_required
def action_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    action = _get_action(user, pk)
    if user.role == "partner":
        form: Any = PublishForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.action_update(
                    action_id=action.pk, by=user, data={"publish": form.cleaned_data["publish"]}
                )
            except ApplicationError as exc:
                messages.error(request, exc.full_message)
            else:
                messages.success(request, _("Your choice about publication is saved."))
        return redirect(action.get_absolute_url())
    if not permissions.is_staff(user):
        raise PermissionDenied
    form = ActionForm(
        request.POST or None,
        initial={
            "title": action.title,
            "summary": action.summary,
            "thematic_areas": list(action.thematic_areas.all()),
            "gcm_objectives": list(action.gcm_objectives.all()),
            "evaluators": list(action.evaluators.all()),
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.action_update(action_id=action.pk, by=user, data=form.cleaned_data)
        except ApplicationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Action saved."))
            return redirect(action.get_absolute_url())
    return render(request, "actions/action_edit.html", {"action": action, "form": form})


@login_required
@require_POST
def action_transition(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    user: Any = request.user
    action = _get_action(user, pk)
    try:
        services.action_transition(
            action_id=action.pk, name=name, by=user, text=request.POST.get("text", "")
        )
    except ApplicationError as exc:
        messages.error(request, exc.full_message or _("That is not possible now."))
    else:
        messages.success(
            request, _("Done: %(action)s.") % {"action": ACTION_WORKFLOW.get(name).display_label}
        )
    return redirect(action.get_absolute_url())


# --- amendments ------------------------------------------------------------------------


@login_required
def amendment_create(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    action = _get_action(user, pk)
    if not permissions.can_amend(user, action):
        raise PermissionDenied
    form = AmendmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            amendment = services.amendment_create(action_id=action.pk, by=user, **form.cleaned_data)
        except ApplicationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("Amendment %(n)s opened: change the plan below.") % {"n": amendment.number},
            )
            return redirect(amendment.get_absolute_url())
    return render(request, "actions/amendment_create.html", {"action": action, "form": form})


@login_required
def amendment_detail(request: HttpRequest, pk: int, amendment_id: int) -> HttpResponse:
    user: Any = request.user
    action = _get_action(user, pk)
    amendment = _get_amendment(user, action, amendment_id)
    editable = permissions.is_staff(user) and amendment.status == "draft"
    page_url = request.path
    if request.method == "POST":
        if not editable:
            raise PermissionDenied
        response = _handle_plan_post(
            request,
            action,
            amendment.proposal,
            lambda edit: services.amendment_plan_edit(
                amendment_id=amendment.pk, by=user, edit=edit
            ),
            post_url=request.path,
            page_url=page_url,
        )
        if response is not None:
            return response
        amendment.refresh_from_db()
        if request.headers.get("X-Requested-With") == "fetch":
            return _plan_response(
                request, action, amendment.proposal, post_url=request.path, page_url=page_url
            )
        return redirect(page_url)
    allowed = AMENDMENT_WORKFLOW.allowed(amendment, user)
    context = {
        "action": action,
        "amendment": amendment,
        "changes": plan.diff(
            amendment.before if amendment.status != "draft" else plan.snapshot(action),
            amendment.proposal,
        ),
        "transitions": [
            (
                AMENDMENT_WORKFLOW.get(n),
                reverse("actions:amendment-transition", args=[action.pk, amendment.pk, n]),
            )
            for n in allowed
        ],
        "timeline": timeline_for(amendment),
        "editable": editable,
        "post_url": request.path,
        **_plan_context(user, action, amendment.proposal),
    }
    if editable:
        context.update(_editor_forms(action, amendment.proposal))
    return render(request, "actions/amendment_detail.html", context)


@login_required
@require_POST
def amendment_transition(
    request: HttpRequest, pk: int, amendment_id: int, name: str
) -> HttpResponse:
    user: Any = request.user
    action = _get_action(user, pk)
    amendment = _get_amendment(user, action, amendment_id)
    try:
        services.amendment_transition(
            amendment_id=amendment.pk, name=name, by=user, text=request.POST.get("text", "")
        )
    except ApplicationError as exc:
        messages.error(request, exc.full_message or _("That is not possible now."))
    else:
        messages.success(
            request, _("Done: %(action)s.") % {"action": AMENDMENT_WORKFLOW.get(name).display_label}
        )
    return redirect(amendment.get_absolute_url())


# --- the per-action report ----------------------------------------------------------------


def _report_context(request: HttpRequest, action: Action, *, pdf: bool = False) -> dict[str, Any]:
    """Everything the report shows, each part scoped as its own page scopes it, in a fixed
    number of queries (whatever the number of activities, deployments or measurements)."""
    user: Any = request.user
    staff = permissions.is_staff(user)
    objectives = [
        {"objective": objective, "gaps": sorted(objective.gaps.all(), key=lambda g: g.pk)}
        for objective in action.objectives.all()
    ]
    # Deployments: staff see every one, the partner its confirmed and completed missions
    # (experts.selectors.deployments_for); evaluators see none of them, only counts.
    deployments = None
    deployment_counts = None
    if staff or user.role == "partner":
        deployments = list(
            expert_selectors.deployment_list(user)
            .filter(need__activity__action=action)
            .order_by("need__activity__start_date", "expert__full_name", "id")
        )
    else:
        labels = dict(AdministrationType.choices)
        deployment_counts = [
            {"label": labels.get(row["expert__administration_type"], ""), **row}
            for row in Deployment.objects.filter(
                need__activity__action=action, status__in=BOOKED_STATUSES
            )
            .values("expert__administration_type")
            .annotate(experts=Count("id"), days=Sum("expert_days"))
            .order_by("expert__administration_type")
        ]
    evaluation = evaluation_selectors.evaluation_for_action(user, action)
    return {
        "action": action,
        "objectives": objectives,
        "activities": list(action.activities.all()),
        "deployments": deployments,
        "deployment_counts": deployment_counts,
        "indicators": list(evaluation_selectors.action_indicators(action)),
        "outcomes": list(evaluation_selectors.action_outcomes(action)),
        "feedback": list(evaluation_selectors.activity_feedback(user, action)),
        "evaluation": evaluation,
        "recommendations": list(evaluation.recommendations.all()) if evaluation else [],
        "is_staff": staff,
        "generated_at": timezone.now(),
        "pdf": pdf,
    }


def _get_reported_action(user: Any, pk: int) -> Action:
    """The action, for whoever may see it (``can_view_action``); anyone else gets a 404."""
    action = _get_action(user, pk)
    if not permissions.can_view_action(user, action):
        raise Http404
    return action


@login_required
def action_report(request: HttpRequest, pk: int) -> HttpResponse:
    """The printable report of an action: plan, activities, deployments, indicators with
    their history, outcomes, feedback and the final evaluation (print it, or get the PDF
    made from the same template)."""
    action = _get_reported_action(request.user, pk)
    return render(request, "actions/report.html", _report_context(request, action))


def _static_url_fetcher(base_url: str) -> Any:
    """A WeasyPrint URL fetcher that reads the report's static files (stylesheets, fonts)
    from the static files finders or the collected files, never over HTTP; anything else
    (a link to another site, a media file) is not loaded."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    static_base = urljoin(base_url, settings.STATIC_URL)

    class StaticFilesFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("data:"):
                return super().fetch(url, headers)
            if not url.startswith(static_base):
                raise ValueError(f"not loaded in a PDF: {url}")
            name = unquote(urlsplit(url[len(static_base) :]).path)
            content = _static_content(name)
            if content is None:
                raise ValueError(f"no static file {name}")
            mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, content, headers={"Content-Type": mime})

    return StaticFilesFetcher()


def _static_content(name: str) -> bytes | None:
    try:
        found = finders.find(name)
    except SuspiciousFileOperation:
        return None
    if isinstance(found, list):  # pragma: no cover - only with find(..., find_all=True)
        found = found[0] if found else None
    if found:
        with open(found, "rb") as handle:
            return handle.read()
    # Collected (and possibly hashed) files in production.
    try:
        if staticfiles_storage.exists(name):
            with staticfiles_storage.open(name) as handle:
                return bytes(handle.read())
    except (SuspiciousFileOperation, OSError, ValueError):
        return None
    return None


@contextmanager
def _quiet_css_warnings() -> Iterator[None]:
    """WeasyPrint logs a warning for each rule of Bootstrap it does not support (media
    features, vendor selectors: some hundred lines a PDF) and fontTools one for each font it
    converts. Only errors (a stylesheet that failed to load) are worth the log."""
    names = ("weasyprint", "weasyprint.progress", "fontTools")
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


@login_required
def action_report_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The same report as a PDF (A4, numbered pages), made by WeasyPrint from the same
    template (the download is audited). Without WeasyPrint's system libraries the printable
    page answers instead, with a 503 saying so."""
    action = _get_reported_action(request.user, pk)
    try:
        from weasyprint import HTML
    except (ImportError, OSError):
        messages.error(
            request,
            _(
                "The PDF cannot be made on this server right now. Use your browser's "
                "“Print” on this page (or “Save as PDF”) instead."
            ),
        )
        return render(request, "actions/report.html", _report_context(request, action), status=503)
    html = render_to_string(
        "actions/report.html", _report_context(request, action, pdf=True), request=request
    )
    base_url = request.build_absolute_uri("/")
    with _quiet_css_warnings():
        pdf = HTML(
            string=html, base_url=base_url, url_fetcher=_static_url_fetcher(base_url)
        ).write_pdf()
    audit.audit_export(request, fmt="pdf", target=action)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{action.reference}-report.pdf"'
    return response
