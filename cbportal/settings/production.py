"""Production settings: everything the embedded default guesses must be stated here.

Start-up fails with a readable message when ``SECRET_KEY``, ``ALLOWED_HOSTS``, a
PostgreSQL ``DATABASE_URL`` or a ``REDIS_URL`` broker is missing.
"""

from django.core.exceptions import ImproperlyConfigured

from cbportal.settings.base import *
from cbportal.settings.base import env

DEBUG = env.bool("DEBUG", False)
if DEBUG:
    raise ImproperlyConfigured("DEBUG must be off with production settings.")

SECRET_KEY = env.str("SECRET_KEY")
# "insecure…" covers the embedded default of base.py and Django's startproject keys.
if len(SECRET_KEY) < 50 or SECRET_KEY.startswith(("insecure", "django-insecure")):
    raise ImproperlyConfigured("SECRET_KEY must be a random value of at least 50 characters.")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("The environment variable ALLOWED_HOSTS is required.")
if not env.is_set("DATABASE_URL"):
    raise ImproperlyConfigured("The environment variable DATABASE_URL is required.")
DATABASES = {"default": env.database("DATABASE_URL", "")}
if env.is_set("DATABASE_PASSWORD"):
    DATABASES["default"]["PASSWORD"] = env.str("DATABASE_PASSWORD")
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", 60, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("Production needs PostgreSQL: DATABASE_URL must be postgres://.")
if not REDIS_URL:
    raise ImproperlyConfigured("The environment variable REDIS_URL is required (Celery broker).")

REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"] = ["rest_framework.renderers.JSONRenderer"]

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# HTTPS everywhere; a TLS-terminating proxy in front sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^livez$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SECURE = True
LANGUAGE_COOKIE_HTTPONLY = True

TWO_FACTOR_REQUIRED_FOR_STAFF = env.bool("TWO_FACTOR_REQUIRED_FOR_STAFF", True)

DASHBOARD_CACHE_SECONDS = env.int("DASHBOARD_CACHE_SECONDS", 300, minimum=0)
