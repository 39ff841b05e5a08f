"""Issue 7 on the embedded default (eager Celery): a transition's notification leaves
through a real SMTP server on loopback exactly once, in the recipient's language; a broker
outage loses nothing (the sweep sends it, once); a rolled-back transition sends nothing.

The same journeys with Redis and real worker processes are in test_delivery_worker.py,
which reuses the scenario below. The scenario: a partner submits a request
(``requests_app.services.request_submit``); programme staff — one French member — are told
by email and in CB Portal. The partner keeps request notifications in CB Portal only, so the
staff alert is the one email the submission sends.
"""

from __future__ import annotations

import time
from typing import Any
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from kombu.exceptions import OperationalError

from cbportal.core import notifications, tasks
from cbportal.core.models import (
    DeliveryMode,
    DeliveryStatus,
    Notification,
    NotificationCategory,
    NotificationPreference,
)
from requests_app import services
from requests_app.models import AssistanceRequest
from tests.requests_app.helpers import make_draft
from tests.smtp import Received, SmtpServer, smtp_server_fixture  # noqa: F401 - a fixture

FROM = "CB Portal Test <portal@cbportal.test>"
REPLY_TO = "programme@cbportal.test"
PREFERENCES_PATH = "/notifications/preferences/"


@pytest.fixture(name="french_staff")
def french_staff_fixture(staff: Any) -> Any:
    staff.language = "fr"
    staff.save(update_fields=["language"])
    return staff


@pytest.fixture(name="quiet_partner")
def quiet_partner_fixture(partner: Any) -> Any:
    """The submitting partner, who keeps request notifications in CB Portal (no email)."""
    NotificationPreference.objects.create(
        user=partner, category=NotificationCategory.REQUESTS, mode=DeliveryMode.IN_APP
    )
    return partner


def submit(partner: Any) -> AssistanceRequest:
    """A complete draft of the partner's organisation, submitted (committed, unless the
    caller holds a transaction open)."""
    draft = make_draft(partner)
    services.request_submit(request_id=draft.pk, by=partner)
    return AssistanceRequest.objects.get(pk=draft.pk)


def check_staff_alert(
    received: Received,
    request: AssistanceRequest,
    staff: Any,
    *,
    from_email: str = FROM,
    reply_to: str = REPLY_TO,
) -> None:
    """The email staff get for a new request: to them, from the portal's address with the
    programme's reply address, text and HTML, in French, linking to the request and to the
    notification preferences."""
    message = received.message
    assert received.rcpt_tos == [staff.email]
    assert str(message["To"]) == staff.email
    assert str(message["From"]) == from_email
    assert str(message["Reply-To"]) == reply_to
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == [
        "text/plain",
        "text/html",
    ]
    assert message["Subject"] == f"Nouvelle demande {request.reference} ({request.organisation})"
    text, html = received.text, received.html
    assert text.startswith(f"Bonjour {staff.display_name},")
    assert "Elle est en attente dans la file de tri." in text
    assert "Ouvrir dans CB Portal\xa0:" in text
    assert '<html lang="fr">' in html and "Ouvrir dans CB Portal</a>" in html
    assert "Vous recevez ce courriel" in text and "Vous recevez ce courriel" in html
    object_url = django_settings.SITE_URL + request.get_absolute_url()
    preferences_url = django_settings.SITE_URL + PREFERENCES_PATH
    assert f"\n{object_url}\n" in text
    assert f"Choisir les courriels que vous recevez\xa0: {preferences_url}\n" in text
    assert f'href="{object_url}"' in html
    assert f'<a href="{preferences_url}">Choisir les courriels que vous recevez</a>' in html
    # Nothing left in English, the footer included.
    english = ["Hello", "Open it", "You receive", "Your notifications", "Choose which"]
    for body in (text, html):
        assert [phrase for phrase in english if phrase in body] == []


def check_one_in_app_notification(request: AssistanceRequest, staff: Any) -> Notification:
    (notification,) = Notification.objects.filter(recipient=staff)
    assert notification.event == "request_received"
    assert notification.target == request
    assert notification.url == request.get_absolute_url()
    assert notification.subject.startswith("Nouvelle demande")
    assert notification.email_status == DeliveryStatus.SENT
    assert notification.sent_at is not None and notification.claimed_at is None
    return notification


@pytest.fixture
def smtp(smtp_server: SmtpServer, settings: Any) -> SmtpServer:
    """Django sends through the loopback server, from FROM with REPLY_TO."""
    smtp_server.use_for_django(settings)
    settings.DEFAULT_FROM_EMAIL = FROM
    settings.EMAIL_REPLY_TO = [REPLY_TO]
    return smtp_server


def test_a_submission_emails_staff_once_in_their_language(
    smtp: SmtpServer, french_staff: Any, quiet_partner: Any, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        request = submit(quiet_partner)
    (received,) = smtp.wait_for(1, timeout=10)
    check_staff_alert(received, request, french_staff)
    notification = check_one_in_app_notification(request, french_staff)
    assert notification.attempts == 1
    # The partner's acknowledgement stays in CB Portal, as they chose.
    assert Notification.objects.get(recipient=quiet_partner).email_status == DeliveryStatus.SKIPPED
    # Nothing is left for the sweep: a second pass sends nothing more.
    assert notifications.sweep() == 0
    assert smtp.count == 1


def test_a_broker_outage_loses_nothing_and_the_sweep_sends_it_once(
    smtp: SmtpServer,
    french_staff: Any,
    quiet_partner: Any,
    django_capture_on_commit_callbacks,
    caplog: pytest.LogCaptureFixture,
) -> None:
    refused = OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
    with mock.patch.object(tasks.deliver_notification, "delay", side_effect=refused) as delay:
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True):
            request = submit(quiet_partner)
        took = time.monotonic() - started
    delay.assert_called_once()  # it tried, after commit
    assert took < 5, f"the transition took {took:.1f} s with the broker down"
    assert request.status == "submitted"
    notification = Notification.objects.get(recipient=french_staff)
    assert (notification.email_status, notification.attempts) == (DeliveryStatus.PENDING, 0)
    assert f"Could not queue notification {notification.pk}" in caplog.text
    assert smtp.messages == []

    # The broker is back; beat runs the sweep (eagerly here), which queues it once.
    assert tasks.sweep_notifications.delay().get() == 1
    (received,) = smtp.wait_for(1, timeout=10)
    check_staff_alert(received, request, french_staff)
    check_one_in_app_notification(request, french_staff)
    assert tasks.sweep_notifications.delay().get() == 0
    assert smtp.count == 1


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transition_sends_nothing(
    smtp: SmtpServer, french_staff: Any, quiet_partner: Any
) -> None:
    draft = make_draft(quiet_partner)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.request_submit(request_id=draft.pk, by=quiet_partner)
        assert Notification.objects.count() == 2  # written inside the transaction
        raise RuntimeError("a later step of the same change failed")
    assert AssistanceRequest.objects.get(pk=draft.pk).status == "draft"
    assert not Notification.objects.exists()
    assert notifications.sweep() == 0
    # Eager delivery is synchronous: had anything been sent, the server would hold it now.
    assert smtp.messages == []
