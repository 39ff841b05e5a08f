"""Language of pages: the switcher, the saved user language, the profile form and the API."""

from __future__ import annotations

import re

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

SETLANG_URL = "/i18n/setlang/"
COOKIE = django_settings.LANGUAGE_COOKIE_NAME
UNAVAILABLE = "That language is not available. Choose English, French or Spanish."


def html_lang(response) -> str:
    match = re.search(r'<html lang="([^"]+)">', response.content.decode())
    assert match, "no <html lang> on the page"
    return match.group(1)


def test_pages_are_in_english_by_default(client, db):
    assert html_lang(client.get("/")) == "en"


def test_the_switcher_is_on_every_page(client, partner):
    assert f'action="{SETLANG_URL}"' in client.get("/").content.decode()
    client.force_login(partner)
    body = client.get("/").content.decode()
    assert f'action="{SETLANG_URL}"' in body
    assert '<option value="es" lang="es">' in body


def test_the_switcher_sets_the_language_for_a_visitor(client, db):
    response = client.post(SETLANG_URL, {"language": "fr", "next": "/"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert response.cookies[COOKIE].value == "fr"
    page = client.get("/")
    assert html_lang(page) == "fr"
    assert page["Content-Language"] == "fr"


def test_the_page_really_is_translated(client, db):
    client.post(SETLANG_URL, {"language": "fr", "next": "/"})
    # Django's own catalogue is French even where the portal's strings are not yet.
    response = client.post("/accounts/login/", {})
    assert "Ce champ est obligatoire." in response.content.decode()


def test_the_switcher_saves_a_signed_in_users_language(client, partner):
    client.force_login(partner)
    response = client.post(SETLANG_URL, {"language": "fr", "next": "/notifications/"})
    assert response.status_code == 302
    assert response["Location"] == "/notifications/"
    partner.refresh_from_db()
    assert partner.language == "fr"
    assert html_lang(client.get("/notifications/")) == "fr"


def test_the_saved_language_follows_the_user_to_a_new_browser(client, partner):
    client.force_login(partner)
    client.post(SETLANG_URL, {"language": "es", "next": "/"})
    client.cookies.clear()
    client.force_login(partner)
    assert html_lang(client.get("/")) == "es"


def test_the_switcher_refuses_an_unsupported_language(client, partner):
    client.force_login(partner)
    response = client.post(SETLANG_URL, {"language": "xx", "next": "/notifications/"})
    assert response.status_code == 302
    assert response["Location"] == "/notifications/"
    assert COOKIE not in response.cookies
    partner.refresh_from_db()
    assert partner.language == "en"
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert UNAVAILABLE in page.content.decode()
    assert html_lang(page) == "en"


def test_the_switcher_refuses_an_unsupported_language_for_a_visitor(client, db):
    response = client.post(SETLANG_URL, {"language": "xx"}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain == [(reverse("core:home"), 302)]
    assert UNAVAILABLE in response.content.decode()


def test_the_switcher_ignores_an_unsafe_next_url(client, db):
    response = client.post(SETLANG_URL, {"language": "xx", "next": "https://evil.example/"})
    assert response["Location"] == reverse("core:home")
    response = client.post(SETLANG_URL, {"language": "fr", "next": "https://evil.example/"})
    assert "evil.example" not in response["Location"]


def test_the_switcher_needs_post(client, db):
    assert client.get(SETLANG_URL, {"language": "fr"}).status_code == 405


@pytest.mark.parametrize("language", ["es", "fr"])
def test_a_users_saved_language_applies_without_a_cookie(client, partner, language):
    partner.language = language
    partner.save(update_fields=["language"])
    client.force_login(partner)
    assert COOKIE not in client.cookies
    assert html_lang(client.get("/")) == language
    assert html_lang(client.get(reverse("accounts:profile"))) == language


def test_the_cookie_wins_over_the_saved_language(client, partner):
    partner.language = "es"
    partner.save(update_fields=["language"])
    client.force_login(partner)
    client.cookies[COOKIE] = "fr"
    assert html_lang(client.get("/")) == "fr"


def test_a_visitor_gets_the_browsers_language(client, db):
    assert html_lang(client.get("/", HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9")) == "es"


def test_the_profile_form_saves_the_language_and_sets_the_cookie(client, expert):
    client.force_login(expert)
    page = client.get(reverse("accounts:profile"))
    assert page.context["form"]["language"].value() == "en"

    response = client.post(reverse("accounts:profile"), {"language": "es"})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:profile")
    assert response.cookies[COOKIE].value == "es"
    expert.refresh_from_db()
    assert expert.language == "es"
    page = client.get(response["Location"])
    assert html_lang(page) == "es"
    assert page.context["form"]["language"].value() == "es"


def test_the_profile_form_refuses_an_unsupported_language(client, expert):
    client.force_login(expert)
    response = client.post(reverse("accounts:profile"), {"language": "xx"})
    assert response.status_code == 200
    assert response.context["form"].errors["language"]
    expert.refresh_from_db()
    assert expert.language == "en"


def test_the_api_refuses_an_unsupported_language(api_as, partner):
    response = api_as(partner).patch("/api/v1/me/", {"language": "xx"}, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [e["attr"] for e in errors] == ["language"]
    assert errors[0]["detail"] == "Unsupported language “xx”: use en, fr or es."
    partner.refresh_from_db()
    assert partner.language == "en"


def test_the_api_changes_the_language(api_as, partner):
    response = api_as(partner).patch("/api/v1/me/", {"language": "fr"}, format="json")
    assert response.status_code == 200
    assert response.json()["language"] == "fr"
    partner.refresh_from_db()
    assert partner.language == "fr"


def test_the_api_refuses_to_change_the_role(api_as, partner):
    response = api_as(partner).patch("/api/v1/me/", {"role": "staff"}, format="json")
    assert response.status_code == 400
    assert [e["attr"] for e in response.json()["errors"]] == ["role"]
    partner.refresh_from_db()
    assert partner.role == "partner"


def test_the_api_language_error_follows_the_request_language(api_as, partner):
    client = api_as(partner)
    unknown = client.patch("/api/v1/me/", {"nope": "1"}, format="json", HTTP_ACCEPT_LANGUAGE="fr")
    # Other messages on the same endpoint are translated ...
    assert unknown.json()["errors"][0]["detail"] == "Champ inconnu."
    response = client.patch(
        "/api/v1/me/", {"language": "xx"}, format="json", HTTP_ACCEPT_LANGUAGE="fr"
    )
    assert response.status_code == 400
    # ... and so is the language error (a class-level message must be lazily translated).
    detail = response.json()["errors"][0]["detail"]
    assert "xx" in detail
    assert detail != "Unsupported language “xx”: use en, fr or es."
    assert detail.startswith("Langue")
