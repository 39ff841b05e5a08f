import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cbportal.settings.base")

application = get_wsgi_application()

# What start-up built (modules, settings, models, translations) lives as long as the worker:
# moved out of the collector's sight, a full collection no longer walks it during a request
# (on a 50-row list, the mean fell from 43 to 36 ms; see docs/performance.md).
gc.collect()
gc.freeze()
