"""Forms of the monitoring pages: what people may change on a check, the bureau's keyword library, maintenance
windows."""

from datetime import timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.forms import ScopedModelForm

from .models import EDITABLE_CHECK_FIELDS, Check, KeywordEntry, MaintenanceWindow

MIN_INTERVAL = 60  # seconds: a school site is not probed more than once a minute
MAX_INTERVAL = 7 * 86400
MAX_WINDOW = timedelta(days=7)
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class CheckForm(ScopedModelForm):
    """Only the schedule and the alerting thresholds: what is probed follows the ledger (``ledger.sync_checks``)."""

    interval = forms.IntegerField(
        label=Check._meta.get_field("interval").verbose_name,
        min_value=MIN_INTERVAL,
        max_value=MAX_INTERVAL,
        help_text=_("Between 60 seconds and 7 days."),
    )

    class Meta:
        model = Check
        fields = list(EDITABLE_CHECK_FIELDS)

    def clean_grace_failures(self):
        value = self.cleaned_data["grace_failures"]
        if value is not None and value < 1:
            raise ValidationError(_("At least 1: the first failed probe alerts."))
        return value

    def clean_recovery_successes(self):
        value = self.cleaned_data["recovery_successes"]
        if value is not None and value < 1:
            raise ValidationError(_("At least 1: a finding closes after one good probe at the earliest."))
        return value


class KeywordEntryForm(ScopedModelForm):
    class Meta:
        model = KeywordEntry
        fields = ["unit", "category", "word", "whitelist", "enabled", "remarks"]

    def clean_word(self):
        word = " ".join(self.cleaned_data["word"].split())
        if not word:
            raise ValidationError(_("Enter a word or phrase."))
        return word


def window_errors(starts_at, ends_at) -> dict:
    """What is wrong with a maintenance window's times (field → message); empty when nothing is."""
    if starts_at is None or ends_at is None:
        return {}
    if ends_at <= starts_at:
        return {"ends_at": _("The end must be after the start.")}
    if ends_at - starts_at > MAX_WINDOW:
        return {"ends_at": _("A maintenance window lasts at most 7 days.")}
    return {}


class MaintenanceWindowForm(ScopedModelForm):
    """A window belongs to the unit of its website (one of the user's subtree)."""

    class Meta:
        model = MaintenanceWindow
        fields = ["website", "starts_at", "ends_at", "reason"]
        widgets = {"starts_at": DATETIME, "ends_at": DATETIME}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["website"].queryset = self.fields["website"].queryset.select_related("unit")
        for name in ("starts_at", "ends_at"):
            self.fields[name].input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]

    def clean(self):
        cleaned = super().clean()
        for field, message in window_errors(cleaned.get("starts_at"), cleaned.get("ends_at")).items():
            self.add_error(field, message)
        website = cleaned.get("website")
        if website is not None:
            self.instance.unit_id = website.unit_id
        return cleaned
