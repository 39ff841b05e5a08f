# syntax=docker/dockerfile:1
#
# CB Portal: one image for every Compose service (web, worker, beat, migrate).
# The command decides the role; the default is the web server.

# --- Front-end packages ------------------------------------------------------------------
# bootstrap and bootstrap-icons come from the npm registry and are served by the app itself
# from node_modules/ (STATICFILES_DIRS in cbportal/settings/base.py); nothing runs on Node.
FROM node:20-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# --- Application -------------------------------------------------------------------------
FROM python:3.11-slim AS app

# PYTHONPATH=/app: settings derive BASE_DIR (templates/, static/, locale/, node_modules/)
# from the location of cbportal/settings/base.py, so the source tree in /app must win over
# the copy `pip install .` puts in site-packages. gunicorn and manage.py would put /app
# first anyway; the celery command does not.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=cbportal.settings.production \
    MEDIA_ROOT=/app/media \
    WEB_CONCURRENCY=3

WORKDIR /app

# Pango and a font for WeasyPrint (the action report as PDF).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system app \
    && useradd --system --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app

# Dependencies first, from the lock file alone (exact versions, every file checked against
# its hash; `make lock` writes it from pyproject.toml), so that a code change does not
# reinstall every dependency.
COPY requirements/base.lock requirements/base.lock
RUN pip install --no-cache-dir --require-hashes -r requirements/base.lock

COPY --from=assets /build/node_modules ./node_modules

# The whole source tree (see .dockerignore): packages, templates/, static/, locale/,
# manage.py. The tree stays owned by root: the app user can read it, not change it.
COPY . .
RUN set -eux; \
    pip install --no-cache-dir --no-deps --force-reinstall .; \
    rm -rf build ./*.egg-info; \
    python -m compileall -q cbportal requests_app experts actions evaluations

# Static files are collected at build time (WhiteNoise serves them from staticfiles/).
# Production settings refuse to import without these variables; the values below exist
# only for this RUN step, are never used to connect anywhere and do not reach the image.
RUN SECRET_KEY="build-only-collectstatic-key-never-used-at-runtime-0123456789" \
    ALLOWED_HOSTS="localhost" \
    DATABASE_URL="postgres://build:build@localhost:5432/build" \
    REDIS_URL="redis://localhost:6379/0" \
    python manage.py collectstatic --noinput

# The media volume is mounted here; a fresh named volume takes this directory's owner.
RUN mkdir -p /app/media && chown app:app /app/media

USER app

EXPOSE 8000

# /healthz checks the database and the broker. The Host header is the first ALLOWED_HOSTS
# entry so that the check passes whatever host names the deployment allows.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request as u; h = os.environ.get('ALLOWED_HOSTS', '').split(',')[0].strip().lstrip('.').replace('*', '') or 'localhost'; r = u.urlopen(u.Request('http://127.0.0.1:8000/healthz', headers={'Host': h}), timeout=5); sys.exit(r.status != 200)"]

# Workers: gunicorn reads WEB_CONCURRENCY (3 by default above; about 2 x CPU + 1 is usual).
CMD ["gunicorn", "cbportal.wsgi:application", \
     "--bind", "0.0.0.0:8000", \
     "--worker-tmp-dir", "/dev/shm", \
     "--timeout", "60", \
     "--graceful-timeout", "30", \
     "--access-logfile", "-"]
