from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import ScopedModelForm
from orgs.models import Unit

from .models import Finding, ScanImport
from .workflow import EXCEPTION_STATUSES, assignable_units, risk_of

MAX_SCAN_MB = 500


DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _normalised(text) -> str:
    return (text or "").replace("\r\n", "\n").strip()


class FindingForm(ScopedModelForm):
    """Manual findings and edits; scanner fields stay as imported.

    False positive and accepted risk are not offered: they are requested on the finding's page and approved by a unit
    above (``findings.workflow``). Bulk edit builds its status field from this form, so the same holds there."""

    class Meta:
        model = Finding
        fields = [
            "unit",
            "title",
            "severity",
            "description",
            "solution",
            "host",
            "ip",
            "port",
            "url",
            "system",
            "due_date",
            "status",
            "status_reason",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "solution": forms.Textarea(attrs={"rows": 3}),
            "status_reason": forms.Textarea(attrs={"rows": 2}),
            "due_date": DATE,
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._original = (self.instance.status, self.instance.status_reason) if self.instance.pk else (None, "")
        status = self.fields.get("status")
        if status is not None:
            current = self._original[0]
            status.choices = [c for c in status.choices if c[0] not in EXCEPTION_STATUSES or c[0] == current]
            status.error_messages["invalid_choice"] = _(
                "False positives and accepted risks are requested on the finding's page and approved by a unit "
                "above; choose another status."
            )

    def clean(self):
        cleaned = super().clean()
        was, was_reason = self._original
        if was in EXCEPTION_STATUSES and cleaned.get("status") == was:
            if _normalised(cleaned.get("status_reason")) != _normalised(was_reason):
                self.add_error(
                    "status_reason",
                    _("This reason was approved with the status; request the status again to change it."),
                )
        return cleaned

    def save(self, commit=True):
        finding = super().save(commit=False)
        was = self._original[0]
        if was in EXCEPTION_STATUSES and finding.status not in EXCEPTION_STATUSES:
            # Leaving an approved exception: its approval no longer describes the finding.
            finding.accepted_until = None
            finding.status_approved_by = None
            finding.status_approved_at = None
        try:
            finding.risk_score = risk_of(finding).score
        except ValueError:  # a level the scoring does not know: keep the stored score
            pass
        if commit:
            finding.save()
            self.save_m2m()
        return finding


class RequestExceptionForm(forms.Form):
    requested_status = forms.ChoiceField(
        label=_("Declare the finding"),
        choices=[(s.value, s.label) for s in EXCEPTION_STATUSES],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)
    until = forms.DateField(
        label=_("Accept the risk until"),
        required=False,
        widget=DATE,
        help_text=_("Only for an accepted risk: after today, at most one year ahead."),
    )


class RejectRequestForm(forms.Form):
    reason = forms.CharField(label=_("Reason for rejecting"), widget=forms.Textarea(attrs={"rows": 2}), max_length=4000)


class AssignForm(forms.Form):
    unit = forms.ModelChoiceField(queryset=Unit.objects.none(), label=_("Unit"))

    def __init__(self, *args, user=None, candidate=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = assignable_units(user)
        if candidate is not None:
            self.fields["unit"].initial = candidate.pk
            self.fields["unit"].help_text = _("Suggested: %(unit)s (its address space or domain)") % {"unit": candidate}


class ScanUploadForm(forms.Form):
    unit = forms.ModelChoiceField(
        queryset=Unit.objects.all(),
        label=_("Unit (with subordinates)"),
        help_text=_("Findings are matched to the registered assets of this unit's subtree"),
    )
    file = forms.FileField(
        label=_("Scan file"),
        help_text=_(
            "A scanner report (nmap, Nessus, OpenVAS/GVM, Nuclei, ZAP, testssl.sh), our generic findings template "
            "(CSV or XLSX) or a notice sheet from a higher authority (XLSX); the format is recognised from the content"
        ),
    )
    close_missing = forms.BooleanField(label=_("Close findings of this scope not seen in this scan"), required=False)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = Unit.objects.restrict(user, "view")
        if user is not None and getattr(user, "unit", None) is not None:
            self.fields["unit"].initial = user.unit.pk

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_SCAN_MB * 1024 * 1024:
            raise forms.ValidationError(_("The file is larger than %(mb)d MB.") % {"mb": MAX_SCAN_MB})
        return upload


class ScanImportForm(ScopedModelForm):
    class Meta:
        model = ScanImport
        fields = ["unit", "file_name", "close_missing"]
