"""Forms of the monitoring pages: what people may change on a check, the bureau's keyword library, maintenance
windows."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.forms import ScopedModelForm

from .models import EDITABLE_CHECK_FIELDS, Check, KeywordEntry, MaintenanceWindow

MIN_INTERVAL = 60  # seconds: a school site is not probed more than once a minute
MAX_INTERVAL = 7 * 86400
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


class MaintenanceWindowForm(ScopedModelForm):
    """A window of one website belongs to that website's unit; a window of a unit's websites, to that unit (one of
    the user's subtree). The times' rules are the model's (``MaintenanceWindow.clean``)."""

    class Meta:
        model = MaintenanceWindow
        fields = ["website", "unit", "starts_at", "ends_at", "repeat", "repeat_until", "reason"]
        widgets = {"starts_at": DATETIME, "ends_at": DATETIME, "repeat_until": forms.DateInput(attrs={"type": "date"})}
        help_texts = {"unit": _("For a window without a website: its websites and those of the units under it.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["website"].queryset = self.fields["website"].queryset.select_related("unit")
        self.fields["unit"].required = False
        self.fields["repeat"].required = False  # once, when not said
        for name in ("starts_at", "ends_at"):
            self.fields[name].input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]

    def clean(self):
        cleaned = super().clean()
        cleaned["repeat"] = cleaned.get("repeat") or MaintenanceWindow.Repeat.ONCE
        website = cleaned.get("website")
        if website is not None:
            cleaned["unit"] = website.unit
        elif cleaned.get("unit") is None and "unit" not in self.errors:
            self.add_error("unit", _("Choose a website, or the unit whose websites the window covers."))
        return cleaned
