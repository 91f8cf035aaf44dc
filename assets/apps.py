from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssetsConfig(AppConfig):
    name = "assets"
    verbose_name = _("Assets")

    def ready(self):
        from django.db.models.signals import post_migrate

        from . import demo, duty_registrations, mlps_registrations, registrations  # noqa: F401
        from .models.ledger import seed_default_business_types

        post_migrate.connect(seed_default_business_types, sender=self, dispatch_uid="assets_seed_business_types")
