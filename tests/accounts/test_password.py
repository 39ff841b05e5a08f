"""Changing a password, and resetting a forgotten one by email through the outbox."""

from __future__ import annotations

import email
import re
from datetime import datetime, timedelta
from unittest import mock

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse

from cbportal.core import notifications
from cbportal.core.models import DeliveryStatus, Notification, NotificationCategory
from tests.core.test_celery_worker import worker_fixture  # noqa: F401 - a fixture
from tests.factories import UserFactory
from tests.workers import wait_until, workers_fixture  # noqa: F401 - a fixture among them

CHANGE_URL = "/accounts/password/change/"
RESET_URL = "/accounts/password/reset/"
NEW_PASSWORD = "Quiet-Harbour-Lantern-7"


def test_the_change_page_needs_sign_in(client, db):
    response = client.get(CHANGE_URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_it_changes_the_password(client, partner, password):
    client.force_login(partner)
    page = client.get(CHANGE_URL)
    assert page.status_code == 200
    assert set(page.context["form"].fields) == {"old_password", "new_password1", "new_password2"}

    response = client.post(
        CHANGE_URL,
        {"old_password": password, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password-change-done")
    partner.refresh_from_db()
    assert partner.check_password(NEW_PASSWORD)
    # The session survives the change (update_session_auth_hash).
    done = client.get(response["Location"])
    assert done.status_code == 200
    assert "Your password was changed" in done.content.decode()

    client.post("/accounts/logout/")
    login = client.post("/accounts/login/", {"username": "partner", "password": NEW_PASSWORD})
    assert login.status_code == 302
    assert client.session[SESSION_KEY] == str(partner.pk)


def test_it_refuses_a_wrong_old_password(client, partner, password):
    client.force_login(partner)
    response = client.post(
        CHANGE_URL,
        {
            "old_password": "not-it-at-all",
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 200
    assert "old_password" in response.context["form"].errors
    partner.refresh_from_db()
    assert partner.check_password(password)


def test_it_refuses_a_weak_new_password(client, partner, password):
    client.force_login(partner)
    response = client.post(
        CHANGE_URL, {"old_password": password, "new_password1": "abc", "new_password2": "abc"}
    )
    assert response.status_code == 200
    assert "new_password2" in response.context["form"].errors
    partner.refresh_from_db()
    assert partner.check_password(password)


def _links(text: str) -> list[str]:
    """Reset-link paths in ``text``; links are absolute, on SITE_URL (never the request's
    Host header)."""
    pattern = re.escape(settings.SITE_URL) + r"(/accounts/reset/[^/\s\"<>]+/[^/\s\"<>]+/)"
    return re.findall(pattern, text)


def _reset_link(message) -> str:
    """The one reset link of a delivered email; the HTML part carries the same one."""
    links = _links(message.body)
    assert len(links) == 1, message.body
    assert links[0] in message.alternatives[0][0]
    return links[0]


@pytest.fixture
def request_reset(client, django_capture_on_commit_callbacks):
    """``request_reset(email)`` posts the reset form, runs what waits for the commit (the
    email's delivery, in eager mode) and checks the visitor lands on the "done" page."""

    def post(email):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(RESET_URL, {"email": email})
        assert response.status_code == 302
        assert response["Location"] == reverse("accounts:password-reset-done")
        return response

    return post


def _set_password_via(client, link):
    """Follow a reset link to the set-password form (Django swaps the token for a session
    key and redirects to a tokenless URL) and return that form's URL."""
    response = client.get(link, follow=True)
    assert response.status_code == 200
    assert response.context["validlink"] is True
    form_url = response.redirect_chain[-1][0]
    assert "set-password" in form_url
    return form_url


def test_the_reset_page_shows_a_form(client, db):
    response = client.get(RESET_URL)
    assert response.status_code == 200
    assert 'name="email"' in response.content.decode()


def test_a_password_reset_works_once(client, partner, password, mailoutbox, request_reset):
    request_reset("partner@example.org")
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["partner@example.org"]
    assert message.subject == "Choose a new CB Portal password"
    assert "Hello partner," in message.body
    link = _reset_link(message)
    assert reverse("accounts:password-reset-confirm", args=link.strip("/").split("/")[-2:]) == link

    form_url = _set_password_via(client, link)
    response = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password-reset-complete")
    assert "Your new password is saved" in client.get(response["Location"]).content.decode()
    partner.refresh_from_db()
    assert partner.check_password(NEW_PASSWORD)
    assert not partner.check_password(password)

    # The same link again: the token is spent because the password changed.
    client.cookies.clear()
    reused = client.get(link, follow=True)
    assert reused.status_code == 200
    assert reused.context["validlink"] is False
    assert "This link cannot be used" in reused.content.decode()


def test_the_email_goes_through_the_outbox_without_a_token_in_it(
    client, partner, mailoutbox, request_reset
):
    request_reset("partner@example.org")
    row = Notification.objects.get(recipient=partner)
    assert row.event == "password_reset"
    assert row.category == NotificationCategory.ACCOUNT
    assert row.email_status == DeliveryStatus.SENT
    assert row.attempts == 1
    # The link was made when the email was sent: nothing stored could reset the password.
    token = _reset_link(mailoutbox[0]).strip("/").split("/")[-1]
    stored = Notification.objects.filter(pk=row.pk).values().get()
    assert all(token not in str(value) for value in stored.values())
    assert row.context == {}


def test_a_reset_asked_while_the_broker_is_down_is_delivered_by_the_sweep(
    client, partner, mailoutbox, request_reset
):
    with mock.patch(
        "cbportal.core.tasks.deliver_notification.delay", side_effect=OSError("broker down")
    ):
        request_reset("partner@example.org")  # the visitor still sees the "done" page
    row = Notification.objects.get(recipient=partner, event="password_reset")
    assert row.email_status == DeliveryStatus.PENDING
    assert mailoutbox == []

    assert notifications.sweep() == 1
    assert len(mailoutbox) == 1
    form_url = _set_password_via(client, _reset_link(mailoutbox[0]))
    client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    partner.refresh_from_db()
    assert partner.check_password(NEW_PASSWORD)


def test_a_failed_send_is_retried_and_its_link_still_works(
    client, partner, mailoutbox, request_reset
):
    with mock.patch(
        "django.core.mail.EmailMultiAlternatives.send",
        side_effect=ConnectionRefusedError("smtp down"),
    ):
        request_reset("partner@example.org")
    row = Notification.objects.get(recipient=partner, event="password_reset")
    assert row.email_status == DeliveryStatus.PENDING
    assert "smtp down" in row.last_error
    assert mailoutbox == []

    assert notifications.deliver(row.pk) == "sent"
    _set_password_via(client, _reset_link(mailoutbox[0]))


def test_the_link_expires_after_the_reset_timeout(client, partner, mailoutbox, request_reset):
    request_reset("partner@example.org")
    link = _reset_link(mailoutbox[0])
    later = datetime.now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 60)
    with mock.patch.object(default_token_generator, "_now", return_value=later):
        response = client.get(link, follow=True)
    assert response.context["validlink"] is False


def test_the_address_is_matched_without_regard_to_case(partner, mailoutbox, request_reset):
    request_reset("Partner@EXAMPLE.org")
    assert [m.to for m in mailoutbox] == [["partner@example.org"]]


def test_the_email_is_in_the_account_holders_language(partner, mailoutbox, request_reset):
    partner.language = "fr"
    partner.save(update_fields=["language"])
    request_reset("partner@example.org")
    assert mailoutbox[0].subject == "Choisissez un nouveau mot de passe pour CB Portal"
    _reset_link(mailoutbox[0])


def test_it_is_emailed_at_once_whatever_the_delivery_defaults(
    partner, mailoutbox, request_reset, settings
):
    settings.NOTIFICATION_DEFAULT_MODE = "in_app"
    request_reset("partner@example.org")
    assert len(mailoutbox) == 1


@pytest.mark.parametrize(
    "email",
    ["nobody@example.org", "inactive@example.org", "no-password@example.org"],
    ids=["unknown", "inactive", "unusable-password"],
)
def test_a_reset_no_account_can_use_sends_nothing_and_says_the_same(
    client, partner, email, mailoutbox, request_reset
):
    UserFactory(username="inactive", email="inactive@example.org", is_active=False)
    UserFactory(username="no-password", email="no-password@example.org", password="!")
    known = request_reset("partner@example.org")
    mailoutbox.clear()
    response = request_reset(email)
    # No account enumeration: the same redirect to the same page.
    assert response["Location"] == known["Location"]
    assert client.get(response["Location"]).status_code == 200
    assert mailoutbox == []
    assert not Notification.objects.filter(recipient__email=email).exists()


def test_a_reset_with_mismatched_passwords_keeps_the_old_one(
    client, partner, password, mailoutbox, request_reset
):
    request_reset("partner@example.org")
    form_url = _set_password_via(client, _reset_link(mailoutbox[0]))
    response = client.post(
        form_url, {"new_password1": NEW_PASSWORD, "new_password2": "different-1234"}
    )
    assert response.status_code == 200
    assert "new_password2" in response.context["form"].errors
    partner.refresh_from_db()
    assert partner.check_password(password)


def test_a_garbled_reset_link_cannot_be_used(client, partner):
    response = client.get(reverse("accounts:password-reset-confirm", args=["MQ", "bad-token"]))
    assert response.status_code == 200
    assert response.context["validlink"] is False
    assert "This link cannot be used" in response.content.decode()


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_delivers_a_reset_link_that_works(client, worker, partner):
    """A real Celery worker process on Redis (skipped without PostgreSQL and Redis)."""
    process, mail_dir = worker
    response = client.post(RESET_URL, {"email": "partner@example.org"})
    assert response["Location"] == reverse("accounts:password-reset-done")
    row = Notification.objects.get(recipient=partner, event="password_reset")
    wait_until(
        lambda: Notification.objects.get(pk=row.pk).email_status == DeliveryStatus.SENT,
        30,
        "the reset email delivered",
        process.describe,
    )
    (sent,) = mail_dir.iterdir()
    message = email.message_from_string(sent.read_text())
    assert message["To"] == "partner@example.org"
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    (link,) = _links(text.get_payload(decode=True).decode())
    form_url = _set_password_via(client, link)
    client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    partner.refresh_from_db()
    assert partner.check_password(NEW_PASSWORD)
