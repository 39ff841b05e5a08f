"""``manage.py outbox``: the email backlog for people (text) and machines (JSON, exit code)."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError
from django.utils import timezone

from cbportal.core.management.commands.outbox import human_age
from cbportal.core.models import DeliveryStatus, Digest, Notification, NotificationCategory
from cbportal.core.notifications import notify_on_commit
from tests.factories import UserFactory

_keys = itertools.count()


def _row(user, status=DeliveryStatus.PENDING, *, age_seconds=0, **fields):
    """A notification row as the outbox would hold it (no email is involved)."""
    return Notification.objects.create(
        recipient=user,
        event=fields.pop("event", "request_submitted"),
        category=NotificationCategory.REQUESTS,
        subject="A request",
        idempotency_key=f"outbox-test:{next(_keys)}",
        email_status=status,
        created_at=timezone.now() - timedelta(seconds=age_seconds),
        **fields,
    )


def _failed_reset(user, error="SMTPServerDisconnected: Connection unexpectedly closed"):
    """A real ``password_reset`` notification (its email renders) that failed for good."""
    (notification,) = notify_on_commit("password_reset", None, [user])
    Notification.objects.filter(pk=notification.pk).update(
        email_status=DeliveryStatus.FAILED, attempts=5, last_error=error
    )
    return notification


def _run(*args):
    out = StringIO()
    call_command("outbox", *args, stdout=out)
    return out.getvalue()


def _report(*args):
    return json.loads(_run("--json", *args))


def test_it_counts_every_status_and_splits_the_pending_ones(staff, settings):
    now = timezone.now()
    stale = now - timedelta(seconds=settings.NOTIFICATION_CLAIM_SECONDS + 5)
    _row(staff, next_attempt_at=now - timedelta(seconds=5))  # due
    _row(staff, claimed_at=stale, next_attempt_at=now - timedelta(seconds=400))  # dead worker
    _row(staff, attempts=2, next_attempt_at=now + timedelta(minutes=2))  # backing off
    _row(staff, claimed_at=now, attempts=1)  # in flight
    _row(staff, DeliveryStatus.FAILED, attempts=5)
    _row(staff, DeliveryStatus.DIGEST)
    _row(staff, DeliveryStatus.DIGEST)
    _row(staff, DeliveryStatus.SENT)
    _row(staff, DeliveryStatus.SKIPPED)
    Digest.objects.create(recipient=staff, day=timezone.localdate())

    report = _report()
    assert report["notifications"] == {
        "pending": 4,
        "due": 2,
        "waiting_for_retry": 1,
        "claimed": 1,
        "digest": 2,
        "failed": 1,
        "sent": 1,
        "skipped": 1,
    }
    assert report["digests"]["pending"] == 1
    assert report["digests"]["due"] == 1
    assert report["status"] == "ok"


def test_it_reports_an_empty_outbox(db):
    report = _report()
    assert report["oldest_pending_seconds"] is None
    assert report["oldest_pending_age"] is None
    assert report["recent_failures"] == []
    assert report["status"] == "ok"
    assert "actions" not in report
    text = _run()
    assert "Oldest pending email: none" in text
    assert "No failed emails." in text


def test_it_gives_the_oldest_pending_emails_age(staff, settings):
    settings.NOTIFICATION_BACKLOG_WARNING_SECONDS = 86400
    _row(staff, age_seconds=30)
    _row(staff, age_seconds=3 * 3600 + 12 * 60 + 5)
    _row(staff, DeliveryStatus.FAILED, age_seconds=86400)  # not pending: not counted
    report = _report()
    assert report["oldest_pending_seconds"] >= 3 * 3600 + 12 * 60 + 5
    assert report["oldest_pending_age"] == "3 h 12 min"
    assert "Oldest pending email: 3 h 12 min (warning after 1 d)." in _run()


def test_it_lists_the_ten_most_recent_failures(staff):
    now = timezone.now()
    for i in range(12):
        _row(
            staff,
            DeliveryStatus.FAILED,
            attempts=5,
            last_error=f"SMTPRecipientsRefused: error {i}\nsecond line",
            next_attempt_at=now - timedelta(minutes=60 - i),
        )
    digest = Digest.objects.create(
        recipient=staff,
        day=timezone.localdate(),
        email_status=DeliveryStatus.FAILED,
        attempts=5,
        last_error="SMTPDataError: digest",
        next_attempt_at=now,
    )
    failures = _report()["recent_failures"]
    assert len(failures) == 10
    assert failures[0]["kind"] == "digest"
    assert failures[0]["id"] == digest.pk
    assert failures[0]["event"] == "digest"
    assert [f["last_error"].split("\n")[0] for f in failures[1:]] == [
        f"SMTPRecipientsRefused: error {i}" for i in range(11, 2, -1)
    ]
    first = failures[1]
    assert first["kind"] == "notification"
    assert first["recipient"] == "staff"
    assert first["email"] == "staff@example.org"
    assert first["event"] == "request_submitted"
    assert first["attempts"] == 5

    text = _run()
    assert "Most recent failures" in text
    assert (
        f"notification {first['id']}  staff@example.org  request_submitted  5 attempt(s)  "
        "SMTPRecipientsRefused: error 11 second line"
    ) in text
    assert "error 1 " not in text  # the oldest two are left out


def test_the_text_report_is_a_table(staff):
    _row(staff, DeliveryStatus.SENT)
    _row(staff, DeliveryStatus.SENT)
    _row(staff, DeliveryStatus.DIGEST)
    text = _run()
    lines = {line.split("  ")[0].strip(): line.split() for line in text.splitlines() if line}
    assert lines["sent"][-2:] == ["2", "0"]
    assert lines["waiting for the digest"][-2:] == ["1", "-"]


def test_it_exits_with_status_1_when_the_oldest_pending_email_is_too_old(staff, settings):
    settings.NOTIFICATION_BACKLOG_WARNING_SECONDS = 900
    _row(staff, age_seconds=850)
    assert _report()["status"] == "ok"  # no error raised: exit status 0

    _row(staff, age_seconds=1000)
    out = StringIO()
    with pytest.raises(CommandError) as error:
        call_command("outbox", "--json", stdout=out)
    assert error.value.returncode == 1
    assert "NOTIFICATION_BACKLOG_WARNING_SECONDS" in str(error.value)
    report = json.loads(out.getvalue())  # the report is printed all the same
    assert report["status"] == "backlog"
    assert report["warning_seconds"] == 900
    assert report["oldest_pending_seconds"] >= 1000


def test_the_process_exit_status_is_what_monitoring_sees(staff, settings, capsys):
    settings.NOTIFICATION_BACKLOG_WARNING_SECONDS = 900
    _row(staff, age_seconds=2000)
    with pytest.raises(SystemExit) as exit_:
        execute_from_command_line(["manage.py", "outbox"])
    assert exit_.value.code == 1
    captured = capsys.readouterr()
    assert "BACKLOG" in captured.out
    assert "NOTIFICATION_BACKLOG_WARNING_SECONDS" in captured.err


def test_failed_emails_are_not_a_backlog(staff, settings):
    settings.NOTIFICATION_BACKLOG_WARNING_SECONDS = 60
    _row(staff, DeliveryStatus.FAILED, age_seconds=2 * 86400)
    _row(staff, DeliveryStatus.DIGEST, age_seconds=2 * 86400)
    Digest.objects.create(
        recipient=staff,
        day=timezone.localdate(),
        email_status=DeliveryStatus.FAILED,
        created_at=timezone.now() - timedelta(days=2),
    )
    report = _report()
    assert report["status"] == "ok"
    assert report["oldest_pending_seconds"] is None


def test_retry_failed_requeues_after_commit_and_delivers(
    staff, expert, mailoutbox, django_capture_on_commit_callbacks
):
    first = _failed_reset(staff)
    second = _failed_reset(expert)
    waiting = _row(staff, DeliveryStatus.DIGEST, event="request_submitted")
    digest = Digest.objects.create(
        recipient=staff,
        day=timezone.localdate(),
        email_status=DeliveryStatus.FAILED,
        attempts=5,
        last_error="SMTPDataError: 451",
    )
    Notification.objects.filter(pk=waiting.pk).update(digest=digest)
    sent_before = _row(staff, DeliveryStatus.SENT)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        report = _report("--retry-failed")
    assert callbacks, "queued only once the requeue has committed"
    assert report["actions"] == {"retried": {"notifications": 2, "digests": 1}}
    assert sorted(m.to[0] for m in mailoutbox) == [
        "expert@example.org",
        "staff@example.org",
        "staff@example.org",
    ]
    for row in (first, second, digest, waiting):
        row.refresh_from_db()
        assert row.email_status == DeliveryStatus.SENT, row
    assert first.attempts == 1  # counted afresh
    sent_before.refresh_from_db()
    assert sent_before.sent_at is None  # rows in other states are left alone
    assert report["recent_failures"] == []


def test_retry_failed_leaves_the_rows_pending_until_the_commit(staff, mailoutbox):
    notification = _failed_reset(staff)
    text = _run("--retry-failed")
    assert "Requeued 1 failed notification(s) and 0 failed digest(s)." in text
    notification.refresh_from_db()
    assert notification.email_status == DeliveryStatus.PENDING
    assert notification.attempts == 0
    assert mailoutbox == []  # the test's transaction never commits, so nothing was queued


def test_sweep_queues_what_is_due_and_nothing_else(
    staff, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        (due,) = notify_on_commit("password_reset", None, [staff])
        (later,) = notify_on_commit("password_reset", None, [staff])
    Notification.objects.filter(pk=later.pk).update(
        attempts=1, next_attempt_at=timezone.now() + timedelta(minutes=5)
    )
    assert mailoutbox == []

    report = _report("--sweep")
    assert report["actions"] == {"queued": 1}
    assert len(mailoutbox) == 1
    due.refresh_from_db()
    later.refresh_from_db()
    assert due.email_status == DeliveryStatus.SENT
    assert later.email_status == DeliveryStatus.PENDING
    assert report["notifications"]["pending"] == 1
    assert report["notifications"]["waiting_for_retry"] == 1
    assert "Queued 0 due email(s)." in _run("--sweep")


def test_a_sweep_that_clears_the_backlog_exits_with_status_0(staff, settings, mailoutbox):
    settings.NOTIFICATION_BACKLOG_WARNING_SECONDS = 60
    (notification,) = notify_on_commit("password_reset", None, [staff])
    Notification.objects.filter(pk=notification.pk).update(
        created_at=timezone.now() - timedelta(hours=1)
    )
    with pytest.raises(CommandError):
        _run()
    report = _report("--sweep")
    assert report["status"] == "ok"
    assert len(mailoutbox) == 1


def test_a_user_without_an_address_is_listed_by_username(db):
    user = UserFactory(username="no-mail", email="")
    _row(user, DeliveryStatus.FAILED, last_error="boom")
    assert "no-mail  request_submitted" in _run()


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s"),
        (45, "45 s"),
        (60, "1 min"),
        (725, "12 min 5 s"),
        (3 * 3600 + 12 * 60 + 59, "3 h 12 min"),
        (86400 + 300, "1 d"),
        (2 * 86400 + 4 * 3600 + 7, "2 d 4 h"),
    ],
)
def test_ages_read_like_a_person_would_say_them(seconds, text):
    assert human_age(seconds) == text
