"""The notification preferences page (everyone signed in), the organisation defaults page
(programme staff) and how their choices route the next notification."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from cbportal.core import notifications
from cbportal.core.models import (
    CONFIGURABLE_CATEGORIES,
    DeliveryStatus,
    NotificationPreference,
    OrganisationNotificationDefault,
)
from tests.factories import UserFactory

PREFERENCES_URL = reverse("core:notification-preferences")
DEFAULTS_URL = reverse("core:organisation-notification-defaults")

# One event of each category, with subjects that render without a target object.
EVENT_OF = {
    "account": "account_invited",
    "requests": "request_submitted",
    "actions": "action_approved",
    "deployments": "deployment_invited",
    "evaluations": "evaluator_assigned",
    "reminders": "measurement_due",
}


def modes(**chosen: str) -> dict[str, str]:
    """A complete form body: "default" for every category not named."""
    return {c: chosen.get(c, "default") for c in CONFIGURABLE_CATEGORIES}


def routed(user: Any, category: str) -> str:
    """The email status the next notification of ``category`` gets for ``user``."""
    event = EVENT_OF[category]
    notifications.notify_on_commit(event, None, [user])
    return user.notifications.filter(event=event).latest("id").email_status


def checked(response: Any) -> dict[str, str]:
    html = response.content.decode()
    return dict(re.findall(r'<input type="radio" name="(\w+)" value="(\w+)"[^>]*checked', html))


# --- Who may see them -------------------------------------------------------------------


@pytest.mark.parametrize("url", [PREFERENCES_URL, DEFAULTS_URL])
def test_it_sends_anonymous_visitors_to_sign_in(url, client):
    for response in (client.get(url), client.post(url, modes())):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize("who", ["partner", "partner2", "staff", "approver", "expert", "evaluator"])
def test_everyone_signed_in_has_a_preferences_page(who, personas, client):
    client.force_login(personas[who])
    response = client.get(PREFERENCES_URL)
    assert response.status_code == 200
    html = response.content.decode()
    for category in CONFIGURABLE_CATEGORIES:
        assert f'name="{category}"' in html
    assert 'name="account"' not in html  # always emailed at once


@pytest.mark.parametrize("who", ["partner", "expert", "evaluator"])
def test_only_programme_staff_set_organisation_defaults(who, personas, client, organisation):
    client.force_login(personas[who])
    assert client.get(DEFAULTS_URL).status_code == 403
    response = client.post(
        f"{DEFAULTS_URL}?organisation={organisation.pk}", modes(requests="in_app")
    )
    assert response.status_code == 403
    assert not OrganisationNotificationDefault.objects.exists()


@pytest.mark.parametrize("who", ["staff", "approver", "admin_user"])
def test_programme_staff_see_the_defaults_page(who, request, client, organisation):
    client.force_login(request.getfixturevalue(who))
    assert client.get(DEFAULTS_URL).status_code == 200
    response = client.get(DEFAULTS_URL, {"organisation": organisation.pk})
    assert response.status_code == 200
    assert f'name="{CONFIGURABLE_CATEGORIES[0]}"' in response.content.decode()


# --- Links ------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["partner", "expert", "evaluator", "staff"])
def test_the_notifications_page_links_to_the_preferences(who, personas, client):
    client.force_login(personas[who])
    html = client.get(reverse("core:notifications")).content.decode()
    assert f'href="{PREFERENCES_URL}" data-testid="preferences-link"' in html


@pytest.mark.parametrize(
    ("who", "sees"),
    [("partner", False), ("expert", False), ("evaluator", False), ("staff", True)],
)
def test_the_navigation_links_staff_to_delivery_and_defaults(who, sees, personas, client):
    client.force_login(personas[who])
    html = client.get(reverse("core:notifications")).content.decode()
    assert (f'href="{reverse("core:outbox")}"' in html) is sees
    assert (f'href="{DEFAULTS_URL}"' in html) is sees


# --- Saving preferences -----------------------------------------------------------------


def test_saved_preferences_round_trip(client, partner):
    client.force_login(partner)
    assert set(checked(client.get(PREFERENCES_URL)).values()) == {"default"}
    response = client.post(
        PREFERENCES_URL, modes(requests="digest", actions="in_app", evaluations="immediate")
    )
    assert response.status_code == 302
    assert response["Location"] == PREFERENCES_URL
    saved = dict(
        NotificationPreference.objects.filter(user=partner).values_list("category", "mode")
    )
    assert saved == {"requests": "digest", "actions": "in_app", "evaluations": "immediate"}
    page = client.get(PREFERENCES_URL)
    assert "Your notification preferences are saved." in page.content.decode()
    assert checked(page) == {
        "requests": "digest",
        "actions": "in_app",
        "deployments": "default",
        "evaluations": "immediate",
        "reminders": "default",
    }
    # Back to the default removes the user's own choice.
    client.post(PREFERENCES_URL, modes(requests="digest"))
    assert dict(
        NotificationPreference.objects.filter(user=partner).values_list("category", "mode")
    ) == {"requests": "digest"}


def test_saved_preferences_route_the_next_notification(client, expert):
    client.force_login(expert)
    client.post(PREFERENCES_URL, modes(requests="digest", actions="in_app"))
    assert routed(expert, "requests") == DeliveryStatus.DIGEST
    assert routed(expert, "actions") == DeliveryStatus.SKIPPED
    assert routed(expert, "deployments") == DeliveryStatus.PENDING  # the programme default


def test_account_messages_are_always_emailed_at_once(client, expert):
    client.force_login(expert)
    client.post(PREFERENCES_URL, {**modes(), **dict.fromkeys(CONFIGURABLE_CATEGORIES, "in_app")})
    # A forged "account" field is ignored: the form does not have it.
    client.post(
        PREFERENCES_URL,
        {**dict.fromkeys(CONFIGURABLE_CATEGORIES, "in_app"), "account": "in_app"},
    )
    assert not NotificationPreference.objects.filter(category="account").exists()
    assert all(routed(expert, c) == DeliveryStatus.SKIPPED for c in CONFIGURABLE_CATEGORIES)
    assert routed(expert, "account") == DeliveryStatus.PENDING


@pytest.mark.parametrize(
    "data",
    [
        modes(requests="sometimes"),
        {**modes(), "requests": ""},
        {k: v for k, v in modes().items() if k != "actions"},
    ],
)
def test_invalid_preferences_answer_400_and_save_nothing(data, client, partner):
    client.force_login(partner)
    data = {**data, "deployments": "digest"}  # a valid choice next to the bad one
    response = client.post(PREFERENCES_URL, data)
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    assert not NotificationPreference.objects.exists()


# --- Organisation defaults --------------------------------------------------------------


def test_staff_save_an_organisations_defaults(client, staff, organisation):
    client.force_login(staff)
    url = f"{DEFAULTS_URL}?organisation={organisation.pk}"
    response = client.post(url, modes(requests="digest", reminders="in_app"))
    assert response.status_code == 302
    assert response["Location"] == url
    saved = OrganisationNotificationDefault.objects.filter(organisation=organisation)
    assert dict(saved.values_list("category", "mode")) == {
        "requests": "digest",
        "reminders": "in_app",
    }
    assert {d.updated_by for d in saved} == {staff}
    page = client.get(url)
    assert "Notification defaults saved for" in page.content.decode()
    assert checked(page)["requests"] == "digest"
    assert checked(page)["actions"] == "default"


def test_an_organisation_default_applies_unless_the_member_chose(
    client, staff, partner, partner2, organisation
):
    colleague = UserFactory(username="colleague", partner=True, organisation=organisation)
    NotificationPreference.objects.create(user=colleague, category="requests", mode="immediate")
    client.force_login(staff)
    client.post(
        f"{DEFAULTS_URL}?organisation={organisation.pk}", modes(requests="digest", actions="in_app")
    )
    assert routed(partner, "requests") == DeliveryStatus.DIGEST  # the organisation's default
    assert routed(partner, "actions") == DeliveryStatus.SKIPPED
    assert routed(colleague, "requests") == DeliveryStatus.PENDING  # their own choice wins
    assert routed(partner2, "requests") == DeliveryStatus.PENDING  # another organisation
    # The member's page names the organisation's default.
    client.force_login(partner)
    html = client.get(PREFERENCES_URL).content.decode()
    assert "Default (In one daily digest email)" in html


def test_invalid_defaults_answer_400_and_save_nothing(client, staff, organisation):
    client.force_login(staff)
    url = f"{DEFAULTS_URL}?organisation={organisation.pk}"
    response = client.post(url, {**modes(requests="digest"), "actions": "never"})
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    assert not OrganisationNotificationDefault.objects.exists()


def test_defaults_need_an_active_organisation(client, staff, organisation):
    client.force_login(staff)
    assert client.post(DEFAULTS_URL, modes(requests="digest")).status_code == 400
    assert client.get(DEFAULTS_URL, {"organisation": 999999}).status_code == 400
    organisation.is_active = False
    organisation.save(update_fields=["is_active"])
    response = client.post(
        f"{DEFAULTS_URL}?organisation={organisation.pk}", modes(requests="digest")
    )
    assert response.status_code == 400
    assert not OrganisationNotificationDefault.objects.exists()
