"""Recorded state of MLPS and app duties, written daily by ``assets.duties.record_duty_states``."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import UnitOwned

from .. import mlps
from .ledger import InformationSystem, MobileApp


class DutyStatus(UnitOwned):
    """The last known state of one duty of one system or app; a change of state is a new audit entry."""

    key = models.CharField(_("key"), max_length=100, db_index=True)
    system = models.ForeignKey(
        InformationSystem,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="duty_statuses",
        verbose_name=_("information system"),
    )
    app = models.ForeignKey(
        MobileApp,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="duty_statuses",
        verbose_name=_("mobile app"),
    )
    kind = models.CharField(_("duty"), max_length=40, choices=mlps.DUTY_KINDS)
    state = models.CharField(_("state"), max_length=10, choices=mlps.DUTY_STATES, db_index=True)
    due_on = models.DateField(_("due on"), null=True, blank=True)
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    since = models.DateField(_("in this state since"))
    checked_on = models.DateField(_("last checked on"))
    resolved_on = models.DateField(_("resolved on"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("duty status")
        verbose_name_plural = _("duty statuses")
        ordering = ["-state", "due_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["key"], condition=models.Q(resolved_on__isnull=True), name="assets_dutystatus_open_key"
            ),
        ]

    def __str__(self):
        subject = self.system or self.app
        return f"{subject}: {self.get_kind_display()} ({self.get_state_display()})"

    def get_absolute_url(self):
        subject = self.system or self.app
        return subject.get_absolute_url() if subject is not None else ""
