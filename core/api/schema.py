"""OpenAPI descriptions of EduSec's own authentication classes."""

from drf_spectacular.authentication import SessionScheme


class OTPSessionScheme(SessionScheme):
    target_class = "core.api.authentication.OTPSessionAuthentication"
