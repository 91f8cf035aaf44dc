"""Registers the core models that have pages of their own: the working-day calendar's overrides."""

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from . import workdays
from .filtersets import BaseFilterSet, YesNoFilter
from .forms import ScopedModelForm
from .models import WorkdayOverride
from .registry import MenuGroup, ModelConfig, register
from .tables import BaseTable


class WorkdayOverrideForm(ScopedModelForm):
    class Meta:
        model = WorkdayOverride
        fields = ["date", "is_workday", "name"]
        widgets = {"date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def clean(self):
        data = super().clean()
        day = data.get("date")
        if day is not None and data.get("is_workday") is not None and workdays.is_known_year(day.year):
            if workdays.is_workday(day) == data["is_workday"]:
                self.add_error(
                    "is_workday", _("The official calendar already says the same for this day: no override needed.")
                )
        return data


class WorkdayOverrideFilterSet(BaseFilterSet):
    search_fields = ("name",)
    year = django_filters.NumberFilter(field_name="date", lookup_expr="year", label=_("year"))
    is_workday = YesNoFilter(label=_("working day"))

    class Meta:
        model = WorkdayOverride
        fields = ["q", "year", "is_workday"]


class WorkdayOverrideTable(BaseTable):
    import django_tables2 as tables

    date = tables.Column(linkify=True)

    class Meta(BaseTable.Meta):
        model = WorkdayOverride
        fields = ("select", "date", "is_workday", "name", "updated_at")
        default_columns = ("date", "is_workday", "name")


class WorkdayOverrideSerializer(serializers.ModelSerializer):
    class Meta:
        model = WorkdayOverride
        fields = ["id", "date", "is_workday", "name", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]

    def validate(self, attrs):
        day, is_workday = attrs.get("date"), attrs.get("is_workday")
        if day is not None and is_workday is not None and workdays.is_known_year(day.year):
            if workdays.is_workday(day) == is_workday:
                raise serializers.ValidationError(
                    {"is_workday": _("The official calendar already says the same for this day: no override needed.")}
                )
        return attrs


register(
    ModelConfig(
        model=WorkdayOverride,
        form=WorkdayOverrideForm,
        filterset=WorkdayOverrideFilterSet,
        table=WorkdayOverrideTable,
        serializer=WorkdayOverrideSerializer,
        menu_group=MenuGroup.SYSTEM,
        menu_label=_("Working-day calendar"),
        menu_icon="ti-calendar-cog",
        url_prefix="workdays",
        import_fields=["date", "is_workday", "name"],
        # The calendar is the installation's: the bureau edits it, everyone's deadlines follow it.
        roles={
            "bureau_admin": "view add change delete",
            "security_officer": "view add change delete",
            "district_admin": "view",
            "auditor": "view",
        },
    )
)
