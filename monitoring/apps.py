from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = _("Monitoring")

    def ready(self):
        from . import demo, registrations, services, signals, tasks  # noqa: F401
        from .alerts import register_event_types

        register_event_types()
