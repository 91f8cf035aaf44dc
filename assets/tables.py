"""Ledger tables. Systems holding children's personal information carry a badge wherever they are listed."""

import django_tables2 as tables
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.idn import unicode_host, unicode_url
from core.tables import BaseTable, bool_icon

from . import mlps
from .models import BusinessType, Domain, InformationSystem, IPRange, Localization, MobileApp, Screen, Website


def child_pi_badge():
    return format_html(
        '<span class="badge bg-red-lt ms-1" data-testid="child-pi-badge" title="{}">'
        '<i class="ti ti-mood-kid me-1" aria-hidden="true"></i>{}</span>',
        _("Holds personal information of children under 14"),
        _("Children's PI"),
    )


def linked_name(record, text=None):
    return format_html('<a href="{}">{}</a>', record.get_absolute_url(), text if text is not None else str(record))


class BoolColumn(tables.BooleanColumn):
    """Yes/No as a badge, like the detail pages."""

    def render(self, value, record, bound_column):
        return bool_icon(value)


class SystemColumn(tables.Column):
    """An asset's information system, linked, with the children's-PI badge."""

    def __init__(self, **kwargs):
        kwargs.setdefault("verbose_name", _("information system"))
        kwargs.setdefault("order_by", ("system__name",))
        super().__init__(**kwargs)

    def render(self, value):
        if value.holds_child_pi:
            return format_html("{}{}", linked_name(value), child_pi_badge())
        return linked_name(value)


class BusinessTypeTable(BaseTable):
    name = tables.Column(linkify=True)
    is_active = BoolColumn()
    systems = tables.Column(empty_values=(), orderable=False, verbose_name=_("Systems"))

    class Meta(BaseTable.Meta):
        model = BusinessType
        fields = ("select", "order", "code", "name", "is_active", "systems")
        default_columns = ("order", "code", "name", "is_active")

    def render_systems(self, record):
        return record.systems.count()


class InformationSystemTable(BaseTable):
    id = tables.Column(verbose_name="ID")
    name = tables.Column()
    unit = tables.Column(linkify=True)
    business_type = tables.Column()
    responsible_person = tables.Column(linkify=True)
    internet_facing = BoolColumn()
    critical_infrastructure = BoolColumn()
    localization = tables.Column(
        empty_values=(),
        orderable=False,
        verbose_name=_("localization"),
        accessor="localization_status",
    )
    mlps_level = tables.Column()
    mlps_state = tables.Column()
    holds_pi = BoolColumn()
    holds_child_pi = BoolColumn()

    class Meta(BaseTable.Meta):
        model = InformationSystem
        fields = (
            "select",
            "id",
            "name",
            "unit",
            "business_type",
            "responsible_person",
            "contractor",
            "deployment",
            "internet_facing",
            "status",
            "went_live_on",
            "software",
            "version",
            "localization",
            "ipv6_support",
            "critical_infrastructure",
            "data_level",
            "holds_pi",
            "holds_child_pi",
            "mlps_level",
            "mlps_state",
            "updated_at",
        )
        default_columns = (
            "name",
            "unit",
            "business_type",
            "status",
            "internet_facing",
            "data_level",
            "mlps_level",
            "mlps_state",
        )

    def render_name(self, record):
        if record.holds_child_pi:
            return format_html("{}{}", linked_name(record), child_pi_badge())
        return linked_name(record)

    def render_mlps_state(self, value):
        return mlps.STATE_LABELS.get(value, value)

    def render_localization(self, record):
        return Localization(record.localization_status).label

    def value_name(self, record):
        return record.name


class WebsiteTable(BaseTable):
    name = tables.Column(linkify=True)
    url = tables.Column()
    unit = tables.Column(linkify=True)
    system = SystemColumn()
    is_active = BoolColumn()

    class Meta(BaseTable.Meta):
        model = Website
        fields = (
            "select",
            "name",
            "url",
            "host",
            "unit",
            "system",
            "icp_number",
            "psb_number",
            "cms",
            "is_active",
            "updated_at",
        )
        default_columns = ("name", "url", "unit", "system", "icp_number", "psb_number", "is_active")

    def render_url(self, value):
        return format_html('<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>', value, unicode_url(value))

    def render_host(self, value):
        return unicode_host(value)


class DomainTable(BaseTable):
    name = tables.Column(linkify=True)
    unit = tables.Column(linkify=True)
    system = SystemColumn()

    class Meta(BaseTable.Meta):
        model = Domain
        fields = ("select", "name", "unit", "system", "registrar", "expires_on", "updated_at")
        default_columns = ("name", "unit", "system", "registrar", "expires_on")

    def render_name(self, value):
        return unicode_host(value)


class IPRangeTable(BaseTable):
    cidr = tables.Column(linkify=True, order_by=("version", "start_hex", "end_hex"))
    version = tables.Column()
    unit = tables.Column(linkify=True)
    system = SystemColumn()
    shared = BoolColumn()
    size = tables.Column(empty_values=(), orderable=False, verbose_name=_("Addresses"))

    class Meta(BaseTable.Meta):
        model = IPRange
        fields = ("select", "cidr", "version", "size", "unit", "system", "purpose", "shared", "updated_at")
        default_columns = ("cidr", "version", "unit", "system", "purpose", "shared")

    def render_size(self, record):
        size = record.size
        return f"{size:,}" if size < 2**64 else f"2^{size.bit_length() - 1}"


class MobileAppTable(BaseTable):
    name = tables.Column()
    unit = tables.Column(linkify=True)
    system = SystemColumn()
    icp_filed = BoolColumn()
    mlps_filed = BoolColumn()
    blacklisted = BoolColumn()
    in_use = BoolColumn()

    class Meta(BaseTable.Meta):
        model = MobileApp
        fields = (
            "select",
            "name",
            "kind",
            "unit",
            "system",
            "provider",
            "provider_filing_number",
            "user_filing_state",
            "icp_filed",
            "mlps_filed",
            "blacklisted",
            "in_use",
            "updated_at",
        )
        default_columns = (
            "name",
            "kind",
            "unit",
            "provider",
            "provider_filing_number",
            "user_filing_state",
            "icp_filed",
            "mlps_filed",
            "blacklisted",
            "in_use",
        )

    def render_name(self, record):
        if record.must_be_cleared:
            reason = _("Blacklisted") if record.blacklisted else _("Not filed")
            return format_html(
                '{}<span class="badge bg-orange-lt ms-1" title="{}">{}</span>',
                linked_name(record),
                _("In use although blacklisted or not filed: must be cleared"),
                reason,
            )
        return linked_name(record)

    def value_name(self, record):
        return record.name


class ScreenTable(BaseTable):
    name = tables.Column(linkify=True)
    unit = tables.Column(linkify=True)
    system = SystemColumn()
    networked = BoolColumn()
    responsible_person = tables.Column(linkify=True)

    class Meta(BaseTable.Meta):
        model = Screen
        fields = (
            "select",
            "name",
            "location",
            "unit",
            "system",
            "networked",
            "content_control",
            "responsible_person",
            "updated_at",
        )
        default_columns = ("name", "location", "unit", "networked", "content_control", "responsible_person")
