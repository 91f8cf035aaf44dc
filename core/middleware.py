"""Request-wide middleware: the request context for audit, and account policy (password expiry, second factor)."""

from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from .context import current_request


class RequestContextMiddleware:
    """Makes the current request available to audit receivers that run deep inside the ORM."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            current_request.reset(token)


# ---- account policy (domain.md §10) ---------------------------------------------------------------------------------


def password_expires_at(user) -> datetime | None:
    """When the user's password expires, or None when it never does (expiry off, demo account, never tracked).

    ``password_changed_at`` is None only for accounts created before it was tracked; those are not forced to change.
    """
    max_age = getattr(settings, "EDUSEC_PASSWORD_MAX_AGE_DAYS", 0) or 0
    changed = getattr(user, "password_changed_at", None)
    if max_age <= 0 or changed is None or getattr(user, "is_demo", False):
        return None
    return changed + timedelta(days=max_age)


def password_expired(user) -> bool:
    expires = password_expires_at(user)
    return expires is not None and expires <= timezone.now()


def requires_second_factor(user) -> bool:
    """Administrator duties (system, security, audit) must use TOTP when EDUSEC_REQUIRE_2FA is on."""
    from .roles import is_administrator

    return bool(getattr(settings, "EDUSEC_REQUIRE_2FA", True)) and is_administrator(user)


def has_confirmed_device(user) -> bool:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def is_otp_verified(user) -> bool:
    check = getattr(user, "is_verified", None)
    return bool(check()) if callable(check) else False


def _url(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


class AccountPolicyMiddleware:
    """Sends signed-in users where the account policy wants them before anything else is served.

    * Administrators (system, security, audit duties) must have passed a second factor in this session when
      ``EDUSEC_REQUIRE_2FA`` is on: without a TOTP device they are sent to enrol one; with one (but an unverified
      session) they are signed out and must sign in again with their code.
    * A password older than ``EDUSEC_PASSWORD_MAX_AGE_DAYS`` must be changed first.

    Settings are read on every request (tests override them). Static files, language switching, the API (token
    issue enforces the second factor there) and the sign-in pages are never redirected.
    """

    SKIP_PREFIXES = ("/i18n/", "/api/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.check(request)
        if response is not None:
            return response
        return self.get_response(request)

    def _skip_prefixes(self):
        static = "/" + (settings.STATIC_URL or "static/").lstrip("/")
        return (static, *self.SKIP_PREFIXES)

    def check(self, request):
        path = request.path_info
        if path.startswith(self._skip_prefixes()):
            return None
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None

        sign_in = {_url("core:login"), _url("core:login_otp"), _url("core:logout")}
        if path in sign_in:
            return None
        account = _url("core:account")
        enroll = _url("core:otp_enroll")
        password_change = _url("core:password_change")

        if path not in (enroll, account) and requires_second_factor(user) and not is_otp_verified(user):
            if has_confirmed_device(user):
                # They should have given their code at sign-in: start again.
                from django.contrib.auth import logout

                logout(request)
                return self._redirect(request, _url("core:login"), reason="2fa")
            return self._redirect(request, enroll)

        if path not in (password_change, enroll, account) and password_expired(user):
            return self._redirect(request, password_change, with_next=False)
        return None

    @staticmethod
    def _redirect(request, url, *, with_next=True, **params):
        if with_next and request.method == "GET":
            params["next"] = request.get_full_path()
        if params:
            url = f"{url}?{urlencode(params)}"
        if request.headers.get("HX-Request") == "true":
            # htmx would swap the target page into a fragment; make it navigate instead.
            response = HttpResponse(status=204)
            response["HX-Redirect"] = url
            return response
        return HttpResponseRedirect(url)
