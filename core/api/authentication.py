from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from ..roles import is_administrator


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF tokens that expire EDUSEC_API_TOKEN_TTL_HOURS after issue (a new token is issued at each sign-in)."""

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if token.created < timezone.now() - timedelta(hours=settings.EDUSEC_API_TOKEN_TTL_HOURS):
            token.delete()
            raise AuthenticationFailed(_("Token has expired; request a new one."))
        return user, token


class OTPSessionAuthentication(SessionAuthentication):
    """The browser session, but an administrator's session counts only once its second factor is verified — the
    same rule the pages enforce, so the API cannot be used to skip it."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user = result[0]
        if settings.EDUSEC_REQUIRE_2FA and is_administrator(user):
            verified = getattr(request._request.user, "is_verified", lambda: False)()
            if not verified:
                return None
        return result
