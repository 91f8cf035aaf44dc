"""Registers notices, rectifications and deadline policies with the platform base."""

from django.utils.translation import gettext_lazy as _

from core.registry import ExtraAction, MenuGroup, ModelConfig, register, register_menu_item, registry
from findings.models import OPEN_STATUSES, Finding, ImportState, ScanImport
from orgs.models import Unit

from . import filtersets, forms, tables
from .api import serializers
from .api.views import NoticeViewSet, RectificationViewSet
from .models import DeadlinePolicy, Notice, Rectification
from .views import (
    finding_timeline_panel,
    notice_detail_context,
    rectification_detail_context,
    unit_overdue_panel,
    unit_timeline_panel,
)

ISSUERS = "view add change delete issue"
REVIEWERS = "view change review"

register(
    ModelConfig(
        model=Notice,
        form=forms.NoticeForm,
        filterset=filtersets.NoticeFilterSet,
        table=tables.NoticeTable,
        serializer=serializers.NoticeSerializer,
        menu_group=MenuGroup.NOTICES,
        menu_icon="ti-speakerphone",
        url_prefix="notices",
        select_related=("unit",),
        prefetch_related=("rectifications",),
        export_fields=["id", "number", "title", "unit", "kind", "severity", "state", "deadline", "issued_at"],
        # Schools do not issue notices; they see the notice through their rectification.
        roles={
            "bureau_admin": ISSUERS,
            "district_admin": ISSUERS,
            "security_officer": ISSUERS,
            "auditor": "view",
        },
        detail_template="notices/notice_detail.html",
        detail_context=notice_detail_context,
        api_viewset=NoticeViewSet,
    )
)

register(
    ModelConfig(
        model=Rectification,
        filterset=filtersets.RectificationFilterSet,
        table=tables.RectificationTable,
        serializer=serializers.RectificationSerializer,
        menu_group=MenuGroup.NOTICES,
        menu_icon="ti-checklist",
        url_prefix="rectifications",
        select_related=("unit", "notice", "assignee"),
        prefetch_related=("items",),
        export_fields=[
            "id",
            "notice",
            "unit",
            "state",
            "deadline",
            "submitted_at",
            "closed_at",
            "rounds",
            "was_overdue",
        ],
        # "change" is the recipient's work (only in its own unit, see notices.workflow); "review" the issuer's.
        roles={
            "bureau_admin": REVIEWERS,
            "district_admin": REVIEWERS,
            "security_officer": REVIEWERS,
            "school_cio": "view change",
            "school_netadmin": "view change",
            "auditor": "view",
        },
        detail_template="notices/rectification_detail.html",
        detail_context=rectification_detail_context,
        api_viewset=RectificationViewSet,
    )
)

register(
    ModelConfig(
        model=DeadlinePolicy,
        form=forms.DeadlinePolicyForm,
        filterset=filtersets.DeadlinePolicyFilterSet,
        table=tables.DeadlinePolicyTable,
        serializer=serializers.DeadlinePolicySerializer,
        menu_group=MenuGroup.NOTICES,
        menu_icon="ti-clock-cog",
        url_prefix="policies",
        select_related=("unit",),
        roles={
            "bureau_admin": "view add change delete",
            "district_admin": "view add change delete",
            "security_officer": "view add change delete",
            "auditor": "view",
        },
    )
)

register_menu_item(
    MenuGroup.NOTICES,
    _("My rectifications"),
    "notices:rectification_mine",
    "notices.change_rectification",
    "ti-list-check",
)
register_menu_item(
    MenuGroup.NOTICES,
    _("On-time and closure rates"),
    "notices:rectification_rates",
    "notices.review_rectification",
    "ti-chart-bar",
)

# Drafting from findings: from the selection on the findings list, from one finding, from a higher authority's notice.
registry.get(Finding).list_actions.append(
    ExtraAction(_("Draft a notice"), "notices:notice_draft", "notices.add_notice", "ti-speakerphone")
)
registry.get(Finding).object_actions.append(
    ExtraAction(
        _("Draft a notice"),
        "notices:notice_draft",
        "notices.add_notice",
        "ti-speakerphone",
        query=lambda finding: {"pk": finding.pk},
        applies=lambda finding: finding.status in OPEN_STATUSES and finding.attributed,
    )
)
registry.get(ScanImport).object_actions.append(
    ExtraAction(
        _("Forward as a notice"),
        "notices:notice_draft",
        "notices.add_notice",
        "ti-share",
        query=lambda scan_import: {"import": scan_import.pk},
        applies=lambda scan_import: scan_import.state == ImportState.DONE and scan_import.new + scan_import.updated > 0,
    )
)

# The loop on the finding's and the unit's pages.
registry.get(Finding).detail_panels.append(finding_timeline_panel)
registry.get(Unit).detail_panels += [unit_overdue_panel, unit_timeline_panel]
