from django.conf import settings


def platform(request):
    """Navigation, the 2FA-off banner and other values every page needs."""
    from .navigation import build_navigation

    return {
        "nav_groups": build_navigation(request),
        "require_2fa": settings.EDUSEC_REQUIRE_2FA,
        "demo_mode": settings.EDUSEC_DEMO,
    }
