"""Sign-in (with optional second factor), invitations, profile and language."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import django_otp
import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import BACKEND_SESSION_KEY, get_user_model, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

from cbportal.accounts import services
from cbportal.accounts.forms import (
    InvitationAcceptForm,
    InvitationForm,
    LanguageForm,
    LoginForm,
    PasswordResetForm,
    TokenForm,
)
from cbportal.accounts.models import Invitation
from cbportal.core.errors import ApplicationError
from cbportal.core.rate_limits import Limit, by_address, by_posted_email, by_user, limit_posts

PENDING_USER = "cbportal.2fa.user"
PENDING_BACKEND = "cbportal.2fa.backend"
PENDING_NEXT = "cbportal.2fa.next"


def _safe_next(request: HttpRequest, value: str | None) -> str:
    if value and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return reverse(settings.LOGIN_REDIRECT_URL)


@method_decorator(limit_posts("login", Limit(by_address, "LOGIN_RATE_LIMIT")), name="dispatch")
class LoginView(auth_views.LoginView):
    """Password first; users with an authenticator then confirm a code on a second page."""

    form_class = LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form: LoginForm) -> HttpResponse:  # type: ignore[override]
        user = form.get_user()
        if user_has_device(user) or services.two_factor_required(user):
            self.request.session[PENDING_USER] = user.pk
            self.request.session[PENDING_BACKEND] = user.backend  # type: ignore[attr-defined]
            self.request.session[PENDING_NEXT] = self.get_redirect_url()
            return redirect("accounts:two-factor-verify")
        return super().form_valid(form)


def two_factor_verify(request: HttpRequest) -> HttpResponse:
    """Second step of sign-in, or re-verification of a session that needs it."""
    User = get_user_model()
    if request.user.is_authenticated:
        user: Any = request.user
        backend = request.session.get(BACKEND_SESSION_KEY)
    elif PENDING_USER in request.session:
        user = get_object_or_404(User, pk=request.session[PENDING_USER], is_active=True)
        backend = request.session.get(PENDING_BACKEND)
    else:
        return redirect("accounts:login")
    if not user_has_device(user):
        # Required but not set up yet: set-up comes first (it verifies the session too).
        if not request.user.is_authenticated:
            login(request, user, backend=backend)
        return redirect(f"{reverse('accounts:two-factor-setup')}?required=1")

    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = django_otp.match_token(user, form.cleaned_data["token"])
        if device is None:
            form.add_error("token", _("That code is not valid or has already been used."))
        else:
            next_url = request.session.pop(PENDING_NEXT, None)
            if not request.user.is_authenticated:
                login(request, user, backend=backend)
            django_otp.login(request, device)
            request.session.pop(PENDING_USER, None)
            request.session.pop(PENDING_BACKEND, None)
            return HttpResponseRedirect(_safe_next(request, next_url))
    return render(request, "accounts/two_factor_verify.html", {"form": form})


@login_required
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    form = TokenForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                confirmed = services.totp_device_confirm(
                    user=user, token=form.cleaned_data["token"]
                )
            except ApplicationError as exc:
                form.add_error("token", exc.message)
            else:
                django_otp.login(request, confirmed)
                messages.success(request, _("Two-factor authentication is on."))
                return redirect("accounts:profile")
    elif device is None:
        device = services.totp_device_start(user=user)
    return render(
        request,
        "accounts/two_factor_setup.html",
        {
            "form": form,
            "device": device,
            "secret": _base32_secret(device) if device else "",
            "required": request.GET.get("required") == "1",
        },
    )


def _base32_secret(device: TOTPDevice) -> str:
    from base64 import b32encode

    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@login_required
def two_factor_qr(request: HttpRequest) -> HttpResponse:
    device = TOTPDevice.objects.filter(user=request.user, confirmed=False).first()
    if device is None:
        return HttpResponse(status=404)
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = BytesIO()
    image.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type="image/svg+xml")
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def two_factor_disable(request: HttpRequest) -> HttpResponse:
    try:
        services.totp_device_remove(user=request.user)  # type: ignore[arg-type]
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Two-factor authentication is off."))
    return redirect("accounts:profile")


@limit_posts("invitation-accept", Limit(by_address, "INVITATION_ACCEPT_RATE_LIMIT"))
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = services.invitation_from_token(token)
    except ApplicationError as exc:
        return render(
            request, "accounts/invitation_invalid.html", {"reason": exc.message}, status=400
        )
    form = InvitationAcceptForm(request.POST or None, user=invitation.user)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.invitation_accept(
                token=token,
                password=form.cleaned_data["password1"],
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
            )
        except ApplicationError as exc:
            return render(
                request, "accounts/invitation_invalid.html", {"reason": exc.message}, status=400
            )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, _("Welcome to CB Portal. Your password is set."))
        return redirect(settings.LOGIN_REDIRECT_URL)
    return render(
        request, "accounts/invitation_accept.html", {"form": form, "invitation": invitation}
    )


# Sending and sending again share one count per staff member.
_limit_invitation_sends = limit_posts(
    "invitation-send", Limit(by_user, "INVITATION_SEND_RATE_LIMIT")
)


@login_required
@_limit_invitation_sends
def invitations(request: HttpRequest) -> HttpResponse:
    """Staff invite partner focal points, experts and evaluators, and see who has not joined."""
    user: Any = request.user
    if not user.is_programme_staff:
        raise PermissionDenied
    form = InvitationForm(request.POST or None, initial={"language": user.language})
    if request.method == "POST" and form.is_valid():
        try:
            invitation = services.invitation_create(by=user, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(
                request, _("Invitation sent to %(email)s.") % {"email": invitation.user.email}
            )
            return redirect("accounts:invitations")
    pending = (
        Invitation.objects.filter(accepted_at__isnull=True)
        .select_related("user", "user__organisation", "invited_by")
        .order_by("-sent_at")[:100]
    )
    return render(request, "accounts/invitations.html", {"form": form, "pending": pending})


@login_required
@require_POST
@_limit_invitation_sends
def invitation_resend(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    if not user.is_programme_staff:
        raise PermissionDenied
    get_object_or_404(Invitation, pk=pk)
    try:
        invitation = services.invitation_resend(invitation_id=pk, by=user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("A new link was sent to %(email)s.") % {"email": invitation.user.email}
        )
    return redirect("accounts:invitations")


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    form = LanguageForm(request.POST or None, initial={"language": user.language})
    if request.method == "POST" and form.is_valid():
        services.user_set_language(user=user, language=form.cleaned_data["language"])
        messages.success(request, _("Your language is saved."))
        response = redirect("accounts:profile")
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            user.language,
            samesite="Lax",
            secure=settings.LANGUAGE_COOKIE_SECURE,
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        )
        return response
    return render(
        request,
        "accounts/profile.html",
        {
            "form": form,
            "has_device": user_has_device(user),
            "two_factor_required": services.two_factor_required(user),
        },
    )


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's switcher, plus: an unsupported language is said, and a signed-in user's
    choice is saved for pages and emails."""
    language = request.POST.get("language", "")
    if language not in dict(settings.LANGUAGES):
        messages.error(
            request, _("That language is not available. Choose English, French or Spanish.")
        )
        return HttpResponseRedirect(_safe_next(request, request.POST.get("next")))
    if request.user.is_authenticated:
        services.user_set_language(user=request.user, language=language)  # type: ignore[arg-type]
    return django_set_language(request)


password_change = auth_views.PasswordChangeView.as_view(
    template_name="accounts/password_change.html",
    success_url=reverse_lazy("accounts:password-change-done"),
)
password_change_done = auth_views.PasswordChangeDoneView.as_view(
    template_name="accounts/password_change_done.html"
)
# The email goes through the outbox (PasswordResetForm.save): retried like any other, and the
# "done" page follows whether or not the address belongs to an account. Asking is limited per
# client address and per address typed in, known or not, so the limit reveals nothing.
password_reset = limit_posts(
    "password-reset",
    Limit(by_address, "PASSWORD_RESET_RATE_LIMIT"),
    Limit(by_posted_email, "PASSWORD_RESET_EMAIL_RATE_LIMIT"),
)(
    auth_views.PasswordResetView.as_view(
        form_class=PasswordResetForm,
        template_name="accounts/password_reset.html",
        success_url=reverse_lazy("accounts:password-reset-done"),
    )
)
password_reset_done = auth_views.PasswordResetDoneView.as_view(
    template_name="accounts/password_reset_done.html"
)
password_reset_confirm = auth_views.PasswordResetConfirmView.as_view(
    template_name="accounts/password_reset_confirm.html",
    success_url=reverse_lazy("accounts:password-reset-complete"),
)
password_reset_complete = auth_views.PasswordResetCompleteView.as_view(
    template_name="accounts/password_reset_complete.html"
)
logout = auth_views.LogoutView.as_view()
