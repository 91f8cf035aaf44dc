from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Core")

    def ready(self):
        from . import (
            checks,  # noqa: F401  (deploy checks register on import)
            registrations,  # noqa: F401  (the working-day calendar's pages)
            signals,  # audit receivers for login/logout/permission changes
        )
        from .api import schema  # noqa: F401  (OpenAPI extensions register on import)
        from .roles import connect_role_sync

        signals.connect_permission_audit()
        from .models import Attachment

        signals.connect_model_audit(Attachment)
        connect_role_sync()
