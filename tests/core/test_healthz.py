"""/healthz: the database answers and, when a broker is configured, the broker does; the
email outbox's backlog is reported without deciding the status code."""

from __future__ import annotations

import itertools
import os
import time
from datetime import timedelta

import pytest
from django.db import OperationalError, connections
from django.test import Client
from django.utils import timezone

from cbportal.core import views
from cbportal.core.models import DeliveryStatus, Digest, Notification, NotificationCategory

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"
EMPTY_OUTBOX = {"pending": 0, "failed": 0, "oldest_pending_seconds": None, "status": "ok"}
UNKNOWN_OUTBOX = {
    "pending": None,
    "failed": None,
    "oldest_pending_seconds": None,
    "status": "error",
}
_keys = itertools.count()


def _notification(user, status, *, age_seconds=0):
    return Notification.objects.create(
        recipient=user,
        event="request_submitted",
        category=NotificationCategory.REQUESTS,
        subject="A request",
        idempotency_key=f"healthz:{next(_keys)}",
        email_status=status,
        created_at=timezone.now() - timedelta(seconds=age_seconds),
    )


def test_it_reports_ok_without_a_broker(client, db, settings):
    settings.REDIS_URL = None
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "broker": "not configured (tasks run eagerly)"},
        "outbox": EMPTY_OUTBOX,
    }
    assert "no-cache" in response["Cache-Control"]


def test_it_needs_no_sign_in_and_answers_only_get(client, db, settings):
    settings.REDIS_URL = None
    assert client.get("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


def test_it_reports_a_failing_broker_with_503(client, db, settings, monkeypatch):
    settings.REDIS_URL = UNREACHABLE_REDIS

    def broker_down() -> str:
        raise ConnectionRefusedError(f"cannot reach {UNREACHABLE_REDIS}")

    monkeypatch.setattr(views, "_check_broker", broker_down)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "error",
        "checks": {"database": "ok", "broker": "error"},
        "outbox": EMPTY_OUTBOX,
    }


def test_it_gives_up_quickly_on_an_unreachable_redis(client, db, settings, monkeypatch):
    """The real check against a closed port fails within its timeout instead of hanging."""
    from cbportal.celery import app

    settings.REDIS_URL = UNREACHABLE_REDIS
    connect = app.connection_for_write
    monkeypatch.setattr(
        app, "connection_for_write", lambda url=None, **kw: connect(UNREACHABLE_REDIS, **kw)
    )
    started = time.monotonic()
    response = client.get("/healthz")
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == "error"
    assert elapsed < 10


def test_it_reports_a_failing_database_with_503(client, db, settings, monkeypatch):
    settings.REDIS_URL = None

    def database_down(*args, **kwargs):
        raise OperationalError("could not connect to server: Connection refused")

    # Undone before the test's transaction is rolled back (which needs a cursor).
    with monkeypatch.context() as patch:
        patch.setattr(type(connections["default"]), "cursor", database_down)
        response = client.get("/healthz")
    assert response.status_code == 503
    # Without a database nothing is known about the outbox.
    assert response.json() == {
        "status": "error",
        "checks": {"database": "error", "broker": "not configured (tasks run eagerly)"},
        "outbox": UNKNOWN_OUTBOX,
    }


def test_it_reports_pending_and_failed_emails(client, staff, settings):
    settings.REDIS_URL = None
    _notification(staff, DeliveryStatus.PENDING, age_seconds=30)
    _notification(staff, DeliveryStatus.PENDING, age_seconds=120)
    _notification(staff, DeliveryStatus.FAILED, age_seconds=4000)
    for status in (DeliveryStatus.SENT, DeliveryStatus.SKIPPED, DeliveryStatus.DIGEST):
        _notification(staff, status, age_seconds=5000)
    Digest.objects.create(
        recipient=staff,
        day=timezone.localdate(),
        email_status=DeliveryStatus.FAILED,
        created_at=timezone.now() - timedelta(seconds=10),
    )
    outbox = client.get("/healthz").json()["outbox"]
    assert outbox["pending"] == 2
    assert outbox["failed"] == 2
    # The oldest pending one, allowing for the seconds the request took.
    assert 120 <= outbox["oldest_pending_seconds"] < 130
    assert outbox["status"] == "ok"


def test_a_pending_digest_counts_as_pending(client, staff, settings):
    settings.REDIS_URL = None
    _notification(staff, DeliveryStatus.PENDING, age_seconds=60)
    Digest.objects.create(
        recipient=staff,
        day=timezone.localdate(),
        created_at=timezone.now() - timedelta(seconds=600),
    )
    outbox = client.get("/healthz").json()["outbox"]
    assert outbox["pending"] == 2
    assert 600 <= outbox["oldest_pending_seconds"] < 610


def test_a_backlog_is_reported_but_does_not_fail_the_check(client, staff, settings):
    settings.REDIS_URL = None
    settings.NOTIFICATION_BACKLOG_WARNING_SECONDS = 900
    _notification(staff, DeliveryStatus.PENDING, age_seconds=850)
    assert client.get("/healthz").json()["outbox"]["status"] == "ok"

    _notification(staff, DeliveryStatus.PENDING, age_seconds=1000)
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["outbox"]["status"] == "backlog"
    assert body["outbox"]["oldest_pending_seconds"] >= 1000


def test_the_outbox_check_costs_the_same_whatever_the_table_holds(
    client, staff, settings, django_assert_num_queries
):
    settings.REDIS_URL = None
    # SELECT 1, then per outbox table one pending aggregate and one failed count.
    with django_assert_num_queries(5):
        client.get("/healthz")
    for status in DeliveryStatus.values:
        for age in (10, 2000):
            _notification(staff, status, age_seconds=age)
    with django_assert_num_queries(5):
        assert client.get("/healthz").json()["outbox"]["pending"] == 2


def test_a_failing_outbox_query_is_reported_without_failing_the_check(
    client, db, settings, monkeypatch, caplog
):
    settings.REDIS_URL = None

    def broken() -> dict:
        raise OperationalError('relation "core_notification" does not exist')

    monkeypatch.setattr(views, "_outbox_health", broken)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["outbox"] == UNKNOWN_OUTBOX
    assert "healthz: outbox check failed" in caplog.text


def test_it_is_exempt_from_the_https_redirect(db, settings):
    settings.REDIS_URL = None
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    client = Client()  # a new client loads the middleware with these settings
    assert client.get("/healthz").status_code == 200
    assert client.get("/").status_code == 301


@pytest.mark.skipif(
    not os.environ.get("REDIS_URL"),
    reason="REDIS_URL is not set: no real broker to check (tasks run eagerly)",
)
def test_it_reaches_the_real_broker(client, db, settings):
    assert os.environ["REDIS_URL"] == settings.REDIS_URL
    assert views._check_broker() == "ok"
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "broker": "ok"}


def test_livez_answers_without_touching_the_database_or_the_broker(
    client, db, settings, monkeypatch, django_assert_num_queries
):
    settings.REDIS_URL = UNREACHABLE_REDIS

    def broker_down() -> str:
        raise AssertionError("/livez must not ask the broker")

    monkeypatch.setattr(views, "_check_broker", broker_down)
    with django_assert_num_queries(0):
        response = client.get("/livez")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]
    assert client.post("/livez").status_code == 405
