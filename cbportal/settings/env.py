"""Strict environment parsing for settings.

django-environ parses URLs, but it silently turns ``DEBUG=maybe`` into ``False`` and an
unknown database scheme into an empty engine. A misconfigured deployment must fail at
start-up with the variable's name, not run with a surprise, so every read goes through
these helpers. Each variable ``X`` may also be given as ``X_FILE`` (a path whose content
is the value), which is how container secrets are mounted.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_UNSET = object()


class Env:
    """Reads variables from a mapping (``os.environ`` by default)."""

    def __init__(self, environ_map: Mapping[builtins.str, builtins.str] | None = None) -> None:
        self.environ = os.environ if environ_map is None else environ_map

    def raw(self, name: builtins.str) -> builtins.str | None:
        file_var = f"{name}_FILE"
        if name in self.environ and file_var in self.environ:
            raise ImproperlyConfigured(f"Set {name} or {file_var}, not both.")
        if file_var in self.environ:
            path = Path(self.environ[file_var])
            try:
                return path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ImproperlyConfigured(f"{file_var}: cannot read {path}: {exc}") from exc
        value = self.environ.get(name)
        if value is None:
            return None
        return value.strip()

    def is_set(self, name: builtins.str) -> builtins.bool:
        value = self.raw(name)
        return value is not None and value != ""

    def str(self, name: builtins.str, default: Any = _UNSET) -> builtins.str:
        value = self.raw(name)
        if value is None or value == "":
            if default is _UNSET:
                raise ImproperlyConfigured(f"The environment variable {name} is required.")
            return default
        return value

    def bool(self, name: builtins.str, default: builtins.bool) -> builtins.bool:
        value = self.raw(name)
        if value is None or value == "":
            return default
        lowered = value.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a boolean; use one of true/false, yes/no, on/off, 1/0."
        )

    def int(
        self, name: builtins.str, default: builtins.int, *, minimum: builtins.int | None = None
    ) -> builtins.int:
        value = self.raw(name)
        if value is None or value == "":
            return default
        try:
            number = int(value)
        except ValueError:
            raise ImproperlyConfigured(f"{name}={value!r} is not an integer.") from None
        if minimum is not None and number < minimum:
            raise ImproperlyConfigured(f"{name}={number} must be at least {minimum}.")
        return number

    def list(
        self, name: builtins.str, default: builtins.list[builtins.str] | None = None
    ) -> builtins.list[builtins.str]:
        value = self.raw(name)
        if value is None or value == "":
            return list(default or [])
        items: builtins.list[builtins.str] = [item.strip() for item in value.split(",")]
        if any(not item for item in items):
            raise ImproperlyConfigured(f"{name}={value!r} has an empty item in its comma list.")
        return items

    def dates(self, name: builtins.str) -> builtins.list[builtins.str]:
        """A comma list of ISO dates (``2026-12-25,2027-01-01``)."""
        from datetime import date

        items = self.list(name)
        for item in items:
            try:
                date.fromisoformat(item)
            except ValueError:
                raise ImproperlyConfigured(
                    f"{name}: {item!r} is not an ISO date (YYYY-MM-DD)."
                ) from None
        return items

    def time_of_day(
        self, name: builtins.str, default: builtins.str
    ) -> tuple[builtins.int, builtins.int]:
        """A time of day ``HH:MM`` (24-hour clock) as ``(hour, minute)``."""
        value = self.str(name, default)
        hour, sep, minute = value.partition(":")
        try:
            parsed = (int(hour), int(minute))
        except ValueError:
            parsed = (-1, -1)
        if not sep or not (0 <= parsed[0] <= 23 and 0 <= parsed[1] <= 59):
            raise ImproperlyConfigured(f"{name}={value!r} is not a time of day (HH:MM).")
        return parsed

    def choice(
        self, name: builtins.str, choices: builtins.list[builtins.str], default: builtins.str
    ) -> builtins.str:
        value = self.str(name, default)
        if value not in choices:
            raise ImproperlyConfigured(f"{name}={value!r} must be one of {', '.join(choices)}.")
        return value

    def database(self, name: builtins.str, default: builtins.str) -> dict[builtins.str, Any]:
        """A database URL: ``postgres://user:pass@host:port/name`` or ``sqlite:///path``."""
        url = self.str(name, default)
        scheme = urlsplit(url).scheme
        if scheme not in {"postgres", "postgresql", "pgsql", "sqlite"}:
            raise ImproperlyConfigured(
                f"{name} must be a postgres:// or sqlite:// URL, got scheme {scheme!r}."
            )
        config = environ.Env.db_url_config(url)
        if not config.get("NAME"):
            raise ImproperlyConfigured(f"{name} has no database name.")
        return dict(config)

    def redis_url(self, name: builtins.str) -> builtins.str | None:
        url = self.raw(name)
        if not url:
            return None
        parts = urlsplit(url)
        if parts.scheme not in {"redis", "rediss"} or not parts.hostname:
            raise ImproperlyConfigured(f"{name} must be a redis:// or rediss:// URL with a host.")
        try:
            parts.port  # noqa: B018 - raises ValueError on a malformed port
        except ValueError:
            raise ImproperlyConfigured(f"{name} has a malformed port.") from None
        return url

    def email_url(self, name: builtins.str) -> dict[builtins.str, Any] | None:
        url = self.raw(name)
        if not url:
            return None
        scheme = urlsplit(url).scheme
        if scheme not in {
            "smtp",
            "smtps",
            "smtp+tls",
            "smtp+ssl",
            "consolemail",
            "filemail",
            "memorymail",
        }:
            raise ImproperlyConfigured(f"{name} has an unsupported scheme {scheme!r}.")
        return dict(environ.Env.email_url_config(url))
