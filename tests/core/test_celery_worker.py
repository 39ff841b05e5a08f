"""A real Celery worker process delivers a notification through Redis.

Needs PostgreSQL (the worker must see the test database) and Redis; `.ci/run` sets
``DATABASE_URL`` and ``REDIS_URL``. Skipped, with the reason, otherwise.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction

from cbportal.accounts.services import invitation_create
from cbportal.core.models import DeliveryStatus, Notification

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def _worker_env(mail_dir: Path) -> dict[str, str]:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        DJANGO_SETTINGS_MODULE="cbportal.settings.base",
        DATABASE_URL=url,
        REDIS_URL=settings.REDIS_URL or "",
        CELERY_QUEUE=settings.CELERY_TASK_DEFAULT_QUEUE,
        EMAIL_URL=f"filemail:///{mail_dir}",
    )
    return env


@pytest.fixture
def worker(tmp_path: Path):
    if not settings.REDIS_URL:
        pytest.skip(
            "needs Redis: set REDIS_URL (e.g. redis://127.0.0.1:6379/0) to run a real worker"
        )
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL: set DATABASE_URL so the worker process can see the test database"
        )
    from cbportal.celery import app

    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    app.control.purge()  # nothing left over from an earlier run in our queue
    log = (tmp_path / "worker.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "cbportal",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--hostname",
            f"test-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=_worker_env(mail_dir),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"worker exited early:\n{(tmp_path / 'worker.log').read_text()}")
        if "ready." in (tmp_path / "worker.log").read_text():
            break
        time.sleep(0.2)
    else:
        proc.terminate()
        pytest.fail(f"worker not ready in 30 s:\n{(tmp_path / 'worker.log').read_text()}")
    yield proc, mail_dir, tmp_path / "worker.log"
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def _wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_it_delivers_a_notification_through_redis_with_a_real_worker(worker, staff):
    _proc, mail_dir, log = worker
    with transaction.atomic():
        invitation = invitation_create(by=staff, email="worker.test@example.org", role="evaluator")
    notification = Notification.objects.get(recipient=invitation.user)
    delivered = _wait_for(
        lambda: Notification.objects.get(pk=notification.pk).email_status == DeliveryStatus.SENT
    )
    assert delivered, f"not delivered; worker log:\n{log.read_text()}"
    messages = list(mail_dir.iterdir())
    assert len(messages) == 1
    body = messages[0].read_text()
    assert "worker.test@example.org" in body and "/accounts/invitation/" in body
    assert "cbportal.core.tasks.deliver_notification" in log.read_text()


def test_it_runs_a_matching_job_on_a_real_worker(worker, partner, staff, approver, expert):
    from experts import services as experts
    from experts.models import MatchJob, MatchJobStatus, MatchResult
    from tests.experts.builders import approved_action, first_need, make_expert

    _proc, _mail_dir, log = worker
    action = approved_action(partner, staff, approver)
    need = first_need(action)
    profile = make_expert(expert, by=staff)
    make_expert(by=staff, name="Unvetted Person", vetted=False)
    with transaction.atomic():
        job = experts.match_queue(need_id=need.pk, by=staff)
    assert _wait_for(lambda: MatchJob.objects.get(pk=job.pk).status == MatchJobStatus.DONE), (
        f"matching did not finish; worker log:\n{log.read_text()}"
    )
    job.refresh_from_db()
    assert job.exclusions["inactive_or_unvetted"] == 1
    assert list(MatchResult.objects.filter(need=need).values_list("expert_id", flat=True)) == [
        profile.pk
    ]
    assert "experts.tasks.run_match" in log.read_text()
