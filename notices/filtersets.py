import django_filters
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.filtersets import BaseFilterSet, UnitSubtreeFilter, YesNoFilter
from findings.models import Severity
from orgs.models import Unit

from . import rules
from .models import DeadlinePolicy, Notice, NoticeState, Rectification, RectificationState


class NoticeFilterSet(BaseFilterSet):
    search_fields = ("number", "title", "body")
    unit = UnitSubtreeFilter(queryset=Unit.objects.all(), label=_("issuing unit"))
    state = django_filters.MultipleChoiceFilter(choices=NoticeState.choices, label=_("state"))
    severity = django_filters.MultipleChoiceFilter(choices=Severity.choices, label=_("severity"))
    year = django_filters.NumberFilter(label=_("year"))

    class Meta:
        model = Notice
        fields = ["q", "unit", "state", "severity", "kind", "origin", "year"]


class RectificationFilterSet(BaseFilterSet):
    search_fields = ("notice__number", "notice__title", "report")
    unit = UnitSubtreeFilter(queryset=Unit.objects.all(), label=_("recipient unit"))
    state = django_filters.MultipleChoiceFilter(choices=RectificationState.choices, label=_("state"))
    overdue = YesNoFilter(method="filter_overdue", label=_("overdue"))
    open = YesNoFilter(method="filter_open", label=_("still open"))
    notice = django_filters.ModelChoiceFilter(queryset=Notice.objects.all(), label=_("notice"))
    was_overdue = YesNoFilter(label=_("ran over the deadline"))

    class Meta:
        model = Rectification
        fields = ["q", "unit", "state", "overdue", "open", "notice", "was_overdue"]

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        overdue = Q(state__in=rules.OWING, deadline__lt=timezone.now())
        return queryset.filter(overdue) if value else queryset.exclude(overdue)

    def filter_open(self, queryset, name, value):
        if value is None:
            return queryset
        finished = Q(state__in=rules.FINISHED)
        return queryset.exclude(finished) if value else queryset.filter(finished)


class DeadlinePolicyFilterSet(BaseFilterSet):
    search_fields = ("unit__name",)
    unit = UnitSubtreeFilter(queryset=Unit.objects.all())

    class Meta:
        model = DeadlinePolicy
        fields = ["q", "unit"]
