"""Preferences route each notification (immediately / daily digest / in-app only) and the
daily digest groups what waits into one email per user — issue 7, acceptance test (5)."""

from __future__ import annotations

from datetime import date, timedelta
from unittest import mock

import pytest
from django.core import mail
from django.utils import timezone

from cbportal.core import notifications
from cbportal.core.errors import ApplicationError
from cbportal.core.models import (
    DeliveryMode,
    DeliveryStatus,
    Digest,
    Notification,
    NotificationPreference,
    OrganisationNotificationDefault,
)
from cbportal.core.services import (
    notification_preferences_set,
    organisation_notification_defaults_set,
)
from tests.factories import UserFactory
from tests.requests_app.helpers import make_request

TODAY = date(2026, 11, 30)


def submit(partner, django_capture_on_commit_callbacks):
    """A partner submits a request: staff get ``request_received`` (category requests)."""
    with django_capture_on_commit_callbacks(execute=True):
        return make_request("submitted", partner)


def received_by(user):
    return Notification.objects.get(recipient=user, event="request_received")


# --- routing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "status", "emails"),
    [
        (DeliveryMode.IMMEDIATE, DeliveryStatus.SENT, 1),
        (DeliveryMode.DIGEST, DeliveryStatus.DIGEST, 0),
        (DeliveryMode.IN_APP, DeliveryStatus.SKIPPED, 0),
    ],
)
def test_the_users_choice_routes_the_email(
    partner, staff, mode, status, emails, django_capture_on_commit_callbacks
):
    notification_preferences_set(user=staff, modes={"requests": mode})
    mail.outbox.clear()
    submit(partner, django_capture_on_commit_callbacks)
    notification = received_by(staff)
    assert notification.email_status == status
    assert len([m for m in mail.outbox if m.to == [staff.email]]) == emails
    # In-app it is there whatever the choice.
    assert notification.read_at is None


def test_a_choice_for_one_category_leaves_the_others_alone(
    partner, staff, django_capture_on_commit_callbacks
):
    notification_preferences_set(user=staff, modes={"actions": DeliveryMode.IN_APP})
    submit(partner, django_capture_on_commit_callbacks)
    assert received_by(staff).email_status == DeliveryStatus.SENT


def test_the_organisation_default_applies_unless_the_member_chose(
    partner, staff, organisation, django_capture_on_commit_callbacks
):
    colleague = UserFactory(partner=True, organisation=organisation)
    organisation_notification_defaults_set(
        organisation=organisation, modes={"requests": DeliveryMode.DIGEST}, by=staff
    )
    notification_preferences_set(user=colleague, modes={"requests": DeliveryMode.IMMEDIATE})
    submit(partner, django_capture_on_commit_callbacks)
    mine = Notification.objects.get(recipient=partner, event="request_submitted")
    theirs = Notification.objects.get(recipient=colleague, event="request_submitted")
    assert mine.email_status == DeliveryStatus.DIGEST
    assert theirs.email_status == DeliveryStatus.SENT


def test_the_programme_default_applies_without_any_choice(
    partner, staff, settings, django_capture_on_commit_callbacks
):
    settings.NOTIFICATION_DEFAULT_MODE = DeliveryMode.IN_APP
    submit(partner, django_capture_on_commit_callbacks)
    assert received_by(staff).email_status == DeliveryStatus.SKIPPED


def test_choosing_the_default_again_removes_the_choice(staff):
    notification_preferences_set(user=staff, modes={"requests": DeliveryMode.DIGEST})
    notification_preferences_set(user=staff, modes={"requests": None})
    assert not NotificationPreference.objects.filter(user=staff).exists()


def test_account_messages_are_always_immediate(staff, expert):
    # Even a user who wants nothing by email gets their password reset link.
    modes = notifications.delivery_modes([staff, expert], "account")
    assert set(modes.values()) == {DeliveryMode.IMMEDIATE}
    with pytest.raises(ApplicationError):
        notification_preferences_set(user=staff, modes={"account": DeliveryMode.IN_APP})


def test_an_unknown_mode_is_refused_and_nothing_is_saved(staff):
    with pytest.raises(ApplicationError) as caught:
        notification_preferences_set(
            user=staff, modes={"requests": DeliveryMode.DIGEST, "actions": "carrier-pigeon"}
        )
    assert "actions" in caught.value.errors
    assert not NotificationPreference.objects.filter(user=staff).exists()


def test_only_programme_staff_set_an_organisations_defaults(partner, organisation):
    with pytest.raises(ApplicationError):
        organisation_notification_defaults_set(
            organisation=organisation, modes={"requests": DeliveryMode.DIGEST}, by=partner
        )
    assert not OrganisationNotificationDefault.objects.exists()


def test_modes_are_resolved_in_two_queries_for_any_number_of_users(
    organisation, staff, django_assert_num_queries
):
    users = [UserFactory(partner=True, organisation=organisation) for _ in range(12)]
    notification_preferences_set(user=users[0], modes={"requests": DeliveryMode.IN_APP})
    with django_assert_num_queries(2):
        modes = notifications.delivery_modes(users, "requests")
    assert modes[users[0].pk] == DeliveryMode.IN_APP
    assert modes[users[1].pk] == DeliveryMode.IMMEDIATE


# --- the daily digest ------------------------------------------------------------------------


def digest_user(partner, staff, django_capture_on_commit_callbacks, count=2):
    notification_preferences_set(user=staff, modes={"requests": DeliveryMode.DIGEST})
    for _ in range(count):
        submit(partner, django_capture_on_commit_callbacks)
    mail.outbox.clear()


def test_the_digest_groups_everything_waiting_into_one_email(
    partner, staff, django_capture_on_commit_callbacks
):
    digest_user(partner, staff, django_capture_on_commit_callbacks, count=3)
    with django_capture_on_commit_callbacks(execute=True):
        assert notifications.digests_build(today=TODAY) == 1
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == [staff.email]
    assert "3 notifications" in email.subject
    subjects = set(Notification.objects.filter(recipient=staff).values_list("subject", flat=True))
    assert len(subjects) == 3
    for subject in subjects:
        assert subject in email.body
    html = email.alternatives[0][0]
    assert "/notifications/preferences/" in html and "/notifications/preferences/" in email.body
    digest = Digest.objects.get()
    assert (digest.recipient, digest.day, digest.email_status) == (staff, TODAY, "sent")
    assert set(digest.notifications.values_list("email_status", flat=True)) == {"sent"}


def test_no_digest_is_sent_when_nothing_waits(partner, staff, django_capture_on_commit_callbacks):
    submit(partner, django_capture_on_commit_callbacks)  # immediate: nothing for a digest
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert notifications.digests_build(today=TODAY) == 0
    assert mail.outbox == []
    assert not Digest.objects.exists()


def test_building_twice_the_same_day_sends_one_digest(
    partner, staff, django_capture_on_commit_callbacks
):
    digest_user(partner, staff, django_capture_on_commit_callbacks)
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            notifications.digests_build(today=TODAY)
    assert len(mail.outbox) == 1
    assert Digest.objects.count() == 1


def test_what_arrives_after_the_days_digest_waits_for_the_next_one(
    partner, staff, django_capture_on_commit_callbacks
):
    digest_user(partner, staff, django_capture_on_commit_callbacks, count=1)
    with django_capture_on_commit_callbacks(execute=True):
        notifications.digests_build(today=TODAY)
    submit(partner, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        assert notifications.digests_build(today=TODAY) == 0  # today's is already sent
    late = Notification.objects.filter(recipient=staff, digest__isnull=True).get()
    assert late.email_status == DeliveryStatus.DIGEST
    with django_capture_on_commit_callbacks(execute=True):
        assert notifications.digests_build(today=TODAY + timedelta(days=1)) == 1
    to_staff = [m for m in mail.outbox if m.to == [staff.email]]
    assert len(to_staff) == 2
    assert "1 notification" in to_staff[1].subject


def test_the_digest_is_written_in_the_recipients_language(
    partner, staff, django_capture_on_commit_callbacks
):
    staff.language = "fr"
    staff.save(update_fields=["language"])
    digest_user(partner, staff, django_capture_on_commit_callbacks, count=2)
    with django_capture_on_commit_callbacks(execute=True):
        notifications.digests_build(today=TODAY)
    assert "notifications" in mail.outbox[0].subject
    assert "Bonjour" in mail.outbox[0].body


def test_a_digest_that_cannot_be_sent_is_retried_then_failed(
    partner, staff, settings, django_capture_on_commit_callbacks
):
    settings.NOTIFICATION_MAX_ATTEMPTS = 2
    digest_user(partner, staff, django_capture_on_commit_callbacks)
    with (
        mock.patch(
            "django.core.mail.EmailMultiAlternatives.send", side_effect=OSError("SMTP down")
        ),
        django_capture_on_commit_callbacks(execute=True),
    ):
        notifications.digests_build(today=TODAY)
    digest = Digest.objects.get()
    assert (digest.email_status, digest.attempts) == ("pending", 1)
    assert "SMTP down" in digest.last_error
    assert digest.next_attempt_at > timezone.now()
    with mock.patch(
        "django.core.mail.EmailMultiAlternatives.send", side_effect=OSError("SMTP down")
    ):
        assert notifications.deliver_digest(digest.pk) == "failed"
    digest.refresh_from_db()
    assert digest.email_status == DeliveryStatus.FAILED
    # Its notifications are not marked sent: nothing claims to have been delivered.
    assert set(digest.notifications.values_list("email_status", flat=True)) == {"digest"}
    # Staff put it back in the queue; it goes out once.
    assert notifications.retry_failed([digest.pk], model=Digest) == 1
    assert notifications.deliver_digest(digest.pk) == "sent"
    assert notifications.deliver_digest(digest.pk) == "claimed"
    assert len(mail.outbox) == 1


def test_the_sweep_queues_a_digest_the_broker_missed(
    partner, staff, django_capture_on_commit_callbacks
):
    digest_user(partner, staff, django_capture_on_commit_callbacks)
    with (
        mock.patch("cbportal.core.tasks.deliver_digest.delay", side_effect=OSError("no broker")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        notifications.digests_build(today=TODAY)
    assert mail.outbox == []
    assert Digest.objects.get().email_status == DeliveryStatus.PENDING
    notifications.sweep()
    assert len(mail.outbox) == 1
    notifications.sweep()
    assert len(mail.outbox) == 1


def test_the_backlog_counts_by_status_and_ages_the_oldest_pending(
    partner, staff, django_capture_on_commit_callbacks
):
    with mock.patch("cbportal.core.tasks.deliver_notification.delay", side_effect=OSError):
        submit(partner, django_capture_on_commit_callbacks)
    pending = Notification.objects.filter(email_status="pending")
    assert pending.exists()
    pending.update(created_at=timezone.now() - timedelta(minutes=30))
    backlog = notifications.backlog()
    assert backlog["notifications"]["pending"] == pending.count()
    assert 1790 <= backlog["oldest_pending_seconds"] <= 1830
    notifications.sweep()
    assert notifications.backlog()["oldest_pending_seconds"] is None
