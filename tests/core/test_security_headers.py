"""Security headers on every kind of response, cookies under the production settings, and
templates that a strict Content Security Policy can serve.

The production values are read from ``cbportal.settings.production`` in a fresh
interpreter (as tests/core/test_settings_env.py does), then applied to this process, so the
cookies and headers checked are those the deployed settings produce.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.template.loaders.app_directories import get_app_template_dirs

from cbportal.core.security_headers import permissions_policy
from tests.core.test_settings_env import _load_settings, _production_env
from tests.requests_app.helpers import add_attachment, make_draft

ROOT = Path(__file__).resolve().parent.parent.parent

# Features that no page may use (a subset of settings.PERMISSIONS_POLICY, which may grow).
SWITCHED_OFF = ("camera", "microphone", "geolocation", "payment", "usb")


def _directives(policy: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


def assert_hardened(response) -> None:
    policy = response["Content-Security-Policy"]
    directives = _directives(policy)
    for name, sources in directives.items():
        assert "'unsafe-inline'" not in sources, name
        assert "'unsafe-eval'" not in sources, name
        assert "*" not in sources, name
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    features = dict(
        item.strip().split("=", 1) for item in response["Permissions-Policy"].split(",")
    )
    for feature in SWITCHED_OFF:
        assert features[feature] == "()", feature


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_a_page_is_hardened(client, db):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert_hardened(response)


def test_a_signed_in_page_is_hardened(client, staff):
    client.force_login(staff)
    response = client.get("/")
    assert response.status_code == 200
    assert_hardened(response)


def test_an_api_answer_is_hardened(api, db):
    response = api.get("/api/v1/countries/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert_hardened(response)


def test_an_api_error_is_hardened(api, db):
    response = api.get("/api/v1/me/")
    assert response.status_code == 401
    assert_hardened(response)


def test_a_download_is_hardened_and_an_attachment(client, media, partner):
    draft = make_draft(partner)
    attachment = add_attachment(draft, partner, "letter.pdf")
    client.force_login(partner)
    response = client.get(f"/requests/{draft.pk}/attachments/{attachment.pk}/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Cache-Control"] == "private, no-store"
    assert_hardened(response)


@pytest.mark.parametrize(("url", "status"), [("/no-such-page/", 404), ("/admin/", 302)])
def test_error_pages_and_redirects_are_hardened(client, db, url, status):
    response = client.get(url)
    assert response.status_code == status
    assert_hardened(response)


def test_a_forbidden_page_is_hardened(client, partner):
    client.force_login(partner)
    response = client.get("/accounts/invitations/")
    assert response.status_code == 403
    assert_hardened(response)


def test_a_static_file_carries_the_headers_set_before_whitenoise(client, db, settings):
    # WhiteNoise answers static files itself, below SecurityMiddleware and the
    # Permissions-Policy middleware and above the rest. (Finders instead of collectstatic's
    # folder; the middleware reads this when the test client builds it.)
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    response = client.get("/static/js/portal.js")
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]


def test_the_permissions_policy_header_is_written_as_the_standard_says():
    header = permissions_policy({"camera": [], "fullscreen": ["self"], "clipboard-write": ["self"]})
    assert header == "camera=(), clipboard-write=(self), fullscreen=(self)"
    assert permissions_policy({}) == ""


# --- Production: cookies, HSTS, session expiry ---------------------------------------------

PRODUCTION_NAMES = [
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "SESSION_COOKIE_AGE",
    "SESSION_EXPIRE_AT_BROWSER_CLOSE",
    "CSRF_COOKIE_SECURE",
    "CSRF_COOKIE_HTTPONLY",
    "CSRF_COOKIE_SAMESITE",
    "LANGUAGE_COOKIE_SECURE",
    "LANGUAGE_COOKIE_HTTPONLY",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_SSL_REDIRECT",
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_REFERRER_POLICY",
    "SECURE_CROSS_ORIGIN_OPENER_POLICY",
    "X_FRAME_OPTIONS",
    "CONTENT_SECURITY_POLICY",
    "PERMISSIONS_POLICY",
]


@pytest.fixture(scope="module")
def production_values():
    return _load_settings("cbportal.settings.production", PRODUCTION_NAMES, **_production_env())


@pytest.fixture
def production(settings, production_values):
    for name, value in production_values.items():
        setattr(settings, name, value)
    # JSON made the header pair a list; Django unpacks it either way.
    settings.SECURE_PROXY_SSL_HEADER = tuple(production_values["SECURE_PROXY_SSL_HEADER"])
    return production_values


def test_production_sessions_expire_after_a_working_day_and_with_the_browser(production):
    assert production["SESSION_COOKIE_AGE"] == 8 * 60 * 60
    assert production["SESSION_EXPIRE_AT_BROWSER_CLOSE"] is True


def test_production_cookies_are_secure_http_only_and_same_site(
    client, partner, password, production
):
    page = client.get("/accounts/login/", secure=True)
    assert page.status_code == 200
    csrf = page.cookies["csrftoken"]
    assert csrf["secure"] is True
    assert csrf["httponly"] is True
    assert csrf["samesite"] == "Lax"

    signed_in = client.post(
        "/accounts/login/", {"username": "partner", "password": password}, secure=True
    )
    assert signed_in.status_code == 302
    session = signed_in.cookies[django_settings.SESSION_COOKIE_NAME]
    assert session.value
    assert session["secure"] is True
    assert session["httponly"] is True
    assert session["samesite"] == "Lax"
    # Ends with the browser: no lifetime on the cookie; the server still drops it after
    # SESSION_COOKIE_AGE.
    assert session["max-age"] == ""
    assert session["expires"] == ""
    assert client.session.get_expire_at_browser_close() is True
    assert client.session.get_expiry_age() == 8 * 60 * 60


def test_production_answers_with_hsts_over_https_and_redirects_http(client, db, production):
    secure = client.get("/accounts/login/", secure=True)
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"] == (
        f"max-age={365 * 24 * 60 * 60}; includeSubDomains; preload"
    )
    assert_hardened(secure)

    plain = client.get("/accounts/login/")
    assert plain.status_code == 301
    assert plain["Location"] == "https://testserver/accounts/login/"


def test_production_trusts_the_proxy_scheme_header(client, db, production):
    response = client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 200
    assert "Strict-Transport-Security" in response


def test_production_keeps_the_same_header_policies(production):
    directives = production["CONTENT_SECURITY_POLICY"]["DIRECTIVES"]
    for name, sources in directives.items():
        assert "'unsafe-inline'" not in sources, name
        assert "'unsafe-eval'" not in sources, name
    assert production["X_FRAME_OPTIONS"] == "DENY"
    assert production["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert production["SECURE_REFERRER_POLICY"] == "same-origin"
    assert production["SECURE_CROSS_ORIGIN_OPENER_POLICY"] == "same-origin"
    assert production["LANGUAGE_COOKIE_SECURE"] is True
    assert production["LANGUAGE_COOKIE_HTTPONLY"] is True
    assert production["PERMISSIONS_POLICY"]["camera"] == []


# --- Templates a strict CSP can serve -------------------------------------------------------

SCRIPT_ELEMENT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.I | re.S)
STYLE_ELEMENT = re.compile(r"<style[\s>]", re.I)
# An attribute inside a tag: whitespace, then style= or on<event>=.
STYLE_ATTRIBUTE = re.compile(r"<[a-zA-Z][^>]*\sstyle\s*=", re.S)
HANDLER_ATTRIBUTE = re.compile(r"<[a-zA-Z][^>]*\son[a-z]+\s*=", re.S)
TEMPLATE_COMMENT = re.compile(r"{#.*?#}|{%\s*comment\s*%}.*?{%\s*endcomment\s*%}|<!--.*?-->", re.S)
JAVASCRIPT_URL = re.compile(r"""(?:href|src|action)\s*=\s*["']\s*javascript:""", re.I)


def _template_files() -> list[Path]:
    directories = [ROOT / "templates"]
    directories += [
        Path(d) for d in get_app_template_dirs("templates") if str(d).startswith(str(ROOT))
    ]
    files = [
        path
        for directory in directories
        for path in directory.rglob("*")
        if path.suffix in {".html", ".svg"} and ".venv" not in path.parts
    ]
    assert files, "no templates found"
    return sorted(set(files))


def _problems(source: str) -> list[tuple[str, str]]:
    """(what, where) for each kind of inline code in ``source``. A JSON data block
    (``json_script``) is data, not code, and a strict policy lets it be."""
    source = TEMPLATE_COMMENT.sub("", source)
    problems = []
    for attributes, body in SCRIPT_ELEMENT.findall(source):
        if 'type="application/json"' in attributes:
            continue
        if body.strip() or "src=" not in attributes:
            problems.append(("inline script", f"<script{attributes}>{body.strip()[:60]}"))
    for pattern, label in (
        (STYLE_ELEMENT, "style element"),
        (STYLE_ATTRIBUTE, "style attribute"),
        (HANDLER_ATTRIBUTE, "event handler"),
        (JAVASCRIPT_URL, "javascript URL"),
    ):
        match = pattern.search(source)
        if match:
            problems.append((label, match.group(0)[-60:]))
    return problems


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('<script src="{% static "js/app.js" %}" defer></script>', []),
        ('{{ data|json_script:"chart-data" }}', []),
        ('<script type="application/json" id="x">{"a": 1}</script>', []),
        ("<script>alert(1)</script>", ["inline script"]),
        ('<script type="module">import "x";</script>', ["inline script"]),
        ('<div style="color:red">', ["style attribute"]),
        ('<div\n  class="x"\n  style="color:red">', ["style attribute"]),
        ('<button type="button" onclick="go()">', ["event handler"]),
        ("<style>p { color: red }</style>", ["style element"]),
        ('<a href="javascript:void(0)">', ["javascript URL"]),
        ('<a class="btn" data-style="x" href="/">', []),
        ('<p>Read the "online" section; style=plain</p>', []),
        ("{# its inline <style> would break our CSP #}", []),
        ("{% comment %}<script>x()</script>{% endcomment %}", []),
    ],
)
def test_the_template_scan_tells_inline_code_from_the_rest(source, expected):
    assert [label for label, _where in _problems(source)] == expected


def test_no_template_has_inline_scripts_styles_or_handlers():
    found = {
        str(path.relative_to(ROOT)): problems
        for path in _template_files()
        if (problems := _problems(path.read_text(encoding="utf-8")))
    }
    assert found == {}


def test_the_template_scan_covers_the_app_templates_too():
    names = {str(path.relative_to(ROOT)) for path in _template_files()}
    assert "templates/base.html" in names
    assert "templates/429.html" in names
    assert len(names) > 50
