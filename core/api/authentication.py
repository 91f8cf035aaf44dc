from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF tokens that expire EDUSEC_API_TOKEN_TTL_HOURS after issue (a new token is issued at each sign-in)."""

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if token.created < timezone.now() - timedelta(hours=settings.EDUSEC_API_TOKEN_TTL_HOURS):
            token.delete()
            raise AuthenticationFailed(_("Token has expired; request a new one."))
        return user, token
