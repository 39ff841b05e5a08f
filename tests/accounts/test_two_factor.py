"""Two-factor authentication: set-up, sign-in with a code, enforcement for staff, the API."""

from __future__ import annotations

from base64 import b32encode

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from cbportal.accounts import services
from cbportal.core.errors import ApplicationError

LOGIN_URL = "/accounts/login/"
VERIFY_URL = "/accounts/login/verify/"
SETUP_URL = "/accounts/two-factor/"
QR_URL = "/accounts/two-factor/qr.svg"
DISABLE_URL = "/accounts/two-factor/disable/"
TOKEN_URL = "/api/v1/auth/token/"


def code_for(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def wrong_code_for(device: TOTPDevice) -> str:
    # Far from the current code; the tolerance window accepts only the neighbouring steps.
    return f"{(int(code_for(device)) + 500_000) % 1_000_000:06d}"


def confirmed_device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Phone", confirmed=True)


def _verified(client) -> bool:
    return DEVICE_ID_SESSION_KEY in client.session


def _signed_in_as(client, user) -> bool:
    return client.session.get(SESSION_KEY) == str(user.pk)


def _field_errors(response, field):
    return response.context["form"].errors.get(field, [])


def _api_errors(response):
    return {(e["attr"], e["code"]) for e in response.json()["errors"]}


# --- Set-up -----------------------------------------------------------------------------


def test_it_requires_sign_in_for_set_up(client, db):
    response = client.get(SETUP_URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_it_creates_a_pending_device_and_shows_its_secret(client, partner):
    client.force_login(partner)
    response = client.get(SETUP_URL)
    assert response.status_code == 200
    device = TOTPDevice.objects.get(user=partner)
    assert device.confirmed is False
    secret = b32encode(device.bin_key).decode()
    shown = response.context["secret"]
    assert shown.replace(" ", "") == secret
    assert f'data-testid="totp-secret">{shown}<' in response.content.decode()
    assert reverse("accounts:two-factor-qr") in response.content.decode()


def test_it_keeps_the_same_pending_device_on_reload(client, partner):
    client.force_login(partner)
    first = client.get(SETUP_URL).context["secret"]
    second = client.get(SETUP_URL).context["secret"]
    assert first == second
    assert TOTPDevice.objects.filter(user=partner).count() == 1


def test_it_turns_two_factor_on_with_a_correct_code(client, partner):
    client.force_login(partner)
    client.get(SETUP_URL)
    device = TOTPDevice.objects.get(user=partner, confirmed=False)
    response = client.post(SETUP_URL, {"token": code_for(device)})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:profile")
    device.refresh_from_db()
    assert device.confirmed is True
    assert _verified(client)
    profile = client.get(response["Location"])
    body = profile.content.decode()
    assert "Two-factor authentication is on." in body
    assert DISABLE_URL in body


def test_it_accepts_a_code_typed_with_spaces(client, partner):
    client.force_login(partner)
    client.get(SETUP_URL)
    device = TOTPDevice.objects.get(user=partner)
    code = code_for(device)
    response = client.post(SETUP_URL, {"token": f"{code[:3]} {code[3:]}"})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed


def test_it_refuses_a_wrong_code_with_a_field_error(client, partner):
    client.force_login(partner)
    client.get(SETUP_URL)
    device = TOTPDevice.objects.get(user=partner)
    response = client.post(SETUP_URL, {"token": wrong_code_for(device)})
    assert response.status_code == 200
    assert _field_errors(response, "token") == [
        "That code is not valid. Check your device's clock and try again."
    ]
    assert 'aria-invalid="true"' in response.content.decode()
    device.refresh_from_db()
    assert device.confirmed is False
    assert not _verified(client)


def test_it_refuses_letters_with_a_field_error(client, partner):
    client.force_login(partner)
    client.get(SETUP_URL)
    response = client.post(SETUP_URL, {"token": "abcdef"})
    assert response.status_code == 200
    assert _field_errors(response, "token") == ["Enter the digits shown by your authenticator app."]


def test_it_asks_to_start_again_when_nothing_is_pending(client, partner):
    client.force_login(partner)
    response = client.post(SETUP_URL, {"token": "123456"})
    assert response.status_code == 200
    assert _field_errors(response, "token") == [
        "Start the set-up again: no authenticator is waiting for confirmation."
    ]


def test_a_new_device_replaces_the_old_one(client, partner):
    old = confirmed_device(partner)
    client.force_login(partner)
    client.get(SETUP_URL)
    pending = TOTPDevice.objects.get(user=partner, confirmed=False)
    assert client.post(SETUP_URL, {"token": code_for(pending)}).status_code == 302
    assert list(TOTPDevice.objects.filter(user=partner)) == [pending]
    assert not TOTPDevice.objects.filter(pk=old.pk).exists()


def test_the_qr_code_is_an_svg_for_a_pending_device(client, partner):
    client.force_login(partner)
    client.get(SETUP_URL)
    response = client.get(QR_URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response["Cache-Control"] == "no-store"
    assert b"<svg" in response.content


def test_the_qr_code_is_404_without_a_pending_device(client, partner):
    confirmed_device(partner)
    client.force_login(partner)
    response = client.get(QR_URL)
    assert response.status_code == 404


def test_the_qr_code_requires_sign_in(client, db):
    response = client.get(QR_URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


# --- Sign-in with a second factor -------------------------------------------------------


def test_it_asks_for_a_code_after_the_password(client, partner, password):
    confirmed_device(partner)
    response = client.post(LOGIN_URL, {"username": "partner", "password": password})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:two-factor-verify")
    assert SESSION_KEY not in client.session
    # Not signed in yet: the home page is still the public landing page.
    assert "core/landing.html" in [t.name for t in client.get("/").templates]
    page = client.get(VERIFY_URL)
    assert page.status_code == 200
    assert 'autocomplete="one-time-code"' in page.content.decode()


def test_it_signs_in_after_a_valid_code(client, partner, password):
    device = confirmed_device(partner)
    client.post(LOGIN_URL, {"username": "partner", "password": password})
    response = client.post(VERIFY_URL, {"token": code_for(device)})
    assert response.status_code == 302
    assert response["Location"] == reverse("core:home")
    assert _signed_in_as(client, partner)
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert client.get("/").status_code == 200


def test_it_keeps_a_safe_next_url_through_the_second_step(client, partner, password):
    device = confirmed_device(partner)
    client.post(LOGIN_URL, {"username": "partner", "password": password, "next": "/notifications/"})
    response = client.post(VERIFY_URL, {"token": code_for(device)})
    assert response["Location"] == "/notifications/"


def test_it_drops_an_unsafe_next_url_through_the_second_step(client, partner, password):
    device = confirmed_device(partner)
    client.post(
        LOGIN_URL, {"username": "partner", "password": password, "next": "https://evil.example/"}
    )
    response = client.post(VERIFY_URL, {"token": code_for(device)})
    assert response["Location"] == reverse("core:home")


def test_it_refuses_an_invalid_code(client, partner, password):
    device = confirmed_device(partner)
    client.post(LOGIN_URL, {"username": "partner", "password": password})
    response = client.post(VERIFY_URL, {"token": wrong_code_for(device)})
    assert response.status_code == 200
    assert _field_errors(response, "token") == ["That code is not valid or has already been used."]
    assert SESSION_KEY not in client.session
    assert not _verified(client)


def test_it_refuses_a_code_that_was_already_used(client, partner, password, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    device = confirmed_device(partner)
    code = code_for(device)
    client.post(LOGIN_URL, {"username": "partner", "password": password})
    assert client.post(VERIFY_URL, {"token": code}).status_code == 302
    client.post("/accounts/logout/")

    client.post(LOGIN_URL, {"username": "partner", "password": password})
    response = client.post(VERIFY_URL, {"token": code})
    assert response.status_code == 200
    assert SESSION_KEY not in client.session


def test_it_accepts_a_valid_code_after_a_wrong_one(client, partner, password, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    device = confirmed_device(partner)
    client.post(LOGIN_URL, {"username": "partner", "password": password})
    assert client.post(VERIFY_URL, {"token": wrong_code_for(device)}).status_code == 200
    response = client.post(VERIFY_URL, {"token": code_for(device)})
    assert response.status_code == 302
    assert _signed_in_as(client, partner)


def test_the_verify_page_sends_strangers_to_sign_in(client, db):
    response = client.get(VERIFY_URL)
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login")


def test_a_user_without_a_device_signs_in_with_the_password_alone(client, expert, password):
    response = client.post(LOGIN_URL, {"username": "expert", "password": password})
    assert response["Location"] == reverse("core:home")
    assert _signed_in_as(client, expert)


# --- Required for staff -----------------------------------------------------------------


@pytest.fixture
def required(settings):
    settings.TWO_FACTOR_REQUIRED_FOR_STAFF = True


def test_it_sends_staff_without_a_device_to_set_up(client, staff, password, required):
    response = client.post(LOGIN_URL, {"username": "staff", "password": password})
    assert response["Location"] == reverse("accounts:two-factor-verify")
    response = client.get(VERIFY_URL)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:two-factor-setup')}?required=1"

    setup = client.get(response["Location"])
    assert setup.status_code == 200
    assert "Your role requires two-factor authentication" in setup.content.decode()

    # Not verified yet: the rest of the portal stays closed.
    home = client.get("/")
    assert home.status_code == 302
    assert home["Location"] == reverse("accounts:two-factor-verify")
    assert client.get("/notifications/").status_code == 302

    device = TOTPDevice.objects.get(user=staff, confirmed=False)
    assert client.post(SETUP_URL, {"token": code_for(device)}).status_code == 302
    assert _verified(client)
    home = client.get("/")
    assert home.status_code == 200
    assert "core/home_staff.html" in [t.name for t in home.templates]


def test_it_holds_back_an_unverified_staff_session(client, staff, required):
    device = confirmed_device(staff)
    client.force_login(staff)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:two-factor-verify")

    response = client.post(VERIFY_URL, {"token": code_for(device)})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_it_holds_back_an_administrator_too(client, admin_user, required):
    client.force_login(admin_user)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:two-factor-verify")


def test_it_does_not_require_two_factor_from_partners(client, partner, password, required):
    response = client.post(LOGIN_URL, {"username": "partner", "password": password})
    assert response["Location"] == reverse("core:home")
    assert client.get("/").status_code == 200


def test_it_leaves_staff_alone_when_not_required(client, staff, settings):
    settings.TWO_FACTOR_REQUIRED_FOR_STAFF = False
    client.force_login(staff)
    assert client.get("/").status_code == 200


def test_it_keeps_invitations_closed_to_an_unverified_staff_session(
    client, staff, password, required
):
    # Password only: the second step signs the user in so that set-up can follow.
    client.post(LOGIN_URL, {"username": "staff", "password": password})
    client.get(VERIFY_URL)
    assert _signed_in_as(client, staff)
    assert not _verified(client)
    response = client.get("/accounts/invitations/")
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:two-factor-verify")


def test_it_keeps_the_api_closed_to_an_unverified_staff_session(
    client, staff, password, organisation, other_organisation, required
):
    client.post(LOGIN_URL, {"username": "staff", "password": password})
    client.get(VERIFY_URL)
    assert _signed_in_as(client, staff)
    assert not _verified(client)
    response = client.get("/api/v1/organisations/")
    assert response.status_code in (401, 403)


def test_staff_cannot_turn_two_factor_off_when_required(client, staff, required):
    device = confirmed_device(staff)
    client.force_login(staff)
    client.post(VERIFY_URL, {"token": code_for(device)})
    profile = client.get(reverse("accounts:profile"))
    assert DISABLE_URL not in profile.content.decode()

    response = client.post(DISABLE_URL, follow=True)
    assert response.status_code == 200
    assert "Two-factor authentication is required for your role." in response.content.decode()
    assert TOTPDevice.objects.filter(pk=device.pk).exists()


def test_a_partner_can_turn_two_factor_off(client, partner):
    confirmed_device(partner)
    client.force_login(partner)
    response = client.post(DISABLE_URL, follow=True)
    assert "Two-factor authentication is off." in response.content.decode()
    assert not TOTPDevice.objects.filter(user=partner).exists()


def test_turning_two_factor_off_needs_post(client, partner):
    confirmed_device(partner)
    client.force_login(partner)
    assert client.get(DISABLE_URL).status_code == 405
    assert TOTPDevice.objects.filter(user=partner).exists()


def test_the_remove_service_refuses_staff_when_required(staff, required):
    confirmed_device(staff)
    with pytest.raises(ApplicationError):
        services.totp_device_remove(user=staff)
    assert TOTPDevice.objects.filter(user=staff).exists()


# --- API tokens -------------------------------------------------------------------------


def test_the_api_gives_a_token_for_a_password_alone_without_a_device(api, partner, password):
    response = api.post(TOKEN_URL, {"username": "partner", "password": password}, format="json")
    assert response.status_code == 200
    assert len(response.json()["token"]) == 40


def test_the_api_refuses_a_wrong_password(api, partner):
    response = api.post(TOKEN_URL, {"username": "partner", "password": "nope-nope"}, format="json")
    assert response.status_code == 400
    assert "token" not in response.json()


def test_the_api_requires_a_code_from_a_user_with_a_device(api, partner, password):
    confirmed_device(partner)
    response = api.post(TOKEN_URL, {"username": "partner", "password": password}, format="json")
    assert response.status_code == 400
    assert _api_errors(response) == {("otp_token", "otp_required")}


def test_the_api_refuses_a_wrong_code(api, partner, password):
    device = confirmed_device(partner)
    response = api.post(
        TOKEN_URL,
        {"username": "partner", "password": password, "otp_token": wrong_code_for(device)},
        format="json",
    )
    assert response.status_code == 400
    assert _api_errors(response) == {("otp_token", "otp_invalid")}


def test_the_api_gives_a_token_with_a_valid_code(api, partner, password):
    device = confirmed_device(partner)
    response = api.post(
        TOKEN_URL,
        {"username": "partner", "password": password, "otp_token": code_for(device)},
        format="json",
    )
    assert response.status_code == 200
    token = response.json()["token"]
    me = api.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token}")
    assert me.status_code == 200
    assert me.json()["username"] == "partner"


def test_the_api_requires_a_code_from_staff_when_required(api, staff, password, required):
    response = api.post(TOKEN_URL, {"username": "staff", "password": password}, format="json")
    assert response.status_code == 400
    assert _api_errors(response) == {("otp_token", "otp_required")}
