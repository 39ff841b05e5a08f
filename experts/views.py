"""Pages of the roster, matching and deployments. Thin: they read through
experts/selectors.py, write through experts/services.py and show the services' refusals as
messages or form errors."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from actions import selectors as action_selectors
from actions.forms import skill_suggestions
from actions.models import Action, ExpertiseNeed
from cbportal.accounts.permissions import is_staff
from cbportal.core.downloads import protected_file_response
from cbportal.core.errors import ApplicationError, NotFound
from cbportal.core.exports import download_format, export_response
from cbportal.core.forms import apply_errors
from cbportal.core.pagination import EstimatingPaginator
from cbportal.core.rate_limits import Limit, by_user, limit_posts
from cbportal.core.selectors import timeline_for
from experts import explain, permissions, selectors, services
from experts.exports import EXPERT_COLUMNS, deployment_columns
from experts.forms import (
    AnonymiseForm,
    ConfirmForm,
    CvForm,
    DeploymentFilterForm,
    ExpertProfileForm,
    MissionReportForm,
    RateForm,
    ReasonForm,
    RosterSearchForm,
    ShortlistActionForm,
    UnavailabilityForm,
    VetForm,
    language_formset,
)
from experts.matching import COMPONENTS
from experts.models import (
    BOOKED_STATUSES,
    Deployment,
    DeploymentStatus,
    Expert,
    MatchJobStatus,
    ReportAttachment,
)
from experts.workflow import DEPLOYMENT_WORKFLOW, VETTING_WORKFLOW

PAGE_SIZE = 25

# --- helpers ------------------------------------------------------------------------------------


def _staff_only(user: Any) -> None:
    if not is_staff(user):
        raise PermissionDenied


def _get_expert(user: Any, pk: int) -> Expert:
    try:
        return selectors.expert_detail(user, pk)
    except NotFound:
        raise Http404 from None


def _get_deployment(user: Any, pk: int) -> Deployment:
    try:
        return selectors.deployment_detail(user, pk)
    except NotFound:
        raise Http404 from None


def _get_need(need_id: int) -> ExpertiseNeed:
    try:
        return selectors.need_for_matching(need_id)
    except NotFound:
        raise Http404 from None


def _get_action(user: Any, action_id: int) -> Action:
    """The action ``user`` may see, with its activities and needs (else a 404)."""
    try:
        return action_selectors.action_needs(user, action_id)
    except NotFound:
        raise Http404 from None


def _next_url(request: HttpRequest, default: str) -> str:
    """Where to go back to after a posted button: a local ``next`` or ``default``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _apply_language_errors(formset: Any, exc: ApplicationError) -> None:
    """The services say what is wrong with the languages under ``languages``."""
    for error in exc.errors.get("languages", []):
        formset._non_form_errors.append(error)


# --- roster -------------------------------------------------------------------------------------


def roster_rows(user: Any, form: RosterSearchForm) -> QuerySet[Expert]:
    """The roster search of a valid ``form`` (everyone when it is unbound): what the page
    lists and what it downloads."""
    return selectors.roster_search(user, form.params() if form.is_bound else {})


@login_required
def roster(request: HttpRequest) -> HttpResponseBase:
    """Staff's roster search: filters checked by a form, 25 experts per page;
    ``?export=csv|xlsx`` downloads every expert found (never their CV)."""
    user: Any = request.user
    _staff_only(user)
    fmt, refused = download_format(request)
    form = RosterSearchForm(request.GET or None)
    page = None
    valid = not form.is_bound or form.is_valid()
    if valid:
        qs = roster_rows(user, form)
        if fmt is not None:
            return export_response(
                qs.prefetch_related("countries_of_experience"),
                EXPERT_COLUMNS,
                fmt=fmt,
                filename=_("experts"),
                request=request,
            )
        page = EstimatingPaginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "experts/roster.html",
        {"form": form, "page": page, "vetting_pending": selectors.vetting_queue(user).count()},
        status=400 if refused or not valid else 200,
    )


def _profile_page(
    request: HttpRequest,
    *,
    form: ExpertProfileForm,
    languages: Any,
    expert: Expert | None,
    post_url: str,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "experts/expert_form.html",
        {
            "form": form,
            "languages": languages,
            "expert": expert,
            "post_url": post_url,
            "skill_suggestions": skill_suggestions(),
        },
        status=status,
    )


def _create(request: HttpRequest, post_url: str) -> HttpResponse:
    user: Any = request.user
    staff = is_staff(user)
    if request.method == "POST":
        form = ExpertProfileForm(request.POST, staff=staff)
        languages = language_formset(request.POST)
        if form.is_valid() and languages.is_valid():
            data = {**form.service_data(), "languages": languages.languages()}
            try:
                expert = services.expert_create(by=user, data=data)
            except ApplicationError as exc:
                apply_errors(form, exc)
                _apply_language_errors(languages, exc)
            else:
                if staff:
                    messages.success(
                        request,
                        _("%(name)s is on the roster, awaiting vetting.")
                        % {"name": expert.full_name},
                    )
                else:
                    messages.success(
                        request,
                        _("Your profile is saved. Programme staff will review it shortly."),
                    )
                return redirect(expert.get_absolute_url())
        return _profile_page(
            request, form=form, languages=languages, expert=None, post_url=post_url, status=400
        )
    initial = {} if staff else {"full_name": user.display_name, "email": user.email}
    form = ExpertProfileForm(initial=initial, staff=staff)
    return _profile_page(
        request, form=form, languages=language_formset(), expert=None, post_url=post_url
    )


@login_required
def expert_create(request: HttpRequest) -> HttpResponse:
    """Staff add someone to the roster."""
    _staff_only(request.user)
    return _create(request, reverse("experts:create"))


@login_required
def my_profile(request: HttpRequest) -> HttpResponse:
    """The expert's own profile page, or the form to create it."""
    user: Any = request.user
    if is_staff(user):
        return redirect("experts:roster")
    if user.role != "expert":
        raise PermissionDenied
    expert = selectors.own_profile(user)
    if expert is not None:
        return redirect(expert.get_absolute_url())
    return _create(request, reverse("experts:profile"))


def _detail_context(request: HttpRequest, expert: Expert, **forms: Any) -> dict[str, Any]:
    user: Any = request.user
    staff = is_staff(user)
    own = permissions.is_own_profile(user, expert)
    editable = permissions.can_edit_expert(user, expert)
    vetting = VETTING_WORKFLOW.allowed(expert, user) if expert.anonymised_at is None else []
    return {
        "expert": expert,
        "is_staff": staff,
        "is_self": own,
        "editable": editable,
        "can_view_cv": permissions.can_view_cv(user, expert),
        "deployments": list(
            selectors.deployment_list(user)
            .filter(expert_id=expert.pk)
            .order_by("-start_date", "-created_at", "-id")[:100]
        ),
        "timeline": timeline_for(expert),
        "vetting_transitions": vetting,
        "vet_form": forms.get("vet_form") or (VetForm(prefix="vet") if vetting else None),
        "unavailability_form": forms.get("unavailability_form")
        or (UnavailabilityForm(prefix="period") if editable else None),
        "cv_form": forms.get("cv_form") or (CvForm(prefix="cv") if editable else None),
        "today": timezone.localdate(),
    }


@login_required
def expert_detail(request: HttpRequest, pk: int) -> HttpResponse:
    expert = _get_expert(request.user, pk)
    return render(request, "experts/expert_detail.html", _detail_context(request, expert))


@login_required
def expert_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    expert = _get_expert(user, pk)
    if not permissions.can_edit_expert(user, expert):
        messages.error(request, _("This profile has been anonymised and cannot change."))
        return redirect(expert.get_absolute_url())
    staff = is_staff(user)
    post_url = reverse("experts:edit", args=[expert.pk])
    if request.method == "POST":
        form = ExpertProfileForm(request.POST, staff=staff, expert=expert)
        languages = language_formset(request.POST, expert)
        if form.is_valid() and languages.is_valid():
            data = {**form.service_data(), "languages": languages.languages()}
            try:
                services.expert_update(expert_id=expert.pk, by=user, data=data)
            except ApplicationError as exc:
                apply_errors(form, exc)
                _apply_language_errors(languages, exc)
            else:
                messages.success(request, _("Profile saved."))
                return redirect(expert.get_absolute_url())
        return _profile_page(
            request, form=form, languages=languages, expert=expert, post_url=post_url, status=400
        )
    form = ExpertProfileForm(
        initial=ExpertProfileForm.initial_for(expert), staff=staff, expert=expert
    )
    return _profile_page(
        request,
        form=form,
        languages=language_formset(None, expert),
        expert=expert,
        post_url=post_url,
    )


@login_required
@require_POST
def expert_vet(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff approve or reject a roster entry (from its page or the vetting queue)."""
    user: Any = request.user
    expert = _get_expert(user, pk)
    _staff_only(user)
    form = VetForm(request.POST, prefix="vet")
    back = _next_url(request, expert.get_absolute_url())
    if not form.is_valid():
        if back != expert.get_absolute_url():
            messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
            return redirect(back)
        context = _detail_context(request, expert, vet_form=form)
        return render(request, "experts/expert_detail.html", context, status=400)
    decision = form.cleaned_data["decision"]
    try:
        services.expert_vet(
            expert_id=expert.pk, by=user, decision=decision, note=form.cleaned_data["note"]
        )
    except ApplicationError as exc:
        messages.error(request, exc.full_message)
    else:
        if decision == "approve":
            messages.success(request, _("%(name)s is approved.") % {"name": expert.full_name})
        else:
            messages.success(request, _("%(name)s is rejected.") % {"name": expert.full_name})
    return redirect(back)


@login_required
def cv_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The CV, for staff and the expert only (others: 404)."""
    user: Any = request.user
    expert = _get_expert(user, pk)
    if not permissions.can_view_cv(user, expert) or not expert.cv:
        raise Http404
    return protected_file_response(
        expert.cv,
        filename=expert.cv_name or "cv",
        content_type=expert.cv_content_type or "application/octet-stream",
    )


@login_required
@require_POST
def cv_upload(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    expert = _get_expert(user, pk)
    form = CvForm(request.POST, request.FILES, prefix="cv")
    if form.is_valid():
        try:
            services.expert_cv_upload(
                expert_id=expert.pk, by=user, upload=form.cleaned_data["file"]
            )
        except ApplicationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("CV saved."))
            return redirect(f"{expert.get_absolute_url()}#cv")
    context = _detail_context(request, expert, cv_form=form)
    return render(request, "experts/expert_detail.html", context, status=400)


@login_required
@require_POST
def cv_remove(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    expert = _get_expert(user, pk)
    try:
        services.expert_cv_remove(expert_id=expert.pk, by=user)
    except ApplicationError as exc:
        messages.error(request, exc.full_message)
    else:
        messages.success(request, _("CV removed."))
    return redirect(f"{expert.get_absolute_url()}#cv")


@login_required
@require_POST
def unavailability_add(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    expert = _get_expert(user, pk)
    form = UnavailabilityForm(request.POST, prefix="period")
    if form.is_valid():
        data = form.cleaned_data
        try:
            period, merged = services.unavailability_add(
                expert_id=expert.pk,
                by=user,
                start_date=data["start_date"],
                end_date=data["end_date"],
                note=data["note"],
            )
        except ApplicationError as exc:
            apply_errors(form, exc)
        else:
            if merged:
                messages.info(
                    request,
                    ngettext(
                        "The period overlapped or touched %(count)d existing period: they "
                        "are merged into %(start)s – %(end)s.",
                        "The period overlapped or touched %(count)d existing periods: they "
                        "are merged into %(start)s – %(end)s.",
                        merged,
                    )
                    % {"count": merged, "start": period.start_date, "end": period.end_date},
                )
            else:
                messages.success(request, _("Unavailability period added."))
            return redirect(f"{expert.get_absolute_url()}#unavailability")
    context = _detail_context(request, expert, unavailability_form=form)
    return render(request, "experts/expert_detail.html", context, status=400)


@login_required
@require_POST
def unavailability_remove(request: HttpRequest, pk: int, period_id: int) -> HttpResponse:
    user: Any = request.user
    expert = _get_expert(user, pk)
    try:
        services.unavailability_remove(expert_id=expert.pk, period_id=period_id, by=user)
    except NotFound:
        raise Http404 from None
    except ApplicationError as exc:
        messages.error(request, exc.full_message)
    else:
        messages.success(request, _("Unavailability period removed."))
    return redirect(f"{expert.get_absolute_url()}#unavailability")


@login_required
def data_export(request: HttpRequest, pk: int) -> HttpResponse:
    """Everything held about the expert, as a JSON download (the expert and staff)."""
    user: Any = request.user
    try:
        data = services.expert_export(expert_id=pk, by=user)
    except NotFound:
        raise Http404 from None
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
        content_type="application/json",
    )
    response["Content-Disposition"] = f'attachment; filename="expert-{data["profile"]["id"]}.json"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_POST
def request_deletion(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    expert = _get_expert(user, pk)
    try:
        services.expert_request_deletion(expert_id=expert.pk, by=user)
    except ApplicationError as exc:
        messages.error(request, exc.full_message)
    else:
        messages.success(
            request,
            _(
                "Your request is recorded. Programme staff will delete your personal data "
                "and keep only an anonymous record of past missions."
            ),
        )
    return redirect(expert.get_absolute_url())


@login_required
def anonymise(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff delete an expert's personal data, after a confirmation step."""
    user: Any = request.user
    expert = _get_expert(user, pk)
    _staff_only(user)
    if expert.anonymised_at is not None:
        messages.info(request, _("This profile has already been anonymised."))
        return redirect(expert.get_absolute_url())
    form = AnonymiseForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.expert_anonymise(expert_id=expert.pk, by=user)
            except ApplicationError as exc:
                apply_errors(form, exc)
                status = exc.status_code  # 409 while a mission is confirmed
            else:
                messages.success(
                    request,
                    _(
                        "The expert's personal data are deleted; the mission history is kept anonymously."
                    ),
                )
                return redirect(expert.get_absolute_url())
    return render(
        request, "experts/anonymise.html", {"expert": expert, "form": form}, status=status
    )


@login_required
def vetting_queue(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    _staff_only(user)
    page = EstimatingPaginator(selectors.vetting_queue(user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    deletions = list(
        selectors.deletion_requests(user).order_by("deletion_requested_at", "id")[:100]
    )
    return render(request, "experts/vetting_queue.html", {"page": page, "deletions": deletions})


# --- matching -----------------------------------------------------------------------------------


def _shortlist_rows(need: ExpertiseNeed) -> list[dict[str, Any]]:
    skill_names = {s.pk: s.name for s in need.skills.all()}
    deployments = selectors.deployments_by_expert(need)
    rows = []
    for result in selectors.shortlist(need):
        components = [
            {
                "name": name,
                "label": explain.component_label(name),
                "value": result.components.get(name, 0),
                "percent": round(100 * float(result.components.get(name, 0) or 0)),
                "text": explain.describe(
                    name, result.explanation.get(name), skill_names=skill_names
                ),
            }
            for name in COMPONENTS
        ]
        rows.append(
            {
                "result": result,
                "expert": result.expert,
                "components": components,
                "deployment": deployments.get(result.expert_id),
            }
        )
    return rows


@login_required
def shortlist(request: HttpRequest, need_id: int) -> HttpResponse:
    """The ranked shortlist of a need with every component's score in words."""
    user: Any = request.user
    _staff_only(user)
    need = _get_need(need_id)
    job = selectors.latest_job(need.pk)
    weights: dict[str, int] = {}
    if job is not None and job.weights:
        total = sum(float(v) for v in job.weights.values()) or 1.0
        weights = {k: round(100 * float(v) / total) for k, v in job.weights.items()}
    return render(
        request,
        "experts/shortlist.html",
        {
            "need": need,
            "activity": need.activity,
            "action": need.activity.action,
            "job": job,
            "job_pending": job is not None
            and job.status in (MatchJobStatus.QUEUED, MatchJobStatus.RUNNING),
            "exclusions": explain.describe_exclusions(job.exclusions if job else None),
            "columns": [
                (name, explain.component_label(name), weights.get(name)) for name in COMPONENTS
            ],
            "rows": _shortlist_rows(need),
        },
    )


@login_required
@require_POST
def match(request: HttpRequest, need_id: int) -> HttpResponse:
    user: Any = request.user
    _staff_only(user)
    need = _get_need(need_id)
    try:
        job = services.match_queue(need_id=need.pk, by=user)
    except ApplicationError as exc:
        messages.error(request, exc.full_message)
    else:
        job.refresh_from_db()
        if job.status == MatchJobStatus.DONE:
            messages.success(
                request,
                ngettext(
                    "Matching done: %(count)d candidate out of %(roster)d experts.",
                    "Matching done: %(count)d candidates out of %(roster)d experts.",
                    job.candidates,
                )
                % {"count": job.candidates, "roster": job.roster_size},
            )
        elif job.status == MatchJobStatus.FAILED:
            messages.error(request, _("Matching failed. Try again, or tell the administrator."))
        else:
            messages.info(request, _("Matching is queued; refresh this page in a moment."))
    return redirect("experts:shortlist", need.pk)


@login_required
@require_POST
def shortlist_add(request: HttpRequest, need_id: int, expert_id: int) -> HttpResponse:
    """One click on the shortlist page: shortlist, or shortlist and invite."""
    user: Any = request.user
    _staff_only(user)
    form = ShortlistActionForm(request.POST)
    if not form.is_valid():
        raise Http404
    back = _next_url(request, f"{reverse('experts:shortlist', args=[need_id])}#expert-{expert_id}")
    try:
        if form.cleaned_data["do"] == "invite":
            deployment = services.deployment_shortlist_and_invite(
                need_id=need_id, expert_id=expert_id, by=user
            )
            messages.success(
                request,
                _("%(name)s is invited; the invitation expires on %(date)s.")
                % {
                    "name": deployment.expert.full_name,
                    "date": timezone.localtime(deployment.expires_at).strftime("%Y-%m-%d")
                    if deployment.expires_at
                    else "",
                },
            )
        else:
            deployment = services.deployment_shortlist(
                need_id=need_id, expert_id=expert_id, by=user
            )
            messages.success(
                request, _("%(name)s is shortlisted.") % {"name": deployment.expert.full_name}
            )
    except NotFound:
        raise Http404 from None
    except ApplicationError as exc:
        messages.error(request, exc.full_message)
    return redirect(back)


def _transition_buttons(deployment: Deployment, user: Any) -> list[dict[str, Any]]:
    return [
        {
            "transition": DEPLOYMENT_WORKFLOW.get(name),
            "url": reverse("experts:deployment-transition", args=[deployment.pk, name]),
        }
        for name in DEPLOYMENT_WORKFLOW.allowed(deployment, user)
    ]


@login_required
def deployment_board(request: HttpRequest, action_id: int) -> HttpResponseBase:
    """Staff's board for an action: who is shortlisted, invited, accepted, confirmed… per
    need, with the buttons for the allowed transitions."""
    user: Any = request.user
    _staff_only(user)
    action = _get_action(user, action_id)
    fmt, refused = download_format(request)
    if fmt is not None:
        return export_response(
            listed_deployments(user, action_id=action.pk),
            deployment_columns(user),
            fmt=fmt,
            filename=f"{_('deployments')}-{action.reference}",
            request=request,
        )
    board = selectors.deployment_board(user, action.pk)
    activities = []
    for activity in action.activities.all():
        needs = []
        for need in activity.needs.all():
            on_need = board.get(need.pk, [])
            deployments = []
            for d in on_need:
                buttons = _transition_buttons(d, user)
                confirm = any(b["transition"].name == "confirm" for b in buttons)
                deployments.append(
                    {
                        "deployment": d,
                        "buttons": buttons,
                        "confirm_form": ConfirmForm(
                            initial=ConfirmForm.initial_for(d), auto_id=f"confirm-{d.pk}-%s"
                        )
                        if confirm
                        else None,
                    }
                )
            counts = {
                status: sum(1 for d in on_need if d.status == status)
                for status in DeploymentStatus.values
            }
            needs.append({"need": need, "deployments": deployments, "counts": counts})
        activities.append({"activity": activity, "needs": needs})
    return render(
        request,
        "experts/deployment_board.html",
        {"action": action, "activities": activities},
        status=400 if refused else 200,
    )


# --- deployments --------------------------------------------------------------------------------


@login_required
def my_invitations(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if user.role != "expert":
        raise PermissionDenied
    invitations = list(selectors.invitations_for(user)[:100])
    return render(request, "experts/my_invitations.html", {"invitations": invitations})


def _refusal(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return render(
        request,
        "experts/invitation_refused.html",
        {"message": exc.full_message},
        status=exc.status_code,
    )


@login_required
@limit_posts("expert-invitation-link", Limit(by_user, "EXPERT_INVITATION_LINK_RATE_LIMIT"))
def invitation_link(request: HttpRequest, token: str) -> HttpResponse:
    """The signed one-time link of the invitation email. Opening it changes nothing; the
    expert answers with one of its two buttons."""
    user: Any = request.user
    try:
        deployment, nonce = services.deployment_from_token(token, user)
    except ApplicationError as exc:
        return _refusal(request, exc)
    decline_form = ReasonForm(prefix="decline")
    if request.method == "POST":
        answer = request.POST.get("answer")
        try:
            if answer == "accept":
                services.deployment_accept(deployment_id=deployment.pk, by=user, nonce=nonce)
                messages.success(
                    request, _("You accepted the invitation. Staff will confirm the mission.")
                )
                return redirect(deployment.get_absolute_url())
            if answer == "decline":
                decline_form = ReasonForm(request.POST, prefix="decline")
                if decline_form.is_valid():
                    services.deployment_decline(
                        deployment_id=deployment.pk,
                        by=user,
                        reason=decline_form.cleaned_data["text"],
                        nonce=nonce,
                    )
                    messages.success(
                        request, _("You declined the invitation. Thank you for answering.")
                    )
                    return redirect("experts:invitations")
            else:
                return _refusal(request, ApplicationError(_("Choose to accept or to decline.")))
        except NotFound:
            raise Http404 from None
        except ApplicationError as exc:
            return _refusal(request, exc)
    return render(
        request,
        "experts/invitation_answer.html",
        {
            "deployment": deployment,
            "need": deployment.need,
            "activity": deployment.need.activity,
            "action": deployment.need.activity.action,
            "decline_form": decline_form,
        },
        status=400 if decline_form.is_bound else 200,
    )


def listed_deployments(
    user: Any, form: DeploymentFilterForm | None = None, *, action_id: int | None = None
) -> QuerySet[Deployment]:
    """The deployments the user may see (of one action when ``action_id`` is given),
    filtered by a valid ``form``, newest first: what the list and the board download."""
    qs = selectors.deployment_list(user)
    if action_id is not None:
        qs = qs.filter(need__activity__action_id=action_id)
    if form is not None and form.is_bound and form.cleaned_data.get("status"):
        qs = qs.filter(status=form.cleaned_data["status"])
    return qs.order_by("-created_at", "-id")


@login_required
def deployment_list(request: HttpRequest) -> HttpResponseBase:
    user: Any = request.user
    if not (is_staff(user) or user.role in ("expert", "partner")):
        raise PermissionDenied
    fmt, refused = download_format(request)
    form = DeploymentFilterForm(request.GET or None)
    valid = not form.is_bound or form.is_valid()
    if valid and fmt is not None:
        return export_response(
            listed_deployments(user, form),
            deployment_columns(user),
            fmt=fmt,
            filename=_("deployments"),
            request=request,
        )
    page = (
        EstimatingPaginator(listed_deployments(user, form), PAGE_SIZE).get_page(
            request.GET.get("page")
        )
        if valid
        else None
    )
    return render(
        request,
        "experts/deployment_list.html",
        {"form": form, "page": page},
        status=400 if refused or not valid else 200,
    )


def _deployment_context(
    request: HttpRequest, deployment: Deployment, **forms: Any
) -> dict[str, Any]:
    user: Any = request.user
    buttons = _transition_buttons(deployment, user)
    allowed = {b["transition"].name for b in buttons}
    report = getattr(deployment, "report", None)
    can_rate = permissions.can_rate(user, deployment)
    return {
        "deployment": deployment,
        "expert": deployment.expert,
        "need": deployment.need,
        "activity": deployment.need.activity,
        "action": deployment.need.activity.action,
        "is_staff": is_staff(user),
        "is_partner": user.role == "partner",
        "buttons": buttons,
        "confirm_form": forms.get("confirm_form")
        or (
            ConfirmForm(initial=ConfirmForm.initial_for(deployment))
            if "confirm" in allowed
            else None
        ),
        "report": report,
        "attachments": list(report.attachments.all()) if report is not None else [],
        "can_file_report": permissions.can_file_report(user, deployment),
        "can_rate": can_rate,
        "rate_form": forms.get("rate_form")
        or (
            RateForm(initial={"rating": deployment.rating, "note": deployment.rating_note})
            if can_rate
            else None
        ),
        "timeline": timeline_for(deployment),
        "reason_text": forms.get("reason_text", ""),
    }


@login_required
def deployment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    deployment = _get_deployment(request.user, pk)
    return render(
        request, "experts/deployment_detail.html", _deployment_context(request, deployment)
    )


@login_required
@require_POST
def deployment_transition(request: HttpRequest, pk: int, transition: str) -> HttpResponse:
    """Fire one transition of a deployment from a button (board, page, my invitations)."""
    user: Any = request.user
    if transition not in services.DEPLOYMENT_TRANSITIONS:
        raise Http404
    deployment = _get_deployment(user, pk)
    text = (request.POST.get("text") or "").strip()
    data: dict[str, Any] = {}
    confirm_form = None
    # The dates are read (and kept on the page when refused) only for someone who may
    # confirm this deployment now; anyone else gets the service's refusal as a message.
    if transition == "confirm" and DEPLOYMENT_WORKFLOW.can(deployment, "confirm", user):
        confirm_form = ConfirmForm(request.POST)
        if not confirm_form.is_valid():
            context = _deployment_context(request, deployment, confirm_form=confirm_form)
            return render(request, "experts/deployment_detail.html", context, status=400)
        data = dict(confirm_form.cleaned_data)
    back = _next_url(request, deployment.get_absolute_url())
    label = DEPLOYMENT_WORKFLOW.get(transition).display_label
    try:
        services.deployment_transition(
            deployment_id=deployment.pk, name=transition, by=user, text=text, **data
        )
    except NotFound:
        raise Http404 from None
    except ApplicationError as exc:
        if confirm_form is not None:
            apply_errors(confirm_form, exc)
            context = _deployment_context(request, deployment, confirm_form=confirm_form)
            return render(
                request,
                "experts/deployment_detail.html",
                context,
                status=409 if exc.status_code == 409 else 400,
            )
        messages.error(request, exc.full_message or _("That is not possible now."))
    else:
        messages.success(request, _("Done: %(action)s.") % {"action": label})
    return redirect(back)


@login_required
def mission_report(request: HttpRequest, pk: int) -> HttpResponse:
    """The deployed expert files (or corrects) the mission report."""
    user: Any = request.user
    deployment = _get_deployment(user, pk)
    if deployment.expert.user_id != user.pk:
        raise PermissionDenied
    if not permissions.can_file_report(user, deployment):
        messages.error(request, _("A mission report is filed for a confirmed mission."))
        return redirect(deployment.get_absolute_url())
    report = getattr(deployment, "report", None)
    if request.method == "POST":
        form = MissionReportForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.deployment_report_submit(
                    deployment_id=deployment.pk,
                    by=user,
                    summary=data["summary"],
                    outputs=data["outputs"],
                    recommendations=data["recommendations"],
                    days_worked=data["days_worked"],
                    attachments=data["attachments"],
                )
            except ApplicationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Mission report saved. Thank you."))
                return redirect(deployment.get_absolute_url())
        status = 400
    else:
        initial = (
            {
                "summary": report.summary,
                "outputs": report.outputs,
                "recommendations": report.recommendations,
                "days_worked": report.days_worked,
            }
            if report is not None
            else {"days_worked": deployment.expert_days}
        )
        form = MissionReportForm(initial=initial)
        status = 200
    return render(
        request,
        "experts/mission_report.html",
        {
            "deployment": deployment,
            "activity": deployment.need.activity,
            "report": report,
            "form": form,
            "attachments": list(report.attachments.all()) if report is not None else [],
        },
        status=status,
    )


@login_required
def report_attachment(request: HttpRequest, pk: int, attachment_id: int) -> HttpResponseBase:
    deployment = _get_deployment(request.user, pk)
    attachment = ReportAttachment.objects.filter(
        pk=attachment_id, report__deployment=deployment
    ).first()
    if attachment is None:
        raise Http404
    return protected_file_response(
        attachment.file, filename=attachment.original_name, content_type=attachment.content_type
    )


@login_required
@require_POST
def deployment_rate(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    deployment = _get_deployment(user, pk)
    _staff_only(user)
    form = RateForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            services.deployment_rate(
                deployment_id=deployment.pk,
                by=user,
                rating=form.cleaned_data["rating"],
                note=form.cleaned_data["note"],
            )
        except ApplicationError as exc:
            apply_errors(form, exc)
            status = exc.status_code  # 409: the mission is not completed yet
        else:
            messages.success(request, _("Rating saved."))
            return redirect(deployment.get_absolute_url())
    context = _deployment_context(request, deployment, rate_form=form)
    return render(request, "experts/deployment_detail.html", context, status=status)


@login_required
def action_experts(request: HttpRequest, action_id: int) -> HttpResponse:
    """The experts confirmed on an action, as its partner (and staff) see them."""
    user: Any = request.user
    if not (is_staff(user) or user.role == "partner"):
        raise PermissionDenied
    action = (
        action_selectors.actions_for(user).only("pk", "reference", "title").filter(pk=action_id)
    ).first()
    if action is None:
        raise Http404
    deployments = list(
        selectors.deployment_list(user)
        .filter(need__activity__action=action, status__in=BOOKED_STATUSES)
        .order_by("start_date", "expert__full_name", "id")
    )
    return render(
        request,
        "experts/action_experts.html",
        {"action": action, "deployments": deployments, "is_staff": is_staff(user)},
    )
