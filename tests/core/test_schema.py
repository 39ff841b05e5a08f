"""The OpenAPI schema and the interactive docs, served without any CDN."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

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


# --- every answer the API can give is in the schema (what .ci/fuzz-api holds it to) -------

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def openapi(django_db_setup: Any, django_db_blocker: Any) -> dict[str, Any]:
    from rest_framework.test import APIClient

    with django_db_blocker.unblock():
        return APIClient().get("/api/schema/", {"format": "json"}).json()


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].split("/")[-1]]
    return node


def _error_shape(schema: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    """The drf-standardized-errors body: {type, errors: [{code, detail, attr}]}."""
    body = _resolve(schema, response["content"]["application/json"]["schema"])
    variants = [_resolve(schema, v) for v in body.get("oneOf", [body])]
    for variant in variants:
        assert set(variant["required"]) == {"type", "errors"}, variant
        items = _resolve(schema, variant["properties"]["errors"]["items"])
        for item in [_resolve(schema, i) for i in items.get("oneOf", [items])]:
            assert set(item["required"]) == {"code", "detail", "attr"}, item
    return body


def test_it_documents_401_404_429_and_400_with_the_error_shape(openapi):
    for path, method, operation in _operations(openapi):
        where = f"{method.upper()} {path}"
        responses = operation["responses"]
        public = operation.get("security") in (None, [], [{}]) or {} in operation["security"]
        if not public:
            assert "401" in responses, where
        if "{" in path:
            assert "404" in responses, where
        assert "429" in responses, where
        has_query = any(p["in"] == "query" for p in operation.get("parameters", []))
        if "requestBody" in operation or has_query:
            assert "400" in responses, where
        for code in ("400", "401", "403", "404", "409", "429"):
            if code in responses:
                _error_shape(openapi, responses[code])


def test_it_documents_a_field_error_for_every_body_it_validates(openapi):
    # A body declared per media type (multipart uploads) once documented only parse errors.
    for path, method, operation in _operations(openapi):
        if "requestBody" not in operation:
            continue
        body = _error_shape(openapi, operation["responses"]["400"])
        assert "validation_error" in body["discriminator"]["mapping"], f"{method} {path}"


def _error_items(openapi: dict[str, Any], path: str, method: str) -> list[dict[str, Any]]:
    body = _resolve(
        openapi,
        openapi["paths"][path][method]["responses"]["400"]["content"]["application/json"]["schema"],
    )
    validation = _resolve(openapi, {"$ref": body["discriminator"]["mapping"]["validation_error"]})
    items = _resolve(openapi, validation["properties"]["errors"]["items"])
    return [_resolve(openapi, item) for item in items["oneOf"]]


def _matches(items: list[dict[str, Any]], error: dict[str, Any]) -> int:
    """How many of the documented error items accept ``error`` (oneOf: exactly one)."""
    count = 0
    for item in items:
        attr, code = item["properties"]["attr"], item["properties"]["code"]
        if "enum" in attr and error["attr"] not in attr["enum"]:
            continue
        if "pattern" in attr and not re.search(attr["pattern"], error["attr"] or ""):
            continue
        if attr.get("type") == "string" and error["attr"] is None and not attr.get("nullable"):
            continue
        if error["code"] not in code["enum"]:
            continue
        count += 1
    return count


@pytest.mark.parametrize(
    "error",
    [
        # StrictFieldsMixin names the unknown field as it was sent.
        {"attr": "tittle", "code": "unknown_field"},
        # A list item is named by its index, not by drf-standardized-errors' INDEX.
        {"attr": "objectives.0.text", "code": "required"},
        {"attr": "objectives.12.gaps", "code": "empty"},
        # ApplicationError on a field, and on none.
        {"attr": "title", "code": "invalid"},
        {"attr": None, "code": "invalid"},
        {"attr": "non_field_errors", "code": "invalid"},
    ],
)
def test_it_documents_the_field_errors_the_api_answers(openapi, error):
    items = _error_items(openapi, "/api/v1/actions/", "post")
    assert _matches(items, error) == 1, error


def test_it_does_not_document_field_errors_the_api_never_answers(openapi):
    items = _error_items(openapi, "/api/v1/actions/", "post")
    assert _matches(items, {"attr": "objectives.INDEX.text", "code": "required"}) == 0
    assert _matches(items, {"attr": "title", "code": "no_such_code"}) == 0


def test_it_documents_the_search_filter_refusing_nul(openapi):
    items = _error_items(openapi, "/api/v1/gcm-objectives/", "get")
    assert _matches(items, {"attr": None, "code": "null_characters_not_allowed"}) == 1


def test_it_documents_our_own_403_and_404_codes(openapi):
    enums = openapi["components"]["schemas"]
    assert set(enums["ErrorCode403Enum"]["enum"]) == {"permission_denied", "transition_forbidden"}
    assert set(enums["ErrorCode404Enum"]["enum"]) == {"not_found", "unknown_transition"}


@pytest.mark.parametrize(
    ("component", "field"),
    [
        ("Request", "sla_state"),
        ("Expert", "cv_url"),
        ("MatchResult", "deployment"),
        ("MatchResult", "deployment_status"),
        ("Me", "organisation"),
    ],
)
def test_it_documents_null_where_the_api_answers_null(openapi, component, field):
    prop = openapi["components"]["schemas"][component]["properties"][field]
    assert prop.get("nullable") or any(
        _resolve(openapi, p).get("nullable") for p in prop.get("allOf", []) + prop.get("oneOf", [])
    ), prop


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/actions/{id}/amendments/",
        "/api/v1/requests/{id}/attachments/",
        "/api/v1/experts/{id}/unavailability/",
    ],
)
def test_it_documents_plain_lists_as_lists(openapi, path):
    operation = openapi["paths"][path]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["type"] == "array"
    assert [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"] == []


def test_it_documents_a_download_in_each_type_it_is_served_in(openapi):
    content = openapi["paths"]["/api/v1/requests/{id}/attachments/{attachment_id}/"]["get"][
        "responses"
    ]["200"]["content"]
    assert {"application/pdf", "image/png", "image/jpeg"} <= set(content)


@pytest.mark.parametrize(
    "error",
    [
        {"attr": None, "code": "authorization"},
        {"attr": "otp_token", "code": "otp_required"},
        {"attr": "otp_token", "code": "otp_invalid"},
    ],
)
def test_it_documents_the_refusals_of_the_token_endpoint(openapi, error):
    items = _error_items(openapi, "/api/v1/auth/token/", "post")
    assert _matches(items, error) == 1, error


def test_it_documents_a_transition_refusing_the_objects_own_fields(openapi):
    # Found by .ci/fuzz-api: submitting an incomplete draft names the draft's fields.
    items = _error_items(openapi, "/api/v1/requests/{id}/submit/", "post")
    assert _matches(items, {"attr": "preferred_start", "code": "invalid"}) == 1
