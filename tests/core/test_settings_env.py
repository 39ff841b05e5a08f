"""Strict environment parsing (cbportal.settings.env) and the settings modules built on it.

The ``Env`` tests pass an explicit mapping, so nothing here depends on the shell running the
suite. The settings modules run module-level code at import time, so each case imports them in
a fresh interpreter with a minimal, controlled environment.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from cbportal.settings.env import Env

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


# --- Env: booleans --------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["true", "TRUE", "True", "yes", "YES", "on", "On", "1", " yes "])
def test_it_reads_true_booleans_case_insensitively(value):
    assert Env({"FLAG": value}).bool("FLAG", False) is True


@pytest.mark.parametrize("value", ["false", "FALSE", "False", "no", "NO", "off", "Off", "0"])
def test_it_reads_false_booleans_case_insensitively(value):
    assert Env({"FLAG": value}).bool("FLAG", True) is False


@pytest.mark.parametrize("environ_map", [{}, {"FLAG": ""}])
def test_it_uses_the_boolean_default_when_unset_or_empty(environ_map):
    assert Env(environ_map).bool("FLAG", True) is True
    assert Env(environ_map).bool("FLAG", False) is False


@pytest.mark.parametrize("value", ["maybe", "2", "y", "enabled"])
def test_it_refuses_a_boolean_it_cannot_read_and_names_the_variable(value):
    with pytest.raises(ImproperlyConfigured) as excinfo:
        Env({"DEBUG": value}).bool("DEBUG", False)
    assert "DEBUG" in str(excinfo.value)
    assert value in str(excinfo.value)


# --- Env: integers --------------------------------------------------------------------------


def test_it_reads_integers_and_defaults():
    env = Env({"WORKERS": " 8 ", "EMPTY": ""})
    assert env.int("WORKERS", 1) == 8
    assert env.int("EMPTY", 3) == 3
    assert env.int("MISSING", 4) == 4
    assert env.int("WORKERS", 1, minimum=8) == 8


@pytest.mark.parametrize("value", ["eight", "8.5", "8s", "0x10"])
def test_it_refuses_a_malformed_integer(value):
    with pytest.raises(ImproperlyConfigured, match="WORKERS"):
        Env({"WORKERS": value}).int("WORKERS", 1)


def test_it_refuses_an_integer_below_its_minimum():
    with pytest.raises(ImproperlyConfigured, match=r"CONN_MAX_AGE=-1 must be at least 0"):
        Env({"CONN_MAX_AGE": "-1"}).int("CONN_MAX_AGE", 0, minimum=0)


# --- Env: lists and choices -----------------------------------------------------------------


def test_it_reads_comma_lists_and_strips_items():
    env = Env({"ALLOWED_HOSTS": "cbportal.example.org, www.cbportal.example.org"})
    assert env.list("ALLOWED_HOSTS") == ["cbportal.example.org", "www.cbportal.example.org"]
    assert Env({}).list("ALLOWED_HOSTS", ["localhost"]) == ["localhost"]
    assert Env({}).list("ALLOWED_HOSTS") == []


@pytest.mark.parametrize("value", ["a,,b", "a,", ",a", "a, ,b"])
def test_it_refuses_a_list_with_an_empty_item(value):
    with pytest.raises(ImproperlyConfigured, match="ALLOWED_HOSTS"):
        Env({"ALLOWED_HOSTS": value}).list("ALLOWED_HOSTS")


def test_it_reads_a_choice_and_refuses_others():
    levels = ["DEBUG", "INFO", "WARNING", "ERROR"]
    assert Env({"LOG_LEVEL": "WARNING"}).choice("LOG_LEVEL", levels, "INFO") == "WARNING"
    assert Env({}).choice("LOG_LEVEL", levels, "INFO") == "INFO"
    with pytest.raises(ImproperlyConfigured, match="LOG_LEVEL"):
        Env({"LOG_LEVEL": "LOUD"}).choice("LOG_LEVEL", levels, "INFO")


def test_it_reads_a_list_of_iso_dates():
    env = Env({"SLA_HOLIDAYS": "2026-12-25, 2027-01-01"})
    assert env.dates("SLA_HOLIDAYS") == ["2026-12-25", "2027-01-01"]
    assert Env({}).dates("SLA_HOLIDAYS") == []


@pytest.mark.parametrize("value", ["25/12/2026", "2026-02-30", "christmas"])
def test_it_refuses_a_date_that_is_not_iso(value):
    with pytest.raises(ImproperlyConfigured, match="SLA_HOLIDAYS"):
        Env({"SLA_HOLIDAYS": f"2026-01-01,{value}"}).dates("SLA_HOLIDAYS")


def test_it_requires_a_str_without_default():
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY is required"):
        Env({}).str("SECRET_KEY")
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY is required"):
        Env({"SECRET_KEY": "  "}).str("SECRET_KEY")
    assert Env({"SECRET_KEY": " abc "}).str("SECRET_KEY") == "abc"
    assert Env({}).str("SECRET_KEY", "fallback") == "fallback"


# --- Env: database URLs ---------------------------------------------------------------------


def test_it_reads_a_postgres_url():
    config = Env({"DATABASE_URL": "postgres://u:secret@db.internal:5433/cbportal"}).database(
        "DATABASE_URL", ""
    )
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["HOST"], config["PORT"], config["NAME"]) == ("db.internal", 5433, "cbportal")
    assert (config["USER"], config["PASSWORD"]) == ("u", "secret")


@pytest.mark.parametrize("scheme", ["postgresql", "pgsql"])
def test_it_accepts_the_postgres_scheme_aliases(scheme):
    config = Env({"DATABASE_URL": f"{scheme}://u@h:5432/db"}).database("DATABASE_URL", "")
    assert config["ENGINE"] == "django.db.backends.postgresql"


def test_it_reads_a_sqlite_url_and_the_default():
    config = Env({"DATABASE_URL": "sqlite:////srv/cbportal/db.sqlite3"}).database(
        "DATABASE_URL", ""
    )
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == "/srv/cbportal/db.sqlite3"
    default = Env({}).database("DATABASE_URL", "sqlite:////tmp/default.sqlite3")
    assert default["NAME"] == "/tmp/default.sqlite3"


@pytest.mark.parametrize(
    "url", ["mysql://u@h:3306/db", "foo://u@h/db", "http://h/db", "db.internal/cbportal"]
)
def test_it_refuses_a_database_url_of_another_kind(url):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL must be a postgres"):
        Env({"DATABASE_URL": url}).database("DATABASE_URL", "")


@pytest.mark.parametrize("url", ["postgres://u@h:5432", "postgres://u@h:5432/"])
def test_it_refuses_a_database_url_without_a_name(url):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL has no database name"):
        Env({"DATABASE_URL": url}).database("DATABASE_URL", "")


# --- Env: Redis and email URLs --------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:6379/0", "rediss://:pw@cache.internal:6380/1", "redis://redis"]
)
def test_it_accepts_redis_urls(url):
    assert Env({"REDIS_URL": url}).redis_url("REDIS_URL") == url


def test_it_treats_an_unset_or_empty_redis_url_as_not_configured():
    assert Env({}).redis_url("REDIS_URL") is None
    assert Env({"REDIS_URL": ""}).redis_url("REDIS_URL") is None


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379/0", "memory://", "redis:///0", "127.0.0.1"])
def test_it_refuses_a_redis_url_of_another_kind_or_without_host(url):
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL must be a redis"):
        Env({"REDIS_URL": url}).redis_url("REDIS_URL")


@pytest.mark.parametrize("url", ["redis://127.0.0.1:port/0", "redis://127.0.0.1:99999/0"])
def test_it_refuses_a_redis_url_with_a_bad_port(url):
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL has a malformed port"):
        Env({"REDIS_URL": url}).redis_url("REDIS_URL")


def test_it_reads_an_smtp_email_url():
    config = Env({"EMAIL_URL": "smtp+tls://mailer:p%40ss@mail.example.org:587"}).email_url(
        "EMAIL_URL"
    )
    assert config is not None
    assert config["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (config["EMAIL_HOST"], config["EMAIL_PORT"]) == ("mail.example.org", 587)
    assert (config["EMAIL_HOST_USER"], config["EMAIL_HOST_PASSWORD"]) == ("mailer", "p@ss")
    assert config["EMAIL_USE_TLS"] is True


def test_it_reads_console_and_memory_email_urls():
    console = Env({"EMAIL_URL": "consolemail://"}).email_url("EMAIL_URL")
    memory = Env({"EMAIL_URL": "memorymail://"}).email_url("EMAIL_URL")
    assert console is not None and memory is not None
    assert console["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    assert memory["EMAIL_BACKEND"] == "django.core.mail.backends.locmem.EmailBackend"
    assert Env({}).email_url("EMAIL_URL") is None


@pytest.mark.parametrize("url", ["foo://mail.example.org", "http://mail.example.org"])
def test_it_refuses_an_email_url_with_an_unsupported_scheme(url):
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL has an unsupported scheme"):
        Env({"EMAIL_URL": url}).email_url("EMAIL_URL")


# --- Env: X_FILE secrets --------------------------------------------------------------------


def test_it_reads_a_secret_from_a_file_and_strips_it(tmp_path):
    secret = tmp_path / "secret_key"
    secret.write_text("  s3cr3t-value-from-a-docker-secret\n", encoding="utf-8")
    env = Env({"SECRET_KEY_FILE": str(secret)})
    assert env.str("SECRET_KEY") == "s3cr3t-value-from-a-docker-secret"
    assert env.is_set("SECRET_KEY")


def test_it_reads_urls_from_files_too(tmp_path):
    url_file = tmp_path / "database_url"
    url_file.write_text("postgres://u@h:5432/db\n", encoding="utf-8")
    config = Env({"DATABASE_URL_FILE": str(url_file)}).database("DATABASE_URL", "")
    assert config["NAME"] == "db"


def test_it_refuses_a_variable_set_both_directly_and_as_a_file(tmp_path):
    secret = tmp_path / "secret_key"
    secret.write_text("from-file", encoding="utf-8")
    env = Env({"SECRET_KEY": "direct", "SECRET_KEY_FILE": str(secret)})
    with pytest.raises(ImproperlyConfigured, match="Set SECRET_KEY or SECRET_KEY_FILE, not both"):
        env.str("SECRET_KEY")


def test_it_refuses_an_unreadable_secret_file(tmp_path):
    missing = tmp_path / "does-not-exist"
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY_FILE: cannot read"):
        Env({"SECRET_KEY_FILE": str(missing)}).str("SECRET_KEY")
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY_FILE: cannot read"):
        Env({"SECRET_KEY_FILE": str(tmp_path)}).str("SECRET_KEY")  # a directory


def test_it_reads_os_environ_by_default(monkeypatch):
    monkeypatch.setenv("CBPORTAL_TEST_FLAG", "on")
    assert Env().bool("CBPORTAL_TEST_FLAG", False) is True


# --- The real settings modules, imported in a fresh interpreter -----------------------------

_PRINT_SETTINGS = """
import json
from django.conf import settings
names = {names!r}
print(json.dumps({{name: getattr(settings, name, None) for name in names}}, default=str))
"""

BASE_NAMES = [
    "DEBUG",
    "DATABASES",
    "CACHES",
    "CELERY_BROKER_URL",
    "CELERY_TASK_ALWAYS_EAGER",
    "EMAIL_BACKEND",
    "EMAIL_FILE_PATH",
    "REDIS_URL",
]
PRODUCTION_NAMES = [
    *BASE_NAMES,
    "ALLOWED_HOSTS",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_SSL_REDIRECT",
    "TWO_FACTOR_REQUIRED_FOR_STAFF",
    "REST_FRAMEWORK",
]


def _minimal_env(settings_module: str, **extra: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": settings_module,
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.update(extra)
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _load_settings(settings_module: str, names: list[str], **extra: str) -> dict[str, Any]:
    result = _run(
        ["-c", _PRINT_SETTINGS.format(names=names)], _minimal_env(settings_module, **extra)
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _settings_failure(settings_module: str, **extra: str) -> str:
    """Import the settings and return stderr; the import must fail."""
    result = _run(
        ["-c", _PRINT_SETTINGS.format(names=["DEBUG"])], _minimal_env(settings_module, **extra)
    )
    assert result.returncode != 0, f"settings loaded although they should not: {result.stdout}"
    assert "ImproperlyConfigured" in result.stderr, result.stderr
    return result.stderr


def _production_env(**overrides: str | None) -> dict[str, str]:
    env: dict[str, str | None] = {
        "SECRET_KEY": secrets.token_urlsafe(45)[:60],
        "ALLOWED_HOSTS": "cbportal.example.org",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
    }
    env.update(overrides)
    return {key: value for key, value in env.items() if value is not None}


def test_it_runs_the_embedded_default_without_any_environment():
    loaded = _load_settings("cbportal.settings.base", BASE_NAMES)
    assert loaded["DATABASES"]["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert loaded["DATABASES"]["default"]["NAME"] == str(PROJECT_ROOT / "db.sqlite3")
    assert loaded["CELERY_TASK_ALWAYS_EAGER"] is True
    assert loaded["CELERY_BROKER_URL"] == "memory://localhost/"
    assert loaded["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    assert loaded["DEBUG"] is True
    assert loaded["REDIS_URL"] is None
    assert loaded["CACHES"]["default"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"


def test_it_switches_to_postgres_and_a_redis_broker_when_configured():
    loaded = _load_settings(
        "cbportal.settings.base",
        BASE_NAMES,
        DATABASE_URL="postgres://u@h:5432/db",
        REDIS_URL="redis://127.0.0.1:6379/0",
    )
    database = loaded["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["HOST"], database["PORT"], database["NAME"]) == ("h", 5432, "db")
    assert loaded["CELERY_BROKER_URL"] == "redis://127.0.0.1:6379/0"
    assert loaded["CELERY_TASK_ALWAYS_EAGER"] is False
    cache = loaded["CACHES"]["default"]
    assert cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert cache["LOCATION"] == "redis://127.0.0.1:6379/0"


def test_it_fails_to_start_on_an_unreadable_boolean():
    stderr = _settings_failure("cbportal.settings.base", DEBUG="maybe")
    assert "DEBUG='maybe' is not a boolean" in stderr


def test_it_keeps_the_directory_of_a_filemail_email_url(tmp_path):
    loaded = _load_settings(
        "cbportal.settings.base", BASE_NAMES, EMAIL_URL=f"filemail://{tmp_path}/mails"
    )
    assert loaded["EMAIL_BACKEND"] == "django.core.mail.backends.filebased.EmailBackend"
    assert loaded["EMAIL_FILE_PATH"]
    assert str(loaded["EMAIL_FILE_PATH"]).endswith("mails")


def test_it_fails_production_without_a_secret_key():
    stderr = _settings_failure("cbportal.settings.production", **_production_env(SECRET_KEY=None))
    assert "SECRET_KEY" in stderr


def test_it_fails_production_with_a_short_secret_key():
    stderr = _settings_failure(
        "cbportal.settings.production", **_production_env(SECRET_KEY="short")
    )
    assert "SECRET_KEY must be a random value of at least 50 characters" in stderr


def test_it_fails_production_without_allowed_hosts():
    stderr = _settings_failure(
        "cbportal.settings.production", **_production_env(ALLOWED_HOSTS=None)
    )
    assert "ALLOWED_HOSTS" in stderr


def test_it_fails_production_without_a_database_url():
    stderr = _settings_failure("cbportal.settings.production", **_production_env(DATABASE_URL=None))
    assert "DATABASE_URL is required" in stderr


def test_it_fails_production_on_sqlite():
    stderr = _settings_failure(
        "cbportal.settings.production",
        **_production_env(DATABASE_URL="sqlite:////tmp/cbportal.sqlite3"),
    )
    assert "Production needs PostgreSQL" in stderr


def test_it_fails_production_without_a_redis_url():
    stderr = _settings_failure("cbportal.settings.production", **_production_env(REDIS_URL=None))
    assert "REDIS_URL is required" in stderr


def test_it_fails_production_with_debug_on():
    stderr = _settings_failure("cbportal.settings.production", **_production_env(DEBUG="true"))
    assert "DEBUG must be off" in stderr


def test_it_hardens_production_when_everything_is_set():
    loaded = _load_settings("cbportal.settings.production", PRODUCTION_NAMES, **_production_env())
    assert loaded["DEBUG"] is False
    assert loaded["ALLOWED_HOSTS"] == ["cbportal.example.org"]
    assert loaded["SESSION_COOKIE_SECURE"] is True
    assert loaded["CSRF_COOKIE_SECURE"] is True
    assert loaded["SECURE_HSTS_SECONDS"] > 0
    assert loaded["SECURE_SSL_REDIRECT"] is True
    assert loaded["TWO_FACTOR_REQUIRED_FOR_STAFF"] is True
    assert loaded["DATABASES"]["default"]["ENGINE"] == "django.db.backends.postgresql"
    assert loaded["CELERY_TASK_ALWAYS_EAGER"] is False
    assert loaded["CELERY_BROKER_URL"] == "redis://127.0.0.1:6379/0"
    assert loaded["REST_FRAMEWORK"]["DEFAULT_RENDERER_CLASSES"] == [
        "rest_framework.renderers.JSONRenderer"
    ]


def test_it_reads_production_secrets_from_files(tmp_path):
    secret = tmp_path / "secret_key"
    secret.write_text(secrets.token_urlsafe(45) + "\n", encoding="utf-8")
    loaded = _load_settings(
        "cbportal.settings.production",
        ["DEBUG"],
        **_production_env(SECRET_KEY=None, SECRET_KEY_FILE=str(secret)),
    )
    assert loaded["DEBUG"] is False


def test_it_passes_the_deploy_check_without_warnings():
    result = _run(
        ["manage.py", "check", "--deploy"],
        _minimal_env("cbportal.settings.production", **_production_env()),
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output


def test_it_fails_production_with_the_embedded_default_key():
    stderr = _settings_failure(
        "cbportal.settings.production",
        **_production_env(SECRET_KEY="insecure-embedded-default-key-do-not-use-in-production"),
    )
    assert "SECRET_KEY must be a random value" in stderr


def test_it_fails_production_with_a_django_startproject_key():
    stderr = _settings_failure(
        "cbportal.settings.production",
        **_production_env(SECRET_KEY="django-insecure-" + secrets.token_urlsafe(45)),
    )
    assert "SECRET_KEY must be a random value" in stderr


@pytest.mark.parametrize("module", ["cbportal.settings.base", "cbportal.settings.production"])
def test_it_reads_the_database_password_apart_from_the_url(module):
    loaded = _load_settings(
        module,
        ["DATABASES"],
        **_production_env(
            DATABASE_URL="postgres://cbportal@db.internal:5432/cbportal",
            DATABASE_PASSWORD="from-the-environment",
        ),
    )
    database = loaded["DATABASES"]["default"]
    assert (database["USER"], database["HOST"]) == ("cbportal", "db.internal")
    assert database["PASSWORD"] == "from-the-environment"


def test_it_reads_the_database_password_from_a_secret_file(tmp_path):
    secret = tmp_path / "db_password"
    secret.write_text("p@ss:w/rd with spaces\n", encoding="utf-8")
    loaded = _load_settings(
        "cbportal.settings.production",
        ["DATABASES"],
        **_production_env(
            # A password in the URL is overridden by the secret.
            DATABASE_URL="postgres://cbportal:stale@db.internal:5432/cbportal",
            DATABASE_PASSWORD_FILE=str(secret),
        ),
    )
    assert loaded["DATABASES"]["default"]["PASSWORD"] == "p@ss:w/rd with spaces"


def test_it_reads_the_whole_database_url_from_a_secret_file(tmp_path):
    secret = tmp_path / "database_url"
    secret.write_text("postgres://cbportal:from-a-file@db.internal:5432/cbportal\n")
    loaded = _load_settings(
        "cbportal.settings.production",
        ["DATABASES"],
        **_production_env(DATABASE_URL=None, DATABASE_URL_FILE=str(secret)),
    )
    assert loaded["DATABASES"]["default"]["PASSWORD"] == "from-a-file"


def test_it_keeps_the_url_password_without_a_separate_one():
    loaded = _load_settings(
        "cbportal.settings.production",
        ["DATABASES"],
        **_production_env(DATABASE_URL="postgres://cbportal:in-url@db.internal:5432/cbportal"),
    )
    assert loaded["DATABASES"]["default"]["PASSWORD"] == "in-url"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("LOGIN_RATE_LIMIT", "lots", "LOGIN_RATE_LIMIT='lots' is not a rate"),
        ("PASSWORD_RESET_RATE_LIMIT", "10/week", "is not a rate"),
        ("FEEDBACK_RATE_LIMIT", "100", "is not a rate"),
        ("API_THROTTLE_USER", "100/m/s", "API_THROTTLE_USER='100/m/s' is not a rate"),
        ("TRUSTED_PROXY_COUNT", "-1", "TRUSTED_PROXY_COUNT=-1 must be at least 0"),
        ("NUM_PROXIES", "1", "NUM_PROXIES is now called TRUSTED_PROXY_COUNT"),
    ],
)
def test_it_refuses_a_malformed_rate_limit_setting(variable, value, message):
    stderr = _settings_failure("cbportal.settings.base", **{variable: value})
    assert message in stderr


def test_it_reads_the_rate_limits_and_the_proxy_count():
    loaded = _load_settings(
        "cbportal.settings.base",
        [
            "TRUSTED_PROXY_COUNT",
            "LOGIN_RATE_LIMIT",
            "PASSWORD_RESET_EMAIL_RATE_LIMIT",
            "REST_FRAMEWORK",
            "SESSION_EXPIRE_AT_BROWSER_CLOSE",
        ],
        TRUSTED_PROXY_COUNT="2",
        LOGIN_RATE_LIMIT="20/15m",
        PASSWORD_RESET_EMAIL_RATE_LIMIT="5/d",
        API_THROTTLE_USER="300/minute",
        SESSION_EXPIRE_AT_BROWSER_CLOSE="false",
    )
    assert loaded["TRUSTED_PROXY_COUNT"] == 2
    assert loaded["REST_FRAMEWORK"]["NUM_PROXIES"] == 2
    assert loaded["LOGIN_RATE_LIMIT"] == "20/15m"
    assert loaded["PASSWORD_RESET_EMAIL_RATE_LIMIT"] == "5/d"
    assert loaded["REST_FRAMEWORK"]["DEFAULT_THROTTLE_RATES"]["user"] == "300/minute"
    assert loaded["SESSION_EXPIRE_AT_BROWSER_CLOSE"] is False
