"""The OpenAPI schema and the interactive docs, served without any CDN."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from drf_spectacular.drainage import reset_generator_stats

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent

FOUNDATION_PATHS = [
    "/api/v1/auth/token/",
    "/api/v1/me/",
    "/api/v1/organisations/",
    "/api/v1/countries/",
    "/api/v1/thematic-areas/",
    "/api/v1/notifications/",
]


def test_it_generates_a_valid_schema(tmp_path):
    reset_generator_stats()  # warnings of earlier generations in this process are not ours
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--file", str(target))
    schema = yaml.safe_load(target.read_text(encoding="utf-8"))
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "CB Portal API"
    for path in FOUNDATION_PATHS:
        assert path in schema["paths"], path


def test_it_generates_the_schema_without_warnings(tmp_path):
    # A fresh process: drf-spectacular keeps warnings in a process-wide counter.
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "cbportal.settings.base",
    }
    target = tmp_path / "schema.yml"
    result = subprocess.run(
        [
            *(sys.executable, "manage.py", "spectacular"),
            *("--validate", "--fail-on-warn", "--file", str(target)),
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr, result.stderr


@pytest.mark.parametrize(
    "request_kwargs",
    [{"data": {"format": "json"}}, {"HTTP_ACCEPT": "application/vnd.oai.openapi+json"}],
)
def test_it_serves_the_schema_as_json(api, db, request_kwargs):
    response = api.get("/api/schema/", **request_kwargs)
    assert response.status_code == 200
    assert "json" in response["Content-Type"]
    schema = response.json()
    for path in FOUNDATION_PATHS:
        assert path in schema["paths"], path
    # Getting a token needs no authentication; everything else takes a session or a token.
    assert schema["paths"]["/api/v1/auth/token/"]["post"].get("security") in (None, [], [{}])
    assert {"tokenAuth": []} in schema["paths"]["/api/v1/me/"]["get"]["security"]
    assert "tokenAuth" in schema["components"]["securitySchemes"]


def test_it_documents_the_error_responses(api, db):
    schema = api.get("/api/schema/", {"format": "json"}).json()
    me = schema["paths"]["/api/v1/me/"]["patch"]["responses"]
    assert {"200", "400"} <= set(me)
    organisation = schema["paths"]["/api/v1/organisations/{id}/"]["get"]["responses"]
    assert "404" in organisation


def test_it_serves_the_docs_without_any_cdn(api, db):
    response = api.get("/api/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()

    urls = re.findall(r"""<(?:script|link)\b[^>]*\b(?:src|href)=["']([^"']+)["']""", html)
    assert urls, html
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
    assert any(url.startswith("/static/drf_spectacular_sidecar/") for url in urls), urls
    assert "http://" not in html
    assert "https://" not in html
    assert "//cdn" not in html


def test_it_serves_the_docs_without_inline_script(api, db):
    html = api.get("/api/docs/").content.decode()
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.DOTALL)
    assert scripts
    for attributes, body in scripts:
        assert "src=" in attributes, attributes
        assert body.strip() == "", body


def test_it_serves_the_docs_initialiser_as_a_local_script(api, db):
    html = api.get("/api/docs/").content.decode()
    local = [
        src
        for src in re.findall(r'<script\b[^>]*\bsrc="([^"]+)"', html)
        if not src.startswith("/static/")
    ]
    assert local == ["/api/docs/?script="]
    response = api.get("/api/docs/", {"script": ""})
    assert response.status_code == 200
    assert "javascript" in response["Content-Type"]
    assert "/api/schema/" in response.content.decode()


def test_it_serves_the_docs_under_the_content_security_policy(api, db):
    response = api.get("/api/docs/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy


def test_it_serves_the_docs_without_inline_style(api, db):
    html = api.get("/api/docs/").content.decode()
    assert "<style" not in html
    assert "style=" not in html
