from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssetsConfig(AppConfig):
    name = "assets"
    verbose_name = _("Assets")

    def ready(self):
        from . import demo, duty_registrations, mlps_registrations, registrations  # noqa: F401
