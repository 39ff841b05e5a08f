"""Pages for partners (their requests, the assessment to validate) and staff (triage,
decisions, the assessment editor). Thin: they call services and selectors."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cbportal.accounts.permissions import is_staff
from cbportal.core.downloads import protected_file_response
from cbportal.core.errors import (
    ApplicationError,
    NotFound,
)
from cbportal.core.exports import download_format, export_response
from cbportal.core.forms import apply_errors
from cbportal.core.pagination import EstimatingPaginator
from cbportal.core.selectors import timeline_for
from requests_app import permissions, selectors, services, sla
from requests_app.exports import REQUEST_COLUMNS, TRIAGE_COLUMNS
from requests_app.forms import (
    AssessmentForm,
    AttachmentForm,
    GapForm,
    RequestForm,
    TransitionForm,
    TriageFilterForm,
)
from requests_app.models import AssistanceRequest, CbLevel, RequestAttachment, RequestStatus
from requests_app.workflow import ASSESSMENT_WORKFLOW, REQUEST_WORKFLOW

PAGE_SIZE = 25


def _get_request(user: Any, pk: int) -> Any:
    try:
        return selectors.request_detail(user, pk)
    except NotFound:
        raise Http404 from None


def _staff_only(user: Any) -> None:
    if not is_staff(user):
        raise PermissionDenied


def listed_requests(user: Any, status: str = "") -> QuerySet[AssistanceRequest]:
    """The request list as the page shows it (and downloads it), newest first."""
    qs = selectors.request_list(user).order_by("-created_at", "-id")
    if status:
        qs = qs.filter(status=status)
    return qs


@login_required
def request_list(request: HttpRequest) -> HttpResponseBase:
    """Partners: their organisation's requests. Staff: every request, filterable. With
    ``?export=csv|xlsx`` the same list (all pages) downloads."""
    user: Any = request.user
    if user.role not in ("partner", "staff") and not user.is_superuser:
        raise PermissionDenied
    fmt, refused = download_format(request)
    status = request.GET.get("status", "")
    status_error = ""
    if status and status not in RequestStatus.values:
        status_error = _("Choose a status from the list.")
    elif fmt is not None:
        return export_response(
            listed_requests(user, status),
            REQUEST_COLUMNS,
            fmt=fmt,
            filename=_("requests"),
            request=request,
        )
    page = (
        None
        if status_error
        else EstimatingPaginator(listed_requests(user, status), PAGE_SIZE).get_page(
            request.GET.get("page")
        )
    )
    return render(
        request,
        "requests_app/request_list.html",
        {
            "page": page,
            "status": status,
            "status_error": status_error,
            "statuses": RequestStatus.choices,
            "can_create": permissions.can_create_request(user),
        },
        status=400 if refused or status_error else 200,
    )


def triage_rows(user: Any, form: TriageFilterForm) -> QuerySet[AssistanceRequest]:
    """The triage queue filtered by a valid ``form`` (or unfiltered when it is unbound),
    as the page shows it and downloads it."""
    qs = selectors.triage_queue(user)
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
        if data.get("sla"):
            qs = qs.filter(sla.pending_sla_filter(data["sla"]))
        if data.get("sort") == "newest":
            qs = qs.order_by("-submitted_at", "-id")
    return qs.distinct()


@login_required
def triage_queue(request: HttpRequest) -> HttpResponseBase:
    user: Any = request.user
    _staff_only(user)
    fmt, refused = download_format(request)
    form = TriageFilterForm(request.GET or None)
    valid = not form.is_bound or form.is_valid()
    if valid and fmt is not None:
        return export_response(
            triage_rows(user, form),
            TRIAGE_COLUMNS,
            fmt=fmt,
            filename=_("triage queue"),
            request=request,
        )
    page, rows = None, []
    if valid:
        page = EstimatingPaginator(triage_rows(user, form), PAGE_SIZE).get_page(
            request.GET.get("page")
        )
        rows = [(r, sla.triage_sla(r)) for r in page.object_list]
    return render(
        request,
        "requests_app/triage_queue.html",
        {"form": form, "page": page, "rows": rows},
        status=400 if refused or not valid else 200,
    )


def _save_attachment(form: RequestForm, request_id: int, user: Any) -> bool:
    upload = form.cleaned_data.get("attachment")
    if not upload:
        return True
    try:
        services.attachment_add(
            request_id=request_id, by=user, upload=upload, kind=form.cleaned_data["attachment_kind"]
        )
    except ApplicationError as exc:
        form.add_error("attachment", exc.message)
        return False
    return True


@login_required
def request_create(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if not permissions.can_create_request(user):
        raise PermissionDenied
    form = RequestForm(
        request.POST or None,
        request.FILES or None,
        initial={"country": user.organisation.country_id},
    )
    if request.method == "POST" and form.is_valid():
        try:
            obj = services.request_create(by=user, data=form.data_for_service())
        except ApplicationError as exc:
            apply_errors(form, exc)
        else:
            return _after_save(request, form, obj, user)
    return render(request, "requests_app/request_form.html", {"form": form, "obj": None})


def _after_save(request: HttpRequest, form: RequestForm, obj: Any, user: Any) -> HttpResponse:
    """The draft is saved; then the attachment, then (if asked) the submission. Any error
    comes back on the same form with everything kept."""
    if not _save_attachment(form, obj.pk, user):
        messages.warning(request, _("Your draft is saved, but the document was not attached."))
        return render(
            request, "requests_app/request_form.html", {"form": form, "obj": obj}, status=400
        )
    if request.POST.get("action") == "submit":
        try:
            services.request_submit(request_id=obj.pk, by=user)
        except ApplicationError as exc:
            apply_errors(form, exc)
            messages.warning(request, _("Your draft is saved. Complete it to submit."))
            return render(
                request, "requests_app/request_form.html", {"form": form, "obj": obj}, status=400
            )
        messages.success(
            request, _("Your request is submitted. Programme staff will respond shortly.")
        )
    else:
        messages.success(request, _("Draft saved."))
    return redirect(obj.get_absolute_url())


@login_required
def request_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    obj = _get_request(user, pk)
    if not permissions.can_edit_request(user, obj):
        messages.error(request, _("Only drafts can be edited."))
        return redirect(obj.get_absolute_url())
    form = RequestForm(request.POST or None, request.FILES or None, instance=obj)
    if request.method == "POST" and form.is_valid():
        try:
            services.request_update(request_id=obj.pk, by=user, data=form.data_for_service())
        except ApplicationError as exc:
            apply_errors(form, exc)
        else:
            return _after_save(request, form, obj, user)
    return render(request, "requests_app/request_form.html", {"form": form, "obj": obj})


@login_required
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    obj = _get_request(user, pk)
    allowed = REQUEST_WORKFLOW.allowed(obj, user)
    return render(
        request,
        "requests_app/request_detail.html",
        {
            "obj": obj,
            "allowed": allowed,
            "transitions": [REQUEST_WORKFLOW.get(name) for name in allowed],
            "timeline": timeline_for(obj),
            "thread": obj.messages.all(),
            "attachments": obj.attachments.all(),
            "attachment_form": AttachmentForm()
            if permissions.can_add_attachment(user, obj)
            else None,
            "can_edit": permissions.can_edit_request(user, obj),
            "first_response_sla": sla.first_response_sla(obj),
            "decision_sla": sla.decision_sla(obj),
            "assessment": getattr(obj, "assessment", None)
            if obj.status == RequestStatus.ACCEPTED
            else None,
        },
    )


@login_required
@require_POST
def request_transition(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    user: Any = request.user
    obj = _get_request(user, pk)
    form = TransitionForm(request.POST)
    text = form.data.get("text", "") if form.is_valid() else ""
    try:
        services.request_transition(request_id=obj.pk, name=name, by=user, text=text)
    except ApplicationError as exc:
        messages.error(request, exc.full_message)
    else:
        messages.success(
            request, _("Done: %(action)s.") % {"action": REQUEST_WORKFLOW.get(name).display_label}
        )
    return redirect(obj.get_absolute_url())


@login_required
@require_POST
def attachment_upload(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    obj = _get_request(user, pk)
    form = AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a document to attach."))
    else:
        try:
            services.attachment_add(
                request_id=obj.pk,
                by=user,
                upload=form.cleaned_data["file"],
                kind=form.cleaned_data["kind"],
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Document attached."))
    return redirect(f"{obj.get_absolute_url()}#attachments")


@login_required
def attachment_download(request: HttpRequest, pk: int, attachment_id: int) -> HttpResponseBase:
    """Served by the application after checking that the user may see the request."""
    user: Any = request.user
    obj = _get_request(user, pk)
    attachment = RequestAttachment.objects.filter(pk=attachment_id, request=obj).first()
    if attachment is None:
        raise Http404
    return protected_file_response(
        attachment.file, filename=attachment.original_name, content_type=attachment.content_type
    )


@login_required
@require_POST
def attachment_delete(request: HttpRequest, pk: int, attachment_id: int) -> HttpResponse:
    user: Any = request.user
    obj = _get_request(user, pk)
    if not obj.attachments.filter(pk=attachment_id).exists():
        raise Http404
    try:
        services.attachment_remove(attachment_id=attachment_id, by=user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Document removed."))
    return redirect(f"{obj.get_absolute_url()}#attachments")


# --- needs assessment ------------------------------------------------------------------


def _get_assessment(user: Any, pk: int) -> Any:
    try:
        return selectors.assessment_detail(user, pk)
    except NotFound:
        raise Http404 from None


def _gaps_by_level(assessment: Any, editable: bool = False) -> list[tuple[str, str, list[Any]]]:
    gaps = list(assessment.gaps.all())
    if editable:
        for gap in gaps:
            gap.edit_form = GapForm(instance=gap, prefix=f"gap{gap.pk}")
    return [
        (level.value, str(level.label), [g for g in gaps if g.level == level.value])
        for level in CbLevel
    ]


def _visible_action(user: Any, assessment: Any) -> Any:
    from actions.selectors import actions_for

    return actions_for(user).filter(assessment=assessment).first()


def _assessment_context(request: HttpRequest, assessment: Any, **extra: Any) -> dict[str, Any]:
    user: Any = request.user
    allowed = ASSESSMENT_WORKFLOW.allowed(assessment, user)
    editable = permissions.can_edit_assessment(user, assessment)
    return {
        "assessment": assessment,
        "obj": assessment.request,
        "levels": _gaps_by_level(assessment, editable),
        "editable": editable,
        "transitions": [ASSESSMENT_WORKFLOW.get(n) for n in allowed],
        "timeline": timeline_for(assessment),
        "action": _visible_action(user, assessment),
        "can_design_action": is_staff(user),
        "form": extra.pop("form", None)
        or (AssessmentForm(instance=assessment) if editable else None),
        "new_gap_form": extra.pop("new_gap_form", None)
        or (GapForm(prefix="new") if editable else None),
        **extra,
    }


def _is_inline(request: HttpRequest) -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


def _gaps_response(
    request: HttpRequest, assessment_id: int, status: int = 200, **extra: Any
) -> HttpResponse:
    """For the in-page editor: the re-rendered gaps section; otherwise back to the page."""
    assessment = _get_assessment(request.user, assessment_id)
    if _is_inline(request):
        html = render_to_string(
            "requests_app/includes/gaps.html",
            _assessment_context(request, assessment, inline=True, **extra),
            request=request,
        )
        return HttpResponse(html, status=status)
    if status >= 400:
        return render(
            request,
            "requests_app/assessment_detail.html",
            _assessment_context(request, assessment, **extra),
            status=status,
        )
    return redirect(f"{assessment.get_absolute_url()}#gaps")


@login_required
def assessment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    assessment = _get_assessment(user, pk)
    if request.method == "POST":
        if not permissions.can_edit_assessment(user, assessment):
            raise PermissionDenied
        form = AssessmentForm(request.POST, instance=assessment)
        if form.is_valid():
            try:
                services.assessment_update(
                    assessment_id=assessment.pk, by=user, data=form.cleaned_data
                )
            except ApplicationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Assessment saved."))
                return redirect(assessment.get_absolute_url())
        return render(
            request,
            "requests_app/assessment_detail.html",
            _assessment_context(request, assessment, form=form),
            status=400,
        )
    return render(
        request, "requests_app/assessment_detail.html", _assessment_context(request, assessment)
    )


@login_required
@require_POST
def gap_add(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    assessment = _get_assessment(user, pk)
    form = GapForm(request.POST, prefix="new")
    status = 400
    if form.is_valid():
        try:
            services.gap_add(assessment_id=assessment.pk, by=user, data=form.cleaned_data)
        except ApplicationError as exc:
            apply_errors(form, exc)
            status = exc.status_code  # 403 for the partner, 409 once it is shared
        else:
            return _gaps_response(request, assessment.pk)
    return _gaps_response(request, assessment.pk, status=status, new_gap_form=form)


@login_required
@require_POST
def gap_edit(request: HttpRequest, pk: int, gap_id: int) -> HttpResponse:
    user: Any = request.user
    assessment = _get_assessment(user, pk)
    gap = assessment.gaps.filter(pk=gap_id).first()
    if gap is None:
        raise Http404
    form = GapForm(request.POST, instance=gap, prefix=f"gap{gap.pk}")
    status = 400
    if form.is_valid():
        try:
            services.gap_update(gap_id=gap.pk, by=user, data=form.cleaned_data)
        except ApplicationError as exc:
            apply_errors(form, exc)
            status = exc.status_code  # 403 for the partner, 409 once it is shared
        else:
            return _gaps_response(request, assessment.pk)
    return _gaps_response(request, assessment.pk, status=status, gap_errors={gap.pk: form})


@login_required
@require_POST
def gap_delete(request: HttpRequest, pk: int, gap_id: int) -> HttpResponse:
    user: Any = request.user
    assessment = _get_assessment(user, pk)
    if not assessment.gaps.filter(pk=gap_id).exists():
        raise Http404
    try:
        services.gap_remove(gap_id=gap_id, by=user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return _gaps_response(request, assessment.pk)


@login_required
@require_POST
def assessment_transition(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    user: Any = request.user
    assessment = _get_assessment(user, pk)
    form = TransitionForm(request.POST)
    text = form.data.get("text", "") if form.is_valid() else ""
    try:
        services.assessment_transition(assessment_id=assessment.pk, name=name, by=user, text=text)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Done: %(action)s.") % {"action": ASSESSMENT_WORKFLOW.get(name).display_label},
        )
    return redirect(assessment.get_absolute_url())
