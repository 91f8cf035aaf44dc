from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChannelsConfig(AppConfig):
    """The notification channels as a small app of their own, so that they register at start-up like a domain app
    (pages, API, roles, tasks, template tags) while their models stay in ``core`` (core/models.py, core migrations)."""

    name = "core.channels"
    label = "core_channels"
    verbose_name = _("Notification channels")

    def ready(self):
        from . import demo, registrations, services, tasks  # noqa: F401
        from .events import TEST_EVENT, register_event_type

        register_event_type(TEST_EVENT, _("Test message"), subscribable=False)
