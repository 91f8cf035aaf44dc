from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NoticesConfig(AppConfig):
    name = "notices"
    verbose_name = _("Notices and rectification")

    def ready(self):
        from . import demo, registrations, tasks  # noqa: F401
        from .notify import register_event_types

        register_event_types()
