import django_tables2 as tables
from django.urls import reverse
from django.utils import formats
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.idn import unicode_url
from core.registry import object_url
from core.tables import BaseTable, bool_icon
from findings.tables import SEVERITY_COLOURS

from . import vocabulary as v
from .models import Check, CheckEvent, KeywordEntry, MaintenanceWindow, ProbeRecord

# Tile and badge colours of the check states (Tabler colour names).
STATE_COLOURS = {
    "ok": "green",
    "warning": "yellow",
    "critical": "red",
    "unknown": "secondary",
    "maintenance": "secondary",
}


def state_badge(state: str, label) -> str:
    return format_html('<span class="badge bg-{}-lt">{}</span>', STATE_COLOURS.get(state, "secondary"), label)


def severity_badge(severity: str) -> str:
    if not severity:
        return "—"
    labels = {"critical": _("Critical"), "high": _("High"), "medium": _("Medium"), "low": _("Low"), "info": _("Info")}
    return format_html(
        '<span class="badge bg-{}-lt">{}</span>',
        SEVERITY_COLOURS.get(severity, "secondary"),
        labels.get(severity, severity),
    )


def _detail(record) -> str:
    return object_url(record)


class CheckTable(BaseTable):
    website = tables.Column(linkify=lambda record: record.get_absolute_url(), order_by=("website__name",))
    unit = tables.Column(linkify=True)
    kind = tables.Column()
    state = tables.Column()
    last_run_at = tables.DateTimeColumn(format="Y-m-d H:i")
    status_code = tables.Column()
    latency_ms = tables.Column()
    error = tables.Column()
    next_due_at = tables.DateTimeColumn(format="Y-m-d H:i")
    enabled = tables.BooleanColumn()
    settings = tables.Column(
        accessor="pk", verbose_name=_("Settings"), orderable=False, linkify=lambda record: _detail(record)
    )

    class Meta(BaseTable.Meta):
        model = Check
        fields = (
            "select",
            "website",
            "unit",
            "kind",
            "state",
            "last_run_at",
            "status_code",
            "latency_ms",
            "error",
            "next_due_at",
            "enabled",
            "interval",
            "grace_failures",
            "recovery_successes",
            "url",
            "settings",
        )
        default_columns = (
            "website",
            "unit",
            "kind",
            "state",
            "last_run_at",
            "status_code",
            "latency_ms",
            "error",
            "next_due_at",
            "settings",
        )

    def render_state(self, record):
        return state_badge(record.state, record.get_state_display())

    def render_latency_ms(self, value):
        return formats.number_format(round(value))

    def render_url(self, value):
        return unicode_url(value)

    def render_error(self, value):
        return format_html(
            '<span class="d-inline-block text-truncate" style="max-width: 18rem" title="{}">{}</span>', value, value
        )

    def render_enabled(self, value):
        return bool_icon(value)

    def render_settings(self, value):
        return format_html('<i class="ti ti-adjustments" aria-hidden="true"></i> {}', _("Settings"))


def website_of_check_column():
    """The website of a row's check (``site_check``), linked to its monitoring page."""
    return tables.Column(
        accessor="site_check__website",
        verbose_name=_("website"),
        linkify=lambda record: reverse("monitoring:site", args=[record.site_check.website_id]),
        order_by=("site_check__website__name",),
    )


def check_kind_column():
    """The kind of a row's check (``site_check``); shown by ``render_check_kind``."""
    return tables.Column(accessor="site_check__kind", verbose_name=_("check kind"), order_by=("site_check__kind",))


class CheckEventTable(BaseTable):
    at = tables.DateTimeColumn(format="Y-m-d H:i:s", linkify=lambda record: _detail(record))
    website = website_of_check_column()
    check_kind = check_kind_column()
    unit = tables.Column(linkify=True)
    severity = tables.Column()
    evidence_link = tables.Column(accessor="pk", verbose_name=_("Evidence"), orderable=False)

    class Meta(BaseTable.Meta):
        model = CheckEvent
        fields = (
            "select",
            "at",
            "website",
            "unit",
            "check_kind",
            "kind",
            "detection",
            "state",
            "severity",
            "summary",
            "evidence_link",
        )
        default_columns = ("at", "website", "check_kind", "kind", "detection", "severity", "summary", "evidence_link")
        order_by = ("-at",)

    def render_check_kind(self, record):
        return record.site_check.get_kind_display()

    def render_summary(self, record):
        return record.summary_text

    def render_severity(self, value):
        return severity_badge(value)

    def render_evidence_link(self, record):
        if not record.snapshot_id and not record.evidence:
            return "—"
        return format_html(
            '<a href="{}"><i class="ti ti-file-search" aria-hidden="true"></i> {}</a>',
            reverse("monitoring:evidence", args=[record.pk]),
            _("Evidence"),
        )


class ProbeRecordTable(BaseTable):
    at = tables.DateTimeColumn(format="Y-m-d H:i:s")
    website = website_of_check_column()
    check_kind = check_kind_column()
    ok = tables.Column()
    latency_ms = tables.Column()

    class Meta(BaseTable.Meta):
        model = ProbeRecord
        fields = ("at", "website", "check_kind", "ok", "status_code", "latency_ms", "error")
        default_columns = fields

    def render_check_kind(self, record):
        return record.site_check.get_kind_display()

    def render_ok(self, value):
        return bool_icon(value)

    def render_latency_ms(self, value):
        return f"{value:.1f}"

    def render_error(self, value):
        return v.PROBE_ERROR_LABELS.get(value, value)


class KeywordEntryTable(BaseTable):
    word = tables.Column(linkify=lambda record: _detail(record))
    unit = tables.Column(linkify=True)
    whitelist = tables.BooleanColumn()
    enabled = tables.BooleanColumn()

    class Meta(BaseTable.Meta):
        model = KeywordEntry
        fields = ("select", "word", "category", "whitelist", "enabled", "unit", "remarks", "updated_at")
        default_columns = ("word", "category", "whitelist", "enabled", "unit", "remarks")

    def render_whitelist(self, value):
        return bool_icon(value)

    def render_enabled(self, value):
        return bool_icon(value)


class MaintenanceWindowTable(BaseTable):
    reason = tables.Column(linkify=lambda record: _detail(record))
    website = tables.Column(default=_("All websites of the unit and the units under it"))
    unit = tables.Column(linkify=True)
    schedule = tables.Column(verbose_name=_("when"), accessor="pk", orderable=False)
    repeat = tables.Column()
    starts_at = tables.DateTimeColumn(format="Y-m-d H:i")
    ends_at = tables.DateTimeColumn(format="Y-m-d H:i")
    repeat_until = tables.DateColumn(format="Y-m-d")

    class Meta(BaseTable.Meta):
        model = MaintenanceWindow
        fields = ("select", "website", "unit", "schedule", "repeat", "starts_at", "ends_at", "repeat_until", "reason",
                  "created_by")  # fmt: skip
        default_columns = ("website", "unit", "schedule", "reason")
        order_by = ("-starts_at",)

    def render_website(self, record, value):
        return format_html('<a href="{}">{}</a>', reverse("monitoring:site", args=[record.website_id]), value)

    def render_schedule(self, record):
        return record.schedule_text()
