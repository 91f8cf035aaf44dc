import django_tables2 as tables
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.tables import BaseTable
from findings.tables import SEVERITY_COLOURS

from . import rules
from .models import DeadlinePolicy, Notice, Rectification

NOTICE_STATE_COLOURS = {"draft": "secondary", "issued": "blue", "closed": "green", "withdrawn": "dark"}
RECTIFICATION_STATE_COLOURS = {
    "draft": "secondary",
    "received": "azure",
    "in_progress": "blue",
    "submitted": "purple",
    "under_review": "indigo",
    "returned": "orange",
    "closed": "green",
    "withdrawn": "dark",
}


def severity_badge(record):
    return format_html(
        '<span class="badge bg-{}-lt">{}</span>', SEVERITY_COLOURS[record.severity], record.get_severity_display()
    )


def rectification_state_badge(record):
    badge = format_html(
        '<span class="badge bg-{}-lt">{}</span>',
        RECTIFICATION_STATE_COLOURS.get(record.state, "secondary"),
        record.get_state_display(),
    )
    if rules.is_overdue(record.state, record.deadline, timezone.now()):
        badge += format_html(' <span class="badge bg-red text-red-fg">{}</span>', _("Overdue"))
    return badge


class NoticeTable(BaseTable):
    number = tables.Column(linkify=True)
    progress = tables.Column(empty_values=(), orderable=False, verbose_name=_("progress"))
    title = tables.Column(linkify=True)
    unit = tables.Column(linkify=True, verbose_name=_("issuing unit"))

    class Meta(BaseTable.Meta):
        model = Notice
        fields = (
            "select", "number", "title", "unit", "kind", "severity", "state", "progress", "deadline", "issued_at",
            "origin",
        )  # fmt: skip
        default_columns = ("number", "title", "unit", "severity", "state", "progress", "deadline", "issued_at")

    def render_progress(self, record):
        """Closed of all recipients, and how many are overdue now."""
        rectifications = [r for r in record.rectifications.all() if r.state != "withdrawn"]
        if not rectifications:
            return "—"
        closed = sum(1 for r in rectifications if r.state == "closed")
        overdue = sum(1 for r in rectifications if r.is_overdue)
        text = format_html('<span title="{}">{}/{}</span>', _("closed of all recipients"), closed, len(rectifications))
        if overdue:
            text += format_html(' <span class="badge bg-red text-red-fg">{} {}</span>', _("Overdue"), overdue)
        return text

    def render_severity(self, record):
        return severity_badge(record)

    def render_state(self, record):
        return format_html(
            '<span class="badge bg-{}-lt">{}</span>',
            NOTICE_STATE_COLOURS.get(record.state, "secondary"),
            record.get_state_display(),
        )

    def render_number(self, record, value):
        return value or "—"


class RectificationTable(BaseTable):
    notice = tables.Column(linkify=lambda record: record.get_absolute_url(), verbose_name=_("notice"))
    unit = tables.Column(linkify=True, verbose_name=_("recipient unit"))
    items = tables.Column(empty_values=(), orderable=False, verbose_name=_("findings"))

    class Meta(BaseTable.Meta):
        model = Rectification
        fields = (
            "select",
            "deadline",
            "state",
            "notice",
            "unit",
            "items",
            "assignee",
            "submitted_at",
            "rounds",
            "closed_at",
            "was_overdue",
        )
        default_columns = ("deadline", "state", "notice", "unit", "items", "assignee", "submitted_at")

    def render_state(self, record):
        return rectification_state_badge(record)

    def render_items(self, record):
        return len(record.items.all())


class DeadlinePolicyTable(BaseTable):
    unit = tables.Column(linkify=True)

    class Meta(BaseTable.Meta):
        model = DeadlinePolicy
        fields = (
            "select", "unit", "number_pattern", "critical_days", "high_days", "medium_days", "low_days",
            "info_days", "reminder_days",
        )  # fmt: skip
