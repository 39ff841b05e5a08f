"""Sign-in and sign-out through the real login form, including django-axes lockout."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import SESSION_KEY
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

LOGIN_URL = "/accounts/login/"
INVALID_LOGIN = "The username and password do not match an active account."


def _login(client, username, password, **extra):
    return client.post(LOGIN_URL, {"username": username, "password": password, **extra})


def _signed_in_as(client, user) -> bool:
    return client.session.get(SESSION_KEY) == str(user.pk)


def test_it_shows_the_login_form(client, db):
    response = client.get(LOGIN_URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="username"' in body
    assert 'name="password"' in body
    assert 'autocomplete="current-password"' in body


@pytest.mark.parametrize("persona", ["partner", "staff", "approver", "expert", "evaluator"])
def test_it_signs_in_and_redirects_to_the_role_home(client, request, password, persona):
    user = request.getfixturevalue(persona)
    response = _login(client, user.username, password)
    assert response.status_code == 302
    assert response["Location"] == reverse("core:home")
    assert _signed_in_as(client, user)

    home = client.get(response["Location"])
    assert home.status_code == 200
    assert 'data-testid="home-heading"' in home.content.decode()


def test_it_shows_the_role_specific_home_after_sign_in(client, partner, password):
    response = _login(client, "partner", password)
    home = client.get(response["Location"])
    assert "core/home_partner.html" in [t.name for t in home.templates]


def test_it_refuses_a_wrong_password_with_a_clear_error(client, partner):
    response = _login(client, "partner", "not-the-password")
    assert response.status_code == 200
    assert INVALID_LOGIN in response.content.decode()
    assert response.context["form"].non_field_errors()
    assert not _signed_in_as(client, partner)


def test_it_refuses_an_unknown_user_with_the_same_error(client, db):
    response = _login(client, "nobody", "whatever-password")
    assert response.status_code == 200
    assert INVALID_LOGIN in response.content.decode()


def test_it_refuses_an_empty_form_with_field_errors(client, db):
    response = client.post(LOGIN_URL, {})
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) == {"username", "password"}


def test_it_refuses_an_inactive_user(client, partner, password):
    partner.is_active = False
    partner.save(update_fields=["is_active"])
    response = _login(client, "partner", password)
    assert response.status_code == 200
    assert INVALID_LOGIN in response.content.decode()
    assert SESSION_KEY not in client.session


def test_it_is_case_sensitive_on_the_password(client, partner, password):
    response = _login(client, "partner", password.upper())
    assert response.status_code == 200
    assert not _signed_in_as(client, partner)


def test_it_honours_a_safe_next_url(client, partner, password):
    response = _login(client, "partner", password, next="/notifications/?unread=1")
    assert response.status_code == 302
    assert response["Location"] == "/notifications/?unread=1"


def test_it_honours_an_absolute_next_url_on_the_same_host(client, partner, password):
    response = _login(client, "partner", password, next="http://testserver/accounts/profile/")
    assert response.status_code == 302
    assert response["Location"] == "http://testserver/accounts/profile/"


def test_it_passes_next_from_the_query_string_into_the_form(client, db):
    response = client.get(LOGIN_URL + "?next=/notifications/")
    assert 'name="next" value="/notifications/"' in response.content.decode()


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/",
        "//evil.example/steal",
        "http://evil.example/accounts/login/",
        "javascript:alert(1)",
        "/\\evil.example",
    ],
)
def test_it_ignores_an_unsafe_next_url(client, partner, password, next_url):
    response = _login(client, "partner", password, next=next_url)
    assert response.status_code == 302
    assert response["Location"] == reverse("core:home")


def test_it_sends_a_signed_in_user_away_from_the_login_page(client, partner):
    client.force_login(partner)
    response = client.get(LOGIN_URL)
    assert response.status_code == 302
    assert response["Location"] == reverse("core:home")


def test_it_signs_out_with_post(client, partner):
    client.force_login(partner)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login")
    assert SESSION_KEY not in client.session
    # The home page is the public landing page again.
    landing = client.get("/")
    assert "core/landing.html" in [t.name for t in landing.templates]


def test_it_does_not_sign_out_with_get(client, partner):
    client.force_login(partner)
    response = client.get("/accounts/logout/")
    assert response.status_code == 405
    assert _signed_in_as(client, partner)


# --- Lockout (django-axes) --------------------------------------------------------------


def _fail(client, username, times):
    responses = []
    for _ in range(times):
        responses.append(_login(client, username, "wrong-password-123"))
    return responses


def test_it_keeps_showing_the_form_below_the_failure_limit(client, partner, settings):
    responses = _fail(client, "partner", settings.AXES_FAILURE_LIMIT - 1)
    assert [r.status_code for r in responses] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    assert all(INVALID_LOGIN in r.content.decode() for r in responses)


def test_it_locks_out_after_the_failure_limit(client, partner, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    responses = _fail(client, "partner", 5)
    assert [r.status_code for r in responses[:4]] == [200] * 4
    locked = responses[4]
    # AXES_LOCKOUT_TEMPLATE renders with AXES_HTTP_RESPONSE_CODE (default 429).
    assert locked.status_code == 429
    assert "accounts/locked_out.html" in [t.name for t in locked.templates]
    assert "Too many failed sign-in attempts" in locked.content.decode()
    assert locked["Retry-After"] == str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    assert AccessAttempt.objects.filter(username="partner").get().failures_since_start == 5


def test_it_refuses_the_correct_password_while_locked_out(client, partner, password):
    _fail(client, "partner", 5)
    response = _login(client, "partner", password)
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert SESSION_KEY not in client.session


def test_it_locks_out_one_username_only(client, partner, partner2, password):
    _fail(client, "partner", 5)
    response = _login(client, "partner2", password)
    assert response.status_code == 302
    assert _signed_in_as(client, partner2)


def test_it_locks_out_one_address_only(client, partner, password):
    _fail(client, "partner", 5)
    response = client.post(
        LOGIN_URL,
        {"username": "partner", "password": password},
        REMOTE_ADDR="203.0.113.9",
    )
    assert response.status_code == 302
    assert _signed_in_as(client, partner)


def test_it_lets_the_user_in_again_after_the_cool_off(client, partner, password, settings):
    _fail(client, "partner", 5)
    assert _login(client, "partner", password).status_code == 429
    # Age the recorded failures past the cool-off period.
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    )
    response = _login(client, "partner", password)
    assert response.status_code == 302
    assert _signed_in_as(client, partner)


def test_it_resets_the_failure_count_on_success(client, partner, password):
    _fail(client, "partner", 4)
    assert _login(client, "partner", password).status_code == 302
    client.post("/accounts/logout/")
    # Four more failures would have locked out a counter that was not reset.
    responses = _fail(client, "partner", 4)
    assert [r.status_code for r in responses] == [200] * 4
    assert _login(client, "partner", password).status_code == 302


def test_the_locked_out_page_offers_a_password_reset(client, partner):
    locked = _fail(client, "partner", 5)[-1]
    assert reverse("accounts:password-reset") in locked.content.decode()


def test_the_api_token_endpoint_counts_towards_the_lockout(api, partner, password):
    for _ in range(5):
        api.post(
            "/api/v1/auth/token/",
            {"username": "partner", "password": "wrong-password-123"},
            format="json",
        )
    response = api.post(
        "/api/v1/auth/token/", {"username": "partner", "password": password}, format="json"
    )
    assert response.status_code == 429
    assert not Token.objects.filter(user=partner).exists()


def test_the_api_token_endpoint_reports_a_lockout_as_json(api, partner, password):
    for _ in range(5):
        api.post(
            "/api/v1/auth/token/",
            {"username": "partner", "password": "wrong-password-123"},
            format="json",
        )
    response = api.post(
        "/api/v1/auth/token/", {"username": "partner", "password": password}, format="json"
    )
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert [e["code"] for e in response.json()["errors"]] == ["throttled"]
    assert response["Retry-After"] == str(15 * 60)


DEMO_HOMES = {
    "partner": "core/home_partner.html",
    "partner2": "core/home_partner.html",
    "staff": "core/home_staff.html",
    "approver": "core/home_staff.html",
    "expert": "core/home_expert.html",
    "evaluator": "core/home_evaluator.html",
    "admin": "core/home_staff.html",
}


def test_the_demo_accounts_sign_in_to_their_home_pages(client, db):
    from django.core.management import call_command

    call_command("seed_demo", "--quiet")
    for username, template in DEMO_HOMES.items():
        response = _login(client, username, "cbportal-demo")
        assert response.status_code == 302, username
        assert response["Location"] == reverse("core:home")
        home = client.get("/")
        assert template in [t.name for t in home.templates], username
        client.post("/accounts/logout/")
