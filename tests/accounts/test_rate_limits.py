"""Rate limits as a client meets them: each limited page answers 429 with Retry-After on the
translated 429 page, the API with its error shape; behind trusted proxies the client's own
address is what counts, and a forged X-Forwarded-For moves nobody to another bucket.

Rates are shrunk with the ``settings`` fixture (the page limits read them per request); the
suite's autouse fixture gives every test an empty cache, where the counters live.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from rest_framework.throttling import SimpleRateThrottle

from cbportal.core.rate_limits import client_ip
from evaluations import services as evaluation_services
from tests.evaluations.builders import running_action
from tests.factories import UserFactory

LOGIN_URL = "/accounts/login/"
RESET_URL = "/accounts/password/reset/"
TOKEN_URL = "/api/v1/auth/token/"
INVITATIONS_URL = "/accounts/invitations/"


def assert_limited(response, *, within: int) -> None:
    """The 429 page, in the base layout, with a Retry-After a client can obey."""
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= within
    assert "429.html" in [t.name for t in response.templates]
    assert "base.html" in [t.name for t in response.templates]
    body = response.content.decode()
    assert 'data-testid="too-many-requests"' in body
    assert re.search(r'<p role="alert">\s*This was tried too many times', body)
    assert '<main id="main"' in body


# --- The client's address -------------------------------------------------------------------


def _request(remote="198.51.100.7", forwarded=None):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return SimpleNamespace(META=meta)


def test_without_a_trusted_proxy_the_address_is_the_peer(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(_request()) == "198.51.100.7"
    assert client_ip(_request(forwarded="203.0.113.5")) == "198.51.100.7"


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        # One proxy appends the client's address; whatever the client wrote stays left.
        (1, "203.0.113.5", "203.0.113.5"),
        (1, "6.6.6.6, 203.0.113.5", "203.0.113.5"),
        (1, " 203.0.113.5 ", "203.0.113.5"),
        (1, "2001:db8::1", "2001:db8::1"),
        # Two proxies: the outer one wrote the client's address, the inner one the outer's.
        (2, "6.6.6.6, 203.0.113.5, 10.0.0.2", "203.0.113.5"),
        # A chain shorter than the deployment's, or garbage, is not believed.
        (2, "203.0.113.5", "198.51.100.7"),
        (1, "", "198.51.100.7"),
        (1, "not-an-address", "198.51.100.7"),
        (1, "203.0.113.5, <script>", "198.51.100.7"),
    ],
)
def test_behind_trusted_proxies_the_address_is_the_one_they_saw(
    settings, count, forwarded, expected
):
    settings.TRUSTED_PROXY_COUNT = count
    assert client_ip(_request(forwarded=forwarded)) == expected


def test_page_limits_count_an_ipv6_client_by_its_network(client, db, settings):
    settings.LOGIN_RATE_LIMIT = "1/m"
    body = {"username": "x", "password": "y"}
    assert client.post(LOGIN_URL, body, REMOTE_ADDR="2001:db8:1:2::10").status_code == 200
    # Another address of the same /64: the same client.
    assert client.post(LOGIN_URL, body, REMOTE_ADDR="2001:db8:1:2::99").status_code == 429
    assert client.post(LOGIN_URL, body, REMOTE_ADDR="2001:db8:1:3::10").status_code == 200


def test_behind_a_proxy_without_the_header_the_address_is_the_peer(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(_request()) == "198.51.100.7"


# --- Sign-in page -------------------------------------------------------------------------


def test_the_sign_in_form_is_limited_per_address(client, partner, password, settings):
    settings.LOGIN_RATE_LIMIT = "2/m"
    for _attempt in range(2):
        assert client.post(LOGIN_URL, {"username": "x", "password": "y"}).status_code == 200

    limited = client.post(LOGIN_URL, {"username": "partner", "password": password})

    assert_limited(limited, within=60)
    assert "_auth_user_id" not in client.session
    # Showing the form is not limited, and another address may still sign in.
    assert client.get(LOGIN_URL).status_code == 200
    other = client.post(
        LOGIN_URL, {"username": "partner", "password": password}, REMOTE_ADDR="203.0.113.9"
    )
    assert other.status_code == 302


def test_the_limited_page_is_translated(client, db, settings):
    settings.LOGIN_RATE_LIMIT = "1/m"
    client.post(LOGIN_URL, {"username": "x", "password": "y"})
    limited = client.post(LOGIN_URL, {"username": "x", "password": "y"}, HTTP_ACCEPT_LANGUAGE="fr")
    assert limited.status_code == 429
    assert '<html lang="fr"' in limited.content.decode()


def test_the_lockout_and_the_page_limit_follow_the_client_behind_a_proxy(
    client, partner, password, settings
):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.LOGIN_RATE_LIMIT = "100/m"
    via_proxy = {"REMOTE_ADDR": "10.0.0.1"}
    for _attempt in range(5):
        client.post(
            LOGIN_URL,
            {"username": "partner", "password": "wrong-wrong"},
            HTTP_X_FORWARDED_FOR="203.0.113.5",
            **via_proxy,
        )
    locked = client.post(
        LOGIN_URL,
        {"username": "partner", "password": password},
        HTTP_X_FORWARDED_FOR="203.0.113.5",
        **via_proxy,
    )
    assert locked.status_code == 429
    # The same user from another client behind the same proxy is not locked out...
    other = client.post(
        LOGIN_URL,
        {"username": "partner", "password": password},
        HTTP_X_FORWARDED_FOR="198.51.100.20",
        **via_proxy,
    )
    assert other.status_code == 302
    client.post("/accounts/logout/")
    # ...and the locked-out client cannot get out by writing another address first.
    forged = client.post(
        LOGIN_URL,
        {"username": "partner", "password": password},
        HTTP_X_FORWARDED_FOR="198.51.100.20, 203.0.113.5",
        **via_proxy,
    )
    assert forged.status_code == 429


# --- Password reset -----------------------------------------------------------------------


@pytest.fixture
def post(client, django_capture_on_commit_callbacks):
    """``client.post`` that also runs what waits for the commit (emails, in eager mode)."""

    def send(*args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(*args, **kwargs)

    return send


def _without_tokens(response, email):
    """The page less what differs between any two answers: the address, the CSRF token,
    and the wait (django-ratelimit staggers windows by the key, whatever the key is)."""
    body = response.content.decode().replace(email, "")
    body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", body)
    return re.sub(r"in about \d+ minutes?", "", body)


def test_password_reset_is_limited_per_address(post, partner, settings, mailoutbox):
    settings.PASSWORD_RESET_RATE_LIMIT = "2/h"
    settings.PASSWORD_RESET_EMAIL_RATE_LIMIT = "100/h"
    for email in ("a@example.org", "b@example.org"):
        assert post(RESET_URL, {"email": email}).status_code == 302

    limited = post(RESET_URL, {"email": partner.email})

    assert_limited(limited, within=3600)
    assert mailoutbox == []
    other = post(RESET_URL, {"email": partner.email}, REMOTE_ADDR="203.0.113.9")
    assert other.status_code == 302
    assert len(mailoutbox) == 1


def test_password_reset_is_limited_per_target_address_from_anywhere(
    post, partner, settings, mailoutbox
):
    settings.PASSWORD_RESET_RATE_LIMIT = "100/h"
    settings.PASSWORD_RESET_EMAIL_RATE_LIMIT = "2/h"
    for n in range(2):
        response = post(RESET_URL, {"email": partner.email}, REMOTE_ADDR=f"203.0.113.{n}")
        assert response.status_code == 302
    assert len(mailoutbox) == 2

    # Another address, another letter case: still the same mailbox.
    limited = post(RESET_URL, {"email": f"  {partner.email.upper()} "}, REMOTE_ADDR="198.51.100.50")

    assert_limited(limited, within=3600)
    assert len(mailoutbox) == 2
    # Other mailboxes are not held back.
    assert post(RESET_URL, {"email": "someone@example.org"}).status_code == 302


def test_a_limited_reset_says_nothing_about_whether_the_account_exists(
    client, partner, settings, mailoutbox
):
    settings.PASSWORD_RESET_RATE_LIMIT = "100/h"
    settings.PASSWORD_RESET_EMAIL_RATE_LIMIT = "1/h"
    unknown = "nobody-here@example.org"
    answers = {}
    for email in (partner.email, unknown):
        first = client.post(RESET_URL, {"email": email})
        second = client.post(RESET_URL, {"email": email})
        answers[email] = (first.status_code, first.get("Location"), second.status_code)
        assert_limited(second, within=3600)
        answers[email] += (_without_tokens(second, email),)
    assert answers[partner.email] == answers[unknown]
    assert answers[unknown][:3] == (302, "/accounts/password/reset/done/", 429)


# --- Invitations --------------------------------------------------------------------------


def _invite(client, n):
    return client.post(
        INVITATIONS_URL,
        {
            "email": f"expert{n}@example.org",
            "first_name": "Ex",
            "last_name": f"Pert {n}",
            "role": "expert",
            "language": "en",
        },
    )


def test_sending_invitations_is_limited_per_staff_member(
    client, staff, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.INVITATION_SEND_RATE_LIMIT = "2/h"
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        first, second = _invite(client, 1), _invite(client, 2)
    assert (first.status_code, second.status_code) == (302, 302), first.content[:300]
    assert len(mailoutbox) == 2

    with django_capture_on_commit_callbacks(execute=True):
        limited = _invite(client, 3)

    assert_limited(limited, within=3600)
    assert len(mailoutbox) == 2
    # Sending again counts against the same limit.
    from cbportal.accounts.models import Invitation

    pending = Invitation.objects.first()
    assert client.post(f"/accounts/invitations/{pending.pk}/resend/").status_code == 429
    assert len(mailoutbox) == 2
    # The list still shows.
    assert client.get(INVITATIONS_URL).status_code == 200


def test_another_staff_member_may_still_invite(client, staff, admin_user, settings, mailoutbox):
    settings.INVITATION_SEND_RATE_LIMIT = "1/h"
    client.force_login(staff)
    assert _invite(client, 1).status_code == 302
    assert _invite(client, 2).status_code == 429
    client.force_login(admin_user)
    assert _invite(client, 3).status_code == 302


def test_answering_an_invitation_is_limited_per_address(client, db, settings):
    settings.INVITATION_ACCEPT_RATE_LIMIT = "2/m"
    url = "/accounts/invitation/not-a-real-token/"
    body = {"first_name": "A", "last_name": "B", "password1": "x", "password2": "x"}
    for _attempt in range(2):
        assert client.post(url, body).status_code == 400

    assert_limited(client.post(url, body), within=60)
    # Opening the link is not limited; another address is counted apart.
    assert client.get(url).status_code == 400
    assert client.post(url, body, REMOTE_ADDR="203.0.113.9").status_code == 400


def test_answering_an_expert_invitation_link_is_limited_per_expert(client, expert, settings):
    settings.EXPERT_INVITATION_LINK_RATE_LIMIT = "2/m"
    url = "/experts/invitations/answer/not-a-real-token/"
    client.force_login(expert)
    for _attempt in range(2):
        assert client.post(url, {"answer": "accept"}).status_code == 400

    assert_limited(client.post(url, {"answer": "accept"}), within=60)
    assert client.get(url).status_code == 400
    client.force_login(UserFactory(username="expert2", expert=True))
    assert client.post(url, {"answer": "accept"}).status_code == 400


# --- Public feedback behind a proxy ---------------------------------------------------------


def test_public_feedback_counts_each_client_behind_the_proxy(
    client, partner, staff, approver, evaluator, settings
):
    settings.FEEDBACK_RATE_LIMIT = "1/m"
    settings.TRUSTED_PROXY_COUNT = 1
    action = running_action(partner, staff, approver, evaluator=evaluator)
    activity = action.activities.order_by("pk").first()
    first, second = evaluation_services.feedback_links_create(
        activity_id=activity.pk, by=staff, count=2
    )

    def answer(link, forwarded):
        return client.post(
            f"/evaluations/feedback/{link.token}/",
            {"satisfaction": "4"},
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR=forwarded,
        )

    assert answer(first, "203.0.113.5").status_code == 302
    # Same participant: limited, whatever they write in front of the proxy's entry.
    limited = answer(second, "198.51.100.1, 203.0.113.5")
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) >= 1
    # Another participant behind the same proxy is not.
    assert answer(second, "198.51.100.1").status_code == 302


# --- API ------------------------------------------------------------------------------------


@pytest.fixture
def tiny_api_rates(monkeypatch):
    # DRF reads the rates once into a class attribute, so patch that, not settings.
    monkeypatch.setattr(
        SimpleRateThrottle,
        "THROTTLE_RATES",
        {"anon": "2/minute", "user": "2/minute", "token": "2/minute"},
    )


def test_the_api_throttles_each_user(api, partner, partner2, tiny_api_rates):
    api.force_authenticate(partner)
    for _attempt in range(2):
        assert api.get("/api/v1/me/").status_code == 200

    response = api.get("/api/v1/me/")

    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    body = response.json()
    assert body["type"] == "client_error"
    assert [(e["code"], e["attr"]) for e in body["errors"]] == [("throttled", None)]
    assert "throttled" in body["errors"][0]["detail"].lower()
    # Per user: another user of the same address is not held back.
    api.force_authenticate(partner2)
    assert api.get("/api/v1/me/").status_code == 200


def test_the_api_throttles_anonymous_clients_behind_a_proxy_by_their_address(
    api, db, settings, tiny_api_rates
):
    settings.TRUSTED_PROXY_COUNT = 1
    url = "/api/v1/countries/"
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    for _attempt in range(2):
        assert api.get(url, HTTP_X_FORWARDED_FOR="203.0.113.5", **proxy).status_code == 200
    forged = api.get(url, HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.5", **proxy)
    assert forged.status_code == 429
    assert int(forged["Retry-After"]) >= 1
    assert api.get(url, HTTP_X_FORWARDED_FOR="198.51.100.1", **proxy).status_code == 200


def test_the_token_endpoint_is_throttled_per_client_address_behind_a_proxy(
    api, partner, password, settings, tiny_api_rates
):
    settings.TRUSTED_PROXY_COUNT = 1
    credentials = {"username": "partner", "password": password}
    proxy = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.5"}
    for _attempt in range(2):
        assert api.post(TOKEN_URL, credentials, format="json", **proxy).status_code == 200
    limited = api.post(TOKEN_URL, credentials, format="json", **proxy)
    assert limited.status_code == 429
    assert limited.json()["errors"][0]["code"] == "throttled"
    assert int(limited["Retry-After"]) >= 1
    other = api.post(
        TOKEN_URL,
        credentials,
        format="json",
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="1.2.3.4",
    )
    assert other.status_code == 200
