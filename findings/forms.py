from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import ScopedModelForm
from orgs.models import Unit

from .models import Finding, ScanImport

MAX_SCAN_MB = 500


class FindingForm(ScopedModelForm):
    """Manual findings and edits; scanner fields stay as imported."""

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
            "status",
            "status_reason",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "solution": forms.Textarea(attrs={"rows": 3}),
            "status_reason": forms.Textarea(attrs={"rows": 2}),
        }

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("status") in ("false_positive", "risk_accepted") and not cleaned.get("status_reason"):
            self.add_error("status_reason", _("Say why (false positive or accepted risk)"))
        return cleaned

    def save(self, commit=True):
        finding = super().save(commit=False)
        if self.user is not None and finding.status in ("false_positive", "risk_accepted"):
            finding.status_approved_by = self.user
        if commit:
            finding.save()
        return finding


class ScanUploadForm(forms.Form):
    unit = forms.ModelChoiceField(
        queryset=Unit.objects.all(),
        label=_("Unit (with subordinates)"),
        help_text=_("Findings are matched to the registered assets of this unit's subtree"),
    )
    file = forms.FileField(
        label=_("Scan file"),
        help_text=_(
            "nmap XML, Nessus (.nessus or CSV), OpenVAS/GVM XML or CSV, Nuclei JSON/JSONL, ZAP XML, testssl.sh CSV; "
            "the format is recognised from the content"
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
