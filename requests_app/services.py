"""Every write use-case of requests and needs assessments.

Transition services lock the row, check the transition table (requests_app/workflow.py),
save, record the transition event and notify after commit — through
``cbportal.core.services.fire_transition`` and ``notify_on_commit``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from cbportal.accounts.models import Role, User
from cbportal.core.errors import (
    ApplicationError,
    NotFound,
    TransitionForbidden,
    TransitionNotAllowed,
)
from cbportal.core.notifications import notify_on_commit
from cbportal.core.references import next_reference
from cbportal.core.reminders import remind
from cbportal.core.services import fire_transition
from cbportal.core.uploads import DOCUMENTS, clean_filename, validate_upload
from requests_app import permissions, sla
from requests_app.models import (
    AssessmentMethod,
    AssistanceRequest,
    CapacityGap,
    MessageKind,
    NeedsAssessment,
    RequestAttachment,
    RequestMessage,
)
from requests_app.workflow import ASSESSMENT_WORKFLOW, REQUEST_WORKFLOW

SCALAR_FIELDS = (
    "title",
    "country",
    "problem_statement",
    "expected_outcomes",
    "target_institutions",
    "preferred_start",
    "preferred_end",
)
M2M_FIELDS = ("thematic_areas", "gcm_objectives", "languages")


# --- recipients -----------------------------------------------------------------------


def partner_contacts(request: AssistanceRequest) -> QuerySet[User]:
    return User.objects.filter(
        role=Role.PARTNER, organisation_id=request.organisation_id, is_active=True
    )


def programme_staff() -> QuerySet[User]:
    return User.objects.filter(role=Role.STAFF, is_active=True)


# --- drafts ----------------------------------------------------------------------------


def _check_period(data: dict[str, Any], errors: dict[str, list[str]], *, for_submit: bool) -> None:
    start, end = data.get("preferred_start"), data.get("preferred_end")
    if start and end and end < start:
        errors.setdefault("preferred_end", []).append(_("The end must not be before the start."))
    if for_submit and start and start < timezone.localdate():
        errors.setdefault("preferred_start", []).append(
            _("The preferred period cannot start in the past.")
        )


def _apply(request: AssistanceRequest, data: dict[str, Any]) -> list[str]:
    changed = []
    for name in SCALAR_FIELDS:
        if name in data:
            setattr(request, name, data[name])
            changed.append(name if name != "country" else "country")
    return changed


def _set_m2m(request: AssistanceRequest, data: dict[str, Any]) -> None:
    for name in M2M_FIELDS:
        if name in data and data[name] is not None:
            getattr(request, name).set(list(data[name]))


@transaction.atomic
def request_create(*, by: User, data: dict[str, Any]) -> AssistanceRequest:
    """A partner focal point starts a draft for their organisation. Notifies nobody."""
    if not permissions.can_create_request(by):
        raise TransitionForbidden(_("Only partner focal points can create requests."))
    errors: dict[str, list[str]] = {}
    if not (data.get("title") or "").strip():
        errors["title"] = [_("Give the request a title, even a provisional one.")]
    _check_period(data, errors, for_submit=False)
    if errors:
        raise ApplicationError(_("Please correct the errors below."), errors=errors)
    assert by.organisation is not None
    request = AssistanceRequest(
        organisation=by.organisation, created_by=by, country=by.organisation.country
    )
    _apply(request, data)
    request.save()
    _set_m2m(request, data)
    return request


def _lock_request(request_id: int, by: User) -> AssistanceRequest:
    try:
        request = (
            AssistanceRequest.objects.select_for_update(of=("self",))
            .select_related("case_officer")
            .get(pk=request_id)
        )
    except AssistanceRequest.DoesNotExist:
        raise NotFound() from None
    if not permissions.can_view_request(by, request):
        raise NotFound()
    return request


@transaction.atomic
def request_update(*, request_id: int, by: User, data: dict[str, Any]) -> AssistanceRequest:
    """A partner edits their organisation's draft. Notifies nobody."""
    request = _lock_request(request_id, by)
    if not permissions.can_edit_request(by, request):
        if not permissions.can_create_request(by):
            raise TransitionForbidden(_("Only the partner's focal points can edit their request."))
        raise TransitionNotAllowed(
            _("A submitted request cannot be edited; answer the programme's questions instead.")
        )
    merged = {
        "preferred_start": request.preferred_start,
        "preferred_end": request.preferred_end,
        **data,
    }
    errors: dict[str, list[str]] = {}
    if "title" in data and not (data.get("title") or "").strip():
        errors["title"] = [_("Give the request a title, even a provisional one.")]
    _check_period(merged, errors, for_submit=False)
    if errors:
        raise ApplicationError(_("Please correct the errors below."), errors=errors)
    fields = _apply(request, data)
    request.save(update_fields=[*fields, "updated_at"])
    _set_m2m(request, data)
    return request


def submission_errors(request: AssistanceRequest) -> dict[str, list[str]]:
    """What a draft still lacks before it can be submitted."""
    errors: dict[str, list[str]] = {}
    required = {
        "title": _("Give the request a title."),
        "problem_statement": _("Describe the problem your institution faces."),
        "expected_outcomes": _("Say what should change thanks to the support."),
        "target_institutions": _("Name the institutions that would benefit."),
        "preferred_start": _("Give a preferred start date."),
        "preferred_end": _("Give a preferred end date."),
    }
    for name, message in required.items():
        value = getattr(request, name)
        if value is None or (isinstance(value, str) and not value.strip()):
            errors[name] = [message]
    if not request.thematic_areas.exists():
        errors["thematic_areas"] = [_("Choose at least one thematic area.")]
    if not request.languages.exists():
        errors["languages"] = [_("Choose at least one working language.")]
    _check_period(
        {"preferred_start": request.preferred_start, "preferred_end": request.preferred_end},
        errors,
        for_submit=True,
    )
    return errors


# --- request transitions ---------------------------------------------------------------


@transaction.atomic
def request_submit(*, request_id: int, by: User) -> AssistanceRequest:
    """A partner submits their organisation's draft: it gets its reference, the SLA clock
    starts. Notifies the partner's organisation (acknowledgement) and programme staff."""
    request = _lock_request(request_id, by)
    REQUEST_WORKFLOW.check(request, "submit", by)
    errors = submission_errors(request)
    if errors:
        raise ApplicationError(_("The request is not complete yet."), errors=errors)
    now = timezone.now()
    request.reference = next_reference("REQ", timezone.localtime(now).year)
    request.submitted_at = now
    request.first_response_due_at, request.decision_due_at = sla.due_dates(now)
    request, event = fire_transition(
        request,
        REQUEST_WORKFLOW,
        "submit",
        by=by,
        extra_fields=["reference", "submitted_at", "first_response_due_at", "decision_due_at"],
    )
    notify_on_commit(
        "request_submitted",
        request,
        partner_contacts(request),
        key=str(event.pk),
        context={"sla_days": settings.SLA_FIRST_RESPONSE_WORKING_DAYS},
    )
    notify_on_commit("request_received", request, programme_staff(), key=str(event.pk))
    return request


def _first_response(request: AssistanceRequest, by: User) -> list[str]:
    fields = []
    if request.first_response_at is None:
        request.first_response_at = timezone.now()
        fields.append("first_response_at")
    if request.case_officer_id is None:
        request.case_officer = by
        fields.append("case_officer")
    return fields


@transaction.atomic
def request_start_review(*, request_id: int, by: User) -> AssistanceRequest:
    """Staff take a submitted request: they become its case officer (first response).
    Notifies nobody (the partner sees the new status). Two staff at once: the second gets
    a 409 saying the review has started."""
    request = _lock_request(request_id, by)
    REQUEST_WORKFLOW.check(request, "start-review", by)
    request.case_officer = by
    fields = ["case_officer"]
    if request.first_response_at is None:
        request.first_response_at = timezone.now()
        fields.append("first_response_at")
    request, _event = fire_transition(
        request, REQUEST_WORKFLOW, "start-review", by=by, extra_fields=fields
    )
    return request


@transaction.atomic
def request_request_info(*, request_id: int, by: User, message: str) -> AssistanceRequest:
    """The case officer asks the partner a question. Notifies the partner's organisation."""
    request = _lock_request(request_id, by)
    REQUEST_WORKFLOW.check(request, "request-info", by)
    fields = _first_response(request, by)
    request, event = fire_transition(
        request, REQUEST_WORKFLOW, "request-info", by=by, comment=message, extra_fields=fields
    )
    RequestMessage.objects.create(
        request=request,
        kind=MessageKind.QUESTION,
        author=by,
        author_name=by.display_name,
        text=event.comment,
    )
    notify_on_commit(
        "request_info_requested",
        request,
        partner_contacts(request),
        key=str(event.pk),
        context={"question": event.comment},
    )
    return request


@transaction.atomic
def request_respond(*, request_id: int, by: User, message: str) -> AssistanceRequest:
    """The partner answers the question; the request is under review again. Notifies the
    case officer."""
    request = _lock_request(request_id, by)
    request, event = fire_transition(request, REQUEST_WORKFLOW, "respond", by=by, comment=message)
    RequestMessage.objects.create(
        request=request,
        kind=MessageKind.ANSWER,
        author=by,
        author_name=by.display_name,
        text=event.comment,
    )
    notify_on_commit(
        "request_responded",
        request,
        [request.case_officer],
        key=str(event.pk),
        context={"answer": event.comment},
    )
    return request


@transaction.atomic
def request_accept(*, request_id: int, by: User, comment: str = "") -> AssistanceRequest:
    """The case officer accepts the request; its needs assessment opens, owned by the case
    officer. Notifies the partner's organisation."""
    request = _lock_request(request_id, by)
    REQUEST_WORKFLOW.check(request, "accept", by)
    request.decided_at = timezone.now()
    fields = ["decided_at", *_first_response(request, by)]
    request, event = fire_transition(
        request, REQUEST_WORKFLOW, "accept", by=by, comment=comment, extra_fields=fields
    )
    NeedsAssessment.objects.create(request=request, owner=request.case_officer or by)
    notify_on_commit("request_accepted", request, partner_contacts(request), key=str(event.pk))
    return request


@transaction.atomic
def request_decline(*, request_id: int, by: User, reason: str) -> AssistanceRequest:
    """The case officer declines the request with a reason the partner reads. Notifies the
    partner's organisation."""
    request = _lock_request(request_id, by)
    REQUEST_WORKFLOW.check(request, "decline", by)
    request.decided_at = timezone.now()
    request.decision_reason = (reason or "").strip()
    fields = ["decided_at", "decision_reason", *_first_response(request, by)]
    request, event = fire_transition(
        request, REQUEST_WORKFLOW, "decline", by=by, comment=reason, extra_fields=fields
    )
    notify_on_commit(
        "request_declined",
        request,
        partner_contacts(request),
        key=str(event.pk),
        context={"reason": event.comment},
    )
    return request


@transaction.atomic
def request_withdraw(*, request_id: int, by: User, comment: str = "") -> AssistanceRequest:
    """The partner withdraws the request. Notifies the case officer, if one was assigned."""
    request = _lock_request(request_id, by)
    request, event = fire_transition(request, REQUEST_WORKFLOW, "withdraw", by=by, comment=comment)
    if request.case_officer_id:
        notify_on_commit("request_withdrawn", request, [request.case_officer], key=str(event.pk))
    return request


REQUEST_TRANSITIONS = {
    "submit": lambda pk, by, text: request_submit(request_id=pk, by=by),
    "start-review": lambda pk, by, text: request_start_review(request_id=pk, by=by),
    "request-info": lambda pk, by, text: request_request_info(request_id=pk, by=by, message=text),
    "respond": lambda pk, by, text: request_respond(request_id=pk, by=by, message=text),
    "accept": lambda pk, by, text: request_accept(request_id=pk, by=by, comment=text),
    "decline": lambda pk, by, text: request_decline(request_id=pk, by=by, reason=text),
    "withdraw": lambda pk, by, text: request_withdraw(request_id=pk, by=by, comment=text),
}


def request_transition(
    *, request_id: int, name: str, by: User, text: str = ""
) -> AssistanceRequest:
    """Dispatch a transition by its table name (pages and API use this one entry point)."""
    REQUEST_WORKFLOW.get(name)  # 404 for an unknown name
    return REQUEST_TRANSITIONS[name](request_id, by, text)  # type: ignore[no-untyped-call]


# --- attachments -----------------------------------------------------------------------


@transaction.atomic
def attachment_add(*, request_id: int, by: User, upload: Any, kind: str) -> RequestAttachment:
    """Attach a document (official letter, background) to a request the user may see,
    while it can still change. Content is checked, not the name. Notifies nobody."""
    request = _lock_request(request_id, by)
    if not permissions.can_add_attachment(by, request):
        raise TransitionNotAllowed(_("Documents can no longer be added to this request."))
    if kind not in dict(RequestAttachment._meta.get_field("kind").choices or []):
        raise ApplicationError(_("Choose the kind of document."), field="kind")
    file_kind = validate_upload(upload, DOCUMENTS)
    name = clean_filename(upload.name)
    attachment = RequestAttachment(
        request=request,
        kind=kind,
        original_name=name,
        content_type=file_kind.content_type,
        size=upload.size,
        uploaded_by=by,
    )
    attachment.file.save(name, upload, save=False)
    attachment.save()
    return attachment


@transaction.atomic
def attachment_remove(*, attachment_id: int, by: User) -> None:
    """The uploader's side removes a document while the request is a draft."""
    attachment = (
        RequestAttachment.objects.select_related("request").filter(pk=attachment_id).first()
    )
    if attachment is None or not permissions.can_view_request(by, attachment.request):
        raise NotFound()
    if not permissions.can_edit_request(by, attachment.request):
        raise TransitionNotAllowed(_("Documents can only be removed from a draft."))
    storage, path = attachment.file.storage, attachment.file.name
    attachment.delete()
    transaction.on_commit(lambda: storage.delete(path) if path else None)


# --- needs assessments -----------------------------------------------------------------


def _lock_assessment(assessment_id: int, by: User) -> NeedsAssessment:
    try:
        assessment = (
            NeedsAssessment.objects.select_for_update(of=("self",))
            .select_related("request", "owner")
            .get(pk=assessment_id)
        )
    except NeedsAssessment.DoesNotExist:
        raise NotFound() from None
    if not permissions.can_view_assessment(by, assessment):
        raise NotFound()
    return assessment


def _editable(assessment: NeedsAssessment, by: User) -> None:
    if by.role != Role.STAFF and not by.is_superuser:
        raise TransitionForbidden(_("Only programme staff can edit the needs assessment."))
    if assessment.status != "in_progress":
        raise TransitionNotAllowed(
            _("The assessment is %(state)s; it can only be edited while in progress.")
            % {"state": assessment.get_status_display().lower()}
        )


GAP_FIELDS = ("level", "description", "baseline", "target", "priority")


def _validate_gap(data: dict[str, Any], index: int | None = None) -> dict[str, list[str]]:
    from requests_app.models import CbLevel, Priority

    errors: dict[str, list[str]] = {}
    prefix = f"gaps.{index}." if index is not None else ""
    if data.get("level") not in CbLevel.values:
        errors[f"{prefix}level"] = [
            _("Choose the CB level: individual, organisational or enabling environment.")
        ]
    if not (data.get("description") or "").strip():
        errors[f"{prefix}description"] = [_("Describe the gap.")]
    if data.get("priority", "medium") not in Priority.values:
        errors[f"{prefix}priority"] = [_("Choose a priority: high, medium or low.")]
    return errors


@transaction.atomic
def assessment_update(
    *,
    assessment_id: int,
    by: User,
    data: dict[str, Any],
    gaps: Iterable[dict[str, Any]] | None = None,
) -> NeedsAssessment:
    """Staff edit the assessment while it is in progress. ``gaps`` (when given) replaces the
    list: items with an ``id`` update that gap, items without one add a gap, gaps not
    listed are removed. Notifies nobody."""
    assessment = _lock_assessment(assessment_id, by)
    _editable(assessment, by)
    errors: dict[str, list[str]] = {}
    methods = data.get("methods")
    if methods is not None:
        unknown = [m for m in methods if m not in AssessmentMethod.values]
        if unknown:
            errors["methods"] = [_("Unknown method: %(m)s.") % {"m": ", ".join(map(str, unknown))}]
    gap_items = list(gaps) if gaps is not None else None
    if gap_items is not None:
        existing = set(assessment.gaps.values_list("pk", flat=True))
        for i, item in enumerate(gap_items):
            errors.update(_validate_gap(item, i))
            if item.get("id") is not None and item["id"] not in existing:
                errors[f"gaps.{i}.id"] = [_("This gap belongs to another assessment.")]
    if errors:
        raise ApplicationError(_("Please correct the errors below."), errors=errors)
    fields = []
    for name in ("summary", "methods", "methods_other", "stakeholders_consulted"):
        if name in data:
            setattr(assessment, name, data[name])
            fields.append(name)
    assessment.save(update_fields=[*fields, "updated_at"])
    if gap_items is not None:
        keep = []
        for position, item in enumerate(gap_items):
            values = {k: item.get(k, "") for k in GAP_FIELDS}
            values["priority"] = values["priority"] or "medium"
            if item.get("id") is not None:
                CapacityGap.objects.filter(pk=item["id"], assessment=assessment).update(
                    position=position, **values
                )
                keep.append(item["id"])
            else:
                keep.append(
                    CapacityGap.objects.create(
                        assessment=assessment, position=position, **values
                    ).pk
                )
        assessment.gaps.exclude(pk__in=keep).delete()
    return assessment


@transaction.atomic
def gap_add(*, assessment_id: int, by: User, data: dict[str, Any]) -> CapacityGap:
    """Staff add one capacity gap. Notifies nobody."""
    assessment = _lock_assessment(assessment_id, by)
    _editable(assessment, by)
    errors = _validate_gap(data)
    if errors:
        raise ApplicationError(_("Please correct the errors below."), errors=errors)
    position = assessment.gaps.count()
    values = {k: data.get(k, "") for k in GAP_FIELDS}
    values["priority"] = values["priority"] or "medium"
    return CapacityGap.objects.create(assessment=assessment, position=position, **values)


@transaction.atomic
def gap_update(*, gap_id: int, by: User, data: dict[str, Any]) -> CapacityGap:
    gap = CapacityGap.objects.filter(pk=gap_id).first()
    if gap is None:
        raise NotFound()
    assessment = _lock_assessment(gap.assessment_id, by)
    _editable(assessment, by)
    merged = {k: data.get(k, getattr(gap, k)) for k in GAP_FIELDS}
    errors = _validate_gap(merged)
    if errors:
        raise ApplicationError(_("Please correct the errors below."), errors=errors)
    for k, v in merged.items():
        setattr(gap, k, v)
    gap.save(update_fields=list(GAP_FIELDS))
    return gap


@transaction.atomic
def gap_remove(*, gap_id: int, by: User) -> None:
    gap = CapacityGap.objects.filter(pk=gap_id).first()
    if gap is None:
        raise NotFound()
    assessment = _lock_assessment(gap.assessment_id, by)
    _editable(assessment, by)
    gap.delete()


@transaction.atomic
def assessment_share(*, assessment_id: int, by: User, comment: str = "") -> NeedsAssessment:
    """Staff share the assessment with the partner for validation (needs ≥ 1 gap).
    Notifies the partner's organisation."""
    assessment = _lock_assessment(assessment_id, by)
    assessment.shared_at = timezone.now()
    assessment, event = fire_transition(
        assessment, ASSESSMENT_WORKFLOW, "share", by=by, comment=comment, extra_fields=["shared_at"]
    )
    notify_on_commit(
        "assessment_shared", assessment, partner_contacts(assessment.request), key=str(event.pk)
    )
    return assessment


@transaction.atomic
def assessment_return(*, assessment_id: int, by: User, comment: str) -> NeedsAssessment:
    """The partner asks for changes, saying which. Notifies the assessment's owner."""
    assessment = _lock_assessment(assessment_id, by)
    assessment, event = fire_transition(
        assessment, ASSESSMENT_WORKFLOW, "return", by=by, comment=comment
    )
    notify_on_commit(
        "assessment_returned",
        assessment,
        [assessment.owner],
        key=str(event.pk),
        context={"comment": event.comment},
    )
    return assessment


@transaction.atomic
def assessment_validate(*, assessment_id: int, by: User, comment: str = "") -> NeedsAssessment:
    """The partner validates the assessment — the ownership step. Notifies its owner."""
    assessment = _lock_assessment(assessment_id, by)
    assessment.validated_at = timezone.now()
    assessment.validated_by = by
    assessment, event = fire_transition(
        assessment,
        ASSESSMENT_WORKFLOW,
        "validate",
        by=by,
        comment=comment,
        extra_fields=["validated_at", "validated_by"],
    )
    notify_on_commit("assessment_validated", assessment, [assessment.owner], key=str(event.pk))
    return assessment


ASSESSMENT_TRANSITIONS = {
    "share": lambda pk, by, text: assessment_share(assessment_id=pk, by=by, comment=text),
    "return": lambda pk, by, text: assessment_return(assessment_id=pk, by=by, comment=text),
    "validate": lambda pk, by, text: assessment_validate(assessment_id=pk, by=by, comment=text),
}


def assessment_transition(
    *, assessment_id: int, name: str, by: User, text: str = ""
) -> NeedsAssessment:
    ASSESSMENT_WORKFLOW.get(name)
    return ASSESSMENT_TRANSITIONS[name](assessment_id, by, text)  # type: ignore[no-untyped-call]


# --- reminders -------------------------------------------------------------------------

REMINDER_BATCH = 500


def requests_remind_overdue(*, now: dt.datetime | None = None) -> int:
    """Remind about each open request whose current target (first response, then decision;
    see ``sla.pending_sla_filter``) has passed: reason ``request_first_response_overdue`` or
    ``request_decision_overdue``, repeating as ``settings.REMINDERS`` says. Scheduled (Celery
    beat). Notifies the case officer and their team lead; while nobody has taken the request
    (or neither of them is active any more), all active programme staff. Returns how many
    requests were reminded about."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    overdue = (
        AssistanceRequest.objects.filter(sla.pending_sla_filter(sla.SlaState.OVERDUE, now))
        .select_related("organisation", "case_officer__lead")
        .order_by("pk")
    )
    staff: list[User] | None = None
    count, last = 0, 0
    while batch := list(overdue.filter(pk__gt=last)[:REMINDER_BATCH]):
        last = batch[-1].pk
        for request in batch:
            officer = request.case_officer
            people = [p for p in (officer, officer and officer.lead) if p and p.is_active]
            if not people:
                if staff is None:  # one query per run, and only if needed
                    staff = list(programme_staff())
                people = staff
            reason = (
                "request_first_response_overdue"
                if request.first_response_at is None
                else "request_decision_overdue"
            )
            if remind(reason, request, people, today=today):
                count += 1
    return count
