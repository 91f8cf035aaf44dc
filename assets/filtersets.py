"""Ledger filters: one FilterSet per model serves the list page, the API and exports."""

import ipaddress

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.filtersets import BaseFilterSet, UnitSubtreeFilter, YesNoFilter
from core.idn import ascii_host
from orgs.models import Unit

from . import mlps
from .models import (
    MLPS_LEVEL_CHOICES,
    BusinessType,
    ContentControl,
    DataLevel,
    Deployment,
    Domain,
    InformationSystem,
    IPRange,
    IPv6Support,
    LifecycleStatus,
    Localization,
    MobileApp,
    MobileAppKind,
    Screen,
    UserFilingState,
    Website,
)
from .models.ledger import address_hex

UNGRADED = "none"
LEVEL_CHOICES = [(UNGRADED, _("Not graded")), *[(str(v), label) for v, label in MLPS_LEVEL_CHOICES]]


class MLPSLevelFilter(django_filters.MultipleChoiceFilter):
    """MLPS level of the system (1–5), or "not graded"."""

    def __init__(self, *args, level_lookup="mlps_level", **kwargs):
        self.level_lookup = level_lookup
        kwargs.setdefault("choices", LEVEL_CHOICES)
        kwargs.setdefault("label", _("MLPS level"))
        kwargs.setdefault("method", self.filter_levels)
        super().__init__(*args, **kwargs)

    def filter_levels(self, queryset, name, values):
        if not values:
            return queryset
        condition = Q()
        levels = [int(v) for v in values if v != UNGRADED]
        if levels:
            condition |= Q(**{f"{self.level_lookup}__in": levels})
        if UNGRADED in values:
            condition |= Q(**{f"{self.level_lookup}__isnull": True})
        return queryset.filter(condition)


class DueStateFilter(django_filters.ChoiceFilter):
    """The worst open duty recorded by the daily duty task (overdue > due soon > ok)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("choices", mlps.DUTY_STATES)
        kwargs.setdefault("label", _("due state"))
        kwargs.setdefault("method", self.filter_due_state)
        super().__init__(**kwargs)

    @staticmethod
    def filter_due_state(queryset, name, value):
        if not value:
            return queryset
        open_state = {"duty_statuses__resolved_on__isnull": True}
        overdue = queryset.filter(**open_state, duty_statuses__state=mlps.DUTY_OVERDUE).values("pk")
        if value == mlps.DUTY_OVERDUE:
            return queryset.filter(pk__in=overdue)
        due_soon = queryset.filter(**open_state, duty_statuses__state=mlps.DUTY_DUE_SOON).values("pk")
        if value == mlps.DUTY_DUE_SOON:
            return queryset.filter(pk__in=due_soon).exclude(pk__in=overdue)
        return queryset.exclude(pk__in=overdue).exclude(pk__in=due_soon)


class BusinessTypeFilterSet(BaseFilterSet):
    search_fields = ("code", "name")
    is_active = YesNoFilter(label=_("active"))

    class Meta:
        model = BusinessType
        fields = ["q", "is_active"]


class InformationSystemFilterSet(BaseFilterSet):
    search_fields = ("name", "software", "contractor", "responsible_person__name", "remarks")
    unit = UnitSubtreeFilter(queryset=Unit.objects.all())
    business_type = django_filters.ModelMultipleChoiceFilter(
        queryset=BusinessType.objects.all(), label=_("business type")
    )
    status = django_filters.MultipleChoiceFilter(choices=LifecycleStatus.choices, label=_("lifecycle status"))
    deployment = django_filters.MultipleChoiceFilter(choices=Deployment.choices, label=_("deployment"))
    mlps_level = MLPSLevelFilter()
    mlps_state = django_filters.MultipleChoiceFilter(choices=mlps.STATES, label=_("MLPS state"))
    data_level = django_filters.MultipleChoiceFilter(choices=DataLevel.choices, label=_("highest data level"))
    internet_facing = YesNoFilter(label=_("internet-facing"))
    monitored = YesNoFilter(method="filter_monitored", label=_("has an active website (monitored)"))
    critical_infrastructure = YesNoFilter(label=_("critical information infrastructure"))
    holds_pi = YesNoFilter(label=_("holds personal information"))
    holds_sensitive_pi = YesNoFilter(label=_("holds sensitive personal information"))
    holds_minor_pi = YesNoFilter(label=_("holds minors' personal information"))
    holds_child_pi = YesNoFilter(label=_("holds children's personal information"))
    ipv6_support = django_filters.MultipleChoiceFilter(choices=IPv6Support.choices, label=_("IPv6 support"))
    localization = django_filters.ChoiceFilter(
        choices=Localization.choices, method="filter_localization", label=_("localization")
    )
    due_state = DueStateFilter()

    class Meta:
        model = InformationSystem
        fields = [
            "due_state",
            "q",
            "unit",
            "business_type",
            "status",
            "deployment",
            "mlps_level",
            "mlps_state",
            "data_level",
            "internet_facing",
            "monitored",
            "critical_infrastructure",
            "holds_pi",
            "holds_sensitive_pi",
            "holds_minor_pi",
            "holds_child_pi",
            "ipv6_support",
            "localization",
        ]

    LAYERS = ("chip_localization", "os_localization", "db_localization", "middleware_localization")

    def filter_monitored(self, queryset, name, value):
        """Systems with an active website (which the monitor probes), or without one."""
        if value is None:
            return queryset
        watched = Website.objects.filter(is_active=True, system__isnull=False).values("system")  # NOT IN: no NULL
        return queryset.filter(pk__in=watched) if value else queryset.exclude(pk__in=watched)

    def filter_localization(self, queryset, name, value):
        """The derived status: every layer none / every layer complete / anything else."""
        if not value:
            return queryset
        if value == Localization.PARTIAL:
            all_none = Q(**{layer: Localization.NONE for layer in self.LAYERS})
            all_complete = Q(**{layer: Localization.COMPLETE for layer in self.LAYERS})
            return queryset.exclude(all_none).exclude(all_complete)
        return queryset.filter(**{layer: value for layer in self.LAYERS})


class _AssetFilterSet(BaseFilterSet):
    """What every asset list filters by: unit subtree, linked system and that system's MLPS level."""

    unit = UnitSubtreeFilter(queryset=Unit.objects.all())
    system = django_filters.ModelChoiceFilter(queryset=InformationSystem.objects.all(), label=_("information system"))
    has_system = YesNoFilter(field_name="system", lookup_expr="isnull", exclude=True, label=_("linked to a system"))
    mlps_level = MLPSLevelFilter(level_lookup="system__mlps_level", label=_("MLPS level of the system"))
    child_pi = YesNoFilter(field_name="system__holds_child_pi", label=_("system holds children's personal information"))

    ASSET_FIELDS = ["q", "unit", "system", "has_system", "mlps_level", "child_pi"]


class WebsiteFilterSet(_AssetFilterSet):
    search_fields = ("name", "url", "host", "icp_number", "psb_number", "cms")
    host_search_fields = ("host",)

    is_active = YesNoFilter(label=_("active"))
    has_icp_number = YesNoFilter(field_name="icp_number", method="filter_filled", label=_("has an ICP filing number"))
    has_psb_number = YesNoFilter(
        field_name="psb_number", method="filter_filled", label=_("has a public-security filing number")
    )
    host = django_filters.CharFilter(method="filter_host", label=_("host"))

    class Meta:
        model = Website
        fields = [*_AssetFilterSet.ASSET_FIELDS, "is_active", "has_icp_number", "has_psb_number", "host"]

    def filter_host(self, queryset, name, value):
        return queryset.filter(host=ascii_host(value)) if value.strip() else queryset

    def filter_filled(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.exclude(**{name: ""}) if value else queryset.filter(**{name: ""})


class DomainFilterSet(_AssetFilterSet):
    search_fields = ("name", "registrar")
    host_search_fields = ("name",)

    expires_before = django_filters.DateFilter(
        field_name="expires_on", lookup_expr="lte", label=_("expires on or before")
    )

    class Meta:
        model = Domain
        fields = [*_AssetFilterSet.ASSET_FIELDS, "expires_before"]


class IPRangeFilterSet(_AssetFilterSet):
    search_fields = ("cidr", "purpose")
    version = django_filters.ChoiceFilter(choices=[(4, "IPv4"), (6, "IPv6")], label=_("IP version"))
    shared = YesNoFilter(label=_("shared"))
    contains = django_filters.CharFilter(method="filter_contains", label=_("contains address"))

    class Meta:
        model = IPRange
        fields = [*_AssetFilterSet.ASSET_FIELDS, "version", "shared", "contains"]

    def filter_contains(self, queryset, name, value):
        """Ranges that contain an address (or overlap a range) given as text; nothing when the text is no address."""
        value = (value or "").strip()
        if not value:
            return queryset
        try:
            network = ipaddress.ip_network(value, strict=False)
        except ValueError:
            return queryset.none()
        return queryset.filter(
            version=network.version,
            start_hex__lte=address_hex(network.broadcast_address),
            end_hex__gte=address_hex(network.network_address),
        )


class MobileAppFilterSet(_AssetFilterSet):
    search_fields = ("name", "provider", "provider_filing_number")
    kind = django_filters.MultipleChoiceFilter(choices=MobileAppKind.choices, label=_("kind"))
    user_filing_state = django_filters.MultipleChoiceFilter(
        choices=UserFilingState.choices, label=_("user filing with the supervising bureau")
    )
    icp_filed = YesNoFilter(label=_("ICP filed"))
    mlps_filed = YesNoFilter(label=_("MLPS filed"))
    blacklisted = YesNoFilter(label=_("blacklisted"))
    in_use = YesNoFilter(label=_("in use"))
    must_be_cleared = YesNoFilter(method="filter_must_be_cleared", label=_("must be cleared"))
    due_state = DueStateFilter()

    class Meta:
        model = MobileApp
        fields = [
            "due_state",
            *_AssetFilterSet.ASSET_FIELDS,
            "kind",
            "user_filing_state",
            "icp_filed",
            "mlps_filed",
            "blacklisted",
            "in_use",
            "must_be_cleared",
        ]

    def filter_must_be_cleared(self, queryset, name, value):
        if value is None:
            return queryset
        condition = Q(in_use=True) & (Q(blacklisted=True) | ~Q(user_filing_state=UserFilingState.FILED))
        return queryset.filter(condition) if value else queryset.exclude(condition)


class ScreenFilterSet(_AssetFilterSet):
    search_fields = ("name", "location", "responsible_person__name")
    networked = YesNoFilter(label=_("networked"))
    content_control = django_filters.MultipleChoiceFilter(choices=ContentControl.choices, label=_("content control"))

    class Meta:
        model = Screen
        fields = [*_AssetFilterSet.ASSET_FIELDS, "networked", "content_control"]
