"""Every write use-case of the roster, matching and deployments.

Transition services lock the row, check the table (experts/workflow.py), save, record the
event and notify after commit. Confirming a deployment also locks the expert's row, so two
staff confirming the same expert at the same moment are served one after the other; on
PostgreSQL an exclusion constraint backs the rule up (migration 0002).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Count, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from actions.models import Action, ExpertiseNeed, Skill
from actions.services import case_officer, partner_contacts
from cbportal.accounts.models import Role, User
from cbportal.accounts.permissions import is_staff
from cbportal.core import audit
from cbportal.core.errors import (
    ApplicationError,
    NotFound,
    TransitionForbidden,
    TransitionNotAllowed,
)
from cbportal.core.models import AuditKind, Language, Notification, TransitionEvent
from cbportal.core.notifications import notify_on_commit
from cbportal.core.reminders import remind
from cbportal.core.services import fire_transition
from cbportal.core.uploads import CV_FORMATS, DOCUMENTS, clean_filename, validate_upload
from experts import matching, permissions, selectors
from experts.models import (
    BOOKED_STATUSES,
    OPEN_STATUSES,
    CefrLevel,
    Deployment,
    DeploymentStatus,
    Expert,
    ExpertLanguage,
    MatchJob,
    MatchJobStatus,
    MatchResult,
    MissionReport,
    ReportAttachment,
    Unavailability,
)
from experts.workflow import DEPLOYMENT_WORKFLOW, SYSTEM, VETTING_WORKFLOW, SystemActor

logger = logging.getLogger(__name__)

INVITATION_SALT = "cbportal.experts.invitation"

PROFILE_FIELDS = (
    "full_name",
    "email",
    "phone",
    "home_institution",
    "organisation",
    "administration_type",
    "nationality",
    "residence",
    "years_experience",
    "biography",
    "share_contact",
)
STAFF_ONLY_FIELDS = ("is_active", "user")
CONSENT_FIELDS = ("consent_contact", "consent_retention")


def _staff_only(by: User, message: str | None = None) -> None:
    if not is_staff(by):
        raise TransitionForbidden(message or _("Only programme staff can do this."))


# --- profile -------------------------------------------------------------------------------


def _lock_expert(expert_id: int, by: User) -> Expert:
    # FOR NO KEY UPDATE: an expert's key never changes, so rows that merely point at the
    # expert (a matching run's results, a shortlisting) need not wait for the change — a
    # full FOR UPDATE deadlocked anonymisation against a matching run on PostgreSQL.
    try:
        expert = Expert.objects.select_for_update(of=("self",), no_key=True).get(pk=expert_id)
    except (Expert.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    if not permissions.can_view_expert(by, expert):
        raise NotFound()
    return expert


def refresh_search_document(expert: Expert) -> None:
    """Name, institution, biography and skills, lower-cased, for roster search."""
    skills = " ".join(expert.skills.values_list("name", flat=True))
    text = " ".join([expert.full_name, expert.home_institution, expert.biography, skills])
    document = " ".join(text.lower().split())
    if document != expert.search_document:
        Expert.objects.filter(pk=expert.pk).update(search_document=document)
        expert.search_document = document


def _languages(items: Iterable[Any]) -> list[tuple[str, str]]:
    """``[{"code": "fr", "level": "C1"}, …]`` or ``[("fr", "C1"), …]``, checked."""
    pairs: list[tuple[str, str]] = []
    for item in items:
        code, level = (
            (item.get("code"), item.get("level")) if isinstance(item, dict) else tuple(item)
        )
        code = str(code or "").strip().lower()
        level = str(level or "").strip().upper()
        if level not in CefrLevel.values:
            raise ApplicationError(
                _("“%(level)s” is not a CEFR level; use A1, A2, B1, B2, C1 or C2.")
                % {"level": level},
                field="languages",
            )
        pairs.append((code, level))
    codes = [code for code, _level in pairs]
    if len(set(codes)) != len(codes):
        raise ApplicationError(_("Give each language once."), field="languages")
    known = set(Language.objects.filter(code__in=codes).values_list("code", flat=True))
    unknown = sorted(set(codes) - known)
    if unknown:
        raise ApplicationError(
            _("Unknown language code: %(codes)s.") % {"codes": ", ".join(unknown)},
            field="languages",
        )
    return pairs


def _skills(names: Iterable[Any]) -> list[Skill]:
    clean = sorted({" ".join(str(n).split())[:80] for n in names if str(n).strip()})
    existing = {s.name.lower(): s for s in Skill.objects.filter(name__in=clean)}
    result = []
    for name in clean:
        skill = existing.get(name.lower())
        if skill is None:
            skill = Skill.objects.filter(name__iexact=name).first() or Skill.objects.create(
                name=name
            )
        result.append(skill)
    return result


def _apply_profile(expert: Expert, data: dict[str, Any], by: User) -> None:
    fields: list[str] = []
    staff = is_staff(by)
    for name in PROFILE_FIELDS + (STAFF_ONLY_FIELDS if staff else ()):
        if name in data:
            setattr(expert, name, data[name])
            fields.append(name)
    if not staff:
        forbidden = set(data) & {*STAFF_ONLY_FIELDS, "vetting_status"}
        if forbidden:
            raise TransitionForbidden(_("Only programme staff change an expert's status."))
    consent_changed = False
    for name in CONSENT_FIELDS:
        if name in data and bool(data[name]) != getattr(expert, name):
            setattr(expert, name, bool(data[name]))
            fields.append(name)
            consent_changed = True
    if consent_changed:
        expert.consent_at = timezone.now()
        fields.append("consent_at")
    if not str(expert.full_name or "").strip():
        raise ApplicationError(_("Give the expert's full name."), field="full_name")
    if "user" in data and data["user"] is not None:
        user = data["user"]
        if user.role != Role.EXPERT:
            raise ApplicationError(_("Link a user who has the expert role."), field="user")
        if Expert.objects.filter(user=user).exclude(pk=expert.pk).exists():
            raise ApplicationError(_("This user already has an expert profile."), field="user")
    if expert.pk is None:
        expert.save()
    elif fields:
        expert.save(update_fields=sorted({*fields, "updated_at"}))
    for name in ("thematic_areas", "countries_of_experience"):
        if data.get(name) is not None:
            getattr(expert, name).set(list(data[name]))
    if data.get("skills") is not None:
        expert.skills.set(_skills(data["skills"]))
    if data.get("languages") is not None:
        pairs = _languages(data["languages"])
        expert.languages.all().delete()
        ExpertLanguage.objects.bulk_create(
            [ExpertLanguage(expert=expert, language_id=code, level=level) for code, level in pairs]
        )
    refresh_search_document(expert)


@transaction.atomic
def expert_create(*, by: User, data: dict[str, Any]) -> Expert:
    """Staff add someone to the roster (optionally linked to an expert account); an expert
    creates their own profile (once). New profiles await vetting. Notifies nobody."""
    data = dict(data)
    if is_staff(by):
        expert = Expert()
    elif by.role == Role.EXPERT:
        if Expert.objects.filter(user=by).exists():
            raise TransitionNotAllowed(_("You already have an expert profile."))
        expert = Expert(user=by, email=by.email)
        data.setdefault("full_name", by.display_name)
    else:
        raise TransitionForbidden(_("Only experts and programme staff keep roster profiles."))
    _apply_profile(expert, data, by)
    return expert


@transaction.atomic
def expert_update(*, expert_id: int, by: User, data: dict[str, Any]) -> Expert:
    """The expert edits their own profile; staff edit any. Notifies nobody."""
    expert = _lock_expert(expert_id, by)
    if not permissions.can_edit_expert(by, expert):
        raise TransitionNotAllowed(_("This profile has been anonymised and cannot change."))
    _apply_profile(expert, dict(data), by)
    return expert


@transaction.atomic
def expert_cv_upload(*, expert_id: int, by: User, upload: Any) -> Expert:
    """The expert or staff store a CV (PDF, DOCX or ODT, content-checked, size-limited);
    it replaces the previous one. Notifies nobody."""
    expert = _lock_expert(expert_id, by)
    if not permissions.can_edit_expert(by, expert):
        raise TransitionNotAllowed(_("This profile has been anonymised and cannot change."))
    kind = validate_upload(upload, CV_FORMATS)
    old = expert.cv.name if expert.cv else ""
    name = clean_filename(str(getattr(upload, "name", "cv")))
    expert.cv.save(name, upload, save=False)
    expert.cv_name = name
    expert.cv_content_type = kind.content_type
    expert.cv_size = int(getattr(upload, "size", 0) or 0)
    expert.cv_uploaded_at = timezone.now()
    expert.save(
        update_fields=[
            "cv",
            "cv_name",
            "cv_content_type",
            "cv_size",
            "cv_uploaded_at",
            "updated_at",
        ]
    )
    if old and old != expert.cv.name:
        _delete_file_on_commit(old, expert.cv.storage)
    return expert


def _delete_file_on_commit(name: str | None, storage: Any) -> None:
    """Stored files go once the change that drops them has committed."""
    if name:
        transaction.on_commit(lambda: storage.delete(name))


def _delete_cv(expert: Expert) -> list[str]:
    fields = []
    if expert.cv:
        _delete_file_on_commit(expert.cv.name, expert.cv.storage)
        expert.cv = ""  # type: ignore[assignment]
        expert.cv_name, expert.cv_content_type, expert.cv_size = "", "", 0
        expert.cv_uploaded_at = None
        fields = ["cv", "cv_name", "cv_content_type", "cv_size", "cv_uploaded_at"]
    return fields


@transaction.atomic
def expert_cv_remove(*, expert_id: int, by: User) -> Expert:
    """The expert or staff remove the CV. Notifies nobody."""
    expert = _lock_expert(expert_id, by)
    if not permissions.can_edit_expert(by, expert):
        raise TransitionNotAllowed(_("This profile has been anonymised and cannot change."))
    fields = _delete_cv(expert)
    if fields:
        expert.save(update_fields=[*fields, "updated_at"])
    return expert


@transaction.atomic
def unavailability_add(
    *, expert_id: int, by: User, start_date: dt.date, end_date: dt.date, note: str = ""
) -> tuple[Unavailability, int]:
    """Add a period when the expert cannot be deployed. Periods that overlap or touch it
    are merged into one. Returns the resulting period and how many were merged into it.
    Notifies nobody."""
    expert = _lock_expert(expert_id, by)
    if not permissions.can_edit_expert(by, expert):
        raise TransitionNotAllowed(_("This profile has been anonymised and cannot change."))
    if start_date is None or end_date is None:
        raise ApplicationError(_("Give both dates."), field="start_date")
    if end_date < start_date:
        raise ApplicationError(_("The end must not be before the start."), field="end_date")
    day = dt.timedelta(days=1)
    touching = list(
        expert.unavailability.filter(
            start_date__lte=end_date + day, end_date__gte=start_date - day
        ).order_by("start_date")
    )
    notes = [p.note for p in touching if p.note]
    if note:
        notes.append(note)
    start = min([start_date, *[p.start_date for p in touching]])
    end = max([end_date, *[p.end_date for p in touching]])
    merged_note = "; ".join(dict.fromkeys(notes))[:200]
    if touching:
        period = touching[0]
        Unavailability.objects.filter(pk__in=[p.pk for p in touching[1:]]).delete()
        period.start_date, period.end_date, period.note = start, end, merged_note
        period.save(update_fields=["start_date", "end_date", "note"])
    else:
        period = Unavailability.objects.create(
            expert=expert, start_date=start, end_date=end, note=merged_note
        )
    return period, len(touching)


@transaction.atomic
def unavailability_remove(*, expert_id: int, period_id: int, by: User) -> None:
    """Remove one unavailability period. Notifies nobody."""
    expert = _lock_expert(expert_id, by)
    if not permissions.can_edit_expert(by, expert):
        raise TransitionNotAllowed(_("This profile has been anonymised and cannot change."))
    deleted, _rows = expert.unavailability.filter(pk=period_id).delete()
    if not deleted:
        raise NotFound()


@transaction.atomic
def expert_vet(*, expert_id: int, by: User, decision: str, note: str = "") -> Expert:
    """Staff approve or reject a roster entry (``decision`` is ``approve`` or ``reject``;
    rejecting needs a note). Notifies the expert."""
    expert = _lock_expert(expert_id, by)
    if expert.anonymised_at is not None:
        raise TransitionNotAllowed(_("This profile has been anonymised."))
    VETTING_WORKFLOW.check(expert, decision, by)
    expert.vetting_note = (note or "").strip()
    expert.vetted_by = by
    expert.vetted_at = timezone.now()
    expert, event = fire_transition(
        expert,
        VETTING_WORKFLOW,
        decision,
        by=by,
        comment=note,
        extra_fields=["vetting_note", "vetted_by", "vetted_at"],
        checked=True,
    )
    notify_on_commit(
        "expert_vetted",
        expert,
        [expert.user],
        key=str(event.pk),
        context={"decision": expert.vetting_status, "note": expert.vetting_note},
        url="/experts/profile/",
    )
    return expert


# --- personal data --------------------------------------------------------------------------


def _iso(value: Any) -> Any:
    return value.isoformat() if value is not None else None


def expert_export(*, expert_id: int, by: User) -> dict[str, Any]:
    """Everything CB Portal holds about an expert, as JSON-ready data: the account, the
    profile, languages, periods, deployments with their reports and ratings, the history of
    their profile and the notifications sent to them. The expert (and staff) may ask; the
    download is audited."""
    expert = selectors.expert_detail(by, expert_id)
    user = expert.user
    deployments = (
        Deployment.objects.filter(expert=expert)
        .select_related("need__activity__action", "need__thematic_area", "report")
        .order_by("created_at", "id")
    )
    history = TransitionEvent.objects.filter(
        content_type__app_label="experts", content_type__model="expert", object_id=expert.pk
    ).order_by("created_at", "id")
    data: dict[str, Any] = {
        "exported_at": timezone.now().isoformat(),
        "account": None,
        "profile": {
            "id": expert.pk,
            "full_name": expert.full_name,
            "email": expert.email,
            "phone": expert.phone,
            "home_institution": expert.home_institution,
            "organisation": expert.organisation.name if expert.organisation else None,
            "administration_type": expert.administration_type,
            "nationality": expert.nationality_id,
            "residence": expert.residence_id,
            "years_experience": expert.years_experience,
            "biography": expert.biography,
            "thematic_areas": [a.slug for a in expert.thematic_areas.all()],
            "skills": [s.name for s in expert.skills.all()],
            "countries_of_experience": [c.code for c in expert.countries_of_experience.all()],
            "languages": [
                {"code": lang.language_id, "level": lang.level} for lang in expert.languages.all()
            ],
            "unavailability": [
                {"start_date": _iso(p.start_date), "end_date": _iso(p.end_date), "note": p.note}
                for p in expert.unavailability.all()
            ],
            "cv": {
                "file_name": expert.cv_name,
                "size": expert.cv_size,
                "uploaded_at": _iso(expert.cv_uploaded_at),
            }
            if expert.cv
            else None,
            "vetting_status": expert.vetting_status,
            "vetting_note": expert.vetting_note,
            "vetted_at": _iso(expert.vetted_at),
            "is_active": expert.is_active,
            "consent_contact": expert.consent_contact,
            "consent_retention": expert.consent_retention,
            "consent_at": _iso(expert.consent_at),
            "share_contact": expert.share_contact,
            "deletion_requested_at": _iso(expert.deletion_requested_at),
            "created_at": _iso(expert.created_at),
        },
        "deployments": [
            {
                "id": d.pk,
                "action": d.need.activity.action.reference,
                "activity": d.need.activity.title,
                "thematic_area": d.need.thematic_area.slug,
                "status": d.status,
                "invited_at": _iso(d.invited_at),
                "expires_at": _iso(d.expires_at),
                "responded_at": _iso(d.responded_at),
                "decline_reason": d.decline_reason,
                "start_date": _iso(d.start_date),
                "end_date": _iso(d.end_date),
                "expert_days": d.expert_days,
                "cancel_reason": d.cancel_reason,
                "rating": d.rating,
                "rating_note": d.rating_note,
                "report": {
                    "summary": d.report.summary,
                    "outputs": d.report.outputs,
                    "recommendations": d.report.recommendations,
                    "days_worked": d.report.days_worked,
                    "submitted_at": _iso(d.report.submitted_at),
                }
                if hasattr(d, "report")
                else None,
            }
            for d in deployments
        ],
        "profile_history": [
            {
                "transition": e.transition,
                "from": e.from_state,
                "to": e.to_state,
                "by": e.actor_name,
                "at": _iso(e.created_at),
                "comment": e.comment,
            }
            for e in history
        ],
        "notifications": [],
    }
    if user is not None:
        data["account"] = {
            "username": user.username,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": user.email,
            "language": user.language,
            "date_joined": _iso(user.date_joined),
            "last_login": _iso(user.last_login),
        }
        data["notifications"] = [
            {"event": n.event, "subject": n.subject, "created_at": _iso(n.created_at)}
            for n in Notification.objects.filter(recipient=user).order_by("created_at", "id")
        ]
    audit.audit_record(
        kind=AuditKind.EXPORT,
        by=by,
        target=expert,
        details={"export": "expert_personal_data", "format": "json"},
    )
    return data


@transaction.atomic
def expert_request_deletion(*, expert_id: int, by: User) -> Expert:
    """The expert asks for their data to be deleted; staff confirm it
    (``expert_anonymise``). Notifies programme staff."""
    expert = _lock_expert(expert_id, by)
    if not permissions.is_own_profile(by, expert):
        raise TransitionForbidden(_("Only the expert can ask for their own data to be deleted."))
    if expert.anonymised_at is not None:
        raise TransitionNotAllowed(_("This profile has already been anonymised."))
    if expert.deletion_requested_at is None:
        expert.deletion_requested_at = timezone.now()
        expert.save(update_fields=["deletion_requested_at", "updated_at"])
        notify_on_commit(
            "expert_deletion_requested",
            expert,
            User.objects.filter(role=Role.STAFF, is_active=True),
            key=f"{expert.pk}:{expert.deletion_requested_at.isoformat()}",
        )
    return expert


@transaction.atomic
def expert_anonymise(*, expert_id: int, by: User) -> Expert:
    """Staff delete an expert's personal data: the profile is anonymised, the CV, languages,
    periods and skills deleted, open invitations cancelled, the account closed. Deployment
    history stays (anonymised) so that programme figures remain true. Refused while a
    confirmed mission is under way. Notifies nobody (the account is gone)."""
    _staff_only(by)
    expert = _lock_expert(expert_id, by)
    if expert.anonymised_at is not None:
        raise TransitionNotAllowed(_("This profile has already been anonymised."))
    if expert.deployments.filter(status=DeploymentStatus.CONFIRMED).exists():
        raise TransitionNotAllowed(
            _(
                "This expert has a confirmed mission: complete or cancel it before deleting the data."
            )
        )
    for deployment in expert.deployments.filter(
        status__in=[
            DeploymentStatus.SHORTLISTED,
            DeploymentStatus.INVITED,
            DeploymentStatus.ACCEPTED,
        ]
    ).select_for_update():
        deployment.cancel_reason = _("The expert's data was deleted.")
        deployment.cancelled_at = timezone.now()
        deployment.status_before_cancel = deployment.status
        fire_transition(
            deployment,
            DEPLOYMENT_WORKFLOW,
            "cancel",
            by=by,
            comment=deployment.cancel_reason,
            extra_fields=["cancel_reason", "cancelled_at", "status_before_cancel"],
        )
    _delete_cv(expert)
    expert.full_name = _("Former expert #%(id)s") % {"id": expert.pk}
    expert.email = expert.phone = expert.home_institution = expert.biography = ""
    expert.vetting_note = ""
    expert.nationality = expert.residence = None
    expert.organisation = None
    expert.is_active = False
    expert.consent_contact = expert.consent_retention = expert.share_contact = False
    expert.anonymised_at = timezone.now()
    expert.search_document = ""
    user = expert.user
    expert.user = None
    expert.save()
    expert.languages.all().delete()
    expert.unavailability.all().delete()
    expert.skills.clear()
    expert.thematic_areas.clear()
    expert.countries_of_experience.clear()
    MatchResult.objects.filter(expert=expert).delete()
    _anonymise_history(expert, user)
    Deployment.objects.filter(expert=expert).update(decline_reason="", rating_note="")
    MissionReport.objects.filter(deployment__expert=expert).update(submitted_by=None)
    for attachment in ReportAttachment.objects.filter(report__deployment__expert=expert):
        _delete_file_on_commit(attachment.file.name, attachment.file.storage)
        attachment.delete()
    if user is not None:
        user.username = f"deleted-expert-{expert.pk}-{secrets.token_hex(4)}"
        user.first_name = user.last_name = user.email = ""
        user.is_active = False
        user.set_unusable_password()
        user.save()
        Notification.objects.filter(recipient=user).delete()
    audit.erase_person(expert=expert, user=user, by=by)
    return expert


def _anonymise_history(expert: Expert, user: User | None) -> None:
    """The right to erasure reaches the transition log: the expert's own answers (accept,
    decline) lose their name and words, and staff's comments on the profile (vetting notes)
    go. Which transition happened when, from which state to which, stays. This is the one
    place that updates ``TransitionEvent`` rows, deliberately (on PostgreSQL a trigger
    refuses it in any transaction that did not ask)."""
    audit.allow_erasure()
    name = expert.full_name
    if user is not None:
        TransitionEvent.objects.filter(actor=user).update(actor_name=name, comment="")
    TransitionEvent.objects.filter(
        content_type__app_label="experts", content_type__model="expert", object_id=expert.pk
    ).update(comment="")


# --- matching -------------------------------------------------------------------------------


@transaction.atomic
def match_queue(*, need_id: int, by: User) -> MatchJob:
    """Staff queue a matching run for a need; Celery runs it after commit. Notifies nobody."""
    _staff_only(by, _("Only programme staff run matching."))
    need = selectors.need_for_matching(need_id)
    action = need.activity.action
    if action.status in ("completed", "closed", "cancelled"):
        raise TransitionNotAllowed(
            _("Matching is for actions still to be implemented (this one is %(state)s).")
            % {"state": action.get_status_display().lower()}
        )
    job = MatchJob.objects.create(need=need, requested_by=by)
    from experts.tasks import run_match

    transaction.on_commit(lambda: run_match.delay(job.pk))
    return job


def match_run(*, job_id: int) -> MatchJob:
    """Run a queued matching job: rank the roster for its need and replace the stored
    shortlist in one transaction. A job already done (the task ran twice) is left alone.
    Notifies nobody."""
    with transaction.atomic():
        job = MatchJob.objects.select_for_update().get(pk=job_id)
        if job.status in (MatchJobStatus.DONE, MatchJobStatus.FAILED):
            return job
        job.status, job.started_at = MatchJobStatus.RUNNING, timezone.now()
        job.save(update_fields=["status", "started_at"])
    started = time.perf_counter()
    try:
        with transaction.atomic():
            # Runs for the same need are serialised: the later one wins, never a mixture.
            need = ExpertiseNeed.objects.select_for_update().get(pk=job.need_id)
            need = selectors.need_for_matching(need.pk)
            weights = dict(settings.MATCHING_WEIGHTS)
            limit = settings.MATCH_SHORTLIST_SIZE
            candidates, exclusions, roster_size = selectors.match_candidates(
                need, weights=weights, limit=limit
            )
            ranked = matching.rank(candidates, selectors.need_spec(need), weights, limit=limit)
            MatchResult.objects.filter(need=need).delete()
            MatchResult.objects.bulk_create(
                [
                    MatchResult(
                        need=need,
                        job=job,
                        expert_id=s.expert_id,
                        rank=position,
                        score=s.total,
                        components=s.components,
                        explanation=s.explanation,
                    )
                    for position, s in enumerate(ranked, start=1)
                ]
            )
            job.status = MatchJobStatus.DONE
            job.roster_size = roster_size
            job.candidates = roster_size - sum(exclusions.values())
            job.exclusions = exclusions
            job.weights = weights
            job.finished_at = timezone.now()
            job.duration_ms = int((time.perf_counter() - started) * 1000)
            job.save()
    except Exception as exc:
        logger.exception("Matching job %s failed", job_id)
        MatchJob.objects.filter(pk=job_id).update(
            status=MatchJobStatus.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        raise
    return job


# --- deployments ------------------------------------------------------------------------------


def _lock_deployment(deployment_id: int, by: Any) -> Deployment:
    try:
        deployment = (
            Deployment.objects.select_for_update(of=("self",))
            .select_related(
                "expert",
                "expert__user",
                "need",
                "need__activity",
                "need__activity__action",
                "need__activity__action__request__case_officer",
                "need__activity__action__drafted_by",
            )
            .get(pk=deployment_id)
        )
    except (Deployment.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    if by is not SYSTEM and not permissions.can_view_deployment(by, deployment):
        raise NotFound()
    return deployment


def _action(deployment: Deployment) -> Action:
    return deployment.need.activity.action


def _expert_user(deployment: Deployment) -> list[User]:
    return [deployment.expert.user] if deployment.expert.user is not None else []


def _others(people: Iterable[Any], by: Any) -> list[Any]:
    return [p for p in people if p is not None and p.pk != getattr(by, "pk", None)]


@transaction.atomic
def deployment_shortlist(
    *, need_id: int, expert_id: int, by: User, score: float | None = None
) -> Deployment:
    """Staff put an expert on a need's shortlist (idempotent: an existing deployment of the
    expert on the need is returned as it is). Notifies nobody."""
    _staff_only(by)
    try:
        need = ExpertiseNeed.objects.select_related("activity__action").get(pk=need_id)
    except (ExpertiseNeed.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    expert = Expert.objects.filter(pk=expert_id, anonymised_at__isnull=True).first()
    if expert is None:
        raise NotFound()
    if need.activity.action.status in ("completed", "closed", "cancelled"):
        raise TransitionNotAllowed(_("This action no longer takes experts."))
    if score is None:
        score = (
            MatchResult.objects.filter(need=need, expert=expert)
            .values_list("score", flat=True)
            .first()
        )
    deployment, _created = Deployment.objects.get_or_create(
        expert=expert, need=need, defaults={"shortlisted_by": by, "score": score}
    )
    return deployment


@transaction.atomic
def deployment_invite(*, deployment_id: int, by: User, comment: str = "") -> Deployment:
    """Staff invite a shortlisted expert; the invitation expires after
    ``DEPLOYMENT_INVITATION_DAYS``. Notifies the expert (with one-time answer links)."""
    deployment = _lock_deployment(deployment_id, by)
    DEPLOYMENT_WORKFLOW.check(deployment, "invite", by)
    now = timezone.now()
    deployment.invited_by = by
    deployment.invited_at = now
    deployment.expires_at = now + dt.timedelta(days=settings.DEPLOYMENT_INVITATION_DAYS)
    deployment.invitation_nonce = secrets.token_hex(16)
    deployment, event = fire_transition(
        deployment,
        DEPLOYMENT_WORKFLOW,
        "invite",
        by=by,
        comment=comment,
        extra_fields=["invited_by", "invited_at", "expires_at", "invitation_nonce"],
        checked=True,
    )
    notify_on_commit(
        "deployment_invited",
        deployment,
        _expert_user(deployment),
        key=str(event.pk),
        context={"message": event.comment},
    )
    return deployment


@transaction.atomic
def deployment_shortlist_and_invite(
    *, need_id: int, expert_id: int, by: User, comment: str = ""
) -> Deployment:
    """One click on the shortlist page: shortlist (if needed) and invite. Notifies the
    expert."""
    deployment = deployment_shortlist(need_id=need_id, expert_id=expert_id, by=by)
    return deployment_invite(deployment_id=deployment.pk, by=by, comment=comment)


def _check_nonce(deployment: Deployment, nonce: str | None) -> None:
    if nonce is not None and (
        not deployment.invitation_nonce or nonce != deployment.invitation_nonce
    ):
        raise TransitionNotAllowed(_("This link has already been used."))


@transaction.atomic
def deployment_accept(
    *, deployment_id: int, by: User, comment: str = "", nonce: str | None = None
) -> Deployment:
    """The invited expert accepts before the invitation expires (``nonce``: from a signed
    email link, which then stops working). Notifies the case officer."""
    deployment = _lock_deployment(deployment_id, by)
    DEPLOYMENT_WORKFLOW.check(deployment, "accept", by)
    _check_nonce(deployment, nonce)
    deployment.responded_at = timezone.now()
    deployment.invitation_nonce = ""
    deployment, event = fire_transition(
        deployment,
        DEPLOYMENT_WORKFLOW,
        "accept",
        by=by,
        comment=comment,
        extra_fields=["responded_at", "invitation_nonce"],
        checked=True,
    )
    notify_on_commit(
        "deployment_accepted",
        deployment,
        case_officer(_action(deployment)),
        key=str(event.pk),
        context={"comment": event.comment},
    )
    return deployment


@transaction.atomic
def deployment_decline(
    *, deployment_id: int, by: User, reason: str, nonce: str | None = None
) -> Deployment:
    """The invited expert declines with a reason. Notifies the case officer."""
    deployment = _lock_deployment(deployment_id, by)
    DEPLOYMENT_WORKFLOW.check(deployment, "decline", by)
    _check_nonce(deployment, nonce)
    deployment.responded_at = timezone.now()
    deployment.invitation_nonce = ""
    deployment.decline_reason = (reason or "").strip()
    deployment, event = fire_transition(
        deployment,
        DEPLOYMENT_WORKFLOW,
        "decline",
        by=by,
        comment=reason,
        extra_fields=["responded_at", "invitation_nonce", "decline_reason"],
        checked=True,
    )
    notify_on_commit(
        "deployment_declined",
        deployment,
        case_officer(_action(deployment)),
        key=str(event.pk),
        context={"reason": event.comment},
    )
    return deployment


def deployments_expire_due(*, now: dt.datetime | None = None) -> int:
    """Turn invitations past their expiry date into ``expired`` (scheduled). Each one in its
    own transaction; rows another worker holds are skipped and picked up next time.
    Notifies each case officer. Returns how many expired."""
    now = now or timezone.now()
    count = 0
    due = list(
        Deployment.objects.filter(status=DeploymentStatus.INVITED, expires_at__lte=now).values_list(
            "pk", flat=True
        )[:1000]
    )
    for pk in due:
        with transaction.atomic():
            deployment = (
                Deployment.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(pk=pk, status=DeploymentStatus.INVITED, expires_at__lte=now)
                .select_related("need__activity__action__request__case_officer", "expert")
                .first()
            )
            if deployment is None:
                continue
            DEPLOYMENT_WORKFLOW.check(deployment, "expire", SystemActor(now))
            deployment.invitation_nonce = ""
            deployment, event = fire_transition(
                deployment,
                DEPLOYMENT_WORKFLOW,
                "expire",
                by=None,
                extra_fields=["invitation_nonce"],
                checked=True,
            )
            notify_on_commit(
                "deployment_expired",
                deployment,
                case_officer(_action(deployment)),
                key=str(event.pk),
            )
            count += 1
    return count


def default_expert_days(deployment: Deployment, start: dt.date, end: dt.date) -> int:
    """The need's expert-days, but never more than the mission's calendar days."""
    calendar_days = max(1, (end - start).days + 1)
    return max(1, min(deployment.need.expert_days, calendar_days))


def _mission_dates(
    deployment: Deployment,
    start_date: dt.date | None,
    end_date: dt.date | None,
    expert_days: int | None,
) -> tuple[dt.date, dt.date, int]:
    activity = deployment.need.activity
    start = start_date or activity.start_date
    end = end_date or activity.end_date
    errors: dict[str, list[str]] = {}
    if end < start:
        errors["end_date"] = [_("The end must not be before the start.")]
    calendar_days = (end - start).days + 1
    days = expert_days if expert_days is not None else default_expert_days(deployment, start, end)
    if days is None or days < 1:
        errors["expert_days"] = [_("Give at least one expert-day.")]
    elif end >= start and days > calendar_days:
        errors["expert_days"] = [
            _("%(days)s expert-days do not fit in a mission of %(calendar)s calendar days.")
            % {"days": days, "calendar": calendar_days}
        ]
    if errors:
        raise ApplicationError(_("Check the mission dates and days."), errors=errors)
    return start, end, int(days)


@transaction.atomic
def deployment_confirm(
    *,
    deployment_id: int,
    by: User,
    start_date: dt.date | None = None,
    end_date: dt.date | None = None,
    expert_days: int | None = None,
    comment: str = "",
) -> Deployment:
    """Staff confirm an accepted deployment and fix the mission dates (default: the
    activity's) and expert-days (default: the need's, within the mission's calendar days).
    Refused when the expert holds another confirmed mission over those dates or marked them
    unavailable. Notifies the expert and the partner."""
    deployment = _lock_deployment(deployment_id, by)
    DEPLOYMENT_WORKFLOW.check(deployment, "confirm", by)
    start, end, days = _mission_dates(deployment, start_date, end_date, expert_days)
    # Serialise confirmations of one expert: the second waits here until the first commits,
    # then sees its booking.
    Expert.objects.select_for_update(no_key=True).filter(pk=deployment.expert_id).first()
    clash = (
        Deployment.objects.filter(
            expert_id=deployment.expert_id,
            status__in=BOOKED_STATUSES,
            start_date__lte=end,
            end_date__gte=start,
        )
        .exclude(pk=deployment.pk)
        .select_related("need__activity__action")
        .first()
    )
    if clash is not None:
        raise TransitionNotAllowed(
            _(
                "%(expert)s is already booked from %(start)s to %(end)s (%(action)s); "
                "missions of one expert may not overlap."
            )
            % {
                "expert": deployment.expert.full_name,
                "start": clash.start_date,
                "end": clash.end_date,
                "action": clash.need.activity.action.reference,
            }
        )
    away = deployment.expert.unavailability.filter(start_date__lte=end, end_date__gte=start).first()
    if away is not None:
        raise TransitionNotAllowed(
            _("%(expert)s is unavailable from %(start)s to %(end)s.")
            % {
                "expert": deployment.expert.full_name,
                "start": away.start_date,
                "end": away.end_date,
            }
        )
    deployment.start_date, deployment.end_date, deployment.expert_days = start, end, days
    deployment.confirmed_by = by
    deployment.confirmed_at = timezone.now()
    try:
        with transaction.atomic():  # a savepoint: the constraint's refusal stays catchable
            deployment, event = fire_transition(
                deployment,
                DEPLOYMENT_WORKFLOW,
                "confirm",
                by=by,
                comment=comment,
                extra_fields=[
                    "start_date",
                    "end_date",
                    "expert_days",
                    "confirmed_by",
                    "confirmed_at",
                ],
                checked=True,
            )
    except (IntegrityError, OperationalError) as refusal:
        # Two confirmations checking the constraint against each other's new rows can also
        # end in PostgreSQL's deadlock detector choosing this one to fail: the same refusal.
        if isinstance(refusal, OperationalError) and not _is_deadlock(refusal):
            raise
        raise TransitionNotAllowed(
            _(
                "%(expert)s is already booked over these dates; missions of one expert may not overlap."
            )
            % {"expert": deployment.expert.full_name}
        ) from None
    action = _action(deployment)
    notify_on_commit(
        "deployment_confirmed",
        deployment,
        [*_expert_user(deployment), *partner_contacts(action)],
        key=str(event.pk),
    )
    return deployment


def _is_deadlock(error: OperationalError) -> bool:
    """PostgreSQL's ``deadlock_detected`` (SQLSTATE 40P01), whichever driver raised it."""
    return getattr(error.__cause__, "pgcode", None) == "40P01"


@transaction.atomic
def deployment_report_submit(
    *,
    deployment_id: int,
    by: User,
    summary: str,
    outputs: str,
    recommendations: str,
    days_worked: int,
    attachments: Sequence[Any] = (),
) -> MissionReport:
    """The deployed expert files (or corrects, until completion) the mission report, once
    the mission has started. Notifies the case officer on first filing."""
    deployment = _lock_deployment(deployment_id, by)
    if deployment.expert.user_id != by.pk:
        raise TransitionForbidden(_("Only the deployed expert files the mission report."))
    if deployment.status != DeploymentStatus.CONFIRMED:
        raise TransitionNotAllowed(
            _("A mission report is filed for a confirmed mission (this one is %(state)s).")
            % {"state": deployment.get_status_display().lower()}
        )
    if deployment.start_date and deployment.start_date > timezone.localdate():
        raise TransitionNotAllowed(
            _("The mission starts on %(date)s; file the report once it has taken place.")
            % {"date": deployment.start_date}
        )
    errors: dict[str, list[str]] = {}
    values = {"summary": summary, "outputs": outputs, "recommendations": recommendations}
    for name, value in values.items():
        if not str(value or "").strip():
            errors[name] = [_("This part of the report is required.")]
    if days_worked is None or int(days_worked) < 1:
        errors["days_worked"] = [_("Give the number of days worked (at least one).")]
    elif deployment.start_date and deployment.end_date:
        calendar = (deployment.end_date - deployment.start_date).days + 1
        if int(days_worked) > calendar:
            errors["days_worked"] = [
                _("The mission lasted %(calendar)s calendar days.") % {"calendar": calendar}
            ]
    if errors:
        raise ApplicationError(_("The report is incomplete."), errors=errors)
    kinds = [validate_upload(upload, DOCUMENTS) for upload in attachments]
    report = MissionReport.objects.filter(deployment=deployment).first()
    first = report is None
    if report is None:
        report = MissionReport(deployment=deployment)
    for name, value in values.items():
        setattr(report, name, str(value).strip())
    report.days_worked = int(days_worked)
    report.submitted_by = by
    if first:
        report.submitted_at = timezone.now()
    report.save()
    for upload, kind in zip(attachments, kinds, strict=True):
        name = clean_filename(str(getattr(upload, "name", "file")))
        attachment = ReportAttachment(
            report=report,
            original_name=name,
            content_type=kind.content_type,
            size=int(getattr(upload, "size", 0) or 0),
        )
        attachment.file.save(name, upload, save=False)
        attachment.save()
    if first:
        notify_on_commit(
            "mission_report_submitted",
            deployment,
            case_officer(_action(deployment)),
            key=f"report:{report.pk}",
        )
    return report


@transaction.atomic
def deployment_complete(*, deployment_id: int, by: User, comment: str = "") -> Deployment:
    """Staff complete a confirmed deployment once its report is filed. Notifies nobody
    (staff rate the mission next)."""
    deployment = _lock_deployment(deployment_id, by)
    deployment.completed_at = timezone.now()
    deployment, _event = fire_transition(
        deployment,
        DEPLOYMENT_WORKFLOW,
        "complete",
        by=by,
        comment=comment,
        extra_fields=["completed_at"],
    )
    return deployment


def _cancel(deployment: Deployment, by: User, reason: str) -> tuple[str, TransitionEvent]:
    previous = deployment.status
    deployment.cancelled_at = timezone.now()
    deployment.cancel_reason = (reason or "").strip()
    deployment.status_before_cancel = previous
    deployment.invitation_nonce = ""
    _deployment, event = fire_transition(
        deployment,
        DEPLOYMENT_WORKFLOW,
        "cancel",
        by=by,
        comment=reason,
        extra_fields=["cancelled_at", "cancel_reason", "status_before_cancel", "invitation_nonce"],
    )
    return previous, event


@transaction.atomic
def deployment_cancel(*, deployment_id: int, by: User, reason: str) -> Deployment:
    """Staff cancel a deployment that is not completed, with a reason. Notifies the expert
    (once invited) and, for a confirmed mission, the partner."""
    deployment = _lock_deployment(deployment_id, by)
    previous, event = _cancel(deployment, by, reason)
    recipients: list[Any] = []
    if previous != DeploymentStatus.SHORTLISTED:
        recipients += _expert_user(deployment)
    if previous == DeploymentStatus.CONFIRMED:
        recipients += list(partner_contacts(_action(deployment)))
    notify_on_commit(
        "deployment_cancelled",
        deployment,
        _others(recipients, by),
        key=str(event.pk),
        context={"reason": event.comment, "was": previous},
    )
    return deployment


def deployments_cancel_for_action(*, action: Action, by: User, reason: str) -> list[Deployment]:
    """When an action is cancelled its open deployments are cancelled with it, inside the
    action's transaction. Notifies nobody itself: returns the deployments whose expert had
    been invited, accepted or confirmed, for the action's own cancellation notice
    (``notify_experts_of_action``)."""
    told: list[Deployment] = []
    for pk in Deployment.objects.filter(
        need__activity__action=action, status__in=OPEN_STATUSES
    ).values_list("pk", flat=True):
        deployment = _lock_deployment(pk, by)
        previous, _event = _cancel(deployment, by, reason)
        if previous != DeploymentStatus.SHORTLISTED:
            told.append(deployment)
    return told


def notify_experts_of_action(
    event: str,
    action: Action,
    deployments: Iterable[Deployment] | None,
    *,
    key: str,
    context: dict[str, Any],
) -> None:
    """Tell each expert of ``deployments`` (None: the action's confirmed missions) about an
    event of the action, once per expert, with a link to their own deployment (the
    confirmed one first) — experts do not see action pages."""
    if deployments is None:
        deployments = Deployment.objects.filter(
            need__activity__action=action, status=DeploymentStatus.CONFIRMED
        ).select_related("expert__user")
    first: dict[str, int] = {DeploymentStatus.CONFIRMED: 0, DeploymentStatus.ACCEPTED: 1}
    ordered = sorted(
        deployments, key=lambda d: (first.get(d.status_before_cancel or d.status, 2), d.pk)
    )
    told: set[int] = set()
    for deployment in ordered:
        if deployment.expert_id in told:
            continue
        told.add(deployment.expert_id)
        notify_on_commit(
            event,
            action,
            _expert_user(deployment),
            key=f"{key}:e{deployment.expert_id}",
            context=context,
            url=deployment.get_absolute_url(),
        )


def refresh_track_record(expert_id: int) -> None:
    totals = Deployment.objects.filter(expert_id=expert_id, rating__isnull=False).aggregate(
        total=Sum("rating"), count=Count("pk")
    )
    Expert.objects.filter(pk=expert_id).update(
        rating_sum=totals["total"] or 0, rating_count=totals["count"] or 0
    )


@transaction.atomic
def deployment_rate(*, deployment_id: int, by: User, rating: int, note: str = "") -> Deployment:
    """Staff rate a completed mission 1–5 (it may be corrected); the rating feeds the
    track-record component of matching. Notifies nobody."""
    deployment = _lock_deployment(deployment_id, by)
    _staff_only(by, _("Only programme staff rate missions."))
    if deployment.status != DeploymentStatus.COMPLETED:
        raise TransitionNotAllowed(_("A mission is rated once it is completed."))
    try:
        value = int(rating)
    except (TypeError, ValueError):
        value = 0
    if not 1 <= value <= 5:
        raise ApplicationError(_("Rate the mission from 1 to 5."), field="rating")
    deployment.rating, deployment.rating_note, deployment.rated_by = value, note.strip(), by
    deployment.save(update_fields=["rating", "rating_note", "rated_by", "updated_at"])
    refresh_track_record(deployment.expert_id)
    return deployment


DEPLOYMENT_TRANSITIONS = ("invite", "accept", "decline", "confirm", "complete", "cancel")


def deployment_transition(
    *, deployment_id: int, name: str, by: User, text: str = "", **data: Any
) -> Deployment:
    """Fire a transition by its table name (pages and API use this one entry point);
    ``data`` carries ``confirm``'s dates and days."""
    DEPLOYMENT_WORKFLOW.get(name)
    if name == "invite":
        return deployment_invite(deployment_id=deployment_id, by=by, comment=text)
    if name == "accept":
        return deployment_accept(deployment_id=deployment_id, by=by, comment=text)
    if name == "decline":
        return deployment_decline(deployment_id=deployment_id, by=by, reason=text)
    if name == "confirm":
        return deployment_confirm(deployment_id=deployment_id, by=by, comment=text, **data)
    if name == "complete":
        return deployment_complete(deployment_id=deployment_id, by=by, comment=text)
    if name == "cancel":
        return deployment_cancel(deployment_id=deployment_id, by=by, reason=text)
    raise TransitionForbidden(_("This transition is fired by the system."))


REMINDER_BATCH = 500


def _in_batches(deployments: QuerySet[Deployment]) -> Iterator[Deployment]:
    """Every row of ``deployments``, fetched ``REMINDER_BATCH`` at a time in id order."""
    last = 0
    while batch := list(deployments.filter(pk__gt=last).order_by("pk")[:REMINDER_BATCH]):
        last = batch[-1].pk
        yield from batch


def invitations_remind_expiring(*, now: dt.datetime | None = None) -> int:
    """Remind each invited expert whose invitation expires within
    ``INVITATION_EXPIRY_REMINDER_DAYS`` (and has not expired yet): reason
    ``invitation_expiring``, once per expiry date, so an invitation extended to a later date
    is reminded again. Scheduled (Celery beat). Notifies the expert, with fresh one-time
    answer links made at delivery. Returns how many invitations were reminded about."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    horizon = now + dt.timedelta(days=settings.INVITATION_EXPIRY_REMINDER_DAYS)
    expiring = Deployment.objects.filter(
        status=DeploymentStatus.INVITED,
        expires_at__gt=now,
        expires_at__lte=horizon,
        expert__user__isnull=False,
    ).select_related("expert__user", "need__activity__action")
    count = 0
    for deployment in _in_batches(expiring):
        if remind(
            "invitation_expiring",
            deployment,
            _expert_user(deployment),
            today=today,
            occurrence=timezone.localdate(deployment.expires_at).isoformat(),
        ):
            count += 1
    return count


def mission_reports_remind(*, now: dt.datetime | None = None) -> int:
    """Remind each expert whose confirmed mission ended ``MISSION_REPORT_DUE_DAYS`` ago or
    more without a report: reason ``mission_report_due``, repeating as
    ``settings.REMINDERS`` says until the report is filed. Scheduled (Celery beat). Notifies
    the expert. Returns how many deployments were reminded about."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    due = Deployment.objects.filter(
        status=DeploymentStatus.CONFIRMED,
        end_date__lte=today - dt.timedelta(days=settings.MISSION_REPORT_DUE_DAYS),
        report__isnull=True,
        expert__user__isnull=False,
    ).select_related("expert__user", "need__activity__action")
    count = 0
    for deployment in _in_batches(due):
        if remind("mission_report_due", deployment, _expert_user(deployment), today=today):
            count += 1
    return count


# --- signed answer links ------------------------------------------------------------------------


def invitation_token(deployment: Deployment) -> str:
    return signing.dumps(
        {"d": deployment.pk, "n": deployment.invitation_nonce}, salt=INVITATION_SALT
    )


def deployment_from_token(token: str, by: User) -> tuple[Deployment, str]:
    """The invitation a signed link names, for the signed-in expert it was sent to, and the
    link's one-time nonce — or ``ApplicationError`` saying why the link cannot be used.
    Nothing changes here; answering is a separate, explicit step."""
    max_age = (settings.DEPLOYMENT_INVITATION_DAYS + 30) * 24 * 3600
    try:
        payload: dict[str, Any] = signing.loads(token, salt=INVITATION_SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise ApplicationError(_("This invitation link has expired.")) from None
    except signing.BadSignature:
        raise ApplicationError(
            _("This invitation link is not valid. Check that you copied it whole.")
        ) from None
    try:
        deployment_id, nonce = int(payload.get("d") or 0), str(payload.get("n") or "")
    except (TypeError, ValueError, AttributeError):
        raise ApplicationError(_("This invitation link is not valid.")) from None
    deployment = (
        Deployment.objects.select_related("expert", "need__activity__action")
        .filter(pk=deployment_id)
        .first()
    )
    if deployment is None or deployment.expert.user_id != by.pk:
        raise ApplicationError(
            _(
                "This invitation link was sent to someone else. Sign in with the account it was sent to."
            )
        )
    if deployment.status != DeploymentStatus.INVITED or not deployment.invitation_nonce:
        raise TransitionNotAllowed(
            _("This invitation has already been answered or closed (it is %(state)s).")
            % {"state": deployment.get_status_display().lower()}
        )
    if nonce != deployment.invitation_nonce:
        raise TransitionNotAllowed(_("This link has already been used."))
    return deployment, nonce
