"""Registers the asset ledger and MLPS models with the platform base."""

from django.utils.translation import gettext_lazy as _

from core.registry import MenuGroup, ModelConfig, register, registry
from core.roles import DEFAULT_MATRIX, ROLES
from core.scoping import permission_name

from . import filtersets, forms, mlps, tables
from .api import serializers
from .models import BusinessType, Domain, InformationSystem, IPRange, MobileApp, Screen, Website
from .models.ledger import CHILD_SAFEGUARD_FIELDS

# The ledger follows the default matrix, except that contractors see nothing yet: they may see only the assets assigned
# to them (architecture.md §4), and assignment arrives with the contractor ledger.
LEDGER_ROLES = {role: actions for role, actions in DEFAULT_MATRIX.items() if role != "contractor"}

# Reference data: everyone may read it, only the bureau administrator edits it.
REFERENCE_ROLES = {code: "view" for code in ROLES} | {"bureau_admin": "view add change delete"}

ASSET_SELECT = ("unit", "system")


def _asset_summary(obj) -> str:
    """One line about an asset for the system's page."""
    if isinstance(obj, Website):
        return obj.url
    if isinstance(obj, Domain):
        return _("expires on %(date)s") % {"date": obj.expires_on.isoformat()} if obj.expires_on else obj.registrar
    if isinstance(obj, IPRange):
        return obj.purpose
    if isinstance(obj, MobileApp):
        return f"{obj.get_kind_display()} · {obj.get_user_filing_state_display()}"
    if isinstance(obj, Screen):
        return obj.location
    return ""


def system_detail_context(request, system):
    """The system's assets of every type (as far as the user may see them) and its children's-PI checklist."""
    user = request.user
    asset_groups = []
    for model, icon in (
        (Website, "ti-world-www"),
        (Domain, "ti-at"),
        (IPRange, "ti-network"),
        (MobileApp, "ti-device-mobile"),
        (Screen, "ti-device-desktop"),
    ):
        if not user.has_perm(permission_name(model, "view")):
            continue
        config = registry.get(model)
        rows = model.objects.restrict(user, "view").filter(system=system).select_related("unit")
        objects = list(rows[:50])
        add_url = ""
        if user.has_perm(permission_name(model, "add")):
            add_url = f"{config.url('add')}?system={system.pk}&unit={system.unit_id}"
        asset_groups.append(
            {
                "label": model._meta.verbose_name_plural,
                "icon": icon,
                "items": [{"object": o, "summary": _asset_summary(o)} for o in objects],
                "count": rows.count() if len(objects) == 50 else len(objects),
                "list_url": f"{config.url('list')}?system={system.pk}",
                "add_url": add_url,
            }
        )
    from .duties import duty_rows  # noqa: PLC0415 (duties imports the models this module registers)
    from .mlps_views import mlps_system_context  # noqa: PLC0415

    system_duties = duty_rows(InformationSystem.objects.filter(pk=system.pk), MobileApp.objects.none())
    return {
        **mlps_system_context(request, system),
        "system_duties": system_duties,
        "asset_groups": asset_groups,
        "asset_total": sum(g["count"] for g in asset_groups),
        "mlps_state_label": mlps.STATE_LABELS.get(system.mlps_state, system.mlps_state),
        "child_safeguards": system.child_safeguards,
        "child_safeguard_gaps": system.child_safeguard_gaps,
    }


register(
    ModelConfig(
        model=BusinessType,
        form=forms.BusinessTypeForm,
        filterset=filtersets.BusinessTypeFilterSet,
        table=tables.BusinessTypeTable,
        serializer=serializers.BusinessTypeSerializer,
        menu_group=MenuGroup.ASSETS,
        menu_icon="ti-category",
        url_prefix="business-types",
        import_fields=["code", "name", "order", "is_active"],
        bulk_edit_fields=["is_active", "order"],
        roles=REFERENCE_ROLES,
    )
)

_SYSTEM_FIELDS = [
    "unit",
    "name",
    "business_type",
    "responsible_person",
    "contractor",
    "deployment",
    "internet_facing",
    "status",
    "built_on",
    "went_live_on",
    "stopped_on",
    "retired_on",
    "software",
    "version",
    "chip_localization",
    "os_localization",
    "db_localization",
    "middleware_localization",
    "ipv6_support",
    "critical_infrastructure",
    "data_level",
    "holds_pi",
    "holds_sensitive_pi",
    "holds_minor_pi",
    "holds_child_pi",
]

register(
    ModelConfig(
        model=InformationSystem,
        form=forms.InformationSystemForm,
        filterset=filtersets.InformationSystemFilterSet,
        table=tables.InformationSystemTable,
        serializer=serializers.InformationSystemSerializer,
        menu_group=MenuGroup.ASSETS,
        menu_icon="ti-server-2",
        url_prefix="systems",
        import_fields=[*_SYSTEM_FIELDS, *CHILD_SAFEGUARD_FIELDS, "remarks"],
        bulk_edit_fields=[
            "business_type",
            "responsible_person",
            "contractor",
            "deployment",
            "internet_facing",
            "ipv6_support",
            "critical_infrastructure",
            "data_level",
        ],
        select_related=("unit", "business_type", "responsible_person"),
        roles=LEDGER_ROLES,
        # The safeguards (checklist), the MLPS fields and the localization layers have their own cards on the page.
        detail_fields=[*(f for f in _SYSTEM_FIELDS if not f.endswith("_localization")), "remarks"],
        detail_template="assets/system_detail.html",
        detail_context=system_detail_context,
    )
)

register(
    ModelConfig(
        model=Website,
        form=forms.WebsiteForm,
        filterset=filtersets.WebsiteFilterSet,
        table=tables.WebsiteTable,
        serializer=serializers.WebsiteSerializer,
        menu_group=MenuGroup.ASSETS,
        menu_icon="ti-world-www",
        url_prefix="websites",
        import_fields=["unit", "name", "url", "system", "icp_number", "psb_number", "cms", "is_active", "remarks"],
        bulk_edit_fields=["system", "cms", "is_active"],
        select_related=ASSET_SELECT,
        roles=LEDGER_ROLES,
        detail_fields=[
            "unit",
            "name",
            "url",
            "host",
            "system",
            "icp_number",
            "psb_number",
            "cms",
            "is_active",
            "remarks",
        ],
    )
)

register(
    ModelConfig(
        model=Domain,
        form=forms.DomainForm,
        filterset=filtersets.DomainFilterSet,
        table=tables.DomainTable,
        serializer=serializers.DomainSerializer,
        menu_group=MenuGroup.ASSETS,
        menu_icon="ti-at",
        url_prefix="domains",
        import_fields=["unit", "name", "system", "registrar", "expires_on", "remarks"],
        bulk_edit_fields=["system", "registrar", "expires_on"],
        select_related=ASSET_SELECT,
        roles=LEDGER_ROLES,
    )
)

register(
    ModelConfig(
        model=IPRange,
        form=forms.IPRangeForm,
        filterset=filtersets.IPRangeFilterSet,
        table=tables.IPRangeTable,
        serializer=serializers.IPRangeSerializer,
        menu_group=MenuGroup.ASSETS,
        menu_icon="ti-network",
        url_prefix="ip-ranges",
        import_fields=["unit", "cidr", "system", "purpose", "shared", "remarks"],
        bulk_edit_fields=["system", "purpose", "shared"],
        select_related=ASSET_SELECT,
        roles=LEDGER_ROLES,
        detail_fields=["unit", "cidr", "version", "system", "purpose", "shared", "remarks"],
    )
)

register(
    ModelConfig(
        model=MobileApp,
        form=forms.MobileAppForm,
        filterset=filtersets.MobileAppFilterSet,
        table=tables.MobileAppTable,
        serializer=serializers.MobileAppSerializer,
        menu_group=MenuGroup.ASSETS,
        menu_icon="ti-device-mobile",
        url_prefix="apps",
        import_fields=[
            "unit",
            "name",
            "kind",
            "system",
            "provider",
            "provider_filing_number",
            "user_filing_state",
            "icp_filed",
            "mlps_filed",
            "blacklisted",
            "in_use",
            "remarks",
        ],
        bulk_edit_fields=["system", "user_filing_state", "icp_filed", "mlps_filed", "blacklisted", "in_use"],
        select_related=ASSET_SELECT,
        roles=LEDGER_ROLES,
    )
)

register(
    ModelConfig(
        model=Screen,
        form=forms.ScreenForm,
        filterset=filtersets.ScreenFilterSet,
        table=tables.ScreenTable,
        serializer=serializers.ScreenSerializer,
        menu_group=MenuGroup.ASSETS,
        menu_icon="ti-device-desktop",
        url_prefix="screens",
        import_fields=[
            "unit",
            "name",
            "location",
            "system",
            "networked",
            "content_control",
            "responsible_person",
            "remarks",
        ],
        bulk_edit_fields=["system", "networked", "content_control", "responsible_person"],
        select_related=("unit", "system", "responsible_person"),
        roles=LEDGER_ROLES,
    )
)
