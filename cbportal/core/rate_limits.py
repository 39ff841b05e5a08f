"""Who a client is, and how often it may knock.

One function, ``client_ip``, names the client's address for every limit keyed on it: the
page limits here (django-ratelimit, through ``RATELIMIT_IP_META_KEY``), the sign-in lockout
(django-axes, through ``AXES_CLIENT_IP_CALLABLE``) and the API throttles (the classes
below). Behind ``TRUSTED_PROXY_COUNT`` reverse proxies the address is the one the outermost
trusted proxy appended to ``X-Forwarded-For``; anything a client wrote further left is
ignored, so a forged header cannot move a client to another bucket.

Pages answer a limit with ``429`` and ``Retry-After`` on the translated ``429.html`` page;
the API answers with DRF's ``Throttled`` in the portal's error shape.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django_ratelimit.core import get_usage
from rest_framework import throttling


def client_ip(request: Any) -> str:
    """The client's address: ``REMOTE_ADDR`` with no trusted proxy, else the entry of
    ``X-Forwarded-For`` written by the outermost trusted proxy. A chain shorter than the
    configured count, or an entry that is not an address, falls back to ``REMOTE_ADDR``
    (the request did not come the way the deployment says requests come)."""
    remote = str(request.META.get("REMOTE_ADDR") or "")
    count = int(settings.TRUSTED_PROXY_COUNT)
    if count <= 0:
        return remote
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR") or "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    if len(hops) < count:
        return remote
    candidate = hops[-count]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


# --- API throttles (DRF) ----------------------------------------------------------------


class AnonRateThrottle(throttling.AnonRateThrottle):
    def get_ident(self, request: Any) -> str:
        return client_ip(request)


class UserRateThrottle(throttling.UserRateThrottle):
    def get_ident(self, request: Any) -> str:
        return client_ip(request)


class ScopedRateThrottle(throttling.ScopedRateThrottle):
    def get_ident(self, request: Any) -> str:
        return client_ip(request)


# --- Page limits (django-ratelimit) -----------------------------------------------------


def by_address(group: str, request: HttpRequest) -> str:
    """The client's address; for IPv6 its /64 network, which one subscriber usually holds
    whole (as django-ratelimit's own ``ip`` key counts it)."""
    address = client_ip(request)
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False).network_address)
    return address


def by_user(group: str, request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return f"ip:{client_ip(request)}"


def by_posted_email(group: str, request: HttpRequest) -> str:
    """The address typed into the form, whether or not an account has it, so that the
    limit says nothing about which addresses exist."""
    email = str(request.POST.get("email", "")).strip().lower()
    return hashlib.sha256(email.encode()).hexdigest()


@dataclass(frozen=True)
class Limit:
    """One limit on a page: how the caller is counted, and the setting holding the rate
    (django-ratelimit syntax, ``5/h``, ``20/15m``)."""

    key: Callable[[str, HttpRequest], str]
    rate_setting: str

    def rate(self, group: str, request: HttpRequest) -> str:
        return str(getattr(settings, self.rate_setting))


def too_many_requests(request: HttpRequest, retry_after: int) -> HttpResponse:
    retry_after = max(int(retry_after), 1)
    response = render(
        request,
        "429.html",
        {"retry_after_minutes": max((retry_after + 59) // 60, 1)},
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    return response


def limit_posts(
    group: str, *limits: Limit
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """Count each POST against every limit; once any is exceeded the view is not run and
    the caller gets the 429 page with the longest wait among the exceeded limits. GET
    requests (showing the form) are never limited."""

    def decorator(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.method == "POST":
                waits = []
                for limit in limits:
                    usage = get_usage(
                        request,
                        group=f"{group}:{limit.rate_setting}",
                        key=limit.key,
                        rate=limit.rate,
                        method="POST",
                        increment=True,
                    )
                    if usage and usage["should_limit"]:
                        waits.append(int(usage["time_left"]))
                if waits:
                    return too_many_requests(request, max(waits))
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
