"""Registers the monitoring models with the platform base, and the monitoring menu.

Checks come from the ledger (``ledger.sync_checks``): nobody creates or deletes one by hand, and only the schedule and
the alerting thresholds are editable. Events and probe records (raw per-probe rows, off by default) are read-only.
The keyword library and maintenance windows are ordinary records. The menu lists the status board first, then the
lists, in that order (hence ``in_menu=False`` and explicit menu items).
"""

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from core.registry import MenuGroup, ModelConfig, register, register_menu_item

from . import filtersets, forms, keywords, tables  # noqa: F401 (keywords: the cache-clearing signal receivers)
from .api import serializers
from .api.views import CheckEventViewSet, CheckViewSet, ProbeRecordViewSet
from .models import (
    EDITABLE_CHECK_FIELDS,
    LATEST_STATE_FIELDS,
    Check,
    CheckEvent,
    KeywordEntry,
    MaintenanceWindow,
    ProbeRecord,
)

WRITERS = "view add change delete"
VIEWERS = ("bureau_admin", "district_admin", "security_officer", "school_cio", "school_netadmin", "auditor")

check_config = register(
    ModelConfig(
        model=Check,
        form=forms.CheckForm,
        filterset=filtersets.CheckFilterSet,
        table=tables.CheckTable,
        serializer=serializers.CheckSerializer,
        menu_group=MenuGroup.MONITORING,
        menu_icon="ti-heartbeat",
        in_menu=False,
        url_prefix="checks",
        bulk_edit_fields=list(EDITABLE_CHECK_FIELDS),
        export_fields=[
            "id",
            "unit",
            "url",
            "kind",
            "enabled",
            "interval",
            "state",
            "last_run_at",
            "status_code",
            "latency_ms",
            "error",
            "next_due_at",
        ],
        select_related=("unit", "website"),
        # Security staff tune checks; schools and auditors read them. Nobody adds or deletes one (the ledger does).
        roles={
            "bureau_admin": "view change",
            "district_admin": "view change",
            "security_officer": "view change",
            "school_cio": "view",
            "school_netadmin": "view",
            "auditor": "view",
        },
        detail_template="monitoring/check_detail.html",
        detail_fields=[
            "unit",
            "website",
            "kind",
            "url",
            *EDITABLE_CHECK_FIELDS,
            *LATEST_STATE_FIELDS,
        ],
        api_viewset=CheckViewSet,  # list, retrieve, partial update, and the probe / accept-baseline / board actions
    )
)

register(
    ModelConfig(
        model=CheckEvent,
        filterset=filtersets.CheckEventFilterSet,
        table=tables.CheckEventTable,
        serializer=serializers.CheckEventSerializer,
        menu_group=MenuGroup.MONITORING,
        menu_icon="ti-timeline-event",
        in_menu=False,
        url_prefix="events",
        export_fields=["id", "unit", "site_check", "at", "kind", "detection", "state", "severity", "summary"],
        select_related=("unit", "site_check__website"),
        roles={code: "view" for code in VIEWERS},  # what the monitor saw: nobody edits it
        detail_template="monitoring/checkevent_detail.html",
        detail_fields=["unit", "site_check", "at", "kind", "detection", "state", "severity", "summary"],
        api_viewset=CheckEventViewSet,
    )
)

register(
    ModelConfig(
        model=ProbeRecord,
        filterset=filtersets.ProbeRecordFilterSet,
        table=tables.ProbeRecordTable,
        serializer=serializers.ProbeRecordSerializer,
        menu_group=MenuGroup.MONITORING,
        menu_icon="ti-list-details",
        in_menu=False,
        url_prefix="probes",
        export_fields=["id", "site_check", "at", "ok", "status_code", "latency_ms", "error"],
        select_related=("site_check__website",),
        roles={code: "view" for code in VIEWERS},  # what the monitor saw: nobody edits it
        detail_fields=["site_check", "at", "ok", "status_code", "latency_ms", "error"],
        api_viewset=ProbeRecordViewSet,
    )
)
register(
    ModelConfig(
        model=KeywordEntry,
        form=forms.KeywordEntryForm,
        filterset=filtersets.KeywordEntryFilterSet,
        table=tables.KeywordEntryTable,
        serializer=serializers.KeywordEntrySerializer,
        menu_group=MenuGroup.MONITORING,
        menu_icon="ti-tags",
        in_menu=False,
        url_prefix="keywords",
        menu_label=_("Keyword library"),
        import_fields=["unit", "category", "word", "whitelist", "enabled", "remarks"],
        bulk_edit_fields=["category", "whitelist", "enabled"],
        select_related=("unit",),
        # The bureau's library: security staff write it; schools and auditors read what applies to them.
        roles={
            "bureau_admin": WRITERS,
            "district_admin": WRITERS,
            "security_officer": WRITERS,
            "school_cio": "view",
            "school_netadmin": "view",
            "auditor": "view",
        },
    )
)

register(
    ModelConfig(
        model=MaintenanceWindow,
        form=forms.MaintenanceWindowForm,
        filterset=filtersets.MaintenanceWindowFilterSet,
        table=tables.MaintenanceWindowTable,
        serializer=serializers.MaintenanceWindowSerializer,
        menu_group=MenuGroup.MONITORING,
        menu_icon="ti-tool",
        in_menu=False,
        url_prefix="maintenance",
        bulk_edit_fields=["reason"],
        export_fields=["id", "unit", "website", "starts_at", "ends_at", "repeat", "repeat_until", "reason"],
        select_related=("unit", "website", "created_by"),
        # Schools announce the maintenance of their own sites.
        roles={
            "bureau_admin": WRITERS,
            "district_admin": WRITERS,
            "security_officer": WRITERS,
            "school_cio": WRITERS,
            "school_netadmin": WRITERS,
            "auditor": "view",
        },
    )
)

register_menu_item(
    MenuGroup.MONITORING, _("Status board"), "monitoring:board", "monitoring.view_check", "ti-layout-grid"
)
register_menu_item(MenuGroup.MONITORING, _("Checks"), "monitoring:check_list", "monitoring.view_check", "ti-heartbeat")
register_menu_item(
    MenuGroup.MONITORING,
    _("Monitoring events"),
    "monitoring:checkevent_list",
    "monitoring.view_checkevent",
    "ti-timeline-event",
)
if settings.EDUSEC_MONITOR_PROBE_RECORD_DAYS > 0:  # off by default: the list would stay empty
    register_menu_item(
        MenuGroup.MONITORING,
        _("Probe records"),
        "monitoring:proberecord_list",
        "monitoring.view_proberecord",
        "ti-list-details",
    )
register_menu_item(
    MenuGroup.MONITORING,
    _("Keyword library"),
    "monitoring:keywordentry_list",
    "monitoring.view_keywordentry",
    "ti-tags",
)
register_menu_item(
    MenuGroup.MONITORING,
    _("Maintenance windows"),
    "monitoring:maintenancewindow_list",
    "monitoring.view_maintenancewindow",
    "ti-tool",
)
