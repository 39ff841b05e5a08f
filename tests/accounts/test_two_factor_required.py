"""Two-factor as production requires it (``TWO_FACTOR_REQUIRED_FOR_STAFF``): staff and
approvers without a verified second factor reach neither staff pages nor the API, whether
they come with a session or with an API token.

Tokens: the token endpoint asks for a code from anyone with an authenticator, so a token
made after the account's authenticator was set up was made with a code. One made before
(while the account had none, before the rule applied to it, or by hand) was not: where
two-factor is required it is refused (401) until its holder asks for a new one with a code,
which replaces it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from tests.accounts.test_two_factor import code_for, confirmed_device

LOGIN_URL = "/accounts/login/"
VERIFY_URL = "/accounts/login/verify/"
SETUP_URL = "/accounts/two-factor/"
TOKEN_URL = "/api/v1/auth/token/"
STAFF_PAGES = ["/", "/accounts/invitations/", "/requests/", "/experts/", "/admin/"]


@pytest.fixture
def required(settings):
    settings.TWO_FACTOR_REQUIRED_FOR_STAFF = True


def _errors(response):
    return [(e["code"], e["attr"]) for e in response.json()["errors"]]


def _older_token(user, *, than: TOTPDevice | None = None) -> Token:
    token = Token.objects.create(user=user)
    if than is not None:
        Token.objects.filter(pk=token.pk).update(created=than.created_at - timedelta(minutes=1))
        token.refresh_from_db()
    return token


# --- Pages ----------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["staff", "approver"])
def test_staff_and_approvers_without_a_device_are_sent_to_set_up(
    client, request, password, required, persona
):
    user = request.getfixturevalue(persona)
    response = client.post(LOGIN_URL, {"username": user.username, "password": password})
    assert response["Location"] == reverse("accounts:two-factor-verify")
    assert client.get(VERIFY_URL)["Location"] == f"{SETUP_URL}?required=1"

    for url in STAFF_PAGES:
        held = client.get(url)
        assert held.status_code == 302, url
        assert held["Location"] == reverse("accounts:two-factor-verify"), url
    assert client.get("/api/v1/me/").status_code == 403

    client.get(SETUP_URL)
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    assert client.post(SETUP_URL, {"token": code_for(device)}).status_code == 302
    assert client.get("/accounts/invitations/").status_code == 200
    assert client.get("/api/v1/me/").status_code == 200


def test_an_approver_with_a_device_needs_the_code_before_anything(
    client, approver, password, required
):
    device = confirmed_device(approver)
    client.post(LOGIN_URL, {"username": "approver", "password": password})
    # The password alone signs nobody in: the portal still sees a visitor.
    assert "core/landing.html" in [t.name for t in client.get("/").templates]
    assert client.get("/accounts/invitations/").status_code == 302
    assert client.get("/api/v1/me/").status_code == 401
    assert client.post(VERIFY_URL, {"token": code_for(device)}).status_code == 302
    assert "core/home_staff.html" in [t.name for t in client.get("/").templates]
    assert client.get("/api/v1/me/").json()["username"] == "approver"


# --- API tokens -----------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["staff", "approver"])
def test_no_token_without_a_device_when_required(api, request, password, required, persona):
    user = request.getfixturevalue(persona)
    response = api.post(
        TOKEN_URL,
        {"username": user.username, "password": password, "otp_token": "123456"},
        format="json",
    )
    assert response.status_code == 400
    assert _errors(response) == [("otp_invalid", "otp_token")]
    assert not Token.objects.filter(user=user).exists()


@pytest.mark.parametrize("persona", ["staff", "approver"])
def test_a_password_only_token_stops_working_when_two_factor_is_required(
    api, request, settings, persona
):
    user = request.getfixturevalue(persona)
    token = _older_token(user)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    settings.TWO_FACTOR_REQUIRED_FOR_STAFF = False
    assert api.get("/api/v1/me/").status_code == 200

    settings.TWO_FACTOR_REQUIRED_FOR_STAFF = True
    response = api.get("/api/v1/me/")

    assert response.status_code == 401
    assert _errors(response) == [("authentication_failed", None)]
    assert "one-time code" in response.json()["errors"][0]["detail"]


def test_a_token_from_before_the_authenticator_is_refused_then_replaced(
    api, staff, password, required
):
    device = confirmed_device(staff)
    old = _older_token(staff, than=device)
    api.credentials(HTTP_AUTHORIZATION=f"Token {old.key}")
    assert api.get("/api/v1/me/").status_code == 401

    api.credentials()
    issued = api.post(
        TOKEN_URL,
        {"username": "staff", "password": password, "otp_token": code_for(device)},
        format="json",
    )

    assert issued.status_code == 200
    new_key = issued.json()["token"]
    assert new_key != old.key
    assert not Token.objects.filter(key=old.key).exists()
    api.credentials(HTTP_AUTHORIZATION=f"Token {new_key}")
    assert api.get("/api/v1/me/").json()["username"] == "staff"


def test_a_token_issued_with_a_code_keeps_working(api, staff, password, required, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    device = confirmed_device(staff)
    first = api.post(
        TOKEN_URL,
        {"username": "staff", "password": password, "otp_token": code_for(device)},
        format="json",
    ).json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {first}")
    assert api.get("/api/v1/me/").status_code == 200
    assert api.get("/api/v1/organisations/").status_code == 200


def test_a_new_authenticator_voids_tokens_made_before_it(api, staff, password, required):
    old_device = confirmed_device(staff)
    token = Token.objects.create(user=staff)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.get("/api/v1/me/").status_code == 200

    # A lost phone: the authenticator is replaced.
    old_device.delete()
    new_device = TOTPDevice.objects.create(user=staff, name="New phone", confirmed=True)
    assert new_device.created_at > token.created

    assert api.get("/api/v1/me/").status_code == 401


def test_partners_tokens_are_not_affected(api, partner, required):
    token = Token.objects.create(user=partner)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.get("/api/v1/me/").status_code == 200
