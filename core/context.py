"""The request being served, available to code that has no request argument (audit receivers, model save hooks)."""

from contextvars import ContextVar

current_request: ContextVar = ContextVar("edusec_current_request", default=None)


def get_request():
    return current_request.get()


def client_ip(request) -> str:
    """The client address. Behind the gateway, trust X-Forwarded-For only when EDUSEC_TRUST_PROXY is set."""
    if request is None:
        return ""
    from django.conf import settings

    if getattr(settings, "EDUSEC_TRUST_PROXY", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR", "")
