"""Registers the MLPS lifecycle records with the platform base: lists, exports, read-only API, audit and roles.

The records are written only by the MLPS pages (wizard and procedure actions, ``assets.mlps_views``), never by the
generic create/edit pages or the API: the role matrices grant ``view`` plus three permissions of their own on gradings
(``grade``, ``submit``, ``approve``), so the generic add/edit/delete pages and API writes answer 403 for everyone.
"""

import django_filters
import django_tables2 as tables
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from core.api.serializers import ScopedModelSerializer
from core.filtersets import BaseFilterSet, UnitSubtreeFilter, YesNoFilter
from core.registry import MenuGroup, ModelConfig, register
from core.tables import BaseTable, bool_icon
from orgs.models import Unit

from . import mlps
from . import registrations as _ledger_first  # noqa: F401 - the ledger's menu entries come before these
from .mlps_views import STATE_COLOURS, record_detail_context
from .models import (
    MLPS_LEVEL_CHOICES,
    Assessment,
    AssessmentKind,
    Filing,
    Grading,
    GradingReason,
    GradingStep,
    StepAction,
)

# Who grades, submits and approves (approval also needs a unit above the system's: see assets.mlps_views).
GRADING_ROLES = {
    "bureau_admin": "view grade submit approve",
    "district_admin": "view grade submit approve",
    "security_officer": "view grade submit approve",
    "school_cio": "view grade submit",
    "school_netadmin": "view grade submit",
    "auditor": "view",
}
# Steps, filings and assessments are read on their pages; they are written through the grading's actions.
RECORD_ROLES = {role: "view" for role in GRADING_ROLES}


def _state_badge(state: str):
    if not state:
        return "—"
    return format_html(
        '<span class="badge bg-{}-lt">{}</span>', STATE_COLOURS.get(state, "secondary"), mlps.STATE_LABELS[state]
    )


def _level_badge(level):
    if not level:
        return "—"
    return format_html('<span class="badge bg-blue-lt" title="{}">{}</span>', mlps.LEVEL_NAMES[level], level)


# ---- tables ----------------------------------------------------------------------------------------------------------


class GradingTable(BaseTable):
    system = tables.Column(linkify=True, verbose_name=_("information system"))
    version = tables.Column(linkify=True)
    unit = tables.Column(linkify=True)
    level = tables.Column()
    state = tables.Column()
    is_current = tables.BooleanColumn()

    class Meta(BaseTable.Meta):
        model = Grading
        fields = (
            "select",
            "system",
            "version",
            "unit",
            "reason",
            "business_level",
            "service_level",
            "computed_level",
            "level",
            "floor_applied",
            "state",
            "state_changed_at",
            "level_fixed_on",
            "is_current",
            "created_at",
        )
        default_columns = ("system", "version", "unit", "reason", "level", "state", "state_changed_at", "is_current")

    def render_version(self, value):
        return f"v{value}"

    def render_level(self, record):
        return _level_badge(record.level)

    def render_state(self, record):
        return _state_badge(record.state)

    def render_is_current(self, value):
        return bool_icon(value)


class GradingStepTable(BaseTable):
    at = tables.DateTimeColumn(linkify=True)
    grading = tables.Column(linkify=True)
    unit = tables.Column(linkify=True)
    to_state = tables.Column()

    class Meta(BaseTable.Meta):
        model = GradingStep
        fields = ("select", "at", "grading", "unit", "action", "from_state", "to_state", "actor", "comment")
        default_columns = ("at", "grading", "unit", "action", "to_state", "actor", "comment")

    def render_to_state(self, record):
        return _state_badge(record.to_state)


class FilingTable(BaseTable):
    certificate_number = tables.Column(linkify=True)
    grading = tables.Column(linkify=True)
    unit = tables.Column(linkify=True)

    class Meta(BaseTable.Meta):
        model = Filing
        fields = ("select", "certificate_number", "grading", "unit", "public_security_organ", "filed_on", "valid_until")
        default_columns = fields[1:]


class AssessmentTable(BaseTable):
    assessed_on = tables.DateColumn(linkify=True)
    system = tables.Column(linkify=True)
    unit = tables.Column(linkify=True)
    conclusion = tables.Column()

    class Meta(BaseTable.Meta):
        model = Assessment
        fields = (
            "select",
            "assessed_on",
            "system",
            "unit",
            "kind",
            "agency",
            "score",
            "compliance_rate",
            "high_risk_count",
            "conclusion",
        )
        default_columns = fields[1:]

    def render_conclusion(self, record):
        colour = {
            mlps.CONCLUSION_COMPLIANT: "green",
            mlps.CONCLUSION_BASICALLY_COMPLIANT: "yellow",
            mlps.CONCLUSION_NON_COMPLIANT: "red",
        }.get(record.conclusion, "secondary")
        return format_html('<span class="badge bg-{}-lt">{}</span>', colour, record.get_conclusion_display())


# ---- filters ---------------------------------------------------------------------------------------------------------


class GradingFilterSet(BaseFilterSet):
    search_fields = ("system__name", "object_description")
    unit = UnitSubtreeFilter(queryset=Unit.objects.all())
    level = django_filters.MultipleChoiceFilter(choices=MLPS_LEVEL_CHOICES, label=_("MLPS level"))
    state = django_filters.MultipleChoiceFilter(choices=mlps.STATES, label=_("procedure state"))
    reason = django_filters.ChoiceFilter(choices=GradingReason.choices, label=_("reason for grading"))
    is_current = YesNoFilter(label=_("current"))

    class Meta:
        model = Grading
        fields = ["q", "unit", "level", "state", "reason", "is_current"]


class GradingStepFilterSet(BaseFilterSet):
    search_fields = ("grading__system__name", "comment")
    unit = UnitSubtreeFilter(queryset=Unit.objects.all())
    action = django_filters.ChoiceFilter(choices=StepAction.choices, label=_("action"))
    to_state = django_filters.ChoiceFilter(choices=mlps.STATES, label=_("to state"))
    at = django_filters.DateFromToRangeFilter(label=_("at"))

    class Meta:
        model = GradingStep
        fields = ["q", "unit", "action", "to_state", "at"]


class FilingFilterSet(BaseFilterSet):
    search_fields = ("certificate_number", "public_security_organ", "grading__system__name")
    unit = UnitSubtreeFilter(queryset=Unit.objects.all())
    valid_until = django_filters.DateFromToRangeFilter(label=_("valid until"))

    class Meta:
        model = Filing
        fields = ["q", "unit", "valid_until"]


class AssessmentFilterSet(BaseFilterSet):
    search_fields = ("system__name", "agency")
    unit = UnitSubtreeFilter(queryset=Unit.objects.all())
    kind = django_filters.ChoiceFilter(choices=AssessmentKind.choices, label=_("kind"))
    conclusion = django_filters.ChoiceFilter(choices=mlps.CONCLUSIONS, label=_("conclusion"))
    assessed_on = django_filters.DateFromToRangeFilter(label=_("assessed on"))

    class Meta:
        model = Assessment
        fields = ["q", "unit", "kind", "conclusion", "assessed_on"]


# ---- read-only API ---------------------------------------------------------------------------------------------------


class _ReadOnly(ScopedModelSerializer):
    """Every field read-only. Levels and states are plain values documented by their codes: the same choice sets
    appear on several fields (and on the ledger's ``mlps_level``), which would give the schema duplicate enums."""

    plain_choice_fields = (
        "level",
        "business_level",
        "service_level",
        "computed_level",
        "state",
        "from_state",
        "to_state",
        "floor_applied",
        "data_level",
    )

    def get_fields(self):
        fields = super().get_fields()
        for name, f in list(fields.items()):
            if name in self.plain_choice_fields and isinstance(f, serializers.ChoiceField):
                codes = ", ".join(str(c) for c in f.choices)
                plain = (
                    serializers.IntegerField
                    if name.endswith("level") and name != "data_level"
                    else serializers.CharField
                )
                fields[name] = plain(read_only=True, help_text=f"One of: {codes}")
            fields[name].read_only = True
        return fields


class GradingSerializer(_ReadOnly):
    business_pairs = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField(), min_length=2, max_length=2),
        help_text="Ticked [harmed object, degree] pairs of business information security",
    )
    service_pairs = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField(), min_length=2, max_length=2),
        help_text="Ticked [harmed object, degree] pairs of system service security",
    )
    reasoning = serializers.ListField(child=serializers.CharField(), help_text="The grading's reasoning, one line each")

    class Meta:
        model = Grading
        fields = [
            "id",
            "url",
            "display",
            "unit",
            "system",
            "version",
            "is_current",
            "reason",
            "business_pairs",
            "service_pairs",
            "data_level",
            "business_level",
            "service_level",
            "computed_level",
            "level",
            "floor_applied",
            "reasoning",
            "object_description",
            "business_description",
            "service_description",
            "state",
            "state_changed_at",
            "approved_at",
            "level_fixed_on",
            "created_at",
            "updated_at",
        ]


class GradingStepSerializer(_ReadOnly):
    class Meta:
        model = GradingStep
        fields = [
            "id",
            "url",
            "display",
            "unit",
            "grading",
            "action",
            "from_state",
            "to_state",
            "actor",
            "at",
            "comment",
        ]


class FilingSerializer(_ReadOnly):
    class Meta:
        model = Filing
        fields = [
            "id",
            "url",
            "display",
            "unit",
            "grading",
            "public_security_organ",
            "certificate_number",
            "filed_on",
            "valid_until",
        ]


class AssessmentSerializer(_ReadOnly):
    class Meta:
        model = Assessment
        fields = [
            "id",
            "url",
            "display",
            "unit",
            "system",
            "grading",
            "kind",
            "agency",
            "assessed_on",
            "score",
            "compliance_rate",
            "high_risk_count",
            "conclusion",
        ]


# ---- registrations ---------------------------------------------------------------------------------------------------

register(
    ModelConfig(
        model=Grading,
        filterset=GradingFilterSet,
        table=GradingTable,
        serializer=GradingSerializer,
        menu_group=MenuGroup.ASSETS,
        menu_icon="ti-stairs-up",
        url_prefix="gradings",
        export_fields=[
            "id",
            "unit",
            "system",
            "version",
            "is_current",
            "reason",
            "data_level",
            "business_level",
            "service_level",
            "computed_level",
            "level",
            "floor_applied",
            "state",
            "state_changed_at",
            "level_fixed_on",
        ],
        select_related=("unit", "system"),
        roles=GRADING_ROLES,
    )
)

register(
    ModelConfig(
        model=GradingStep,
        filterset=GradingStepFilterSet,
        table=GradingStepTable,
        serializer=GradingStepSerializer,
        menu_group=MenuGroup.ASSETS,
        menu_icon="ti-timeline",
        url_prefix="grading-steps",
        export_fields=["id", "unit", "grading", "action", "from_state", "to_state", "actor", "at", "comment"],
        select_related=("unit", "grading", "grading__system", "actor"),
        detail_fields=["unit", "grading", "action", "from_state", "to_state", "actor", "at", "comment", "assessment"],
        detail_template="assets/mlps/record_detail.html",
        detail_context=record_detail_context,
        roles=RECORD_ROLES,
    )
)

register(
    ModelConfig(
        model=Filing,
        filterset=FilingFilterSet,
        table=FilingTable,
        serializer=FilingSerializer,
        menu_group=MenuGroup.ASSETS,
        menu_icon="ti-certificate",
        url_prefix="filings",
        export_fields=[
            "id",
            "unit",
            "grading",
            "public_security_organ",
            "certificate_number",
            "filed_on",
            "valid_until",
        ],
        select_related=("unit", "grading", "grading__system"),
        detail_fields=["unit", "grading", "public_security_organ", "certificate_number", "filed_on", "valid_until"],
        detail_template="assets/mlps/record_detail.html",
        detail_context=record_detail_context,
        roles=RECORD_ROLES,
    )
)

register(
    ModelConfig(
        model=Assessment,
        filterset=AssessmentFilterSet,
        table=AssessmentTable,
        serializer=AssessmentSerializer,
        menu_group=MenuGroup.ASSETS,
        menu_icon="ti-clipboard-check",
        url_prefix="assessments",
        export_fields=[
            "id",
            "unit",
            "system",
            "grading",
            "kind",
            "agency",
            "assessed_on",
            "score",
            "compliance_rate",
            "high_risk_count",
            "conclusion",
        ],
        select_related=("unit", "system", "grading", "grading__system"),
        detail_fields=[
            "unit",
            "system",
            "grading",
            "kind",
            "agency",
            "assessed_on",
            "score",
            "compliance_rate",
            "high_risk_count",
            "conclusion",
        ],
        detail_template="assets/mlps/record_detail.html",
        detail_context=record_detail_context,
        roles=RECORD_ROLES,
    )
)
