"""Issue 7 with the real services: a transition's notification reaches a real SMTP server
through Redis and a real Celery worker process exactly once — also when Redis was down
when it was queued, or when the worker was killed while sending — and a rolled-back
transition sends nothing.

Needs PostgreSQL (``DATABASE_URL``: the worker processes must see the test database). The
journeys on the configured broker also need ``REDIS_URL``; those that kill Redis start a
private ``redis-server`` instead. Each test skips, saying what is missing, without them.
The scenario (a partner submits; French programme staff are told) and the checks of the
email are test_delivery_smtp.py's.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.db import connection, transaction
from django.utils import timezone

from cbportal.core import notifications, tasks
from cbportal.core.models import DeliveryStatus, Notification
from requests_app import services
from requests_app.models import AssistanceRequest
from tests.core.test_delivery_smtp import (  # noqa: F401 - fixtures among them
    FROM,
    REPLY_TO,
    check_one_in_app_notification,
    check_staff_alert,
    french_staff_fixture,
    quiet_partner_fixture,
    submit,
)
from tests.requests_app.helpers import make_draft
from tests.smtp import SmtpServer, smtp_server_fixture  # noqa: F401 - a fixture
from tests.workers import (  # noqa: F401 - fixtures among them
    RedisServer,
    Worker,
    Workers,
    private_redis_fixture,
    publishing_to,
    purge_queue,
    require_postgresql,
    require_redis_url,
    wait_until,
    workers_fixture,
)

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

SENDER_ENV = {"DEFAULT_FROM_EMAIL": FROM, "EMAIL_REPLY_TO": REPLY_TO}
CLAIM_SECONDS = 10  # the smallest NOTIFICATION_CLAIM_SECONDS the settings accept
# A worker's log line for a finished delivery, and what deliver() returned.
DELIVERED = re.compile(r"tasks\.deliver_notification\[[^]]+\] succeeded in \S+: '(\w+)'")


def staff_notification(staff: Any) -> Notification:
    return Notification.objects.get(recipient=staff)


def wait_until_sent(staff: Any, logs: Any) -> Notification:
    wait_until(
        lambda: staff_notification(staff).email_status == DeliveryStatus.SENT,
        15,
        "the notification marked sent",
        logs,
    )
    return staff_notification(staff)


# --- one worker on the configured broker, shared by the tests that leave it running ---------


@pytest.fixture(scope="module")
def mail_worker(
    django_db_setup: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[SmtpServer, Worker]]:
    require_redis_url()
    require_postgresql()
    directory = tmp_path_factory.mktemp("mail-worker")
    started = Workers(directory)
    with SmtpServer() as smtp:
        purge_queue()  # nothing left over from an earlier run in our queue
        try:
            worker = started.start(email_url=smtp.url, **SENDER_ENV)
            yield smtp, worker
        finally:
            started.stop_all()


@pytest.fixture
def configured(mail_worker: tuple[SmtpServer, Worker]) -> tuple[SmtpServer, Worker]:
    smtp, worker = mail_worker
    assert worker.alive, worker.describe()
    smtp.clear()
    return smtp, worker


def test_a_submission_reaches_staff_once_through_redis_and_a_worker(
    configured: tuple[SmtpServer, Worker], french_staff: Any, quiet_partner: Any
) -> None:
    smtp, worker = configured
    request = submit(quiet_partner)  # committed: queued on Redis after commit
    (received,) = smtp.wait_for(1, why=worker.describe())
    wait_until_sent(french_staff, worker.describe)
    assert len(smtp.quiet_for(2)) == 1, worker.describe()  # nothing doubled, late
    check_staff_alert(received, request, french_staff)
    notification = check_one_in_app_notification(request, french_staff)
    assert notification.attempts == 1
    assert "deliver_notification[" in worker.log()
    assert notifications.sweep() == 0


def test_a_rolled_back_transition_reaches_no_worker(
    configured: tuple[SmtpServer, Worker], french_staff: Any, quiet_partner: Any
) -> None:
    smtp, worker = configured
    draft = make_draft(quiet_partner)
    log_before = len(worker.log())
    with pytest.raises(RuntimeError), transaction.atomic():
        services.request_submit(request_id=draft.pk, by=quiet_partner)
        raise RuntimeError("a later step of the same change failed")
    assert smtp.quiet_for(2) == [], worker.describe()
    assert not Notification.objects.exists()
    assert "deliver_notification[" not in worker.log()[log_before:], worker.describe()
    # The worker was listening all along: a committed submission after it arrives.
    request = submit(quiet_partner)
    (received,) = smtp.wait_for(1, why=worker.describe())
    assert request.reference and request.reference in str(received.message["Subject"])


def test_one_notification_queued_many_times_is_sent_once_by_workers_racing_for_it(
    configured: tuple[SmtpServer, Worker],
    workers: Workers,
    french_staff: Any,
    quiet_partner: Any,
) -> None:
    smtp, worker = configured
    rival = workers.start(email_url=smtp.url, **SENDER_ENV)  # a second worker, same queue
    with mock.patch.object(tasks.deliver_notification, "delay"):  # nothing queued on commit
        submit(quiet_partner)
    notification = staff_notification(french_staff)
    offsets = {w: len(w.log()) for w in (worker, rival)}
    # As when the sweep and the after-commit task both queue it, many times over.
    assert notifications.enqueue([notification.pk] * 6) == 6

    def outcomes(w: Worker) -> list[str]:
        return DELIVERED.findall(w.log()[offsets[w] :])

    def logs() -> str:
        return worker.describe() + rival.describe()

    wait_until(
        lambda: len(outcomes(worker) + outcomes(rival)) == 6, 30, "six deliveries done", logs
    )
    # Redis hands each waiting worker a message in turn: both raced for the row.
    assert outcomes(worker) and outcomes(rival), logs()
    assert sorted(outcomes(worker) + outcomes(rival)) == ["claimed"] * 5 + ["sent"], logs()
    assert len(smtp.quiet_for(1)) == 1, logs()
    assert staff_notification(french_staff).attempts == 1


# --- Redis down ------------------------------------------------------------------------------


def test_a_broker_outage_loses_nothing_and_the_sweep_delivers_once(
    private_redis: RedisServer,
    workers: Workers,
    smtp_server: SmtpServer,
    french_staff: Any,
    quiet_partner: Any,
) -> None:
    require_postgresql()
    worker = workers.start(broker_url=private_redis.url, email_url=smtp_server.url, **SENDER_ENV)
    with publishing_to(private_redis.url):
        tasks.sweep_notifications.delay()  # the app has a live broker connection, as in production
        draft = make_draft(quiet_partner)
        private_redis.kill()

        started = time.monotonic()
        services.request_submit(request_id=draft.pk, by=quiet_partner)
        took = time.monotonic() - started
        assert took < 5, f"the transition took {took:.1f} s with Redis down"
        notification = staff_notification(french_staff)
        assert (notification.email_status, notification.attempts) == (DeliveryStatus.PENDING, 0)

        private_redis.start()  # same port, empty: the queued-nothing is not replayed
        assert smtp_server.quiet_for(1) == []
        assert notifications.sweep() == 1
        (received,) = smtp_server.wait_for(1, timeout=60, why=workers.logs())
        wait_until_sent(french_staff, workers.logs)
        assert len(smtp_server.quiet_for(2)) == 1, workers.logs()
        assert notifications.sweep() == 0
    request = AssistanceRequest.objects.get(pk=draft.pk)
    check_staff_alert(received, request, french_staff)
    assert check_one_in_app_notification(request, french_staff).attempts == 1
    assert worker.alive, workers.logs()


def test_a_frozen_broker_does_not_hang_the_transition(
    private_redis: RedisServer, french_staff: Any, quiet_partner: Any
) -> None:
    draft = make_draft(quiet_partner)
    outcome: list[BaseException | None] = []

    def transition() -> None:
        try:
            services.request_submit(request_id=draft.pk, by=quiet_partner)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)
        finally:
            connection.close()

    with publishing_to(private_redis.url):
        tasks.sweep_notifications.delay()  # a live pooled broker connection
        private_redis.freeze()
        started = time.monotonic()
        thread = threading.Thread(target=transition, daemon=True)
        thread.start()
        thread.join(10)
        took = time.monotonic() - started
        hung = thread.is_alive()
        private_redis.kill()  # a hung publish fails now, and the thread ends
        thread.join(30)
    assert not hung, "the transition still waited for the frozen broker after 10 s"
    assert outcome == [None], outcome
    assert took < 10
    assert staff_notification(french_staff).email_status == DeliveryStatus.PENDING


def test_publishing_to_sends_this_process_s_tasks_elsewhere_and_back(
    private_redis: RedisServer, tmp_path: Any
) -> None:
    # The tooling the tests above rely on: the app's pooled connections follow broker_url.
    import redis
    from django.conf import settings

    from cbportal.celery import app

    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    other = RedisServer(tmp_path / "other-redis.log", private_redis.binary).start()
    try:
        original = app.conf.broker_url
        with publishing_to(private_redis.url):
            tasks.sweep_notifications.delay()
            with publishing_to(other.url):
                tasks.sweep_notifications.delay()
                tasks.sweep_notifications.delay()
            tasks.sweep_notifications.delay()
        assert app.conf.broker_url == original
        tasks.sweep_notifications.delay()  # to the configured broker again (or eagerly)
        counts = [redis.Redis.from_url(r.url).llen(queue) for r in (private_redis, other)]
        assert counts == [2, 2]
    finally:
        other.stop()


# --- a worker killed while sending -------------------------------------------------------------


def test_a_worker_killed_while_sending_is_replaced_and_the_email_goes_once(
    private_redis: RedisServer,
    workers: Workers,
    smtp_server: SmtpServer,
    settings: Any,
    french_staff: Any,
    quiet_partner: Any,
) -> None:
    require_postgresql()
    settings.NOTIFICATION_CLAIM_SECONDS = CLAIM_SECONDS  # the sweep in this process
    env = {**SENDER_ENV, "NOTIFICATION_CLAIM_SECONDS": str(CLAIM_SECONDS)}
    first = workers.start(broker_url=private_redis.url, email_url=smtp_server.url, **env)
    hold = smtp_server.hold_next()  # the first message waits for the server's answer
    with publishing_to(private_redis.url):
        request = submit(quiet_partner)
        assert hold.arrived.wait(30), f"no message reached the SMTP server\n{workers.logs()}"
        first.kill()
        wait_until(lambda: smtp_server.abandoned == 1, 10, "the SMTP session ended", workers.logs)
        hold.release()

        notification = staff_notification(french_staff)
        assert notification.email_status == DeliveryStatus.PENDING
        assert notification.attempts == 1 and notification.claimed_at is not None
        assert smtp_server.messages == []
        # Until the claim is older than NOTIFICATION_CLAIM_SECONDS its worker may be alive.
        assert notifications.sweep() == 0

        second = workers.start(
            broker_url=private_redis.url, email_url=smtp_server.url, wait=False, **env
        )
        stale_at = notification.claimed_at + timedelta(seconds=CLAIM_SECONDS, milliseconds=200)
        time.sleep(max(0.0, (stale_at - timezone.now()).total_seconds()))
        second.wait_ready()
        assert notifications.sweep() == 1
        (received,) = smtp_server.wait_for(1, why=workers.logs())
        wait_until_sent(french_staff, workers.logs)
        assert len(smtp_server.quiet_for(2)) == 1, workers.logs()
    check_staff_alert(received, request, french_staff)
    assert check_one_in_app_notification(request, french_staff).attempts == 2
