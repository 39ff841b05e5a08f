"""The one Celery application of CB Portal.

Configuration comes from Django settings (``CELERY_*``); the beat schedule lives in
``settings.CELERY_BEAT_SCHEDULE`` so that every periodic job is defined in one place.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cbportal.settings.base")

app = Celery("cbportal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
