import django_tables2 as tables
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from ..models import ChannelEndpoint, ChannelSubscription, Delivery
from ..tables import BaseTable, bool_icon
from .events import event_label

STATE_COLOURS = {"queued": "secondary", "sending": "azure", "retrying": "orange", "sent": "green", "failed": "red"}


def state_badge(record):
    return format_html(
        '<span class="badge bg-{}-lt">{}</span>',
        STATE_COLOURS.get(record.state, "secondary"),
        record.get_state_display(),
    )


class ChannelEndpointTable(BaseTable):
    name = tables.Column(linkify=True)
    unit = tables.Column(linkify=True)
    events = tables.Column(verbose_name=_("Events"), accessor="pk", orderable=False)

    class Meta(BaseTable.Meta):
        model = ChannelEndpoint
        fields = (
            "select",
            "name",
            "unit",
            "kind",
            "message_format",
            "include_subunits",
            "enabled",
            "remarks",
            "created_at",
            "updated_at",
        )
        sequence = ("select", "name", "unit", "kind", "events", "...")
        default_columns = ("name", "unit", "kind", "events", "include_subunits", "enabled")

    def render_events(self, record):
        labels = [event_label(s.event_type) for s in record.subscriptions.all()]
        return "、".join(labels) if labels else "—"

    def render_enabled(self, value):
        return bool_icon(value)

    def render_include_subunits(self, value):
        return bool_icon(value)


class ChannelSubscriptionTable(BaseTable):
    endpoint = tables.Column(linkify=True)
    unit = tables.Column(linkify=True)
    event_type = tables.Column(linkify=lambda record: record.get_absolute_url())

    class Meta(BaseTable.Meta):
        model = ChannelSubscription
        fields = ("select", "endpoint", "event_type", "unit", "created_at")
        default_columns = ("endpoint", "event_type", "unit", "created_at")

    def render_event_type(self, value):
        return event_label(value)


class DeliveryTable(BaseTable):
    created_at = tables.DateTimeColumn(format="Y-m-d H:i:s", linkify=True)
    title = tables.Column(linkify=True)
    unit = tables.Column(linkify=True)
    endpoint = tables.Column(linkify=True)

    class Meta(BaseTable.Meta):
        model = Delivery
        fields = (
            "select",
            "created_at",
            "title",
            "unit",
            "kind",
            "target",
            "endpoint",
            "event_type",
            "state",
            "attempts",
            "sent_at",
            "next_attempt_at",
            "last_error",
            "is_test",
        )
        default_columns = (
            "created_at",
            "title",
            "unit",
            "kind",
            "target",
            "event_type",
            "state",
            "attempts",
            "last_error",
        )

    def render_state(self, record):
        return state_badge(record)

    def render_event_type(self, value):
        return event_label(value)

    def render_attempts(self, record):
        return f"{record.attempts} / {record.max_attempts}"

    def render_last_error(self, value):
        return value if len(value) <= 80 else value[:80] + "…"

    def render_is_test(self, value):
        return bool_icon(value)
