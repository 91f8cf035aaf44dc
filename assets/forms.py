"""Ledger forms. The rules live in the models' ``clean()``; these forms only choose fields, widgets and choices."""

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.forms import ScopedModelForm

from .models import BusinessType, Domain, InformationSystem, IPRange, MobileApp, Screen, Website

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class BusinessTypeForm(ScopedModelForm):
    class Meta:
        model = BusinessType
        fields = ["code", "name", "order", "is_active"]


class InformationSystemForm(ScopedModelForm):
    class Meta:
        model = InformationSystem
        fields = [
            "unit",
            "name",
            "business_type",
            "responsible_person",
            "contractor",
            "deployment",
            "internet_facing",
            "status",
            "built_on",
            "went_live_on",
            "stopped_on",
            "retired_on",
            "software",
            "version",
            "chip_localization",
            "os_localization",
            "db_localization",
            "middleware_localization",
            "ipv6_support",
            "critical_infrastructure",
            "data_level",
            "holds_pi",
            "holds_sensitive_pi",
            "holds_minor_pi",
            "holds_child_pi",
            "child_guardian_consent",
            "child_processing_rules",
            "child_encrypted_storage",
            "child_access_control",
            "remarks",
        ]
        widgets = {
            "built_on": DATE,
            "went_live_on": DATE,
            "stopped_on": DATE,
            "retired_on": DATE,
            "remarks": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields.get("business_type")
        if field is not None:
            # Retired types are not offered, except the one an existing system already has.
            current = self.instance.business_type_id if self.instance.pk else None
            field.queryset = field.queryset.filter(Q(is_active=True) | Q(pk=current))
        if "data_level" in self.fields:
            self.fields["data_level"].choices = [("", _("Not classified")), *self.fields["data_level"].choices[1:]]


class _AssetForm(ScopedModelForm):
    """Assets: the system choice lists the systems the user may see (the model checks it lies at or above the unit)."""


class WebsiteForm(_AssetForm):
    url = forms.URLField(
        label=_("URL"),
        max_length=500,
        assume_scheme="https",
        help_text=_("Home page address starting with http:// or https://"),
    )

    class Meta:
        model = Website
        fields = ["unit", "name", "url", "system", "icp_number", "psb_number", "cms", "is_active", "remarks"]
        widgets = {"remarks": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:  # an internationalised host as it was registered, not its stored punycode
            self.initial["url"] = self.instance.display_url


class DomainForm(_AssetForm):
    class Meta:
        model = Domain
        fields = ["unit", "name", "system", "registrar", "expires_on", "remarks"]
        widgets = {"expires_on": DATE, "remarks": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["name"] = self.instance.display_name


class IPRangeForm(_AssetForm):
    class Meta:
        model = IPRange
        fields = ["unit", "cidr", "system", "purpose", "shared", "remarks"]
        widgets = {"remarks": forms.Textarea(attrs={"rows": 3})}


class MobileAppForm(_AssetForm):
    class Meta:
        model = MobileApp
        fields = [
            "unit",
            "name",
            "kind",
            "system",
            "provider",
            "provider_filing_number",
            "user_filing_state",
            "icp_filed",
            "mlps_filed",
            "blacklisted",
            "in_use",
            "remarks",
        ]
        widgets = {"remarks": forms.Textarea(attrs={"rows": 3})}


class ScreenForm(_AssetForm):
    class Meta:
        model = Screen
        fields = ["unit", "name", "location", "system", "networked", "content_control", "responsible_person", "remarks"]
        widgets = {"remarks": forms.Textarea(attrs={"rows": 3})}
