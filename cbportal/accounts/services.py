"""Account use-cases: invitations, profile language, two-factor devices (each change that
matters for access is audited, cbportal.core.audit)."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from cbportal.accounts.models import Invitation, Organisation, Role, User
from cbportal.core import audit
from cbportal.core.errors import ApplicationError
from cbportal.core.models import AuditKind
from cbportal.core.notifications import notify_on_commit

INVITATION_SALT = "cbportal.accounts.invitation"
INVITABLE_ROLES = (Role.PARTNER, Role.EXPERT, Role.EVALUATOR)


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps({"i": invitation.pk, "n": invitation.nonce}, salt=INVITATION_SALT)


def invitation_accept_url(invitation: Invitation) -> str:
    return reverse("accounts:invitation-accept", args=[invitation_token(invitation)])


@transaction.atomic
def invitation_create(
    *,
    by: User,
    email: str,
    role: str,
    first_name: str = "",
    last_name: str = "",
    organisation: Organisation | None = None,
    language: str = "en",
) -> Invitation:
    """Staff invite a partner focal point, expert or evaluator. Creates the account with an
    unusable password (audited) and notifies the invitee by email (``account_invited``)."""
    if not by.is_programme_staff:
        raise ApplicationError(_("Only programme staff can invite users."))
    email = email.strip()
    if role not in INVITABLE_ROLES:
        raise ApplicationError(
            _("Choose the role of a partner, an expert or an evaluator."), field="role"
        )
    if role == Role.PARTNER and organisation is None:
        raise ApplicationError(
            _("A partner focal point must belong to an organisation."), field="organisation"
        )
    if role != Role.PARTNER:
        organisation = None
    if (
        User.objects.filter(email__iexact=email).exists()
        or User.objects.filter(username__iexact=email).exists()
    ):
        raise ApplicationError(_("A user with this email address already exists."), field="email")
    if language not in dict(settings.LANGUAGES):
        raise ApplicationError(_("Unsupported language."), field="language")
    user = User(
        username=email.lower(),
        email=email,
        first_name=first_name,
        last_name=last_name,
        role=role,
        organisation=organisation,
        language=language,
    )
    user.set_unusable_password()
    user.save()
    now = timezone.now()
    invitation = Invitation.objects.create(
        user=user,
        invited_by=by,
        nonce=secrets.token_hex(16),
        created_at=now,
        sent_at=now,
        expires_at=now + timedelta(days=settings.INVITATION_VALID_DAYS),
    )
    audit.audit_account_created(user=user, by=by, how="invitation")
    _notify_invitation(invitation)
    return invitation


def _notify_invitation(invitation: Invitation) -> None:
    notify_on_commit(
        "account_invited",
        invitation,
        [invitation.user],
        context={"invited_by": invitation.invited_by.display_name},
        key=f"{invitation.pk}:{invitation.nonce}",
        url=reverse("accounts:login"),
    )


@transaction.atomic
def invitation_resend(*, invitation_id: int, by: User) -> Invitation:
    """Staff send a fresh link; earlier links stop working. Notifies the invitee."""
    if not by.is_programme_staff:
        raise ApplicationError(_("Only programme staff can invite users."))
    invitation = Invitation.objects.select_for_update().select_related("user").get(pk=invitation_id)
    if invitation.accepted_at is not None:
        raise ApplicationError(_("This invitation has already been accepted."))
    now = timezone.now()
    invitation.nonce = secrets.token_hex(16)
    invitation.sent_at = now
    invitation.expires_at = now + timedelta(days=settings.INVITATION_VALID_DAYS)
    invitation.save(update_fields=["nonce", "sent_at", "expires_at"])
    _notify_invitation(invitation)
    return invitation


def invitation_from_token(token: str) -> Invitation:
    """The invitation a link names, or ``ApplicationError`` saying why the link is unusable."""
    max_age = settings.INVITATION_VALID_DAYS * 24 * 3600
    try:
        payload: dict[str, Any] = signing.loads(token, salt=INVITATION_SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise ApplicationError(
            _("This invitation link has expired. Ask programme staff to send you a new one.")
        ) from None
    except signing.BadSignature:
        raise ApplicationError(
            _("This invitation link is not valid. Check that you copied it whole.")
        ) from None
    invitation = (
        Invitation.objects.select_related("user").filter(pk=int(payload.get("i") or 0)).first()
    )
    if invitation is None or not invitation.user.is_active:
        raise ApplicationError(
            _("This invitation link is not valid. Check that you copied it whole.")
        )
    if invitation.accepted_at is not None:
        raise ApplicationError(
            _("This invitation has already been used. Sign in with your username and password.")
        )
    if payload.get("n") != invitation.nonce:
        raise ApplicationError(
            _(
                "This invitation link has been replaced by a newer one. Use the latest email you received."
            )
        )
    if invitation.is_expired:
        raise ApplicationError(
            _("This invitation link has expired. Ask programme staff to send you a new one.")
        )
    return invitation


@transaction.atomic
def invitation_accept(
    *, token: str, password: str, first_name: str = "", last_name: str = ""
) -> User:
    """The invitee sets a password. Voids the link (audited). Notifies nobody."""
    invitation = invitation_from_token(token)
    invitation = Invitation.objects.select_for_update().select_related("user").get(pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise ApplicationError(
            _("This invitation has already been used. Sign in with your username and password.")
        )
    user = invitation.user
    if first_name:
        user.first_name = first_name
    if last_name:
        user.last_name = last_name
    validate_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password", "first_name", "last_name"])
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    audit.audit_record(kind=AuditKind.INVITATION_ACCEPTED, by=user, target=user)
    return user


def user_set_language(*, user: User, language: str) -> User:
    """A user chooses the language of pages and emails."""
    if language not in dict(settings.LANGUAGES):
        raise ApplicationError(_("Unsupported language."), field="language")
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])
    return user


@transaction.atomic
def totp_device_start(*, user: User) -> TOTPDevice:
    """Begin two-factor set-up: a fresh unconfirmed device (earlier unconfirmed ones go)."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name=_("Authenticator app"), confirmed=False)


@transaction.atomic
def totp_device_confirm(*, user: User, token: str) -> TOTPDevice:
    """Confirm the pending device with a code from the app; replaces any older device."""
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
    if device is None:
        raise ApplicationError(
            _("Start the set-up again: no authenticator is waiting for confirmation.")
        )
    if not device.verify_token(token.strip().replace(" ", "")):
        raise ApplicationError(
            _("That code is not valid. Check your device's clock and try again."), field="token"
        )
    replaced, _deleted = TOTPDevice.objects.filter(user=user, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    change = "replaced" if replaced else "enabled"
    audit.audit_record(kind=AuditKind.TWO_FACTOR, by=user, target=user, details={"change": change})
    return device


@transaction.atomic
def totp_device_remove(*, user: User) -> None:
    """A user turns two-factor off (refused when it is required for them; audited)."""
    if two_factor_required(user):
        raise ApplicationError(_("Two-factor authentication is required for your role."))
    had_one = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    TOTPDevice.objects.filter(user=user).delete()
    if had_one:
        audit.audit_record(
            kind=AuditKind.TWO_FACTOR, by=user, target=user, details={"change": "disabled"}
        )


def two_factor_required(user: Any) -> bool:
    return bool(
        settings.TWO_FACTOR_REQUIRED_FOR_STAFF
        and user.is_authenticated
        and (user.role == Role.STAFF or user.is_superuser)
    )
