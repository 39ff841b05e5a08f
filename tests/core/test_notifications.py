"""notify_on_commit and delivery through the outbox."""

from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from cbportal.accounts.services import invitation_create
from cbportal.core import notifications
from cbportal.core.models import DeliveryStatus, Notification


def invite(staff, email="new.expert@example.org", language="en"):
    return invitation_create(by=staff, email=email, role="expert", language=language)


@pytest.mark.django_db(transaction=True)
def test_it_queues_nothing_when_the_transaction_rolls_back(staff):
    with (
        mock.patch("cbportal.core.tasks.deliver_notification.delay") as delay,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        invite(staff)
        assert Notification.objects.count() == 1  # written inside the transaction
        raise RuntimeError("the change failed")
    delay.assert_not_called()
    assert Notification.objects.count() == 0
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_it_queues_once_when_the_transaction_commits(staff):
    with mock.patch("cbportal.core.tasks.deliver_notification.delay") as delay:  # noqa: SIM117
        with transaction.atomic():
            invite(staff)
            delay.assert_not_called()  # not before commit
    notification = Notification.objects.get()
    delay.assert_called_once_with(notification.pk)


def test_it_delivers_one_in_app_notification_and_one_email(
    staff, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invitation = invite(staff)
    notification = Notification.objects.get()
    assert notification.recipient == invitation.user
    assert (notification.event, notification.category) == ("account_invited", "account")
    assert notification.email_status == DeliveryStatus.SENT
    assert notification.attempts == 1
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["new.expert@example.org"]
    assert email.subject == "You are invited to CB Portal"
    assert "/accounts/invitation/" in email.body
    html, mimetype = email.alternatives[0]
    assert mimetype == "text/html" and "/accounts/invitation/" in html


def test_it_writes_the_email_in_the_recipients_language(staff, django_capture_on_commit_callbacks):
    # The catalogue may not translate every string yet; the language must still be applied.
    with django_capture_on_commit_callbacks(execute=True):
        invite(staff, language="fr")
    with mock.patch("django.utils.translation.override") as override:
        override.return_value.__enter__ = lambda s: None
        override.return_value.__exit__ = lambda s, *a: None
        notifications.build_email(Notification.objects.get())
    override.assert_called_with("fr")


def test_the_same_occurrence_never_notifies_a_recipient_twice(staff, expert):
    first = notifications.notify_on_commit(
        "account_invited", None, [expert, expert], key="occurrence-1"
    )
    again = notifications.notify_on_commit("account_invited", None, [expert], key="occurrence-1")
    assert len(first) == 1 and again == []
    assert Notification.objects.filter(recipient=expert).count() == 1


def test_it_skips_email_for_recipients_without_an_address(expert):
    expert.email = ""
    expert.save()
    created = notifications.notify_on_commit("account_invited", None, [expert], key="k")
    assert created == []  # nothing to deliver
    assert Notification.objects.get(recipient=expert).email_status == DeliveryStatus.SKIPPED


def test_it_ignores_inactive_recipients(expert):
    expert.is_active = False
    expert.save()
    notifications.notify_on_commit("account_invited", None, [expert], key="k")
    assert not Notification.objects.exists()


def test_an_unknown_event_is_a_programming_error(expert):
    with pytest.raises(LookupError):
        notifications.notify_on_commit("no_such_event", None, [expert])


def _pending(staff):
    with mock.patch("cbportal.core.tasks.deliver_notification.delay"):
        invite(staff)
    return Notification.objects.get()


def test_two_deliveries_of_one_row_send_one_email(staff):
    notification = _pending(staff)
    assert notifications.deliver(notification.pk) == "sent"
    assert notifications.deliver(notification.pk) == "claimed"
    assert len(mail.outbox) == 1


def test_a_row_claimed_by_a_live_worker_is_not_taken(staff):
    notification = _pending(staff)
    Notification.objects.filter(pk=notification.pk).update(claimed_at=timezone.now())
    assert notifications.deliver(notification.pk) == "claimed"
    assert mail.outbox == []


def test_a_claim_abandoned_by_a_dead_worker_is_taken_over(staff, settings):
    notification = _pending(staff)
    stale = timezone.now() - timedelta(seconds=settings.NOTIFICATION_CLAIM_SECONDS + 1)
    Notification.objects.filter(pk=notification.pk).update(claimed_at=stale, attempts=1)
    assert notification.pk in notifications.due_for_delivery()
    assert notifications.deliver(notification.pk) == "sent"
    assert len(mail.outbox) == 1


def test_a_failed_send_is_retried_later_then_marked_failed(staff, settings):
    settings.NOTIFICATION_MAX_ATTEMPTS = 2
    notification = _pending(staff)
    with mock.patch(
        "django.core.mail.EmailMultiAlternatives.send",
        side_effect=ConnectionRefusedError("smtp down"),
    ):
        assert notifications.deliver(notification.pk) == "retry"
        notification.refresh_from_db()
        assert notification.email_status == DeliveryStatus.PENDING
        assert "smtp down" in notification.last_error
        assert notification.next_attempt_at > timezone.now()
        assert notification.pk not in notifications.due_for_delivery()  # backing off
        assert notification.pk in notifications.due_for_delivery(
            now=timezone.now() + timedelta(minutes=2)
        )
        assert notifications.deliver(notification.pk) == "failed"
    notification.refresh_from_db()
    assert notification.email_status == DeliveryStatus.FAILED
    assert notification.attempts == 2
    # Staff put it back in the queue; then it goes out.
    assert notifications.retry_failed([notification.pk]) == 1
    assert notifications.deliver(notification.pk) == "sent"
    assert len(mail.outbox) == 1


def test_the_backoff_grows_and_is_capped():
    assert [notifications.retry_delay(n) for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert notifications.retry_delay(20) == 3600


def test_a_broker_outage_leaves_the_row_for_the_sweep(staff, django_capture_on_commit_callbacks):
    with (
        mock.patch(
            "cbportal.core.tasks.deliver_notification.delay", side_effect=OSError("broker down")
        ),
        django_capture_on_commit_callbacks(execute=True),
    ):
        invite(staff)  # the change itself succeeds
    notification = Notification.objects.get()
    assert notification.email_status == DeliveryStatus.PENDING
    assert mail.outbox == []
    # The broker is back: the periodic sweep delivers it, once.
    assert notifications.sweep() == 1
    assert notifications.sweep() == 0
    notification.refresh_from_db()
    assert notification.email_status == DeliveryStatus.SENT
    assert len(mail.outbox) == 1
