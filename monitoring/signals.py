"""Checks follow the ledger: saving a website creates its checks or updates their URL, unit and enabled flag."""

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from assets.models import Website


@receiver(post_save, sender=Website, dispatch_uid="monitoring_checks_follow_websites")
def website_saved(sender, instance, raw=False, **kwargs):
    if raw:
        return
    from .ledger import sync_checks

    transaction.on_commit(lambda: sync_checks(Website.objects.filter(pk=instance.pk)))
