"""Registers the recorded duty states (read-only: written by the daily task) and the duty/coverage pages' menu."""

import django_filters
import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from core.api.serializers import ScopedModelSerializer
from core.filtersets import BaseFilterSet, UnitSubtreeFilter
from core.registry import MenuGroup, ModelConfig, register, register_menu_item
from core.roles import ROLES
from core.tables import BaseTable
from orgs.models import Unit

from . import mlps
from .models import DutyStatus


class DutyStatusFilterSet(BaseFilterSet):
    search_fields = ("system__name", "app__name", "detail")
    unit = UnitSubtreeFilter(queryset=Unit.objects.all())
    state = django_filters.MultipleChoiceFilter(choices=mlps.DUTY_STATES, label=_("state"))
    kind = django_filters.MultipleChoiceFilter(choices=mlps.DUTY_KINDS, label=_("duty"))
    open = django_filters.BooleanFilter(field_name="resolved_on", lookup_expr="isnull", label=_("Open"))

    class Meta:
        model = DutyStatus
        fields = ["q", "unit", "state", "kind", "open", "system", "app"]


class DutyStatusTable(BaseTable):
    subject = tables.Column(
        empty_values=(), orderable=False, verbose_name=_("Object"), linkify=lambda record: record.get_absolute_url()
    )

    class Meta(BaseTable.Meta):
        model = DutyStatus
        fields = ("select", "state", "kind", "subject", "unit", "due_on", "since", "checked_on", "resolved_on")
        default_columns = ("state", "kind", "subject", "unit", "due_on", "since", "resolved_on")

    def render_subject(self, record):
        return str(record.system or record.app)


class DutyStatusSerializer(ScopedModelSerializer):
    class Meta:
        model = DutyStatus
        fields = [
            "id",
            "url",
            "display",
            "unit",
            "key",
            "system",
            "app",
            "kind",
            "state",
            "due_on",
            "detail",
            "since",
            "checked_on",
            "resolved_on",
        ]
        read_only_fields = fields


register(
    ModelConfig(
        model=DutyStatus,
        filterset=DutyStatusFilterSet,
        table=DutyStatusTable,
        serializer=DutyStatusSerializer,
        menu_group=MenuGroup.ASSETS,
        url_prefix="duty-records",
        in_menu=False,
        export_fields=["id", "unit", "kind", "state", "due_on", "since", "checked_on", "resolved_on", "detail"],
        select_related=("unit", "system", "app"),
        roles={code: "view" for code in ROLES if code != "participant"},
    )
)

register_menu_item(
    MenuGroup.ASSETS, _("MLPS duties"), "assets:duties", "assets.view_informationsystem", "ti-calendar-due"
)
register_menu_item(
    MenuGroup.ASSETS, _("MLPS coverage"), "assets:mlps_coverage", "assets.view_informationsystem", "ti-chart-bar"
)
