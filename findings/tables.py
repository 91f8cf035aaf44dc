import django_tables2 as tables
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.idn import unicode_host
from core.tables import BaseTable

from .models import Finding, ScanImport

SEVERITY_COLOURS = {"critical": "red", "high": "orange", "medium": "yellow", "low": "azure", "info": "secondary"}


class FindingTable(BaseTable):
    title = tables.Column(linkify=True)
    unit = tables.Column(linkify=True)
    severity = tables.Column()
    system = tables.Column(linkify=True)

    class Meta(BaseTable.Meta):
        model = Finding
        fields = (
            "select",
            "risk_score",
            "severity",
            "title",
            "unit",
            "system",
            "host",
            "ip",
            "port",
            "status",
            "source",
            "tool",
            "cve",
            "first_seen",
            "last_seen",
            "times_seen",
            "attributed",
        )
        default_columns = ("risk_score", "severity", "title", "unit", "host", "port", "status", "last_seen")

    def render_severity(self, record):
        return format_html(
            '<span class="badge bg-{}-lt">{}</span>', SEVERITY_COLOURS[record.severity], record.get_severity_display()
        )

    def render_cve(self, value):
        return "、".join(value) if value else "—"

    def render_host(self, value):
        return unicode_host(value)


class ScanImportTable(BaseTable):
    file_name = tables.Column(linkify=True)
    unit = tables.Column(linkify=True)

    class Meta(BaseTable.Meta):
        model = ScanImport
        fields = (
            "select",
            "created_at",
            "file_name",
            "file_format",
            "unit",
            "state",
            "records",
            "new",
            "updated",
            "reopened",
            "closed",
            "unattributed",
            "rejected",
            "created_by",
        )
        default_columns = (
            "created_at",
            "file_name",
            "file_format",
            "unit",
            "state",
            "records",
            "new",
            "updated",
            "reopened",
            "closed",
            "unattributed",
            "rejected",
        )
        order_by = ("-created_at",)


__all__ = ["FindingTable", "ScanImportTable", "_"]
