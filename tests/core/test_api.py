"""The v1 API foundation: token authentication, /me/, reference data, organisations,
notifications, the error shape and the 409 mapping of the transition mechanism."""

from __future__ import annotations

import itertools
import types
from typing import Any

import pytest
from django.db import models
from django.utils import timezone, translation
from rest_framework.authtoken.models import Token
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

from cbportal.accounts.models import Country, Region
from cbportal.core.models import Notification, ThematicArea
from cbportal.core.workflow import Transition, Workflow

TOKEN_URL = "/api/v1/auth/token/"
ME_URL = "/api/v1/me/"

_keys = itertools.count()


def notify(user: Any, subject: str = "You are invited", **fields: Any) -> Notification:
    return Notification.objects.create(
        recipient=user,
        event="account_invited",
        category="account",
        subject=subject,
        idempotency_key=f"test-api-{next(_keys)}",
        **fields,
    )


def assert_error(response: Any, status: int, error_type: str, code: str | None = None) -> dict:
    """The drf-standardized-errors shape, with a readable first detail."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response.content
    body = response.json()
    assert body["type"] == error_type
    assert body["errors"], body
    for error in body["errors"]:
        assert set(error) == {"code", "detail", "attr"}
        assert isinstance(error["detail"], str) and error["detail"]
    if code is not None:
        assert body["errors"][0]["code"] == code, body
    return body


# --- Token authentication -------------------------------------------------------------------


def test_it_exchanges_good_credentials_for_a_token_that_authenticates(api, partner, password):
    response = api.post(TOKEN_URL, {"username": "partner", "password": password}, format="json")
    assert response.status_code == 200, response.content
    assert set(response.json()) == {"token"}
    key = response.json()["token"]

    client = APIClient()
    me = client.get(ME_URL, HTTP_AUTHORIZATION=f"Token {key}")
    assert me.status_code == 200, me.content
    assert me.json()["username"] == "partner"


def test_it_returns_the_same_token_on_a_second_exchange(api, partner, password):
    first = api.post(TOKEN_URL, {"username": "partner", "password": password}, format="json")
    second = api.post(TOKEN_URL, {"username": "partner", "password": password}, format="json")
    assert first.json()["token"] == second.json()["token"]


@pytest.mark.parametrize(
    "credentials",
    [
        {"username": "partner", "password": "wrong-password"},
        {"username": "nobody", "password": "correct-horse-battery"},
    ],
)
def test_it_refuses_bad_credentials_with_a_readable_error(api, partner, credentials):
    response = api.post(TOKEN_URL, credentials, format="json")
    body = assert_error(response, 400, "validation_error", "authorization")
    assert "do not match" in body["errors"][0]["detail"]
    assert "token" not in response.json()


def test_it_refuses_an_inactive_account(api, partner, password):
    partner.is_active = False
    partner.save(update_fields=["is_active"])
    response = api.post(TOKEN_URL, {"username": "partner", "password": password}, format="json")
    assert_error(response, 400, "validation_error", "authorization")


def test_it_requires_username_and_password_fields(api, db):
    response = api.post(TOKEN_URL, {"username": "partner"}, format="json")
    body = assert_error(response, 400, "validation_error", "required")
    assert body["errors"][0]["attr"] == "password"


MALFORMED_HEADERS = ["Token nonsense", "Token", "Bearer x", "Token two words"]


@pytest.mark.parametrize("header", MALFORMED_HEADERS)
def test_it_rejects_a_malformed_token_header_with_the_standard_error_shape(api, partner, header):
    response = api.get(ME_URL, HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    body = assert_error(response, response.status_code, "client_error")
    assert body["errors"][0]["code"] in {"authentication_failed", "not_authenticated"}


@pytest.mark.parametrize("header", MALFORMED_HEADERS)
def test_it_answers_401_to_a_malformed_token_header(api, partner, header):
    response = api.get(ME_URL, HTTP_AUTHORIZATION=header)
    assert_error(response, 401, "client_error")
    assert response["WWW-Authenticate"].startswith("Token")


@pytest.mark.parametrize("url", [ME_URL, "/api/v1/organisations/", "/api/v1/notifications/"])
def test_it_answers_401_to_anonymous_requests(api, db, url):
    assert_error(api.get(url), 401, "client_error", "not_authenticated")


@pytest.mark.parametrize("url", [ME_URL, "/api/v1/organisations/", "/api/v1/notifications/"])
def test_it_refuses_anonymous_requests_with_not_authenticated(api, db, url):
    response = api.get(url)
    assert response.status_code == 401
    assert_error(response, response.status_code, "client_error", "not_authenticated")


def test_it_locks_token_exchange_out_after_five_failures(api, partner, password):
    for _attempt in range(4):
        response = api.post(TOKEN_URL, {"username": "partner", "password": "nope"}, format="json")
        assert response.status_code == 400
    api.post(TOKEN_URL, {"username": "partner", "password": "nope"}, format="json")

    response = api.post(TOKEN_URL, {"username": "partner", "password": password}, format="json")
    assert response.status_code == 429
    assert "Too many" in response.content.decode()
    assert not Token.objects.filter(user=partner).exists()


def test_it_explains_a_lockout_in_the_api_error_shape(api, partner, password):
    for _attempt in range(5):
        api.post(TOKEN_URL, {"username": "partner", "password": "nope"}, format="json")
    response = api.post(TOKEN_URL, {"username": "partner", "password": password}, format="json")
    body = assert_error(response, 429, "client_error", "throttled")
    assert "Too many failed sign-in attempts" in body["errors"][0]["detail"]
    assert int(response["Retry-After"]) > 0


def test_it_throttles_token_exchange_with_its_own_scope(api, partner, password, monkeypatch):
    # DRF reads the rates once into a class attribute, so patch that, not settings.
    monkeypatch.setattr(
        "rest_framework.throttling.SimpleRateThrottle.THROTTLE_RATES",
        {"token": "2/minute", "anon": "1000/minute", "user": "1000/minute"},
    )
    credentials = {"username": "partner", "password": password}
    assert api.post(TOKEN_URL, credentials, format="json").status_code == 200
    assert api.post(TOKEN_URL, credentials, format="json").status_code == 200

    response = api.post(TOKEN_URL, credentials, format="json")
    assert_error(response, 429, "client_error", "throttled")
    assert int(response["Retry-After"]) > 0

    # Other endpoints are not in the token scope.
    assert api.get("/api/v1/countries/TN/").status_code == 200


# --- /me/ -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "role", "is_approver", "expected_org"),
    [
        ("partner", "partner", False, ("Directorate of Migration", "DM", "TN")),
        ("partner2", "partner", False, ("National Migration Agency", "NMA", "TN")),
        ("staff", "staff", False, None),
        ("approver", "staff", True, None),
        ("expert", "expert", False, None),
        ("evaluator", "evaluator", False, None),
    ],
)
def test_it_describes_the_signed_in_user(
    api_as, personas, persona, role, is_approver, expected_org
):
    user = personas[persona]
    response = api_as(user).get(ME_URL)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == user.pk
    assert body["username"] == user.username
    assert body["role"] == role
    assert body["is_approver"] is is_approver
    if expected_org is None:
        assert body["organisation"] is None
    else:
        nested = body["organisation"]
        assert (nested["name"], nested["acronym"], nested["country"]) == expected_org
        assert nested["id"] == user.organisation_id


def test_it_lets_users_change_their_names_and_language(api_as, partner):
    response = api_as(partner).patch(
        ME_URL, {"first_name": "Amira", "language": "fr"}, format="json"
    )
    assert response.status_code == 200, response.content
    partner.refresh_from_db()
    assert (partner.first_name, partner.language) == ("Amira", "fr")


def test_it_refuses_an_unsupported_language(api_as, partner):
    response = api_as(partner).patch(ME_URL, {"language": "de"}, format="json")
    body = assert_error(response, 400, "validation_error")
    assert body["errors"][0]["attr"] == "language"
    assert "use en, fr or es" in body["errors"][0]["detail"]


def test_it_answers_in_the_language_of_the_request(api_as, partner):
    # LocaleMiddleware leaves the request's language active in this thread; restore it.
    with translation.override(translation.get_language()):
        response = api_as(partner).patch(
            ME_URL, {"nickname": "x"}, format="json", HTTP_ACCEPT_LANGUAGE="fr"
        )
    body = assert_error(response, 400, "validation_error", "unknown_field")
    assert body["errors"][0]["detail"] == "Champ inconnu."


def test_it_refuses_an_unsupported_language_in_the_language_of_the_request(api_as, partner):
    with translation.override(translation.get_language()):
        response = api_as(partner).patch(
            ME_URL, {"language": "de"}, format="json", HTTP_ACCEPT_LANGUAGE="fr"
        )
    body = assert_error(response, 400, "validation_error", "invalid_choice")
    assert body["errors"][0]["detail"].replace("\xa0", " ") == (
        "Langue « de » non prise en charge : utilisez en, fr ou es."
    )


@pytest.mark.parametrize(
    ("payload", "attr", "detail"),
    [
        ({"role": "staff"}, "role", "This field is read-only."),
        ({"is_approver": True}, "is_approver", "This field is read-only."),
        ({"organisation": 2}, "organisation", "This field is read-only."),
        ({"nickname": "x"}, "nickname", "Unknown field."),
    ],
)
def test_it_refuses_fields_it_does_not_let_you_change(api_as, partner, payload, attr, detail):
    response = api_as(partner).patch(ME_URL, {**payload, "first_name": "Changed"}, format="json")
    body = assert_error(response, 400, "validation_error", "unknown_field")
    assert {(e["attr"], e["detail"]) for e in body["errors"]} == {(attr, detail)}
    partner.refresh_from_db()
    assert (partner.role, partner.is_approver, partner.first_name) == ("partner", False, "Test")


def test_it_answers_a_malformed_json_body_with_a_parse_error(api_as, partner):
    response = api_as(partner).generic(
        "PATCH", ME_URL, '{"first_name": "x",', content_type="application/json"
    )
    assert_error(response, 400, "client_error", "parse_error")


def test_it_does_not_offer_put_or_delete_on_me(api_as, partner):
    client = api_as(partner)
    assert_error(client.delete(ME_URL), 405, "client_error", "method_not_allowed")
    assert_error(client.put(ME_URL, {}, format="json"), 405, "client_error", "method_not_allowed")


# --- Organisations --------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["staff", "approver"])
def test_it_shows_staff_every_organisation(
    api_as, personas, organisation, other_organisation, persona
):
    response = api_as(personas[persona]).get("/api/v1/organisations/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert {o["id"] for o in body["results"]} == {organisation.pk, other_organisation.pk}
    detail = api_as(personas[persona]).get(f"/api/v1/organisations/{other_organisation.pk}/")
    assert detail.json()["country"] == "TN"


def test_it_shows_a_partner_only_their_own_organisation(api_as, partner, partner2):
    client = api_as(partner)
    body = client.get("/api/v1/organisations/").json()
    assert [o["id"] for o in body["results"]] == [partner.organisation_id]
    assert client.get(f"/api/v1/organisations/{partner.organisation_id}/").status_code == 200
    assert_error(
        client.get(f"/api/v1/organisations/{partner2.organisation_id}/"),
        404,
        "client_error",
        "not_found",
    )


@pytest.mark.parametrize("persona", ["expert", "evaluator"])
def test_it_shows_experts_and_evaluators_no_organisation(api_as, personas, persona):
    client = api_as(personas[persona])
    body = client.get("/api/v1/organisations/").json()
    assert (body["count"], body["results"]) == (0, [])
    org_id = personas["partner"].organisation_id
    assert_error(client.get(f"/api/v1/organisations/{org_id}/"), 404, "client_error")


def test_it_does_not_let_anyone_write_organisations(api_as, staff, organisation):
    client = api_as(staff)
    response = client.post("/api/v1/organisations/", {"name": "X"}, format="json")
    assert_error(response, 405, "client_error", "method_not_allowed")
    response = client.patch(f"/api/v1/organisations/{organisation.pk}/", {"name": "X"})
    assert_error(response, 405, "client_error", "method_not_allowed")


# --- Reference data -------------------------------------------------------------------------


def test_it_lists_countries_paginated(api, db):
    response = api.get("/api/v1/countries/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "count_is_estimate", "next", "previous", "results"}
    assert body["count"] == Country.objects.count() == 249
    assert len(body["results"]) == 50
    assert body["previous"] is None
    assert "page=2" in body["next"]
    assert set(body["results"][0]) == {
        "code",
        "iso3",
        "name",
        "display_name",
        "region",
        "subregion",
    }


@pytest.mark.parametrize("code", ["TN", "tn", "Tn"])
def test_it_finds_a_country_by_its_code_in_any_case(api, db, code):
    response = api.get(f"/api/v1/countries/{code}/")
    assert response.status_code == 200
    assert response.json()["code"] == "TN"
    assert response.json()["iso3"] == "TUN"


@pytest.mark.parametrize("code", ["ZZ", "zz"])
def test_it_answers_404_for_an_unknown_country(api, db, code):
    assert_error(api.get(f"/api/v1/countries/{code}/"), 404, "client_error", "not_found")


def test_it_filters_countries_by_region(api, db):
    body = api.get("/api/v1/countries/", {"region": "Africa", "page_size": 200}).json()
    assert body["count"] == Country.objects.filter(region=Region.AFRICA).count() > 0
    assert {c["region"] for c in body["results"]} == {"Africa"}
    assert "TN" in {c["code"] for c in body["results"]}
    assert "FR" not in {c["code"] for c in body["results"]}


def test_it_refuses_an_unknown_region(api, db):
    response = api.get("/api/v1/countries/", {"region": "Atlantis"})
    body = assert_error(response, 400, "validation_error")
    assert body["errors"][0]["attr"] == "region"


def test_it_searches_countries(api, db):
    body = api.get("/api/v1/countries/", {"search": "tuni"}).json()
    assert [c["code"] for c in body["results"]] == ["TN"]


def test_it_lists_thematic_areas_and_finds_one_by_slug(api, db):
    response = api.get("/api/v1/thematic-areas/")
    assert response.status_code == 200
    slugs = [a["slug"] for a in response.json()]
    assert len(slugs) == 8
    assert "labour-migration" in slugs
    area = api.get("/api/v1/thematic-areas/labour-migration/").json()
    assert area["name"] == "Labour migration"
    assert area["display_name"] == "Labour migration"
    assert_error(api.get("/api/v1/thematic-areas/no-such-area/"), 404, "client_error")


def test_it_hides_inactive_thematic_areas(api, db):
    ThematicArea.objects.filter(slug="labour-migration").update(is_active=False)
    slugs = [a["slug"] for a in api.get("/api/v1/thematic-areas/").json()]
    assert "labour-migration" not in slugs
    assert api.get("/api/v1/thematic-areas/labour-migration/").status_code == 404


def test_it_lists_the_23_gcm_objectives(api, db):
    response = api.get("/api/v1/gcm-objectives/")
    assert response.status_code == 200
    assert [o["number"] for o in response.json()] == list(range(1, 24))
    assert api.get("/api/v1/gcm-objectives/23/").json()["number"] == 23
    assert_error(api.get("/api/v1/gcm-objectives/24/"), 404, "client_error")


def test_it_lists_and_finds_languages(api, db):
    body = api.get("/api/v1/languages/", {"search": "french"}).json()
    assert "fr" in {lang["code"] for lang in body["results"]}
    response = api.get("/api/v1/languages/fr/")
    assert response.status_code == 200
    assert response.json() == {"code": "fr", "name": "French", "display_name": "French"}


def test_it_does_not_let_anyone_write_reference_data(api_as, staff):
    client = api_as(staff)
    for url in ["/api/v1/countries/", "/api/v1/thematic-areas/", "/api/v1/languages/"]:
        assert_error(client.post(url, {}, format="json"), 405, "client_error")


# --- Notifications --------------------------------------------------------------------------


def test_it_lists_only_my_notifications(api_as, partner, partner2):
    mine = [notify(partner, f"Mine {i}") for i in range(3)]
    notify(partner2, "Not yours")
    response = api_as(partner).get("/api/v1/notifications/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert {n["id"] for n in body["results"]} == {n.pk for n in mine}
    first = body["results"][0]
    assert first["message"].startswith("Mine")
    assert (first["event"], first["category"], first["is_read"]) == (
        "account_invited",
        "account",
        False,
    )


def test_it_answers_404_for_someone_elses_notification(api_as, partner, partner2):
    theirs = notify(partner2)
    mine = notify(partner)
    client = api_as(partner)
    assert client.get(f"/api/v1/notifications/{mine.pk}/").status_code == 200
    assert_error(client.get(f"/api/v1/notifications/{theirs.pk}/"), 404, "client_error")


def test_it_marks_a_notification_read_idempotently(api_as, partner):
    notification = notify(partner)
    client = api_as(partner)
    url = f"/api/v1/notifications/{notification.pk}/mark-read/"

    response = client.post(url)
    assert response.status_code == 200, response.content
    assert response.json()["is_read"] is True
    notification.refresh_from_db()
    first_read_at = notification.read_at
    assert first_read_at is not None

    again = client.post(url)
    assert again.status_code == 200
    notification.refresh_from_db()
    assert notification.read_at == first_read_at


def test_it_does_not_let_me_mark_someone_elses_notification(api_as, partner, partner2):
    theirs = notify(partner2)
    response = api_as(partner).post(f"/api/v1/notifications/{theirs.pk}/mark-read/")
    assert_error(response, 404, "client_error", "not_found")
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_it_marks_all_my_notifications_read(api_as, partner, partner2):
    for _ in range(3):
        notify(partner)
    notify(partner, read_at=timezone.now())
    theirs = notify(partner2)
    client = api_as(partner)

    response = client.post("/api/v1/notifications/mark-all-read/")
    assert response.status_code == 200
    assert response.json() == {"updated": 3}
    assert not Notification.objects.filter(recipient=partner, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None

    assert client.post("/api/v1/notifications/mark-all-read/").json() == {"updated": 0}


def test_it_filters_unread_notifications(api_as, partner):
    unread = notify(partner, "Unread")
    read = notify(partner, "Read", read_at=timezone.now())
    client = api_as(partner)
    assert [
        n["id"] for n in client.get("/api/v1/notifications/?unread=true").json()["results"]
    ] == [unread.pk]
    assert [
        n["id"] for n in client.get("/api/v1/notifications/?unread=false").json()["results"]
    ] == [read.pk]
    assert client.get("/api/v1/notifications/").json()["count"] == 2


def test_it_does_not_let_clients_create_notifications(api_as, partner):
    response = api_as(partner).post("/api/v1/notifications/", {"subject": "x"}, format="json")
    assert_error(response, 405, "client_error", "method_not_allowed")


@pytest.mark.parametrize("rows", [5, 50])
def test_it_lists_notifications_in_a_bounded_number_of_queries(
    api_as, partner, rows, django_assert_max_num_queries
):
    for i in range(rows):
        notify(partner, f"Notification {i}")
    client = api_as(partner)
    with django_assert_max_num_queries(3):
        response = client.get("/api/v1/notifications/", {"page_size": 50})
    assert response.status_code == 200
    assert len(response.json()["results"]) == rows


# --- Errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/v1/no-such-collection/", "/api/v1/countries/TN/extra/"])
def test_it_answers_an_unknown_api_route_with_a_json_404(api_as, partner, url):
    assert_error(api_as(partner).get(url), 404, "client_error", "not_found")


# --- The transition mechanism behind a real DRF view ----------------------------------------


class ProbeStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    CLOSED = "closed", "Closed"


def _needs_a_summary(obj: Any, user: Any) -> str | None:
    """The item has a summary."""
    return None if getattr(obj, "summary", "") else "Write a summary before publishing."


PROBE_WORKFLOW = Workflow(
    model="tests.Probe",
    states=ProbeStatus,
    transitions=[
        Transition("submit", ["draft"], "submitted", roles=["partner"]),
        Transition("close", ["submitted"], "closed", roles=["staff"]),
        Transition("publish", ["draft"], "closed", roles=["partner"], guards=[_needs_a_summary]),
    ],
)


class TransitionProbeView(APIView):
    """Fires ``name`` on an in-memory object whose state (and summary) the body sets."""

    def post(self, request: Request, name: str) -> Response:
        obj = types.SimpleNamespace(
            status=request.data.get("status", "draft"), summary=request.data.get("summary", "")
        )
        transition = PROBE_WORKFLOW.check(obj, name, request.user)
        return Response({"transition": transition.name, "to": transition.target})


def probe(client: APIClient, name: str, **data: Any) -> Any:
    return client.post(f"/transition-probe/{name}/", data, format="json")


@pytest.mark.urls("tests.core.urls_transition")
def test_it_answers_200_for_an_allowed_transition(api_as, partner, staff):
    response = probe(api_as(partner), "submit")
    assert response.status_code == 200, response.content
    assert response.json() == {"transition": "submit", "to": "submitted"}
    assert probe(api_as(staff), "close", status="submitted").status_code == 200


@pytest.mark.urls("tests.core.urls_transition")
def test_it_answers_409_for_a_transition_from_the_wrong_state(api_as, partner):
    response = probe(api_as(partner), "submit", status="submitted")
    body = assert_error(response, 409, "client_error", "transition_not_allowed")
    detail = body["errors"][0]["detail"]
    # Readable: names the transition and the state the object is in.
    assert "submit" in detail.lower()
    assert "submitted" in detail
    assert body["errors"][0]["attr"] is None


@pytest.mark.urls("tests.core.urls_transition")
def test_it_answers_403_when_the_role_may_not_fire_the_transition(api_as, staff, expert):
    for user in (staff, expert):
        body = assert_error(
            probe(api_as(user), "submit"), 403, "client_error", "transition_forbidden"
        )
        detail = body["errors"][0]["detail"]
        assert "submit" in detail.lower()
        assert "draft" not in detail  # says nothing about the object's state


@pytest.mark.urls("tests.core.urls_transition")
def test_it_checks_the_role_before_the_state(api_as, staff):
    # A user who may never fire it learns 403, not the state of the object.
    response = probe(api_as(staff), "submit", status="closed")
    assert_error(response, 403, "client_error", "transition_forbidden")


@pytest.mark.urls("tests.core.urls_transition")
def test_it_answers_404_for_an_unknown_transition(api_as, partner):
    body = assert_error(
        probe(api_as(partner), "teleport"), 404, "client_error", "unknown_transition"
    )
    assert "teleport" in body["errors"][0]["detail"]


@pytest.mark.urls("tests.core.urls_transition")
def test_it_answers_409_with_the_reason_a_guard_gives(api_as, partner):
    body = assert_error(
        probe(api_as(partner), "publish"), 409, "client_error", "transition_not_allowed"
    )
    assert body["errors"][0]["detail"] == "Write a summary before publishing."
    assert probe(api_as(partner), "publish", summary="Done.").status_code == 200


def test_a_forged_forwarded_for_header_does_not_dodge_the_token_throttle(api, db, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(
        SimpleRateThrottle,
        "THROTTLE_RATES",
        {"token": "3/minute", "anon": "100/minute", "user": "100/minute"},
    )
    statuses = [
        api.post(
            TOKEN_URL,
            {"username": "nobody", "password": "x"},
            format="json",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{n}",
        ).status_code
        for n in range(5)
    ]
    assert statuses[-1] == 429
