"""Every write use-case of actions, their plans and amendments.

Transition services lock the row, check the table (actions/workflow.py), save, record the
event and notify after commit. Plan edits go through actions/plan.py: in design they are
written at once; on an agreed plan they go into an amendment.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import Max, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from actions import permissions, plan
from actions.models import Action, ActionStatus, Amendment, AmendmentStatus
from actions.workflow import ACTION_WORKFLOW, AMENDMENT_WORKFLOW
from cbportal.accounts.models import Role, User
from cbportal.accounts.permissions import is_staff
from cbportal.core import audit
from cbportal.core.errors import (
    ApplicationError,
    NotFound,
    TransitionForbidden,
    TransitionNotAllowed,
)
from cbportal.core.notifications import notify_on_commit
from cbportal.core.references import next_reference
from cbportal.core.services import fire_transition, record_transition
from requests_app.models import AssessmentStatus, NeedsAssessment

# --- recipients -----------------------------------------------------------------------


def partner_contacts(action: Action) -> QuerySet[User]:
    return User.objects.filter(
        role=Role.PARTNER, organisation_id=action.organisation_id, is_active=True
    )


def approvers_except(user: User | None) -> QuerySet[User]:
    qs = User.objects.filter(role=Role.STAFF, is_approver=True, is_active=True)
    return qs.exclude(pk=user.pk) if user is not None else qs


def case_officer(action: Action) -> list[User]:
    officer = action.request.case_officer
    return [officer] if officer is not None else [action.drafted_by]


def _others(people: list[Any], by: User) -> list[Any]:
    """Nobody is told about what they just did themselves."""
    return [p for p in people if p is not None and p.pk != by.pk]


def tell_deployed_experts(
    event: str, action: Action, deployments: Any, *, key: str, context: dict[str, Any]
) -> None:
    """Notify the experts of ``deployments`` (default: the action's confirmed missions) of
    ``event`` on the action. Each link leads to the expert's own deployment: experts do not
    see action pages."""
    from experts.services import notify_experts_of_action  # experts imports actions

    notify_experts_of_action(event, action, deployments, key=key, context=context)


# --- creating and editing --------------------------------------------------------------


def _staff_only(by: User) -> None:
    if not is_staff(by):
        raise TransitionForbidden(_("Only programme staff design actions."))


@transaction.atomic
def action_create(*, assessment_id: int, by: User, data: dict[str, Any] | None = None) -> Action:
    """Staff create the action of a validated needs assessment, prefilled from the request
    (partner, country, thematic areas, GCM objectives, period). Notifies nobody."""
    _staff_only(by)
    data = data or {}
    try:
        assessment = (
            NeedsAssessment.objects.select_for_update()
            .select_related("request")
            .get(pk=assessment_id)
        )
    except NeedsAssessment.DoesNotExist:
        raise NotFound() from None
    if assessment.status != AssessmentStatus.VALIDATED:
        raise TransitionNotAllowed(
            _("An action is designed from a needs assessment the partner has validated.")
        )
    if Action.objects.filter(assessment=assessment).exists():
        raise TransitionNotAllowed(_("This needs assessment already has its action."))
    request = assessment.request
    start = data.get("start_date") or request.preferred_start or timezone.localdate()
    end = data.get("end_date") or request.preferred_end or start
    if end < start:
        raise ApplicationError(_("The end must not be before the start."), field="end_date")
    now = timezone.now()
    action = Action.objects.create(
        reference=next_reference("ACT", timezone.localtime(now).year),
        assessment=assessment,
        request=request,
        organisation=request.organisation,
        country=request.country,
        title=(data.get("title") or request.title)[:200],
        summary=data.get("summary", ""),
        start_date=start,
        end_date=end,
        drafted_by=by,
        created_at=now,
    )
    action.thematic_areas.set(data.get("thematic_areas") or request.thematic_areas.all())
    action.gcm_objectives.set(data.get("gcm_objectives") or request.gcm_objectives.all())
    return action


def _lock_action(action_id: int, by: User) -> Action:
    try:
        action = (
            Action.objects.select_for_update(of=("self",))
            .select_related("assessment", "request", "request__case_officer", "drafted_by")
            .get(pk=action_id)
        )
    except Action.DoesNotExist:
        raise NotFound() from None
    if not permissions.can_view_action(by, action):
        raise NotFound()
    return action


@transaction.atomic
def action_update(*, action_id: int, by: User, data: dict[str, Any]) -> Action:
    """Staff edit the title, public summary, thematic areas, GCM objectives and evaluators
    (never one deployed on the action as an expert: conflict of interest); the partner gives
    or withdraws consent to publish. Notifies newly assigned evaluators; a change of
    evaluators is audited."""
    action = _lock_action(action_id, by)
    # A partner may still withdraw (or give) consent to publish a closed action: the
    # public portfolio shows closed actions too (never cancelled ones).
    consent_only = by.role == Role.PARTNER and set(data) == {"publish"}
    if action.status == ActionStatus.CANCELLED or (
        action.status == ActionStatus.CLOSED and not consent_only
    ):
        raise TransitionNotAllowed(_("A closed or cancelled action cannot change."))
    if by.role == Role.PARTNER:
        unknown = set(data) - {"publish"}
        if unknown:
            raise TransitionForbidden(_("Partners can only give or withdraw consent to publish."))
    else:
        _staff_only(by)
    if by.role != Role.PARTNER and "publish" in data:
        raise TransitionForbidden(_("Only the partner decides whether the action is published."))
    fields = []
    for name in ("title", "summary", "publish"):
        if name in data:
            setattr(action, name, data[name])
            fields.append(name)
    if "title" in data and not str(data["title"]).strip():
        raise ApplicationError(_("Give the action a title."), field="title")
    if fields:
        action.save(update_fields=[*fields, "updated_at"])
    for name in ("thematic_areas", "gcm_objectives"):
        if data.get(name) is not None:
            getattr(action, name).set(list(data[name]))
    if data.get("evaluators") is not None:
        from evaluations.services import check_evaluators, notify_evaluators_assigned

        evaluators = list(data["evaluators"])
        if any(u.role != Role.EVALUATOR for u in evaluators):
            raise ApplicationError(
                _("Only evaluators can be assigned to evaluate an action."), field="evaluators"
            )
        assigned = list(action.evaluators.all())
        before = {u.pk for u in assigned}
        added = [u for u in evaluators if u.pk not in before]
        check_evaluators(action, added)
        action.evaluators.set(evaluators)
        audit.audit_evaluators(action=action, before=assigned, after=evaluators, by=by)
        if added:
            notify_evaluators_assigned(action, added)
    return action


PlanEdit = Callable[[plan.Plan, Action], plan.Plan]


@transaction.atomic
def action_plan_edit(*, action_id: int, by: User, edit: PlanEdit) -> dict[str, int]:
    """Staff change the plan of an action in design (period, objectives, activities,
    expertise needs); an agreed plan changes only through an amendment. Returns each plan
    item's key → row id (new items included). Notifies nobody."""
    action = _lock_action(action_id, by)
    _staff_only(by)
    if action.status != ActionStatus.DESIGN:
        if action.plan_is_locked:
            raise TransitionNotAllowed(_("The plan is agreed: change it through an amendment."))
        raise TransitionNotAllowed(
            _("The plan can only be edited while the action is in design (it is %(state)s).")
            % {"state": action.get_status_display().lower()}
        )
    return plan.apply(action, edit(plan.snapshot(action), action))


# --- action transitions ----------------------------------------------------------------


@transaction.atomic
def action_propose(*, action_id: int, by: User, comment: str = "") -> Action:
    """Staff propose the plan for approval. Notifies the approvers (except the proposer)."""
    action = _lock_action(action_id, by)
    ACTION_WORKFLOW.check(action, "propose", by)
    action.proposed_by = by
    action, event = fire_transition(
        action, ACTION_WORKFLOW, "propose", by=by, comment=comment, extra_fields=["proposed_by"]
    )
    notify_on_commit("action_proposed", action, approvers_except(by), key=str(event.pk))
    return action


@transaction.atomic
def action_return(*, action_id: int, by: User, reason: str) -> Action:
    """An approver returns the plan to design with a reason. Notifies the drafter."""
    action = _lock_action(action_id, by)
    action, event = fire_transition(action, ACTION_WORKFLOW, "return", by=by, comment=reason)
    notify_on_commit(
        "action_returned",
        action,
        _others([action.proposed_by or action.drafted_by], by),
        key=str(event.pk),
        context={"reason": event.comment},
    )
    return action


@transaction.atomic
def action_approve(*, action_id: int, by: User, comment: str = "") -> Action:
    """An approver who did not propose it approves the plan. Notifies the partner's
    organisation (to co-sign) and the case officer. Two approvers at once: one wins."""
    action = _lock_action(action_id, by)
    ACTION_WORKFLOW.check(action, "approve", by)
    action.approved_by, action.approved_at = by, timezone.now()
    action, event = fire_transition(
        action,
        ACTION_WORKFLOW,
        "approve",
        by=by,
        comment=comment,
        extra_fields=["approved_by", "approved_at"],
    )
    notify_on_commit(
        "action_approved",
        action,
        [*partner_contacts(action), *case_officer(action)],
        key=str(event.pk),
    )
    return action


@transaction.atomic
def action_sign(*, action_id: int, by: User, name: str = "") -> Action:
    """The partner co-signs the approved plan: a recorded sign-off with name and time.
    Notifies the case officer."""
    action = _lock_action(action_id, by)
    ACTION_WORKFLOW.check(action, "sign", by)
    action.signed_by, action.signed_at = by, timezone.now()
    action.signed_name = (name or "").strip() or by.display_name
    action, event = fire_transition(
        action,
        ACTION_WORKFLOW,
        "sign",
        by=by,
        comment=_("Signed by %(name)s") % {"name": action.signed_name},
        extra_fields=["signed_by", "signed_at", "signed_name"],
        checked=True,
    )
    notify_on_commit("action_signed", action, case_officer(action), key=str(event.pk))
    return action


@transaction.atomic
def action_start(*, action_id: int, by: User, comment: str = "") -> Action:
    """Staff start implementation (needs the partner's co-signature). Notifies the partner."""
    action = _lock_action(action_id, by)
    ACTION_WORKFLOW.check(action, "start", by)
    action.started_at = timezone.now()
    action, event = fire_transition(
        action, ACTION_WORKFLOW, "start", by=by, comment=comment, extra_fields=["started_at"]
    )
    notify_on_commit("action_started", action, partner_contacts(action), key=str(event.pk))
    return action


@transaction.atomic
def action_complete(*, action_id: int, by: User, comment: str = "") -> Action:
    """Staff mark implementation complete. Notifies the assigned evaluators that the final
    evaluation is due (``evaluation_due``, the first of its reminders)."""
    from evaluations.services import evaluation_due_notify

    action = _lock_action(action_id, by)
    ACTION_WORKFLOW.check(action, "complete", by)
    action.completed_at = timezone.now()
    action, _event = fire_transition(
        action, ACTION_WORKFLOW, "complete", by=by, comment=comment, extra_fields=["completed_at"]
    )
    evaluation_due_notify(action, today=timezone.localdate())
    return action


@transaction.atomic
def action_close(*, action_id: int, by: User, comment: str = "") -> Action:
    """Staff close a completed action once its final evaluation is submitted. Notifies the
    partner's organisation."""
    action = _lock_action(action_id, by)
    ACTION_WORKFLOW.check(action, "close", by)
    action.closed_at = timezone.now()
    action, event = fire_transition(
        action, ACTION_WORKFLOW, "close", by=by, comment=comment, extra_fields=["closed_at"]
    )
    notify_on_commit("action_closed", action, partner_contacts(action), key=str(event.pk))
    return action


@transaction.atomic
def action_suspend(*, action_id: int, by: User, reason: str) -> Action:
    """Staff suspend an approved or running action with a reason. Notifies the partner and
    everyone deployed."""
    action = _lock_action(action_id, by)
    ACTION_WORKFLOW.check(action, "suspend", by)
    action.status_before_suspension = action.status
    action, event = fire_transition(
        action,
        ACTION_WORKFLOW,
        "suspend",
        by=by,
        comment=reason,
        extra_fields=["status_before_suspension"],
    )
    notify_on_commit(
        "action_suspended",
        action,
        partner_contacts(action),
        key=str(event.pk),
        context={"reason": event.comment},
    )
    tell_deployed_experts(
        "action_suspended", action, None, key=str(event.pk), context={"reason": event.comment}
    )
    return action


@transaction.atomic
def action_resume(*, action_id: int, by: User, reason: str) -> Action:
    """Staff resume a suspended action where it was. Notifies the partner and everyone deployed."""
    action = _lock_action(action_id, by)
    action, event = fire_transition(action, ACTION_WORKFLOW, "resume", by=by, comment=reason)
    action.status_before_suspension = ""
    action.save(update_fields=["status_before_suspension"])
    notify_on_commit(
        "action_resumed",
        action,
        partner_contacts(action),
        key=str(event.pk),
        context={"reason": event.comment},
    )
    tell_deployed_experts(
        "action_resumed", action, None, key=str(event.pk), context={"reason": event.comment}
    )
    return action


@transaction.atomic
def action_cancel(*, action_id: int, by: User, reason: str) -> Action:
    """Staff cancel the action with a reason; its open deployments are cancelled with it.
    Notifies the partner and every expert who had been invited, accepted or confirmed."""
    action = _lock_action(action_id, by)
    action, event = fire_transition(action, ACTION_WORKFLOW, "cancel", by=by, comment=reason)
    from experts.services import deployments_cancel_for_action  # experts imports actions

    cancelled = deployments_cancel_for_action(action=action, by=by, reason=event.comment)
    open_amendments = Amendment.objects.select_for_update().filter(
        action=action,
        status__in=[AmendmentStatus.DRAFT, AmendmentStatus.PROPOSED, AmendmentStatus.APPROVED],
    )
    for amendment in open_amendments:
        previous = amendment.status
        amendment.status = AmendmentStatus.REJECTED
        amendment.save(update_fields=["status", "updated_at"])
        record_transition(
            amendment,
            "cancel",
            by=by,
            from_state=previous,
            to_state=amendment.status,
            comment=event.comment,
        )
    notify_on_commit(
        "action_cancelled",
        action,
        partner_contacts(action),
        key=str(event.pk),
        context={"reason": event.comment},
    )
    tell_deployed_experts(
        "action_cancelled", action, cancelled, key=str(event.pk), context={"reason": event.comment}
    )
    return action


ACTION_TRANSITIONS: dict[str, Callable[[int, User, str], Action]] = {
    "propose": lambda pk, by, text: action_propose(action_id=pk, by=by, comment=text),
    "return": lambda pk, by, text: action_return(action_id=pk, by=by, reason=text),
    "approve": lambda pk, by, text: action_approve(action_id=pk, by=by, comment=text),
    "sign": lambda pk, by, text: action_sign(action_id=pk, by=by, name=text),
    "start": lambda pk, by, text: action_start(action_id=pk, by=by, comment=text),
    "complete": lambda pk, by, text: action_complete(action_id=pk, by=by, comment=text),
    "close": lambda pk, by, text: action_close(action_id=pk, by=by, comment=text),
    "suspend": lambda pk, by, text: action_suspend(action_id=pk, by=by, reason=text),
    "resume": lambda pk, by, text: action_resume(action_id=pk, by=by, reason=text),
    "cancel": lambda pk, by, text: action_cancel(action_id=pk, by=by, reason=text),
}


def action_transition(*, action_id: int, name: str, by: User, text: str = "") -> Action:
    """Fire a transition by its table name (pages and API use this one entry point)."""
    ACTION_WORKFLOW.get(name)
    return ACTION_TRANSITIONS[name](action_id, by, text)


# --- amendments ------------------------------------------------------------------------


@transaction.atomic
def amendment_create(
    *, action_id: int, by: User, reason_category: str, reason: str, requested_by: str
) -> Amendment:
    """Staff open an amendment of an agreed plan: what they change starts as the plan as it
    is. One amendment at a time. Notifies nobody until proposed."""
    from actions.models import AmendmentReason

    action = _lock_action(action_id, by)
    _staff_only(by)
    if not action.plan_is_locked:
        raise TransitionNotAllowed(
            _("Only an approved or running action is amended; in design, edit the plan.")
        )
    errors: dict[str, list[str]] = {}
    if reason_category not in AmendmentReason.values:
        errors["reason_category"] = [_("Choose why the plan changes.")]
    if not (reason or "").strip():
        errors["reason"] = [_("Explain the change.")]
    if not (requested_by or "").strip():
        errors["requested_by"] = [_("Say who asked for the change.")]
    if errors:
        raise ApplicationError(_("Please correct the errors below."), errors=errors)
    if action.amendments.filter(
        status__in=[AmendmentStatus.DRAFT, AmendmentStatus.PROPOSED, AmendmentStatus.APPROVED]
    ).exists():
        raise TransitionNotAllowed(_("Another amendment of this action is in progress."))
    current = plan.snapshot(action)
    number = (action.amendments.aggregate(n=Max("number"))["n"] or 0) + 1
    return Amendment.objects.create(
        action=action,
        number=number,
        reason_category=reason_category,
        reason=reason.strip(),
        requested_by=requested_by.strip(),
        before=current,
        proposal=current,
        drafted_by=by,
    )


def _lock_amendment(amendment_id: int, by: User) -> Amendment:
    try:
        amendment = (
            Amendment.objects.select_for_update(of=("self",))
            .select_related(
                "action", "action__request", "action__request__case_officer", "action__assessment"
            )
            .get(pk=amendment_id)
        )
    except Amendment.DoesNotExist:
        raise NotFound() from None
    if not permissions.can_view_amendment(by, amendment):
        raise NotFound()
    return amendment


@transaction.atomic
def amendment_plan_edit(*, amendment_id: int, by: User, edit: PlanEdit) -> Amendment:
    """Staff change the amended plan while the amendment is a draft. Notifies nobody."""
    amendment = _lock_amendment(amendment_id, by)
    _staff_only(by)
    if amendment.status != AmendmentStatus.DRAFT:
        raise TransitionNotAllowed(_("Only a draft amendment can be edited."))
    amendment.proposal = edit(amendment.proposal, amendment.action)
    amendment.save(update_fields=["proposal", "updated_at"])
    return amendment


@transaction.atomic
def amendment_update(*, amendment_id: int, by: User, data: dict[str, Any]) -> Amendment:
    """Staff correct the reason of a draft amendment."""
    amendment = _lock_amendment(amendment_id, by)
    _staff_only(by)
    if amendment.status != AmendmentStatus.DRAFT:
        raise TransitionNotAllowed(_("Only a draft amendment can be edited."))
    fields = [f for f in ("reason_category", "reason", "requested_by") if f in data]
    for f in fields:
        setattr(amendment, f, data[f])
    amendment.save(update_fields=[*fields, "updated_at"])
    return amendment


@transaction.atomic
def amendment_transition(*, amendment_id: int, name: str, by: User, text: str = "") -> Amendment:
    """propose → approvers; approve (four eyes) → partner and case officer; sign (partner)
    applies the plan → case officer and partner; reject / decline / discard → drafter."""
    AMENDMENT_WORKFLOW.get(name)
    # Lock the action before the amendment, in the same order as action_cancel, so that a
    # signature racing a cancellation waits instead of deadlocking.
    action_id = (
        Amendment.objects.filter(pk=amendment_id).values_list("action_id", flat=True).first()
    )
    if action_id is None:
        raise NotFound()
    action = Action.objects.select_for_update().get(pk=action_id)
    amendment = _lock_amendment(amendment_id, by)
    AMENDMENT_WORKFLOW.check(amendment, name, by)
    extra: list[str] = []
    now = timezone.now()
    if name == "propose":
        # The plan may have moved since the draft began (another amendment applied).
        amendment.before = plan.snapshot(action)
        amendment.proposed_by = by
        extra = ["before", "proposed_by"]
    elif name == "approve":
        amendment.approved_by, amendment.approved_at = by, now
        extra = ["approved_by", "approved_at"]
    elif name == "sign":
        if plan.snapshot(action) != amendment.before:
            raise TransitionNotAllowed(
                _("The plan changed since this amendment was proposed; propose it again.")
            )
        amendment.signed_by, amendment.applied_at = by, now
        amendment.signed_name = (text or "").strip() or by.display_name
        extra = ["signed_by", "applied_at", "signed_name"]
    amendment, event = fire_transition(
        amendment, AMENDMENT_WORKFLOW, name, by=by, comment=text, extra_fields=extra
    )
    if name == "sign":
        plan.apply(action, amendment.proposal)
        notify_on_commit(
            "amendment_applied",
            amendment,
            [*case_officer(action), *partner_contacts(action)],
            key=str(event.pk),
        )
    elif name == "propose":
        notify_on_commit("amendment_proposed", amendment, approvers_except(by), key=str(event.pk))
    elif name == "approve":
        notify_on_commit(
            "amendment_approved",
            amendment,
            [*partner_contacts(action), *case_officer(action)],
            key=str(event.pk),
        )
    else:
        notify_on_commit(
            "amendment_rejected",
            amendment,
            _others([amendment.proposed_by or amendment.drafted_by], by),
            key=str(event.pk),
            context={"reason": event.comment},
        )
    return amendment
