"""The staff "Email delivery" page: every user's notification and digest emails, filters,
the backlog summary and retry of failed emails."""

from __future__ import annotations

import re
from datetime import timedelta
from itertools import count
from typing import Any
from unittest import mock

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cbportal.accounts.services import invitation_create
from cbportal.core.models import (
    DeliveryStatus,
    Digest,
    Notification,
    NotificationCategory,
    NotificationPreference,
    OrganisationNotificationDefault,
)
from tests.factories import UserFactory

URL = reverse("core:outbox")
RETRY_URL = reverse("core:outbox-retry")

_keys = count()


def notify(
    user: Any,
    status: str = DeliveryStatus.SENT,
    *,
    subject: str = "Request REQ-1 received",
    event: str = "request_submitted",
    category: str = NotificationCategory.REQUESTS,
    age_minutes: int = 0,
    **fields: Any,
) -> Notification:
    """A notification row written directly (the delivery machinery is not under test)."""
    return Notification.objects.create(
        recipient=user,
        event=event,
        category=category,
        subject=subject,
        idempotency_key=f"test-outbox:{next(_keys)}",
        email_status=status,
        created_at=timezone.now() - timedelta(minutes=age_minutes),
        **fields,
    )


def rows(response: Any) -> list[str]:
    html = response.content.decode()
    return re.findall(r'<tr data-testid="outbox-row">(.*?)</tr>', html, flags=re.S)


def statuses(response: Any) -> list[str]:
    html = response.content.decode()
    return re.findall(r'data-testid="email-status">\s*<span class="[^"]*">([^<]*)</span>', html)


def summary(response: Any) -> str:
    html = response.content.decode()
    (block,) = re.findall(r'data-testid="outbox-summary">(.*?)</div>', html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", block).split())


def message_texts(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def failed_invitation(staff: Any, email: str = "new.expert@example.org") -> Notification:
    """A real invitation email that failed for good (the broker queue is bypassed)."""
    with mock.patch("cbportal.core.tasks.deliver_notification.delay"):
        invitation_create(by=staff, email=email, role="expert", language="en")
    notification = Notification.objects.get(recipient__email=email)
    Notification.objects.filter(pk=notification.pk).update(
        email_status=DeliveryStatus.FAILED, attempts=5, last_error="SMTPServerDisconnected: gone"
    )
    return notification


# --- Who may see it ---------------------------------------------------------------------


def test_it_sends_anonymous_visitors_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    response = client.post(RETRY_URL, {"kind": "notifications", "ids": ["1"]})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize("who", ["partner", "expert", "evaluator"])
def test_it_refuses_everyone_but_programme_staff(who, personas, client, staff):
    notification = notify(staff, DeliveryStatus.FAILED)
    client.force_login(personas[who])
    assert client.get(URL).status_code == 403
    response = client.post(RETRY_URL, {"kind": "notifications", "ids": [notification.pk]})
    assert response.status_code == 403
    notification.refresh_from_db()
    assert notification.email_status == DeliveryStatus.FAILED


@pytest.mark.parametrize("who", ["staff", "approver", "admin_user"])
def test_it_shows_programme_staff_and_administrators_the_page(who, request, client):
    client.force_login(request.getfixturevalue(who))
    response = client.get(URL)
    assert response.status_code == 200
    assert "core/outbox.html" in [t.name for t in response.templates]


def test_the_retry_endpoint_only_accepts_post(client, staff):
    client.force_login(staff)
    assert client.get(RETRY_URL).status_code == 405


# --- The list ---------------------------------------------------------------------------


def test_it_lists_every_users_notifications_with_their_delivery(client, staff, partner, expert):
    notify(partner, DeliveryStatus.SENT, subject="Request REQ-1 received", age_minutes=3)
    notify(
        expert,
        DeliveryStatus.FAILED,
        subject="Invitation to a mission",
        event="deployment_invited",
        category=NotificationCategory.DEPLOYMENTS,
        attempts=5,
        last_error="SMTPRecipientsRefused: no such mailbox",
        age_minutes=2,
    )
    notify(staff, DeliveryStatus.PENDING, subject="Plan ACT-1 approved", age_minutes=1)
    client.force_login(staff)
    response = client.get(URL)
    assert response.status_code == 200
    found = rows(response)
    assert len(found) == 3
    # Newest first, one row per notification, whoever it was for.
    assert "Plan ACT-1 approved" in found[0] and "staff@example.org" in found[0]
    assert "Invitation to a mission" in found[1] and "expert@example.org" in found[1]
    assert "Request REQ-1 received" in found[2] and "partner@example.org" in found[2]
    # The status is written out, not only coloured.
    assert statuses(response) == ["Pending", "Failed", "Sent"]
    assert "SMTPRecipientsRefused: no such mailbox" in found[1]
    assert "Deployments" in found[1] and "deployment_invited" in found[1]
    assert ">5<" in found[1]
    html = response.content.decode()
    assert "<caption" in html and 'scope="col"' in html and 'scope="row"' in html


def test_the_summary_counts_the_backlog(client, staff, partner):
    notify(partner, DeliveryStatus.PENDING, age_minutes=90)
    notify(partner, DeliveryStatus.PENDING, age_minutes=5)
    notify(partner, DeliveryStatus.FAILED)
    notify(partner, DeliveryStatus.SENT)
    Digest.objects.create(recipient=partner, day=timezone.localdate(), email_status="failed")
    client.force_login(staff)
    text = summary(client.get(URL))
    assert "Waiting to be sent — notifications: 2, daily digests: 0." in text
    assert "Failed — notifications: 1, daily digests: 1." in text
    assert "was written 1 hour, 30 minutes ago" in text
    assert "longer than expected" in text  # 90 minutes > NOTIFICATION_BACKLOG_WARNING_SECONDS


def test_the_summary_says_when_nothing_waits(client, staff, partner):
    notify(partner, DeliveryStatus.SENT)
    client.force_login(staff)
    text = summary(client.get(URL))
    assert "Waiting to be sent — notifications: 0, daily digests: 0." in text
    assert "No email is waiting to be sent." in text
    assert "longer than expected" not in text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "failed"}, {"failed-request"}),
        ({"status": "digest"}, {"digest-action"}),
        ({"category": "actions"}, {"digest-action"}),
        ({"event": "deployment_invited"}, {"sent-deployment"}),
        ({"recipient": "EXPERT@example"}, {"sent-deployment"}),
        ({"recipient": "partn"}, {"failed-request", "digest-action"}),
        ({"status": "failed", "recipient": "expert"}, set()),
        ({}, {"failed-request", "digest-action", "sent-deployment"}),
    ],
)
def test_it_filters(query, expected, client, staff, partner, expert):
    notify(partner, DeliveryStatus.FAILED, subject="failed-request")
    notify(
        partner,
        DeliveryStatus.DIGEST,
        subject="digest-action",
        event="action_approved",
        category=NotificationCategory.ACTIONS,
    )
    notify(
        expert,
        DeliveryStatus.SENT,
        subject="sent-deployment",
        event="deployment_invited",
        category=NotificationCategory.DEPLOYMENTS,
    )
    client.force_login(staff)
    response = client.get(URL, query)
    assert response.status_code == 200
    shown = {
        s
        for row in rows(response)
        for s in ("failed-request", "digest-action", "sent-deployment")
        if s in row
    }
    assert shown == expected
    if not expected:
        assert "No email matches these filters." in response.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        {"status": "lost"},
        {"category": "gossip"},
        {"event": "no_such_event"},
        {"recipient": "x" * 151},
        {"kind": "everything"},
    ],
)
def test_invalid_filters_answer_400_with_the_errors(query, client, staff, partner):
    notify(partner, DeliveryStatus.FAILED, subject="failed-request")
    client.force_login(staff)
    response = client.get(URL, query)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'role="alert"' in html
    assert "These filters are not valid." in html
    assert rows(response) == []


def test_it_shows_25_rows_a_page(client, staff, partner):
    for n in range(30):
        notify(partner, subject=f"row-{n:02d}", age_minutes=100 - n)
    client.force_login(staff)
    first = client.get(URL)
    assert len(rows(first)) == 25
    assert "row-29" in rows(first)[0]
    assert "Page 1 of 2" in first.content.decode()
    second = client.get(URL, {"page": 2})
    assert [re.search(r"row-\d\d", r).group() for r in rows(second)] == [
        "row-04",
        "row-03",
        "row-02",
        "row-01",
        "row-00",
    ]


def test_the_pages_keep_the_filters(client, staff, partner, expert):
    for n in range(27):
        notify(partner, DeliveryStatus.FAILED, subject=f"failed-{n}")
    notify(expert, DeliveryStatus.SENT, subject="sent-one")
    client.force_login(staff)
    response = client.get(URL, {"status": "failed"})
    assert 'href="?status=failed&amp;page=2"' in response.content.decode()
    second = client.get(URL, {"status": "failed", "page": 2})
    assert len(rows(second)) == 2
    assert all("sent-one" not in row for row in rows(second))


# --- Retry ------------------------------------------------------------------------------


def test_retrying_a_failed_row_sends_it(
    client, staff, mailoutbox, django_capture_on_commit_callbacks
):
    notification = failed_invitation(staff)
    client.force_login(staff)
    page = client.get(URL, {"status": "failed"})
    assert len(re.findall(r'data-testid="retry"', page.content.decode())) == 1
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"{RETRY_URL}?status=failed", {"kind": "notifications", "ids": [notification.pk]}
        )
    assert response.status_code == 302
    assert response["Location"] == f"{URL}?status=failed"
    notification.refresh_from_db()
    assert notification.email_status == DeliveryStatus.SENT
    assert notification.attempts == 1  # counting starts again
    assert notification.sent_at is not None
    assert [m.to for m in mailoutbox] == [["new.expert@example.org"]]
    assert message_texts(response) == ["1 email queued to be sent again."]


def test_nothing_is_queued_before_the_retry_commits(client, staff, mailoutbox):
    notification = failed_invitation(staff)
    client.force_login(staff)
    with mock.patch("cbportal.core.tasks.deliver_notification.delay") as delay:
        client.post(RETRY_URL, {"kind": "notifications", "ids": [notification.pk]})
    # The test's transaction never commits: the row is pending and the sweep would take it.
    delay.assert_not_called()
    notification.refresh_from_db()
    assert notification.email_status == DeliveryStatus.PENDING
    assert mailoutbox == []


def test_retry_all_failed_shown_sends_each_once(
    client, staff, partner, mailoutbox, django_capture_on_commit_callbacks
):
    first = failed_invitation(staff, "first@example.org")
    second = failed_invitation(staff, "second@example.org")
    sent = notify(partner, DeliveryStatus.SENT)
    client.force_login(staff)
    page = client.get(URL).content.decode()
    (bulk,) = re.findall(r"<form[^>]*>(?:(?!</form>).)*data-testid=\"retry-all\"", page, re.S)
    ids = sorted(int(i) for i in re.findall(r'name="ids" value="(\d+)"', bulk))
    assert ids == sorted([first.pk, second.pk])
    assert "Retry all 2 failed emails shown" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(RETRY_URL, {"kind": "notifications", "ids": [*ids, sent.pk]})
    assert message_texts(response) == ["2 emails queued to be sent again."]
    assert sorted(m.to[0] for m in mailoutbox) == ["first@example.org", "second@example.org"]
    sent.refresh_from_db()
    assert sent.attempts == 0  # a row that had not failed is left alone


def test_retrying_rows_that_are_no_longer_failed_sends_nothing(
    client, staff, partner, mailoutbox, django_capture_on_commit_callbacks
):
    pending = notify(partner, DeliveryStatus.PENDING, claimed_at=timezone.now())
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(RETRY_URL, {"kind": "notifications", "ids": [pending.pk]})
    assert callbacks == []
    assert mailoutbox == []
    assert response.status_code == 302
    assert message_texts(response) == [
        "None of these emails is failed any more; someone may have retried them already."
    ]


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "notifications"},
        {"kind": "notifications", "ids": ["one"]},
        {"kind": "notifications", "ids": ["-3"]},
        {"kind": "everything", "ids": ["1"]},
        {"ids": ["1"]},
    ],
)
def test_a_malformed_retry_answers_400_and_changes_nothing(data, client, staff, partner):
    failed = notify(partner, DeliveryStatus.FAILED)
    client.force_login(staff)
    response = client.post(RETRY_URL, data)
    assert response.status_code == 400
    failed.refresh_from_db()
    assert failed.email_status == DeliveryStatus.FAILED


# --- Digests ----------------------------------------------------------------------------


def failed_digest(user: Any, *subjects: str) -> Digest:
    digest = Digest.objects.create(
        recipient=user,
        day=timezone.localdate(),
        email_status=DeliveryStatus.FAILED,
        attempts=5,
        last_error="SMTPDataError: 451",
    )
    for subject in subjects:
        notify(user, DeliveryStatus.DIGEST, subject=subject, digest=digest)
    return digest


def test_the_digest_list_shows_digests_only(client, staff, partner):
    failed_digest(partner, "first", "second")
    notify(partner, DeliveryStatus.SENT, subject="a notification")
    client.force_login(staff)
    response = client.get(URL, {"kind": "digests"})
    assert response.status_code == 200
    (row,) = rows(response)
    assert "partner@example.org" in row
    assert "<td>2</td>" in row  # notifications in the digest
    assert "SMTPDataError: 451" in row
    assert statuses(response) == ["Failed"]
    html = response.content.decode()
    assert "a notification" not in html
    assert 'name="category"' not in html and 'name="event"' not in html
    assert 'name="kind" value="digests"' in html


def test_the_digest_list_filters_by_status_and_recipient(client, staff, partner, expert):
    failed_digest(partner, "one")
    Digest.objects.create(recipient=expert, day=timezone.localdate(), email_status="sent")
    client.force_login(staff)
    assert len(rows(client.get(URL, {"kind": "digests", "status": "sent"}))) == 1
    assert "expert@example.org" in rows(client.get(URL, {"kind": "digests", "recipient": "exp"}))[0]
    assert client.get(URL, {"kind": "digests", "status": "lost"}).status_code == 400


def test_retrying_a_failed_digest_sends_it_with_its_notifications(
    client, staff, partner, mailoutbox, django_capture_on_commit_callbacks
):
    digest = failed_digest(partner, "Request REQ-1 received", "Request REQ-2 received")
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{RETRY_URL}?kind=digests", {"kind": "digests", "ids": [digest.pk]})
    assert response["Location"] == f"{URL}?kind=digests"
    digest.refresh_from_db()
    assert digest.email_status == DeliveryStatus.SENT
    assert [m.to for m in mailoutbox] == [["partner@example.org"]]
    assert "Request REQ-2 received" in mailoutbox[0].body
    assert set(digest.notifications.values_list("email_status", flat=True)) == {"sent"}
    assert message_texts(response) == ["1 email queued to be sent again."]


def test_a_digest_id_posted_as_a_notification_is_not_retried(client, staff, partner):
    digest = failed_digest(partner)
    notification = notify(partner, DeliveryStatus.SENT)
    client.force_login(staff)
    # The same id in the other table: only the table named by ``kind`` is touched.
    ids = [digest.pk, notification.pk]
    client.post(RETRY_URL, {"kind": "notifications", "ids": ids})
    digest.refresh_from_db()
    assert digest.email_status == DeliveryStatus.FAILED


# --- Query count ------------------------------------------------------------------------


def _count_queries(fetch: Any) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = fetch()
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("kind", ["notifications", "digests"])
def test_the_query_count_does_not_grow_with_the_rows(
    kind, client, staff, django_assert_max_num_queries
):
    def populate(n: int) -> None:
        for _ in range(n):
            user = UserFactory()
            if kind == "digests":
                failed_digest(user, "one", "two")
            else:
                digest = Digest.objects.create(recipient=user, day=timezone.localdate())
                notify(user, DeliveryStatus.FAILED, attempts=5, last_error="boom")
                notify(user, DeliveryStatus.DIGEST, digest=digest)

    client.force_login(staff)
    populate(2)
    client.get(URL, {"kind": kind})  # warm per-process caches (content types, templates)
    with django_assert_max_num_queries(10):
        small = _count_queries(lambda: client.get(URL, {"kind": kind}))
    populate(20)
    with django_assert_max_num_queries(10):
        large = _count_queries(lambda: client.get(URL, {"kind": kind}))
    assert large == small


# --- The admin --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model",
    [
        "notification",
        "digest",
        "reminderlog",
        "notificationpreference",
        "organisationnotificationdefault",
    ],
)
def test_the_admin_lists_the_outbox_and_the_preferences(model, client, admin_user, partner):
    failed_digest(partner, "one")
    NotificationPreference.objects.create(user=partner, category="requests", mode="digest")
    OrganisationNotificationDefault.objects.create(
        organisation=partner.organisation, category="actions", mode="in_app", updated_by=admin_user
    )
    client.force_login(admin_user)
    response = client.get(reverse(f"admin:core_{model}_changelist"))
    assert response.status_code == 200


def test_the_admin_retries_failed_digests(
    client, admin_user, partner, mailoutbox, django_capture_on_commit_callbacks
):
    digest = failed_digest(partner, "Request REQ-1 received")
    sent = Digest.objects.create(
        recipient=admin_user, day=timezone.localdate(), email_status="sent"
    )
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:core_digest_changelist"),
            {"action": "retry_delivery", "_selected_action": [digest.pk, sent.pk]},
        )
    assert response.status_code == 302
    digest.refresh_from_db()
    assert digest.email_status == DeliveryStatus.SENT
    assert [m.to for m in mailoutbox] == [["partner@example.org"]]
    sent.refresh_from_db()
    assert sent.attempts == 0


def test_the_admin_retries_failed_notifications(
    client, admin_user, staff, partner, mailoutbox, django_capture_on_commit_callbacks
):
    failed = failed_invitation(staff)
    sent = notify(partner, DeliveryStatus.SENT)
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("admin:core_notification_changelist"),
            {"action": "retry_delivery", "_selected_action": [failed.pk, sent.pk]},
        )
    failed.refresh_from_db()
    assert failed.email_status == DeliveryStatus.SENT
    assert [m.to for m in mailoutbox] == [["new.expert@example.org"]]


def test_the_admin_offers_no_add_or_change_of_digests(client, admin_user, partner):
    digest = failed_digest(partner)
    client.force_login(admin_user)
    assert client.get(reverse("admin:core_digest_add")).status_code == 403
    page = client.get(reverse("admin:core_digest_change", args=[digest.pk]))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()


def test_the_admin_only_offers_configurable_categories(client, admin_user):
    client.force_login(admin_user)
    html = client.get(reverse("admin:core_notificationpreference_add")).content.decode()
    assert 'value="requests"' in html
    assert 'value="account"' not in html


def test_the_user_admin_shows_and_sets_the_team_lead(client, admin_user, staff, approver):
    client.force_login(admin_user)
    staff.lead = approver
    staff.save(update_fields=["lead"])
    listing = client.get(reverse("admin:accounts_user_changelist")).content.decode()
    assert "column-lead" in listing
    page = client.get(reverse("admin:accounts_user_change", args=[staff.pk])).content.decode()
    assert 'name="lead"' in page
