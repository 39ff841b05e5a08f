"""``/api/v1/notification-preferences/`` and
``/api/v1/organisations/<id>/notification-defaults/``."""

from __future__ import annotations

from typing import Any

import pytest

from cbportal.core import notifications
from cbportal.core.models import (
    CONFIGURABLE_CATEGORIES,
    DeliveryStatus,
    NotificationPreference,
    OrganisationNotificationDefault,
)
from tests.core.test_api import assert_error

URL = "/api/v1/notification-preferences/"


def defaults_url(organisation_id: int) -> str:
    return f"/api/v1/organisations/{organisation_id}/notification-defaults/"


def by_category(response: Any) -> dict[str, dict[str, Any]]:
    assert response.status_code == 200, response.content
    return {row["category"]: row for row in response.json()}


def own_modes(user: Any) -> dict[str, str]:
    return dict(NotificationPreference.objects.filter(user=user).values_list("category", "mode"))


def org_modes(organisation: Any) -> dict[str, str]:
    return dict(
        OrganisationNotificationDefault.objects.filter(organisation=organisation).values_list(
            "category", "mode"
        )
    )


def attrs(response: Any) -> dict[str, str]:
    return {e["attr"]: e["code"] for e in response.json()["errors"]}


# --- Preferences ------------------------------------------------------------------------


def test_anonymous_callers_get_401(api, organisation):
    for url in (URL, defaults_url(organisation.pk)):
        assert_error(api.get(url), 401, "client_error", "not_authenticated")
        body = {"modes": {"requests": "digest"}}
        assert_error(api.put(url, body, format="json"), 401, "client_error")
    assert not NotificationPreference.objects.exists()


@pytest.mark.parametrize("who", ["partner", "partner2", "staff", "approver", "expert", "evaluator"])
def test_everyone_reads_their_preferences(who, personas, api_as, settings):
    settings.NOTIFICATION_DEFAULT_MODE = "immediate"
    rows = by_category(api_as(personas[who]).get(URL))
    assert list(rows) == list(CONFIGURABLE_CATEGORIES)  # every configurable one, no "account"
    assert rows["requests"] == {
        "category": "requests",
        "label": "Requests",
        "mode": None,
        "default": "immediate",
        "default_from_organisation": False,
        "effective": "immediate",
    }


def test_put_round_trips_and_routes_the_next_notification(api_as, expert):
    client = api_as(expert)
    body = {"modes": {"requests": "digest", "actions": "in_app", "deployments": "immediate"}}
    response = client.put(URL, body, format="json")
    rows = by_category(response)
    assert rows["requests"]["mode"] == "digest" and rows["requests"]["effective"] == "digest"
    assert rows["actions"]["effective"] == "in_app"
    assert rows["evaluations"]["mode"] is None
    assert own_modes(expert) == {
        "requests": "digest",
        "actions": "in_app",
        "deployments": "immediate",
    }
    assert by_category(client.get(URL)) == rows

    notifications.notify_on_commit("request_submitted", None, [expert])
    notifications.notify_on_commit("action_approved", None, [expert])
    notifications.notify_on_commit("evaluator_assigned", None, [expert])
    notifications.notify_on_commit("account_invited", None, [expert])
    status = dict(expert.notifications.values_list("event", "email_status"))
    assert status == {
        "request_submitted": DeliveryStatus.DIGEST,
        "action_approved": DeliveryStatus.SKIPPED,
        "evaluator_assigned": DeliveryStatus.PENDING,
        "account_invited": DeliveryStatus.PENDING,  # account messages: always at once
    }
    # The user's own notifications show the delivery status too.
    listed = api_as(expert).get("/api/v1/notifications/").json()["results"]
    assert {n["event"]: n["email_status"] for n in listed} == status


def test_put_sets_every_category_and_patch_only_those_named(api_as, partner):
    client = api_as(partner)
    client.put(URL, {"modes": {"requests": "digest", "actions": "in_app"}}, format="json")
    response = client.patch(URL, {"modes": {"actions": None, "reminders": "digest"}}, format="json")
    assert response.status_code == 200, response.content
    assert own_modes(partner) == {"requests": "digest", "reminders": "digest"}
    client.put(URL, {"modes": {"evaluations": "in_app"}}, format="json")
    assert own_modes(partner) == {"evaluations": "in_app"}  # left out: back to the default
    client.put(URL, {"modes": {}}, format="json")
    assert own_modes(partner) == {}


@pytest.mark.parametrize(
    ("method", "body", "expected"),
    [
        ("put", {"modes": {"requests": "digest", "gossip": "digest"}}, {"modes.gossip": "invalid"}),
        ("patch", {"modes": {"account": "in_app"}}, {"modes.account": "invalid"}),
        (
            "put",
            {"modes": {"actions": "digest", "requests": "sometimes"}},
            {"modes.requests": "invalid_choice"},
        ),
        ("patch", {"modes": "digest"}, {"modes": "not_a_dict"}),
        ("put", {}, {"modes": "required"}),
        ("put", {"modes": {}, "requests": "digest"}, {"requests": "unknown_field"}),
    ],
)
def test_invalid_preferences_answer_400_and_save_nothing(method, body, expected, api_as, partner):
    response = getattr(api_as(partner), method)(URL, body, format="json")
    assert_error(response, 400, "validation_error")
    assert attrs(response) == expected
    assert own_modes(partner) == {}


def test_a_user_only_ever_changes_their_own_preferences(api_as, partner, partner2):
    api_as(partner).put(URL, {"modes": {"requests": "in_app"}}, format="json")
    assert own_modes(partner2) == {}
    assert by_category(api_as(partner2).get(URL))["requests"]["mode"] is None


# --- Organisation defaults --------------------------------------------------------------


@pytest.mark.parametrize("who", ["partner", "expert", "evaluator"])
def test_only_programme_staff_use_organisation_defaults(who, personas, api_as, organisation):
    client = api_as(personas[who])
    url = defaults_url(organisation.pk)
    assert_error(client.get(url), 403, "client_error", "permission_denied")
    body = {"modes": {"requests": "in_app"}}
    assert_error(client.put(url, body, format="json"), 403, "client_error")
    assert_error(client.patch(url, body, format="json"), 403, "client_error")
    assert_error(client.get(defaults_url(999999)), 403, "client_error")  # nothing revealed
    assert org_modes(organisation) == {}


@pytest.mark.parametrize("who", ["staff", "approver", "admin_user"])
def test_programme_staff_read_an_organisations_defaults(who, request, api_as, organisation):
    OrganisationNotificationDefault.objects.create(
        organisation=organisation, category="reminders", mode="digest"
    )
    rows = by_category(api_as(request.getfixturevalue(who)).get(defaults_url(organisation.pk)))
    assert list(rows) == list(CONFIGURABLE_CATEGORIES)
    assert rows["reminders"] == {
        "category": "reminders",
        "label": "Reminders",
        "mode": "digest",
        "default": "immediate",
        "effective": "digest",
    }
    assert rows["requests"]["mode"] is None


def test_unknown_or_inactive_organisations_are_404(api_as, staff, organisation):
    client = api_as(staff)
    assert_error(client.get(defaults_url(999999)), 404, "client_error", "not_found")
    organisation.is_active = False
    organisation.save(update_fields=["is_active"])
    assert_error(client.get(defaults_url(organisation.pk)), 404, "client_error", "not_found")
    response = client.put(defaults_url(organisation.pk), {"modes": {}}, format="json")
    assert_error(response, 404, "client_error", "not_found")


def test_staff_set_defaults_that_members_get_unless_they_chose(
    api_as, staff, partner, partner2, organisation
):
    client = api_as(staff)
    response = client.put(
        defaults_url(organisation.pk),
        {"modes": {"requests": "digest", "actions": "in_app"}},
        format="json",
    )
    assert by_category(response)["requests"]["effective"] == "digest"
    assert org_modes(organisation) == {"requests": "digest", "actions": "in_app"}
    assert set(OrganisationNotificationDefault.objects.values_list("updated_by", flat=True)) == {
        staff.pk
    }
    client.patch(defaults_url(organisation.pk), {"modes": {"actions": None}}, format="json")
    assert org_modes(organisation) == {"requests": "digest"}

    rows = by_category(api_as(partner).get(URL))
    assert rows["requests"]["default"] == "digest"
    assert rows["requests"]["default_from_organisation"] is True
    assert rows["requests"]["effective"] == "digest"
    api_as(partner).patch(URL, {"modes": {"requests": "immediate"}}, format="json")
    assert by_category(api_as(partner).get(URL))["requests"]["effective"] == "immediate"
    assert by_category(api_as(partner2).get(URL))["requests"]["default_from_organisation"] is False

    notifications.notify_on_commit("request_submitted", None, [partner, partner2], key="one")
    statuses = dict(
        partner.notifications.model.objects.values_list("recipient__username", "email_status")
    )
    assert statuses == {"partner": "pending", "partner2": "pending"}
    NotificationPreference.objects.filter(user=partner).delete()
    notifications.notify_on_commit("request_submitted", None, [partner], key="two")
    assert partner.notifications.latest("id").email_status == DeliveryStatus.DIGEST


def test_invalid_defaults_answer_400_and_save_nothing(api_as, staff, organisation):
    response = api_as(staff).put(
        defaults_url(organisation.pk),
        {"modes": {"requests": "digest", "account": "in_app"}},
        format="json",
    )
    assert_error(response, 400, "validation_error", "invalid")
    assert attrs(response) == {"modes.account": "invalid"}
    assert org_modes(organisation) == {}
