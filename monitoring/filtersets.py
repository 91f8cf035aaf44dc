import django_filters
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from assets.models import Website
from core.filtersets import BaseFilterSet, UnitSubtreeFilter, YesNoFilter
from orgs.models import Unit

from . import vocabulary as v
from .models import Check, CheckEvent, CheckState, KeywordEntry, MaintenanceWindow, ProbeRecord, open_windows

SEVERITY_CHOICES = [
    ("critical", _("Critical")),
    ("high", _("High")),
    ("medium", _("Medium")),
    ("low", _("Low")),
    ("info", _("Info")),
]
DATE = {"type": "date"}


class CheckFilterSet(BaseFilterSet):
    search_fields = ("website__name", "website__host", "url", "error")
    host_search_fields = ("website__host",)
    unit = UnitSubtreeFilter(queryset=Unit.objects.all())
    website = django_filters.ModelChoiceFilter(queryset=Website.objects.all(), label=_("website"))
    kind = django_filters.MultipleChoiceFilter(choices=list(v.CHECK_KINDS.items()), label=_("kind"))
    state = django_filters.MultipleChoiceFilter(choices=CheckState.choices, label=_("state"))
    enabled = YesNoFilter(label=_("enabled"))

    class Meta:
        model = Check
        fields = ["q", "unit", "website", "kind", "state", "enabled"]


class CheckEventFilterSet(BaseFilterSet):
    search_fields = ("summary", "site_check__website__name", "site_check__website__host")
    host_search_fields = ("site_check__website__host",)
    unit = UnitSubtreeFilter(queryset=Unit.objects.all())
    website = django_filters.ModelChoiceFilter(
        field_name="site_check__website", queryset=Website.objects.all(), label=_("website")
    )
    check_kind = django_filters.MultipleChoiceFilter(
        field_name="site_check__kind", choices=list(v.CHECK_KINDS.items()), label=_("check kind")
    )
    kind = django_filters.MultipleChoiceFilter(choices=CheckEvent.Kind.choices, label=_("event"))
    detection = django_filters.MultipleChoiceFilter(choices=list(v.DETECTION_KINDS.items()), label=_("detection"))
    severity = django_filters.MultipleChoiceFilter(choices=SEVERITY_CHOICES, label=_("severity"))
    since = django_filters.DateFilter(
        field_name="at", lookup_expr="date__gte", label=_("From"), widget=forms.DateInput(DATE)
    )
    until = django_filters.DateFilter(
        field_name="at", lookup_expr="date__lte", label=_("Until"), widget=forms.DateInput(DATE)
    )

    class Meta:
        model = CheckEvent
        fields = ["q", "unit", "website", "check_kind", "kind", "detection", "severity", "since", "until"]


class ProbeRecordFilterSet(BaseFilterSet):
    search_fields = ("site_check__website__name", "site_check__website__host", "error")
    host_search_fields = ("site_check__website__host",)
    unit = UnitSubtreeFilter(queryset=Unit.objects.all(), path_lookup="site_check__unit__path")
    website = django_filters.ModelChoiceFilter(
        field_name="site_check__website", queryset=Website.objects.all(), label=_("website")
    )
    check_kind = django_filters.MultipleChoiceFilter(
        field_name="site_check__kind", choices=list(v.CHECK_KINDS.items()), label=_("check kind")
    )
    ok = YesNoFilter(label=_("good"))
    since = django_filters.DateTimeFilter(
        field_name="at", lookup_expr="gte", label=_("From"), widget=forms.DateTimeInput({"type": "datetime-local"})
    )
    until = django_filters.DateTimeFilter(
        field_name="at", lookup_expr="lte", label=_("Until"), widget=forms.DateTimeInput({"type": "datetime-local"})
    )

    class Meta:
        model = ProbeRecord
        fields = ["q", "unit", "website", "check_kind", "ok", "since", "until"]


class KeywordEntryFilterSet(BaseFilterSet):
    search_fields = ("word", "remarks")
    unit = UnitSubtreeFilter(queryset=Unit.objects.all())
    category = django_filters.MultipleChoiceFilter(choices=list(v.KEYWORD_CATEGORIES.items()), label=_("category"))
    whitelist = YesNoFilter(label=_("whitelist"))
    enabled = YesNoFilter(label=_("enabled"))

    class Meta:
        model = KeywordEntry
        fields = ["q", "unit", "category", "whitelist", "enabled"]


class MaintenanceWindowFilterSet(BaseFilterSet):
    search_fields = ("reason", "website__name", "website__host")
    host_search_fields = ("website__host",)
    unit = UnitSubtreeFilter(queryset=Unit.objects.all())
    website = django_filters.ModelChoiceFilter(queryset=Website.objects.all(), label=_("website"))
    current = YesNoFilter(method="filter_current", label=_("open now"))

    class Meta:
        model = MaintenanceWindow
        fields = ["q", "unit", "website", "repeat", "current"]

    def filter_current(self, queryset, name, value):
        if value is None:
            return queryset
        open_now = {"pk__in": [window.pk for window in open_windows(timezone.now(), queryset)]}
        return queryset.filter(**open_now) if value else queryset.exclude(**open_now)
