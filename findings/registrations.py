"""Registers findings and scan imports with the platform base."""

from django.utils.translation import gettext_lazy as _

from core.registry import MenuGroup, ModelConfig, register, register_menu_item
from core.roles import ROLES

from . import filtersets, forms, tables
from .api import serializers
from .api.views import FindingViewSet
from .models import Finding, ScanImport
from .views import finding_detail_context

WRITERS = "view add change delete"
# Approvers of false positives and accepted risks, as for the MLPS grading approval (assets.mlps_registrations); the
# approver must also belong to a unit above the finding's (see findings.workflow).
APPROVERS = f"{WRITERS} approve assign"

finding_config = register(
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
        # Outer joins: a reference whose row was deleted while an import ran reads as empty (see Finding).
        select_related=("unit", "system", "website", "domain", "ip_range", "candidate_unit", "created_by"),
        roles={
            "bureau_admin": APPROVERS,
            "district_admin": APPROVERS,
            "security_officer": APPROVERS,
            "school_cio": WRITERS,
            "school_netadmin": "view change",
            "auditor": "view",
        },
        detail_template="findings/finding_detail.html",
        detail_context=finding_detail_context,
        api_viewset=FindingViewSet,  # CRUD plus the workflow actions (request-exception, approve, reject, assign)
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
        # The error and the rejected records have their own panels on the page.
        detail_fields=[
            "unit",
            "file_name",
            "file_format",
            "size",
            "sm3",
            "close_missing",
            "state",
            "records",
            "new",
            "updated",
            "reopened",
            "closed",
            "unattributed",
            "rejected",
            "started_at",
            "finished_at",
        ],
    )
)

register_menu_item(MenuGroup.FINDINGS, _("Import a scan"), "findings:scan_upload", "findings.add_finding", "ti-upload")
register_menu_item(
    MenuGroup.FINDINGS, _("Scan imports"), "findings:scanimport_list", "findings.view_scanimport", "ti-history"
)
register_menu_item(
    MenuGroup.FINDINGS,
    _("Unattributed findings"),
    "findings:finding_unattributed",
    "findings.view_finding",
    "ti-help-hexagon",
)
