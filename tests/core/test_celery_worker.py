"""A real Celery worker process delivers a notification through Redis.

Needs PostgreSQL (the worker must see the test database) and Redis; `.ci/run` sets
``DATABASE_URL`` and ``REDIS_URL``. Skipped, with the reason, otherwise.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import transaction

from cbportal.accounts.services import invitation_create
from cbportal.core.models import DeliveryStatus, Notification
from tests.workers import (  # noqa: F401 - a fixture among them
    Worker,
    Workers,
    purge_queue,
    require_postgresql,
    require_redis_url,
    wait_until,
    workers_fixture,
)

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture(name="worker")
def worker_fixture(workers: Workers, tmp_path: Path) -> tuple[Worker, Path]:
    """A worker on REDIS_URL and the test database that writes emails as files."""
    require_redis_url()
    require_postgresql()
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    purge_queue()  # nothing left over from an earlier run in our queue
    return workers.start(email_url=f"filemail:///{mail_dir}"), mail_dir


def test_it_delivers_a_notification_through_redis_with_a_real_worker(worker, staff):
    process, mail_dir = worker
    with transaction.atomic():
        invitation = invitation_create(by=staff, email="worker.test@example.org", role="evaluator")
    notification = Notification.objects.get(recipient=invitation.user)
    wait_until(
        lambda: Notification.objects.get(pk=notification.pk).email_status == DeliveryStatus.SENT,
        30,
        "the invitation delivered",
        process.describe,
    )
    messages = list(mail_dir.iterdir())
    assert len(messages) == 1
    body = messages[0].read_text()
    assert "worker.test@example.org" in body and "/accounts/invitation/" in body
    assert "cbportal.core.tasks.deliver_notification" in process.log()


def test_it_runs_a_matching_job_on_a_real_worker(worker, partner, staff, approver, expert):
    from experts import services as experts
    from experts.models import MatchJob, MatchJobStatus, MatchResult
    from tests.experts.builders import approved_action, first_need, make_expert

    process, _mail_dir = worker
    action = approved_action(partner, staff, approver)
    need = first_need(action)
    profile = make_expert(expert, by=staff)
    make_expert(by=staff, name="Unvetted Person", vetted=False)
    with transaction.atomic():
        job = experts.match_queue(need_id=need.pk, by=staff)
    wait_until(
        lambda: MatchJob.objects.get(pk=job.pk).status == MatchJobStatus.DONE,
        30,
        "the matching job done",
        process.describe,
    )
    job.refresh_from_db()
    assert job.exclusions["inactive_or_unvetted"] == 1
    assert list(MatchResult.objects.filter(need=need).values_list("expert_id", flat=True)) == [
        profile.pk
    ]
    assert "experts.tasks.run_match" in process.log()
