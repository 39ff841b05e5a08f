"""No secrets in the repository.

Every tracked file (``git ls-files``) is searched for private keys and for the shapes of
well-known cloud and service credentials, and the files that configure a deployment
(settings, Compose, Dockerfile, Makefile, CI, docs) for passwords written into them. The
only passwords allowed are the documented development values: ``cbportal`` (the local and
CI PostgreSQL role, and Compose's default when ``POSTGRES_PASSWORD`` is unset), ``build``
(the Dockerfile's collectstatic step, which connects nowhere), ``pass`` (the
placeholder in documented URL examples) and ``cbportal-demo`` (the demo accounts'
published password, which the API fuzzer signs in with). Hard-coded passwords in Python code are ruff's
``S105``/``S106`` rules; the demo accounts' ``cbportal-demo`` carries its ``noqa``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEV_PASSWORDS = {"cbportal", "build", "pass", "cbportal-demo"}

# Assembled from parts so that this file does not match itself.
_BEGIN, _KEY = "-----BEGIN", "PRIVATE KEY-----"
CREDENTIAL_SHAPES = {
    "private key": re.compile(re.escape(_BEGIN) + r" (?:[A-Z]+ )*" + re.escape(_KEY)),
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "Stripe live key": re.compile(r"\b[sr]k_live_[0-9A-Za-z]{16,}\b"),
}
# scheme://user:password@ — the password part, unless it is a ${VARIABLE} to interpolate.
URL_PASSWORD = re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"`]*:(?P<password>[^@\s'\"`/]+)@")
# ${SOMETHING_PASSWORD:-default} / ${SECRET_KEY-default} in Compose and shell.
DEFAULTED_SECRET = re.compile(
    r"\$\{(?P<name>[A-Z0-9_]*(?:PASSWORD|SECRET|TOKEN)[A-Z0-9_]*):?-(?P<password>[^}]*)\}"
)
# SQL: CREATE/ALTER ROLE … PASSWORD 'x'.
SQL_PASSWORD = re.compile(r"PASSWORD\s+'(?P<password>[^']*)'")
# YAML, env files, shell: SOMETHING_PASSWORD: value or SOMETHING_PASSWORD=value, not a
# ${…} or $(…) and not a *_FILE path. (Python assignments are ruff's S105.)
ASSIGNED_SECRET = re.compile(
    r"^\s*(?:export\s+)?(?P<name>[A-Z0-9_]*(?:PASSWORD|SECRET_KEY|API_KEY|TOKEN)"
    r"(?:_[A-Z0-9]+)*)(?<!_FILE)\s*[:=]\s*[\"']?(?P<password>[^\s\"'$][^\s\"']*)",
    re.M,
)
BINARY_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".ico", ".mo", ".pdf", ".woff", ".woff2"}


def _tracked_files() -> list[Path]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    files = [ROOT / name for name in listed.split("\0") if name]
    return [f for f in files if f.is_file() and f.suffix.lower() not in BINARY_SUFFIXES]


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return ""


def _is_deployment_file(relative: str) -> bool:
    name = relative.rsplit("/", 1)[-1]
    return (
        relative.startswith(("cbportal/settings/", ".ci/", "docs/"))
        or name in {"Dockerfile", "Makefile", "README.md", "docker-compose.yml"}
        or name.startswith((".env", "docker-compose", "compose"))
        or name.endswith((".yml", ".yaml", ".env", ".ini", ".cfg", ".toml", ".conf"))
    )


def credential_findings(relative: str, text: str) -> list[str]:
    found = [
        f"{relative}: {label}" for label, shape in CREDENTIAL_SHAPES.items() if shape.search(text)
    ]
    if relative.startswith("tests/"):
        # Parsing tests need credentials in URLs; they are made up and name no real host.
        return found
    for match in URL_PASSWORD.finditer(text):
        password = match.group("password")
        if not password.startswith("${") and password not in DEV_PASSWORDS:
            found.append(f"{relative}: password in a URL ({match.group(0)})")
    if _is_deployment_file(relative):
        patterns = [DEFAULTED_SECRET, SQL_PASSWORD]
        if not relative.endswith(".py"):
            patterns.append(ASSIGNED_SECRET)
        for pattern in patterns:
            for match in pattern.finditer(text):
                if match.group("password") not in DEV_PASSWORDS:
                    found.append(f"{relative}: {match.group(0).strip()}")
    return found


@pytest.mark.parametrize(
    ("relative", "text", "expected"),
    [
        ("deploy/key.pem", f"{_BEGIN} RSA {_KEY}\nMIIE", 1),
        ("deploy/key.pem", f"{_BEGIN} OPENSSH {_KEY}\nb3Bl", 1),
        ("notes.md", "aws_access_key_id = AKIA" + "ABCDEFGHIJKLMNOP", 1),
        ("notes.md", "token ghp_" + "a" * 36, 1),
        ("docker-compose.yml", "DATABASE_URL: postgres://app:hunter22@db/app", 1),
        ("docker-compose.yml", "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:-hunter22}", 1),
        ("docker-compose.yml", "      POSTGRES_PASSWORD: hunter22", 1),
        ("docker-compose.yml", "      EMAIL_HOST_PASSWORD=hunter22", 1),
        (".ci/run", "CREATE ROLE app LOGIN PASSWORD 'hunter22';", 1),
        ("Makefile", "export SECRET_KEY=hunter22hunter22", 1),
        ("docs/operations.md", "SECRET_KEY_FILE=/run/secrets/cbportal_secret_key", 0),
        ("docs/operations.md", "SECRET_KEY=$(python -c 'import secrets')", 0),
        # The documented development values and placeholders.
        (
            "docker-compose.yml",
            "DATABASE_URL: postgres://cbportal:${POSTGRES_PASSWORD:-cbportal}@db",
            0,
        ),
        ("docker-compose.yml", "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:-cbportal}", 0),
        ("docker-compose.yml", "SECRET_KEY: ${SECRET_KEY:?set SECRET_KEY}", 0),
        (".ci/run", "CREATE ROLE cbportal LOGIN CREATEDB PASSWORD 'cbportal';", 0),
        ("README.md", "`smtp://user:pass@host:587/?tls=True`", 0),
        ("Dockerfile", 'DATABASE_URL="postgres://build:build@localhost:5432/build"', 0),
        (
            "cbportal/settings/base.py",
            'EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")',
            0,
        ),
        ("cbportal/settings/base.py", 'PASSWORD_RESET_RATE_LIMIT = _page_rate("X", "10/h")', 0),
        ("requests_app/views.py", "redirect('https://example.org/a:b@c')", 0),
        ("tests/core/test_env.py", "postgres://u:secret@db.internal/x", 0),
    ],
)
def test_the_scan_finds_secrets_and_only_secrets(relative, text, expected):
    assert len(credential_findings(relative, text)) == expected, credential_findings(relative, text)


def test_no_tracked_file_holds_a_secret():
    files = _tracked_files()
    assert len(files) > 100
    found = [
        finding
        for path in files
        for finding in credential_findings(str(path.relative_to(ROOT)), _text(path))
    ]
    assert found == []


def test_the_settings_embed_only_a_default_key_production_refuses():
    base = (ROOT / "cbportal/settings/base.py").read_text(encoding="utf-8")
    literals = re.findall(r'env\.str\("SECRET_KEY", "([^"]+)"\)', base)
    assert literals == ["insecure-embedded-default-key-do-not-use-in-production"]
    production = (ROOT / "cbportal/settings/production.py").read_text(encoding="utf-8")
    assert 'SECRET_KEY = env.str("SECRET_KEY")' in production
