"""Run the daily reminder jobs now, in this process (``manage.py remind``).

The jobs are the ``reminders-*`` entries of ``settings.CELERY_BEAT_SCHEDULE`` — the same
tasks Celery beat runs each day at ``REMINDER_TIME``. Running them again is harmless: a
reminder goes out at most once per object, reason and day. Use it when beat was down, or to
try a configuration.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

PREFIX = "reminders-"


def reminder_jobs() -> dict[str, str]:
    """Schedule entry name → task name, for every daily reminder job."""
    return {
        name: str(entry["task"])
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items()
        if name.startswith(PREFIX)
    }


class Command(BaseCommand):
    help = "Run the daily reminder jobs now (each reminder still goes out at most once a day)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "jobs",
            nargs="*",
            metavar="JOB",
            help="Schedule entries to run (default: all), e.g. reminders-request-sla.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from cbportal.celery import app

        jobs = reminder_jobs()
        chosen = options["jobs"] or list(jobs)
        unknown = [name for name in chosen if name not in jobs]
        if unknown:
            raise CommandError(
                f"Unknown reminder job(s): {', '.join(unknown)}. Known: {', '.join(jobs)}."
            )
        app.loader.import_default_modules()
        for name in chosen:
            task = app.tasks[jobs[name]]
            count = task()  # run here, synchronously (not through the broker)
            self.stdout.write(f"{name}: {count} reminded")
