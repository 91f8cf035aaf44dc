import django_filters
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from assets.models import InformationSystem
from core.filtersets import BaseFilterSet, UnitSubtreeFilter, YesNoFilter
from orgs.models import Unit

from .models import Finding, FindingSource, FindingStatus, ImportState, ScanImport, Severity


class FindingFilterSet(BaseFilterSet):
    search_fields = ("title", "host", "ip", "url", "rule_id")
    host_search_fields = ("host",)
    unit = UnitSubtreeFilter(queryset=Unit.objects.all())
    severity = django_filters.MultipleChoiceFilter(choices=Severity.choices, label=_("severity"))
    status = django_filters.MultipleChoiceFilter(choices=FindingStatus.choices, label=_("status"))
    source = django_filters.MultipleChoiceFilter(choices=FindingSource.choices, label=_("source"))
    system = django_filters.ModelChoiceFilter(queryset=InformationSystem.objects.all(), label=_("information system"))
    cve = django_filters.CharFilter(field_name="cve", lookup_expr="icontains", label=_("CVE"))
    older_than_days = django_filters.NumberFilter(method="filter_age", label=_("Open for more than (days)"))
    attributed = YesNoFilter(label=_("matched to an asset"))

    class Meta:
        model = Finding
        fields = [
            "q",
            "unit",
            "severity",
            "status",
            "source",
            "system",
            "cve",
            "older_than_days",
            "attributed",
            "tool",
            "last_import",
        ]

    def filter_age(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(first_seen__lt=timezone.now() - timezone.timedelta(days=int(value)))


class ScanImportFilterSet(BaseFilterSet):
    search_fields = ("file_name",)
    unit = UnitSubtreeFilter(queryset=Unit.objects.all())
    state = django_filters.MultipleChoiceFilter(choices=ImportState.choices, label=_("state"))

    class Meta:
        model = ScanImport
        fields = ["q", "unit", "state", "file_format"]
