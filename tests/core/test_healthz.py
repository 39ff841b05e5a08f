"""/healthz: the database answers and, when a broker is configured, the broker does."""

from __future__ import annotations

import os
import time

import pytest
from django.db import OperationalError, connections
from django.test import Client

from cbportal.core import views

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


def test_it_reports_ok_without_a_broker(client, db, settings):
    settings.REDIS_URL = None
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "broker": "not configured (tasks run eagerly)"},
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
    assert response.json() == {"status": "error", "checks": {"database": "ok", "broker": "error"}}


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
    assert response.json() == {
        "status": "error",
        "checks": {"database": "error", "broker": "not configured (tasks run eagerly)"},
    }


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
