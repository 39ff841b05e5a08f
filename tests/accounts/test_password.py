"""Changing a password, and resetting a forgotten one by email."""

from __future__ import annotations

import re

from django.contrib.auth import SESSION_KEY
from django.urls import reverse

CHANGE_URL = "/accounts/password/change/"
RESET_URL = "/accounts/password/reset/"
NEW_PASSWORD = "Quiet-Harbour-Lantern-7"
RESET_LINK = re.compile(r"https?://testserver(/accounts/reset/[^/\s\"<>]+/[^/\s\"<>]+/)")


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


def _request_reset(client, email, mailoutbox):
    response = client.post(RESET_URL, {"email": email})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password-reset-done")
    return response


def test_the_reset_page_shows_a_form(client, db):
    response = client.get(RESET_URL)
    assert response.status_code == 200
    assert 'name="email"' in response.content.decode()


def test_a_password_reset_works_once(client, partner, password, mailoutbox):
    _request_reset(client, "partner@example.org", mailoutbox)
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["partner@example.org"]
    assert message.subject == "Choose a new CB Portal password"
    links = RESET_LINK.findall(message.body)
    assert len(links) == 1
    link = links[0]
    assert link in message.alternatives[0][0]
    assert reverse("accounts:password-reset-confirm", args=link.strip("/").split("/")[-2:]) == link

    # Django swaps the token for a session key and redirects to a tokenless URL.
    response = client.get(link, follow=True)
    assert response.status_code == 200
    assert response.context["validlink"] is True
    form_url = response.redirect_chain[-1][0]
    assert "set-password" in form_url

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


def test_a_reset_with_mismatched_passwords_keeps_the_old_one(client, partner, password, mailoutbox):
    _request_reset(client, "partner@example.org", mailoutbox)
    link = RESET_LINK.findall(mailoutbox[0].body)[0]
    form_url = client.get(link, follow=True).redirect_chain[-1][0]
    response = client.post(
        form_url, {"new_password1": NEW_PASSWORD, "new_password2": "different-1234"}
    )
    assert response.status_code == 200
    assert "new_password2" in response.context["form"].errors
    partner.refresh_from_db()
    assert partner.check_password(password)


def test_a_reset_for_an_unknown_address_sends_nothing_and_says_the_same(client, db, mailoutbox):
    response = client.post(RESET_URL, {"email": "nobody@example.org"})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password-reset-done")
    assert mailoutbox == []


def test_a_garbled_reset_link_cannot_be_used(client, partner):
    response = client.get(reverse("accounts:password-reset-confirm", args=["MQ", "bad-token"]))
    assert response.status_code == 200
    assert response.context["validlink"] is False
    assert "This link cannot be used" in response.content.decode()
