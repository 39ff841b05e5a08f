"""Role home pages, notifications, the page frame (CSP, landmarks) and error pages."""

from __future__ import annotations

import re
from datetime import timedelta
from itertools import count

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cbportal.core.models import Notification, NotificationCategory

_keys = count()


def notify(user, subject="Your request was submitted", *, read=False, url="", age_minutes=0):
    """An in-app notification written directly (the outbox machinery is not under test)."""
    now = timezone.now()
    return Notification.objects.create(
        recipient=user,
        event="request_submitted",
        category=NotificationCategory.REQUESTS,
        subject=subject,
        url=url,
        idempotency_key=f"test:{next(_keys)}:{user.pk}",
        created_at=now - timedelta(minutes=age_minutes),
        read_at=now if read else None,
        email_status="skipped",
    )


def unread_badge(response) -> list[str]:
    return re.findall(r'data-testid="unread-count">\s*(\d+)', response.content.decode())


def texts(response, testid) -> list[str]:
    html = response.content.decode()
    return re.findall(rf'data-testid="{testid}"[^>]*>(.*?)</', html, flags=re.S)


# --- Home pages -------------------------------------------------------------------------

HOMES = {
    "partner": (
        "core/home_partner.html",
        "Home — Directorate of Migration (DM)",
        {"my-requests-empty", "assessments-empty", "my-actions-empty"},
    ),
    "staff": (
        "core/home_staff.html",
        "Programme home",
        {"triage-queue-empty", "actions-empty", "deployments-empty"},
    ),
    "approver": (
        "core/home_staff.html",
        "Programme home",
        {"triage-queue-empty", "approval-queue-empty", "actions-empty", "deployments-empty"},
    ),
    "expert": (
        "core/home_expert.html",
        "My missions",
        {"my-invitations-empty", "my-deployments-empty", "my-profile-empty"},
    ),
    "evaluator": (
        "core/home_evaluator.html",
        "My evaluations",
        {"assigned-actions-empty", "final-evaluations-empty"},
    ),
    "admin_user": (
        "core/home_staff.html",
        "Programme home",
        {"triage-queue-empty", "actions-empty", "deployments-empty"},
    ),
}


@pytest.mark.parametrize("persona", list(HOMES))
def test_it_shows_each_role_its_home_page(client, request, persona):
    template, heading, sections = HOMES[persona]
    client.force_login(request.getfixturevalue(persona))
    response = client.get("/")
    assert response.status_code == 200
    assert template in [t.name for t in response.templates]
    assert texts(response, "home-heading") == [heading]
    shown = set(re.findall(r'data-testid="([\w-]+-empty)"', response.content.decode()))
    assert sections <= shown, sections - shown
    assert "No notifications yet." in response.content.decode()


def test_only_approvers_see_the_approval_queue(client, staff, approver):
    client.force_login(staff)
    assert 'data-testid="approval-queue-empty"' not in client.get("/").content.decode()
    client.force_login(approver)
    assert 'data-testid="approval-queue-empty"' in client.get("/").content.decode()


def test_the_home_page_shows_the_latest_five_notifications(client, partner, partner2):
    for i in range(7):
        notify(partner, f"Message number {i}", age_minutes=10 - i)
    notify(partner2, "Someone else's message")
    client.force_login(partner)
    body = client.get("/").content.decode()
    shown = re.findall(r"Message number (\d)", body)
    assert shown == ["6", "5", "4", "3", "2"]
    assert "Someone else's message" not in body
    assert reverse("core:notifications") in body


def test_visitors_see_the_landing_page(client, db):
    response = client.get("/")
    assert response.status_code == 200
    assert "core/landing.html" in [t.name for t in response.templates]
    body = response.content.decode()
    assert "Capacity building in migration governance, on demand" in body
    assert f'href="{reverse("accounts:login")}"' in body
    assert 'data-testid="home-heading"' not in body
    assert 'id="notification-bell"' not in body


# --- Notifications ----------------------------------------------------------------------


def test_the_notifications_page_needs_sign_in(client, db):
    response = client.get("/notifications/")
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next=/notifications/"


def test_it_lists_only_the_users_own_notifications(client, partner, partner2):
    notify(partner, "Mine, older", age_minutes=5)
    notify(partner, "Mine, newer", read=True)
    notify(partner2, "Not mine")
    client.force_login(partner)
    response = client.get("/notifications/")
    assert response.status_code == 200
    subjects = [n.subject for n in response.context["page"].object_list]
    assert subjects == ["Mine, newer", "Mine, older"]
    assert "Not mine" not in response.content.decode()


def test_it_says_when_there_are_no_notifications(client, partner, partner2):
    notify(partner2, "Not mine")
    client.force_login(partner)
    body = client.get("/notifications/").content.decode()
    assert 'data-testid="notification-list"' not in body
    assert "No notifications yet." in body


def test_it_filters_unread_notifications(client, partner):
    notify(partner, "Unread one")
    notify(partner, "Read one", read=True)
    client.force_login(partner)
    response = client.get("/notifications/?unread=1")
    assert [n.subject for n in response.context["page"].object_list] == ["Unread one"]


def test_it_paginates_notifications(client, partner):
    for i in range(30):
        notify(partner, f"N{i:02d}", age_minutes=100 - i)
    client.force_login(partner)
    first = client.get("/notifications/")
    assert len(first.context["page"].object_list) == 25
    assert "Page 1 of 2" in first.content.decode()
    second = client.get("/notifications/?page=2")
    assert [n.subject for n in second.context["page"].object_list] == [
        "N04",
        "N03",
        "N02",
        "N01",
        "N00",
    ]


def test_the_bell_shows_the_unread_count(client, partner, partner2):
    notify(partner, "One")
    notify(partner, "Two")
    notify(partner, "Three", read=True)
    notify(partner2, "Other")
    client.force_login(partner)
    response = client.get("/")
    assert unread_badge(response) == ["2"]
    assert response.context["unread_notifications"] == 2


def test_the_bell_has_no_badge_when_everything_is_read(client, partner):
    notify(partner, "Read", read=True)
    client.force_login(partner)
    body = client.get("/").content.decode()
    assert 'id="notification-bell"' in body
    assert 'data-testid="unread-count"' not in body


def test_it_marks_one_notification_as_read(client, partner):
    mine = notify(partner, "Mine")
    other = notify(partner, "Also mine")
    client.force_login(partner)
    response = client.post(reverse("core:notification-read", args=[mine.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("core:notifications")
    mine.refresh_from_db()
    other.refresh_from_db()
    assert mine.read_at is not None
    assert other.read_at is None
    assert unread_badge(client.get("/")) == ["1"]


def test_marking_read_again_keeps_the_first_time(client, partner):
    earlier = timezone.now() - timedelta(days=1)
    mine = notify(partner, "Mine")
    Notification.objects.filter(pk=mine.pk).update(read_at=earlier)
    client.force_login(partner)
    client.post(reverse("core:notification-read", args=[mine.pk]))
    mine.refresh_from_db()
    assert mine.read_at == earlier


def test_it_opens_the_notifications_link(client, partner):
    mine = notify(partner, "Go", url="/accounts/profile/")
    client.force_login(partner)
    response = client.post(reverse("core:notification-read", args=[mine.pk]), {"open": "1"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/profile/"


def test_it_does_not_follow_a_link_to_another_site(client, partner):
    mine = notify(partner, "Go", url="https://evil.example/")
    client.force_login(partner)
    response = client.post(reverse("core:notification-read", args=[mine.pk]), {"open": "1"})
    assert response["Location"] == reverse("core:notifications")


def test_it_answers_404_for_someone_elses_notification(client, partner, partner2):
    theirs = notify(partner2, "Theirs")
    client.force_login(partner)
    response = client.post(reverse("core:notification-read", args=[theirs.pk]))
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_marking_read_needs_post(client, partner):
    mine = notify(partner, "Mine")
    client.force_login(partner)
    assert client.get(reverse("core:notification-read", args=[mine.pk])).status_code == 405
    mine.refresh_from_db()
    assert mine.read_at is None


def test_it_marks_all_as_read(client, partner, partner2):
    notify(partner, "One")
    notify(partner, "Two")
    notify(partner, "Old", read=True)
    theirs = notify(partner2, "Theirs")
    client.force_login(partner)
    page = client.get("/notifications/").content.decode()
    assert reverse("core:notifications-read-all") in page

    response = client.post(reverse("core:notifications-read-all"), follow=True)
    assert response.status_code == 200
    assert "2 notifications marked as read." in response.content.decode()
    assert not Notification.objects.filter(recipient=partner, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert 'data-testid="unread-count"' not in response.content.decode()
    assert reverse("core:notifications-read-all") not in response.content.decode()


def _queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


# Notifications page: session, user, unread count (bell), the paginator's count, the page.
# Home page: session, user, unread count, the latest five, plus the role's preview blocks
# (bounded lists from other apps, so it has some headroom as those blocks arrive).
QUERY_BOUNDS = {"/notifications/": 5, "/": 10}


@pytest.mark.parametrize("url", list(QUERY_BOUNDS))
def test_the_query_count_does_not_grow_with_notifications(
    client, partner, url, django_assert_max_num_queries
):
    client.force_login(partner)
    for i in range(3):
        notify(partner, f"Few {i}", url="/accounts/profile/")
    with django_assert_max_num_queries(QUERY_BOUNDS[url]):
        client.get(url)
    few = _queries_for(client, url)

    for i in range(27):
        notify(partner, f"Many {i}", url="/accounts/profile/", read=i % 2 == 0)
    with django_assert_max_num_queries(QUERY_BOUNDS[url]):
        client.get(url)
    assert _queries_for(client, url) == few


# --- Page frame -------------------------------------------------------------------------

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>\s*\S", re.I)
INLINE_STYLE_ATTR = re.compile(r"<[^>]+\sstyle\s*=", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
STYLE_ELEMENT = re.compile(r"<style[\s>]", re.I)


def _assert_csp_safe(response):
    policy = response["Content-Security-Policy"]
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    html = response.content.decode()
    assert not INLINE_SCRIPT.search(html), INLINE_SCRIPT.search(html)
    assert not INLINE_STYLE_ATTR.search(html), INLINE_STYLE_ATTR.search(html)
    assert not INLINE_HANDLER.search(html), INLINE_HANDLER.search(html)
    assert not STYLE_ELEMENT.search(html)


def _assert_landmarks(response):
    html = response.content.decode()
    assert re.search(r'<a class="[^"]*skip-link[^"]*" href="#main">', html)
    assert len(re.findall(r'<main id="main"', html)) == 1
    assert "<header>" in html
    assert '<nav class="navbar' in html


@pytest.mark.parametrize("persona", list(HOMES))
def test_home_pages_are_csp_safe_and_have_landmarks(client, request, persona):
    user = request.getfixturevalue(persona)
    notify(user, "Something with <b>markup</b> in it")
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    _assert_csp_safe(response)
    _assert_landmarks(response)
    assert "&lt;b&gt;markup&lt;/b&gt;" in response.content.decode()


@pytest.mark.parametrize(
    "url",
    ["/", "/accounts/login/", "/accounts/password/reset/", "/this-page-does-not-exist/"],
)
def test_public_pages_are_csp_safe_and_have_landmarks(client, db, url):
    response = client.get(url)
    _assert_csp_safe(response)
    _assert_landmarks(response)


@pytest.mark.parametrize(
    "url",
    [
        "/notifications/",
        "/accounts/profile/",
        "/accounts/invitations/",
        "/accounts/two-factor/",
        "/accounts/password/change/",
    ],
)
def test_signed_in_pages_are_csp_safe_and_have_landmarks(client, staff, url):
    notify(staff, "Hello", url="/accounts/profile/")
    client.force_login(staff)
    response = client.get(url)
    assert response.status_code == 200
    _assert_csp_safe(response)
    _assert_landmarks(response)


def test_a_failed_login_page_is_csp_safe(client, partner):
    response = client.post("/accounts/login/", {"username": "partner", "password": "wrong-one"})
    assert response.status_code == 200
    _assert_csp_safe(response)


def test_redirects_carry_the_policy_too(client, db):
    response = client.get("/notifications/")
    assert response.status_code == 302
    assert "default-src 'self'" in response["Content-Security-Policy"]


def test_pages_forbid_framing_and_sniffing(client, db):
    response = client.get("/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


# --- Error pages and health -------------------------------------------------------------


def test_an_unknown_url_shows_the_404_page(client, db):
    response = client.get("/this-page-does-not-exist/")
    assert response.status_code == 404
    assert "404.html" in [t.name for t in response.templates]
    body = response.content.decode()
    assert "Page not found" in body
    assert f'href="{reverse("core:home")}"' in body


def test_the_404_page_keeps_the_signed_in_frame(client, partner):
    client.force_login(partner)
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert 'id="notification-bell"' in response.content.decode()


def test_the_500_page_renders_without_a_request_context(rf, db):
    from cbportal.core.views import server_error

    response = server_error(rf.get("/"))
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()


def test_the_health_check_answers(client, db, settings):
    settings.REDIS_URL = None
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"]["database"] == "ok"
    assert response.json()["status"] == "ok"
