"""Sign-in, sign-out and the user's own account security (domain.md §10).

* Passwords are checked through ``django.contrib.auth.authenticate`` so that django-axes counts failures (5 failures
  lock the account for 10 minutes, configurable); ``lockout_response`` is axes' lockout callable.
* A user with a confirmed TOTP device signs in in two steps: the password, then the 6-digit code. Wrong codes count as
  failed sign-ins too.
* Sign-ins, sign-outs and failures are audited by ``core.signals``; password changes and second-factor events here.
"""

import math
import re
import time
from base64 import b32encode
from urllib.parse import quote, urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpResponseRedirect, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views import View
from django.views.generic import TemplateView
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from .. import audit
from ..middleware import is_otp_verified, password_expired, password_expires_at, requires_second_factor
from ..models import AuditAction
from ..roles import DUTY_LABELS, user_roles

PENDING_SESSION_KEY = "edusec_pending_login"
PENDING_TTL_SECONDS = 300  # the code must follow the password within five minutes
REENROL_SESSION_KEY = "edusec_otp_reenrol_ok"
REENROL_TTL_SECONDS = 600
TOTP_ISSUER = "EduSec"


# ---- helpers ---------------------------------------------------------------------------------------------------------


def safe_next(request, candidate=None) -> str | None:
    """The ``next`` target if it stays on this site, else None."""
    target = candidate if candidate is not None else (request.POST.get("next") or request.GET.get("next"))
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


def _home() -> str:
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _is_api(request) -> bool:
    return request.path_info.startswith("/api/")


def lockout_minutes(request=None) -> int | None:
    """The configured cool-off in whole minutes (None when a lockout is permanent)."""
    from axes.helpers import get_cool_off

    cool_off = get_cool_off(request)
    if not cool_off:
        return None
    return max(1, math.ceil(cool_off.total_seconds() / 60))


def lockout_message(request=None) -> str:
    minutes = lockout_minutes(request)
    if minutes is None:
        return _("This account is locked after too many failed sign-in attempts. Ask an administrator to unlock it.")
    return ngettext(
        "This account is locked after too many failed sign-in attempts. Try again in %(minutes)d minute.",
        "This account is locked after too many failed sign-in attempts. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


def lockout_response(request, credentials=None, *args, **kwargs):
    """settings.AXES_LOCKOUT_CALLABLE: the sign-in page (or JSON under /api/) saying the account is locked, 429.

    Axes calls it as ``(request, original_response, credentials)`` and falls back to ``(request, credentials)``.
    """
    if isinstance(credentials, HttpResponseBase):
        credentials = args[0] if args else kwargs.get("credentials")
    message = lockout_message(request)
    if _is_api(request):
        return JsonResponse({"detail": message}, status=429)
    django_request = getattr(request, "_request", request)
    if hasattr(django_request, "session"):
        django_request.session.pop(PENDING_SESSION_KEY, None)
    username = (credentials or {}).get("username", "") if isinstance(credentials, dict) else ""
    form = LoginForm(django_request, initial={"username": username})
    return render(
        django_request,
        "core/login.html",
        {"form": form, "error": message, "locked": True, "next": safe_next(django_request) or ""},
        status=429,
    )


def count_failed_attempt(request, username: str) -> bool:
    """Count a failed second factor against the account as axes counts a wrong password. True when now locked."""
    from axes.handlers.proxy import AxesProxyHandler

    AxesProxyHandler.user_login_failed(sender=__name__, credentials={"username": username}, request=request)
    return bool(getattr(request, "axes_locked_out", False))


def is_locked(request, username: str) -> bool:
    from axes.handlers.proxy import AxesProxyHandler

    return AxesProxyHandler.is_locked(request, {"username": username})


def confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("-id").first()


def verify_device_token(device: TOTPDevice, token: str) -> bool:
    """Check a code against one device under a row lock, so two concurrent requests cannot both use it."""
    from django.db import transaction

    with transaction.atomic():
        locked = TOTPDevice.objects.select_for_update().filter(pk=device.pk).first()
        return bool(locked is not None and locked.verify_token(token))


def otpauth_uri(device: TOTPDevice) -> str:
    issuer = (getattr(settings, "OTP_TOTP_ISSUER", None) or TOTP_ISSUER).replace(":", "")
    label = quote(f"{issuer}:{device.user.get_username()}")
    params = urlencode(
        {
            "secret": b32encode(device.bin_key).decode("ascii").rstrip("="),
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": device.digits,
            "period": device.step,
        }
    )
    return f"otpauth://totp/{label}?{params}"


def qr_svg(data: str, label: str = "") -> str:
    """The QR code of ``data`` as inline SVG, drawn locally (the secret never leaves the server)."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    svg = image.to_string(encoding="unicode")
    svg = re.sub(r'\swidth="[^"]*"\sheight="[^"]*"', ' width="200" height="200"', svg, count=1)
    return svg.replace("<svg ", format_html('<svg role="img" aria-label="{}" class="edusec-qr" ', label), 1)


def grouped_secret(device: TOTPDevice) -> str:
    secret = b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


# ---- forms -----------------------------------------------------------------------------------------------------------


class LoginForm(AuthenticationForm):
    """Username and password; ``authenticate`` (and so axes) runs in ``clean``."""

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].widget.attrs.update({"autocomplete": "username"})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})


class TokenForm(forms.Form):
    token = forms.CharField(
        label=gettext_lazy("One-time code"),
        max_length=12,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": "[0-9 ]*",
                "autofocus": True,
            }
        ),
        help_text=gettext_lazy("The 6-digit code shown by your authenticator app."),
    )

    def clean_token(self):
        token = re.sub(r"\s+", "", self.cleaned_data["token"])
        if not re.fullmatch(r"\d{6,8}", token):
            raise forms.ValidationError(_("Enter the 6-digit code from your authenticator app."), code="format")
        return token


# ---- sign-in ---------------------------------------------------------------------------------------------------------


class LoginView(View):
    template_name = "core/login.html"

    def render(self, request, form):
        context = {"form": form, "next": safe_next(request) or ""}
        if request.GET.get("reason") == "2fa":
            context["info"] = _("Sign in again and confirm with the code from your authenticator app.")
        return render(request, self.template_name, context)

    def get(self, request):
        if request.user.is_authenticated:
            return HttpResponseRedirect(safe_next(request) or _home())
        return self.render(request, LoginForm(request))

    def post(self, request):
        form = LoginForm(request, data=request.POST)
        if not form.is_valid():
            if getattr(request, "axes_locked_out", False):
                return lockout_response(request, {"username": request.POST.get("username", "")})
            return self.render(request, form)
        user = form.get_user()
        target = safe_next(request) or _home()
        device = confirmed_device(user)
        if device is not None:
            # Password right; the session is not signed in until the code is checked.
            request.session.cycle_key()
            request.session[PENDING_SESSION_KEY] = {
                "user_id": user.pk,
                "backend": user.backend,
                "next": target,
                "at": int(time.time()),
            }
            return redirect("core:login_otp")
        auth_login(request, user)
        return HttpResponseRedirect(target)


def pending_user(request):
    """The user whose password was accepted and whose code is awaited, with backend and target; else None."""
    pending = request.session.get(PENDING_SESSION_KEY)
    if not isinstance(pending, dict):
        return None
    if time.time() - pending.get("at", 0) > PENDING_TTL_SECONDS:
        request.session.pop(PENDING_SESSION_KEY, None)
        return None
    user = get_user_model()._default_manager.filter(pk=pending.get("user_id"), is_active=True).first()
    if user is None or pending.get("backend") not in settings.AUTHENTICATION_BACKENDS:
        request.session.pop(PENDING_SESSION_KEY, None)
        return None
    return user, pending["backend"], pending.get("next") or _home()


class OTPVerifyView(View):
    """Second step of signing in: the TOTP code."""

    template_name = "core/login_otp.html"

    def render(self, request, form, user, status=200):
        return render(
            request, self.template_name, {"form": form, "pending_username": user.get_username()}, status=status
        )

    def get(self, request):
        pending = pending_user(request)
        if pending is None:
            return redirect("core:login")
        return self.render(request, TokenForm(), pending[0])

    def post(self, request):
        pending = pending_user(request)
        if pending is None:
            messages.warning(request, _("Your sign-in has expired. Enter your password again."))
            return redirect("core:login")
        user, backend, target = pending
        username = user.get_username()
        if is_locked(request, username):
            return lockout_response(request, {"username": username})
        form = TokenForm(request.POST)
        device = confirmed_device(user)
        if device is None:  # removed meanwhile: start again
            request.session.pop(PENDING_SESSION_KEY, None)
            return redirect("core:login")
        if form.is_valid() and verify_device_token(device, form.cleaned_data["token"]):
            request.session.pop(PENDING_SESSION_KEY, None)
            user.backend = backend
            auth_login(request, user, backend=backend)
            otp_login(request, device)
            return HttpResponseRedirect(safe_next(request, target) or _home())

        audit.record(
            AuditAction.OTP,
            user=user,
            request=request,
            result="failure",
            object_repr=username,
            changes={"event": "login_code_rejected"},
        )
        if count_failed_attempt(request, username):
            return lockout_response(request, {"username": username})
        if form.is_valid():
            form.add_error("token", _("The code is not valid. Wait for the next code and try again."))
        return self.render(request, form, user)


class LogoutView(View):
    """POST only: ends the session (flushed, so nothing of it remains) and returns to the sign-in page."""

    http_method_names = ["post", "options"]

    def post(self, request):
        auth_logout(request)
        return redirect(settings.LOGOUT_REDIRECT_URL)


# ---- the user's own account ------------------------------------------------------------------------------------------


class AccountView(LoginRequiredMixin, TemplateView):
    template_name = "core/account.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        now = timezone.now()
        changed = user.password_changed_at
        expires = password_expires_at(user)
        devices = TOTPDevice.objects.filter(user=user, confirmed=True)
        roles = user_roles(user)
        return super().get_context_data(
            account=user,
            unit=user.unit if user.unit_id else None,
            roles=[
                {"code": r.code, "label": r.label, "duty": DUTY_LABELS[r.duty], "is_administrator": r.is_administrator}
                for r in roles
            ],
            last_login=user.last_login,
            password_changed_at=changed,
            password_age_days=(now - changed).days if changed else None,
            password_expires_at=expires,
            password_expired=password_expired(user),
            password_max_age_days=settings.EDUSEC_PASSWORD_MAX_AGE_DAYS,
            otp_enabled=devices.exists(),
            otp_verified=is_otp_verified(user),
            otp_required=requires_second_factor(user),
            **kwargs,
        )


class PasswordChangeView(auth_views.PasswordChangeView):
    """Old password, new password twice; Django's validators (length, classes, history) apply."""

    template_name = "core/password_change.html"
    success_url = reverse_lazy("core:account")

    def get_context_data(self, **kwargs):
        user = self.request.user
        return super().get_context_data(
            password_expired=password_expired(user),
            password_max_age_days=settings.EDUSEC_PASSWORD_MAX_AGE_DAYS,
            **kwargs,
        )

    def form_valid(self, form):
        response = super().form_valid(form)  # saves (history recorded on save) and keeps the session
        user = form.user
        audit.record(AuditAction.PASSWORD, obj=user, user=user, object_repr=user.get_username())
        messages.success(self.request, _("Your password has been changed."))
        return response


class OTPEnrollView(LoginRequiredMixin, View):
    """Set up (or replace) the TOTP second factor.

    A new device stays unconfirmed until a code from it is entered. Replacing an active device requires a valid code
    from that device first; the old device keeps working until the new one is confirmed.
    """

    template_name = "core/otp_enroll.html"

    def reenrol_allowed(self, request) -> bool:
        at = request.session.get(REENROL_SESSION_KEY)
        return isinstance(at, int) and time.time() - at <= REENROL_TTL_SECONDS

    def pending_device(self, user) -> TOTPDevice:
        device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name=TOTP_ISSUER, confirmed=False)
        return device

    def context(self, request, form, current, stage):
        context = {
            "form": form,
            "stage": stage,  # "reauth": prove the current device; "enrol": scan and confirm a new one
            "current_device": current,
            "otp_required": requires_second_factor(request.user),
            "next": safe_next(request) or "",
        }
        if stage == "enrol":
            device = self.pending_device(request.user)
            uri = otpauth_uri(device)
            svg = qr_svg(uri, _("QR code for the authenticator app"))
            context.update(
                {"device": device, "otpauth_uri": uri, "qr_svg": mark_safe(svg), "secret": grouped_secret(device)}
            )
        return context

    def stage(self, request, current) -> str:
        return "reauth" if current is not None and not self.reenrol_allowed(request) else "enrol"

    def get(self, request):
        current = confirmed_device(request.user)
        stage = self.stage(request, current)
        return render(request, self.template_name, self.context(request, TokenForm(), current, stage))

    def post(self, request):
        user = request.user
        current = confirmed_device(user)
        stage = self.stage(request, current)
        form = TokenForm(request.POST)
        if stage == "reauth":
            if form.is_valid() and verify_device_token(current, form.cleaned_data["token"]):
                request.session[REENROL_SESSION_KEY] = int(time.time())
                TOTPDevice.objects.filter(user=user, confirmed=False).delete()  # fresh secret for the new device
                url = reverse("core:otp_enroll")
                target = safe_next(request)
                return HttpResponseRedirect(f"{url}?{urlencode({'next': target})}" if target else url)
            self.reject(request, form, "reenrol_code_rejected")
            return render(request, self.template_name, self.context(request, form, current, stage))

        device = self.pending_device(user)
        if form.is_valid() and verify_device_token(device, form.cleaned_data["token"]):
            device.refresh_from_db()
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
            request.session.pop(REENROL_SESSION_KEY, None)
            otp_login(request, device)
            audit.record(
                AuditAction.OTP,
                user=user,
                object_repr=user.get_username(),
                changes={"event": "enrolled", "replaced": current is not None},
            )
            messages.success(request, _("Two-factor authentication is now active for your account."))
            return HttpResponseRedirect(safe_next(request) or _home())
        self.reject(request, form, "enrolment_code_rejected")
        return render(request, self.template_name, self.context(request, form, current, stage))

    @staticmethod
    def reject(request, form, event):
        if form.is_valid():
            audit.record(
                AuditAction.OTP, result="failure", object_repr=request.user.get_username(), changes={"event": event}
            )
            form.add_error("token", _("The code is not valid. Check the time on your phone and try again."))


__all__ = [
    "LoginView",
    "OTPVerifyView",
    "LogoutView",
    "AccountView",
    "PasswordChangeView",
    "OTPEnrollView",
    "lockout_response",
]
