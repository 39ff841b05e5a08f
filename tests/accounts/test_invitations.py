"""Staff invite partner focal points, experts and evaluators; invitees accept by email link."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse
from django.utils import timezone

from cbportal.accounts import services
from cbportal.accounts.models import Invitation, Role, User
from cbportal.core.errors import ApplicationError
from cbportal.core.models import Notification

INVITATIONS_URL = "/accounts/invitations/"
GOOD_PASSWORD = "Tamarind-Lighthouse-42"
ACCEPT_LINK = re.compile(r"https?://[^\s\"<>]+(/accounts/invitation/[^/\s\"<>]+/)")


def _invite(client, **data):
    payload = {"first_name": "Ana", "last_name": "Pereira", "language": "en", **data}
    if payload.get("organisation") is None:
        payload.pop("organisation", None)
    return client.post(INVITATIONS_URL, payload)


def _accept_path(message) -> str:
    """The accept link's path, from the plain-text body; the HTML part must carry the same."""
    links = ACCEPT_LINK.findall(message.body)
    assert len(links) == 1, message.body
    html = message.alternatives[0][0]
    assert links[0] in html
    return links[0]


@pytest.fixture
def invite(client, staff, organisation, django_capture_on_commit_callbacks, mailoutbox):
    """``invite(email, role)`` sends an invitation as staff, delivers its email and returns
    ``(invitation, accept_path)``."""

    def make(email="new.person@example.org", role=Role.EXPERT):
        client.force_login(staff)
        org = organisation.pk if role == Role.PARTNER else None
        before = len(mailoutbox)
        with django_capture_on_commit_callbacks(execute=True):
            response = _invite(client, email=email, role=role, organisation=org)
        assert response.status_code == 302, response.context["form"].errors
        assert len(mailoutbox) == before + 1
        client.post("/accounts/logout/")
        invitation = Invitation.objects.get(user__email=email)
        return invitation, _accept_path(mailoutbox[-1])

    return make


# --- Who may invite ---------------------------------------------------------------------


def test_it_sends_anonymous_visitors_to_sign_in(client, db):
    response = client.get(INVITATIONS_URL)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next={INVITATIONS_URL}"


@pytest.mark.parametrize("persona", ["partner", "expert", "evaluator"])
def test_it_is_forbidden_to_non_staff(client, request, persona):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(INVITATIONS_URL)
    assert response.status_code == 403
    assert "403.html" in [t.name for t in response.templates]
    response = _invite(client, email="x@example.org", role=Role.EXPERT)
    assert response.status_code == 403
    assert not User.objects.filter(email="x@example.org").exists()


@pytest.mark.parametrize("persona", ["staff", "approver", "admin_user"])
def test_it_opens_for_staff(client, request, persona):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(INVITATIONS_URL)
    assert response.status_code == 200
    assert "accounts/invitations.html" in [t.name for t in response.templates]


def test_it_shows_the_invitations_link_to_staff_only(client, staff, partner):
    client.force_login(staff)
    assert f'href="{INVITATIONS_URL}"' in client.get("/").content.decode()
    client.force_login(partner)
    assert f'href="{INVITATIONS_URL}"' not in client.get("/").content.decode()


def test_non_staff_cannot_resend(client, partner, staff, django_capture_on_commit_callbacks):
    invitation = services.invitation_create(by=staff, email="e@example.org", role=Role.EXPERT)
    nonce = invitation.nonce
    client.force_login(partner)
    response = client.post(reverse("accounts:invitation-resend", args=[invitation.pk]))
    assert response.status_code == 403
    invitation.refresh_from_db()
    assert invitation.nonce == nonce


@pytest.mark.parametrize("persona", ["partner", "expert", "evaluator"])
def test_the_service_refuses_non_staff(request, persona):
    user = request.getfixturevalue(persona)
    with pytest.raises(ApplicationError, match=r"Only programme staff can invite users\."):
        services.invitation_create(by=user, email="someone@example.org", role=Role.EXPERT)
    assert not User.objects.filter(email="someone@example.org").exists()


def test_the_service_refuses_to_invite_staff(staff):
    with pytest.raises(ApplicationError) as exc:
        services.invitation_create(by=staff, email="boss@example.org", role=Role.STAFF)
    assert exc.value.field == "role"


def test_the_service_refuses_an_unsupported_language(staff):
    with pytest.raises(ApplicationError) as exc:
        services.invitation_create(by=staff, email="p@example.org", role=Role.EXPERT, language="xx")
    assert exc.value.field == "language"


# --- Sending ----------------------------------------------------------------------------


def test_a_partner_invitation_needs_an_organisation(client, staff, mailoutbox):
    client.force_login(staff)
    response = _invite(client, email="focal@example.org", role=Role.PARTNER)
    assert response.status_code == 200
    assert response.context["form"].errors["organisation"] == [
        "A partner focal point must belong to an organisation."
    ]
    assert not User.objects.filter(email="focal@example.org").exists()
    assert not Notification.objects.exists()
    assert mailoutbox == []


def test_staff_invite_a_partner_focal_point(
    client, staff, organisation, django_capture_on_commit_callbacks, mailoutbox
):
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = _invite(
            client, email="focal@example.org", role=Role.PARTNER, organisation=organisation.pk
        )
    assert response.status_code == 302
    assert response["Location"] == INVITATIONS_URL
    assert len(callbacks) == 1

    user = User.objects.get(email="focal@example.org")
    assert user.role == Role.PARTNER
    assert user.organisation == organisation
    assert user.username == "focal@example.org"
    assert not user.has_usable_password()
    invitation = user.invitation
    assert invitation.invited_by == staff
    assert invitation.accepted_at is None
    assert invitation.expires_at > timezone.now() + timedelta(days=13)

    notification = Notification.objects.get()
    assert notification.recipient == user
    assert notification.event == "account_invited"

    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["focal@example.org"]
    assert message.subject == "You are invited to CB Portal"
    path = _accept_path(message)
    assert path == services.invitation_accept_url(invitation)

    page = client.get(response["Location"])
    body = page.content.decode()
    assert "Invitation sent to focal@example.org." in body
    assert "focal@example.org" in body.split("Waiting to join")[1]


@pytest.mark.parametrize("role", [Role.EXPERT, Role.EVALUATOR])
def test_staff_invite_experts_and_evaluators(
    client, staff, organisation, role, django_capture_on_commit_callbacks, mailoutbox
):
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        # An organisation sent along is ignored for anyone but a partner.
        response = _invite(
            client, email="peer@example.org", role=role, organisation=organisation.pk
        )
    assert response.status_code == 302
    user = User.objects.get(email="peer@example.org")
    assert user.role == role
    assert user.organisation is None
    assert not user.has_usable_password()
    assert Notification.objects.filter(recipient=user, event="account_invited").count() == 1
    assert len(mailoutbox) == 1
    # The link is signed with a timestamp: compare what it opens, not its text (a second
    # may pass between the email and this line).
    token = _accept_path(mailoutbox[0]).rstrip("/").rsplit("/", 1)[-1]
    assert services.invitation_from_token(token) == user.invitation


def test_no_email_leaves_before_the_transaction_commits(
    client, staff, django_capture_on_commit_callbacks, mailoutbox
):
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _invite(client, email="later@example.org", role=Role.EXPERT)
    assert mailoutbox == []
    assert len(callbacks) == 1


def test_it_refuses_a_duplicate_email(client, staff, partner, mailoutbox):
    client.force_login(staff)
    response = _invite(client, email="PARTNER@example.org", role=Role.EXPERT)
    assert response.status_code == 200
    assert response.context["form"].errors["email"] == [
        "A user with this email address already exists."
    ]
    assert User.objects.filter(email__iexact="partner@example.org").count() == 1
    assert not Notification.objects.exists()
    assert mailoutbox == []


def test_it_refuses_an_invalid_email_and_role(client, staff):
    client.force_login(staff)
    response = _invite(client, email="not-an-email", role="staff")
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"email", "role"}


# --- Accepting --------------------------------------------------------------------------


def test_the_link_shows_the_accept_page(client, invite):
    _invitation, path = invite()
    response = client.get(path)
    assert response.status_code == 200
    assert "accounts/invitation_accept.html" in [t.name for t in response.templates]
    assert "new.person@example.org" in response.content.decode()


def test_mismatched_passwords_give_a_field_error_and_keep_the_link(client, invite):
    invitation, path = invite()
    response = client.post(
        path,
        {
            "first_name": "Ana",
            "last_name": "Pereira",
            "password1": GOOD_PASSWORD,
            "password2": GOOD_PASSWORD + "x",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["password2"] == ["The two passwords differ."]
    invitation.refresh_from_db()
    assert invitation.accepted_at is None
    assert not invitation.user.has_usable_password()
    assert SESSION_KEY not in client.session
    assert client.get(path).status_code == 200


@pytest.mark.parametrize(
    ("weak", "expected"),
    [
        ("short1", "This password is too short."),
        ("password123", "This password is too common."),
        ("4815162342108", "This password is entirely numeric."),
        ("new.person.example", "The password is too similar to the"),
    ],
)
def test_a_weak_password_gives_a_field_error_and_keeps_the_link(client, invite, weak, expected):
    invitation, path = invite()
    response = client.post(
        path, {"first_name": "Ana", "last_name": "Pereira", "password1": weak, "password2": weak}
    )
    assert response.status_code == 200
    errors = response.context["form"].errors["password1"]
    assert any(expected in e for e in errors), errors
    invitation.refresh_from_db()
    assert invitation.accepted_at is None
    assert client.get(path).status_code == 200


def test_a_good_password_signs_the_invitee_in_and_voids_the_link(client, invite):
    invitation, path = invite()
    response = client.post(
        path,
        {
            "first_name": "Ana Maria",
            "last_name": "Pereira",
            "password1": GOOD_PASSWORD,
            "password2": GOOD_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("core:home")
    user = User.objects.get(pk=invitation.user_id)
    assert client.session[SESSION_KEY] == str(user.pk)
    assert user.check_password(GOOD_PASSWORD)
    assert user.first_name == "Ana Maria"
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None

    home = client.get("/")
    assert "Welcome to CB Portal. Your password is set." in home.content.decode()
    assert "core/home_expert.html" in [t.name for t in home.templates]

    reused = client.get(path)
    assert reused.status_code == 400
    assert "This invitation has already been used." in reused.content.decode()
    # A second POST cannot change the password either.
    again = client.post(
        path,
        {
            "first_name": "X",
            "last_name": "Y",
            "password1": "Other-Pass-9876",
            "password2": "Other-Pass-9876",
        },
    )
    assert again.status_code == 400
    user.refresh_from_db()
    assert user.check_password(GOOD_PASSWORD)


def test_the_invitee_can_then_sign_in_with_the_form(client, invite):
    invitation, path = invite()
    client.post(
        path,
        {
            "first_name": "A",
            "last_name": "P",
            "password1": GOOD_PASSWORD,
            "password2": GOOD_PASSWORD,
        },
    )
    client.post("/accounts/logout/")
    response = client.post(
        "/accounts/login/", {"username": "new.person@example.org", "password": GOOD_PASSWORD}
    )
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(invitation.user_id)


def test_a_mixed_case_invitee_can_sign_in_with_the_username_shown(client, invite):
    _invitation, path = invite(email="Ana.Pereira@Example.org")
    page = client.get(path).content.decode()
    shown = re.search(r"Your username is <strong>([^<]+)</strong>", page).group(1)
    client.post(
        path,
        {
            "first_name": "A",
            "last_name": "P",
            "password1": GOOD_PASSWORD,
            "password2": GOOD_PASSWORD,
        },
    )
    client.post("/accounts/logout/")
    response = client.post("/accounts/login/", {"username": shown, "password": GOOD_PASSWORD})
    assert response.status_code == 302


def test_the_link_of_a_deactivated_account_cannot_be_used(client, invite):
    invitation, path = invite()
    User.objects.filter(pk=invitation.user_id).update(is_active=False)
    response = client.post(
        path,
        {
            "first_name": "A",
            "last_name": "P",
            "password1": GOOD_PASSWORD,
            "password2": GOOD_PASSWORD,
        },
    )
    assert response.status_code == 400
    invitation.refresh_from_db()
    assert invitation.accepted_at is None
    assert not invitation.user.has_usable_password()


def test_a_tampered_link_is_not_valid(client, invite):
    _, path = invite()
    token = path.rstrip("/").rsplit("/", 1)[1]
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    response = client.get(reverse("accounts:invitation-accept", args=[tampered]))
    assert response.status_code == 400
    assert "This invitation link is not valid." in response.content.decode()
    assert 'data-testid="invitation-error"' in response.content.decode()


def test_a_link_to_a_deleted_invitation_is_not_valid(client, invite):
    invitation, path = invite()
    invitation.user.delete()
    response = client.get(path)
    assert response.status_code == 400
    assert "This invitation link is not valid." in response.content.decode()


def test_an_expired_invitation_says_so(client, invite):
    invitation, path = invite()
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    response = client.get(path)
    assert response.status_code == 400
    assert "This invitation link has expired." in response.content.decode()
    posted = client.post(
        path,
        {
            "first_name": "A",
            "last_name": "P",
            "password1": GOOD_PASSWORD,
            "password2": GOOD_PASSWORD,
        },
    )
    assert posted.status_code == 400
    invitation.refresh_from_db()
    assert invitation.accepted_at is None


def test_a_link_signed_too_long_ago_says_it_expired(client, invite, settings):
    _, path = invite()
    later = time.time() + (settings.INVITATION_VALID_DAYS + 1) * 24 * 3600
    with mock.patch("django.core.signing.time.time", return_value=later):
        response = client.get(path)
    assert response.status_code == 400
    assert "This invitation link has expired." in response.content.decode()


def test_resending_replaces_the_first_link(
    client, staff, invite, django_capture_on_commit_callbacks, mailoutbox
):
    invitation, first_path = invite()
    first_nonce = invitation.nonce
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:invitation-resend", args=[invitation.pk]))
    assert response.status_code == 302
    assert (
        "A new link was sent to new.person@example.org."
        in client.get(response["Location"]).content.decode()
    )
    client.post("/accounts/logout/")

    invitation.refresh_from_db()
    assert invitation.nonce != first_nonce
    assert len(mailoutbox) == 2
    assert Notification.objects.filter(event="account_invited").count() == 2
    second_path = _accept_path(mailoutbox[1])
    assert second_path != first_path

    old = client.get(first_path)
    assert old.status_code == 400
    assert "This invitation link has been replaced by a newer one." in old.content.decode()
    assert client.get(second_path).status_code == 200


def test_resending_an_expired_invitation_makes_a_working_link(
    client, staff, invite, django_capture_on_commit_callbacks, mailoutbox
):
    invitation, _ = invite()
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(days=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_resend(invitation_id=invitation.pk, by=staff)
    assert client.get(_accept_path(mailoutbox[-1])).status_code == 200


def test_an_accepted_invitation_cannot_be_resent(client, staff, invite, mailoutbox):
    invitation, path = invite()
    client.post(
        path,
        {
            "first_name": "A",
            "last_name": "P",
            "password1": GOOD_PASSWORD,
            "password2": GOOD_PASSWORD,
        },
    )
    client.force_login(staff)
    response = client.post(reverse("accounts:invitation-resend", args=[invitation.pk]), follow=True)
    assert "This invitation has already been accepted." in response.content.decode()
    assert len(mailoutbox) == 1
    # Accepted invitations leave the "waiting to join" list.
    page = client.get(INVITATIONS_URL).content.decode()
    assert "new.person@example.org" not in page


def test_resending_an_unknown_invitation_is_404(client, staff):
    client.force_login(staff)
    response = client.post(reverse("accounts:invitation-resend", args=[999999]))
    assert response.status_code == 404


def test_resending_needs_post(client, staff, invite):
    invitation, _ = invite()
    client.force_login(staff)
    response = client.get(reverse("accounts:invitation-resend", args=[invitation.pk]))
    assert response.status_code == 405
