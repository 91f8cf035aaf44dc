"""Registers findings and scan imports with the platform base."""

from django.utils.translation import gettext_lazy as _

from core.registry import MenuGroup, ModelConfig, register, register_menu_item
from core.roles import ROLES

from . import filtersets, forms, tables
from .api import serializers
from .models import Finding, ScanImport

WRITERS = "view add change delete"

register(
    ModelConfig(
        model=Finding,
        form=forms.FindingForm,
        filterset=filtersets.FindingFilterSet,
        table=tables.FindingTable,
        serializer=serializers.FindingSerializer,
        menu_group=MenuGroup.FINDINGS,
        menu_icon="ti-bug",
        url_prefix="findings",
        bulk_edit_fields=["status", "status_reason"],
        export_fields=[
            "id",
            "unit",
            "severity",
            "risk_score",
            "title",
            "rule_id",
            "host",
            "ip",
            "port",
            "url",
            "status",
            "source",
            "tool",
            "first_seen",
            "last_seen",
            "times_seen",
        ],
        select_related=("unit", "system"),
        roles={
            "bureau_admin": WRITERS,
            "district_admin": WRITERS,
            "security_officer": WRITERS,
            "school_cio": WRITERS,
            "school_netadmin": "view change",
            "auditor": "view",
        },
    )
)

register(
    ModelConfig(
        model=ScanImport,
        form=forms.ScanImportForm,
        filterset=filtersets.ScanImportFilterSet,
        table=tables.ScanImportTable,
        serializer=serializers.ScanImportSerializer,
        menu_group=MenuGroup.FINDINGS,
        menu_icon="ti-file-import",
        url_prefix="imports",
        in_menu=False,
        select_related=("unit", "created_by"),
        # Imports are created by the upload page only; the generic pages read them.
        roles={code: "view" for code in ROLES if code not in ("participant", "contractor")},
        detail_template="findings/scanimport_detail.html",
    )
)

register_menu_item(MenuGroup.FINDINGS, _("Import a scan"), "findings:scan_upload", "findings.add_finding", "ti-upload")
register_menu_item(
    MenuGroup.FINDINGS, _("Scan imports"), "findings:scanimport_list", "findings.view_scanimport", "ti-history"
)
