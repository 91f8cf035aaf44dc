"""API sign-in: exchange username, password (and TOTP code) for an expiring token (domain.md §10).

Failures are counted by django-axes exactly as on the sign-in page (``authenticate`` with the request), so the same
lockout applies; a locked account gets 429. Administrators (and anyone with a confirmed TOTP device) must add the
current code; an administrator who has not enrolled a device yet must do so in the web UI first. Each issue replaces
the user's previous token; tokens expire after ``EDUSEC_API_TOKEN_TTL_HOURS`` (see ``ExpiringTokenAuthentication``).
"""

from django.conf import settings
from django.contrib.auth import authenticate
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import audit
from ..middleware import requires_second_factor
from ..models import AuditAction
from ..views.auth import (
    confirmed_device,
    count_failed_attempt,
    is_locked,
    lockout_message,
    verify_device_token,
)


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(label=gettext_lazy("username"), max_length=150)
    password = serializers.CharField(
        label=gettext_lazy("password"), max_length=4096, trim_whitespace=False, style={"input_type": "password"}
    )
    otp_token = serializers.RegexField(
        r"^\s*\d{6,8}\s*$",
        required=False,
        allow_blank=True,
        label=gettext_lazy("one-time code"),
        help_text=gettext_lazy("Current code from the authenticator app; required for accounts with a second factor."),
    )


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField(help_text=gettext_lazy('Send as "Authorization: Token <token>".'))
    expires_in = serializers.IntegerField(help_text=gettext_lazy("Seconds until the token expires."))


_detail = inline_serializer("TokenErrorDetail", {"detail": serializers.CharField()})
_errors = inline_serializer(
    "TokenErrors",
    {
        "non_field_errors": serializers.ListField(child=serializers.CharField(), required=False),
        "otp_token": serializers.ListField(child=serializers.CharField(), required=False),
        "username": serializers.ListField(child=serializers.CharField(), required=False),
        "password": serializers.ListField(child=serializers.CharField(), required=False),
    },
)


class ObtainTokenView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    parser_classes = [JSONParser, FormParser, MultiPartParser]
    serializer_class = TokenRequestSerializer

    @extend_schema(
        operation_id="auth_token_create",
        summary="Obtain an API token",
        description=(
            "Exchange username and password (plus `otp_token` for accounts with a second factor) for a token. "
            "Any previous token of the user is revoked. Send it as `Authorization: Token <token>`; it expires after "
            "`expires_in` seconds. Five failures lock the account for the configured cool-off (429)."
        ),
        tags=["auth"],
        auth=[],
        request=TokenRequestSerializer,
        responses={
            200: TokenResponseSerializer,
            400: OpenApiResponse(_errors, description="Invalid credentials, or the one-time code is missing/wrong."),
            403: OpenApiResponse(_detail, description="A second factor is required but none is enrolled."),
            429: OpenApiResponse(_detail, description="The account is locked after too many failures."),
        },
        examples=[
            OpenApiExample("Password only", value={"username": "cio01", "password": "********"}, request_only=True),
            OpenApiExample(
                "With second factor",
                value={"username": "secadmin", "password": "********", "otp_token": "123456"},
                request_only=True,
            ),
            OpenApiExample(
                "Issued",
                value={"token": "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", "expires_in": 43200},
                response_only=True,
                status_codes=["200"],
            ),
        ],
    )
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        http_request = request._request  # axes flags the Django request; its middleware turns the flag into a 429
        username = data["username"]

        user = authenticate(request=http_request, username=username, password=data["password"])
        if user is None:
            if getattr(http_request, "axes_locked_out", False):
                return Response({"detail": lockout_message(http_request)}, status=status.HTTP_429_TOO_MANY_REQUESTS)
            return Response(
                {"non_field_errors": [_("Unable to sign in with the given username and password.")]},
                status=status.HTTP_400_BAD_REQUEST,
            )

        device = confirmed_device(user)
        if device is None and requires_second_factor(user):
            return Response(
                {
                    "detail": _(
                        "Your role requires two-factor authentication. Set up an authenticator app on your "
                        "account page in the web interface first."
                    )
                },
                status=status.HTTP_403_FORBIDDEN,
            )
        if device is not None:
            token = (data.get("otp_token") or "").strip()
            if not token:
                return Response(
                    {"otp_token": [_("Enter the current code from your authenticator app.")]},
                    status=status.HTTP_400_BAD_REQUEST,
                )
            if is_locked(http_request, user.get_username()):
                return Response({"detail": lockout_message(http_request)}, status=status.HTTP_429_TOO_MANY_REQUESTS)
            if not verify_device_token(device, token):
                audit.record(
                    AuditAction.OTP,
                    user=user,
                    request=http_request,
                    result="failure",
                    object_repr=user.get_username(),
                    changes={"event": "api_code_rejected"},
                )
                if count_failed_attempt(http_request, user.get_username()):
                    return Response({"detail": lockout_message(http_request)}, status=status.HTTP_429_TOO_MANY_REQUESTS)
                return Response({"otp_token": [_("The code is not valid.")]}, status=status.HTTP_400_BAD_REQUEST)

        Token.objects.filter(user=user).delete()
        token = Token.objects.create(user=user)
        self._signed_in(http_request, user)
        hours = settings.EDUSEC_API_TOKEN_TTL_HOURS
        return Response({"token": token.key, "expires_in": hours * 3600})

    @staticmethod
    def _signed_in(http_request, user):
        """What a session sign-in does: reset the failure count, note last login, audit."""
        from axes.handlers.proxy import AxesProxyHandler

        if getattr(settings, "AXES_RESET_ON_SUCCESS", False):
            AxesProxyHandler.reset_attempts(username=user.get_username())
        type(user)._default_manager.filter(pk=user.pk).update(last_login=timezone.now())
        audit.record(AuditAction.LOGIN, user=user, request=http_request, changes={"via": "api_token"})
