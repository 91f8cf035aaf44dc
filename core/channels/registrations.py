"""Registers the channel models with the platform base: pages, API, menu, role permissions and audit."""

from django.utils.translation import gettext_lazy as _

from ..models import ChannelEndpoint, ChannelSubscription, Delivery
from ..registry import MenuGroup, ModelConfig, register
from . import api, filtersets, forms, tables
from .views import delivery_detail_context, endpoint_detail_context

# A unit's administrators and security officers manage its channels; the network administrator and auditors read.
CHANNEL_ROLES = {
    "bureau_admin": "view add change delete",
    "district_admin": "view add change delete",
    "security_officer": "view add change delete",
    "school_cio": "view add change delete",
    "school_netadmin": "view",
    "auditor": "view",
}

endpoint_config = register(
    ModelConfig(
        model=ChannelEndpoint,
        form=forms.ChannelEndpointForm,
        filterset=filtersets.ChannelEndpointFilterSet,
        table=tables.ChannelEndpointTable,
        serializer=api.ChannelEndpointSerializer,
        api_viewset=api.ChannelEndpointViewSet,
        menu_group=MenuGroup.SYSTEM,
        menu_icon="ti-bell-ringing",
        url_prefix="channels/endpoints",
        bulk_edit_fields=["enabled", "include_subunits"],
        # Never the address or the secret: both are credentials.
        export_fields=["id", "unit", "name", "kind", "message_format", "include_subunits", "enabled", "remarks"],
        select_related=("unit",),
        prefetch_related=("subscriptions",),
        roles=CHANNEL_ROLES,
        detail_template="core/channels/endpoint_detail.html",
        detail_context=endpoint_detail_context,
        detail_fields=["unit", "name", "kind", "email_to", "message_format", "include_subunits", "enabled", "remarks"],
    )
)

subscription_config = register(
    ModelConfig(
        model=ChannelSubscription,
        form=forms.ChannelSubscriptionForm,
        filterset=filtersets.ChannelSubscriptionFilterSet,
        table=tables.ChannelSubscriptionTable,
        serializer=api.ChannelSubscriptionSerializer,
        menu_group=MenuGroup.SYSTEM,
        in_menu=False,
        url_prefix="channels/subscriptions",
        export_fields=["id", "unit", "endpoint", "event_type"],
        select_related=("unit", "endpoint"),
        roles=CHANNEL_ROLES,
        detail_fields=["unit", "endpoint", "event_type"],
    )
)

delivery_config = register(
    ModelConfig(
        model=Delivery,
        form=None,
        filterset=filtersets.DeliveryFilterSet,
        table=tables.DeliveryTable,
        serializer=api.DeliverySerializer,
        api_viewset=api.DeliveryViewSet,
        menu_group=MenuGroup.SYSTEM,
        menu_icon="ti-send",
        menu_label=_("Delivery log"),
        url_prefix="channels/deliveries",
        export_fields=[
            "id",
            "created_at",
            "unit",
            "kind",
            "target",
            "event_type",
            "title",
            "state",
            "attempts",
            "sent_at",
            "last_error",
        ],
        select_related=("unit", "endpoint"),
        # Written by the platform only; read by those who manage or audit the unit's channels.
        roles={code: "view" for code in CHANNEL_ROLES},
        detail_template="core/channels/delivery_detail.html",
        detail_context=delivery_detail_context,
        detail_fields=[
            "unit",
            "kind",
            "target",
            "endpoint",
            "recipient",
            "event_type",
            "title",
            "body",
            "link",
            "is_test",
            "uuid",
        ],
    )
)
