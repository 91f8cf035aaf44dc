import django_filters
from django.apps import apps
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from ..filtersets import BaseFilterSet, UnitSubtreeFilter, YesNoFilter
from ..models import ChannelEndpoint, ChannelKind, ChannelSubscription, Delivery, DeliveryState
from .events import all_event_choices, event_choices


def _units():
    # core imports no domain app: the unit model by its setting (this module is imported once the models are loaded).
    return apps.get_model(settings.EDUSEC_UNIT_MODEL).objects.all()


class ChannelEndpointFilterSet(BaseFilterSet):
    search_fields = ("name", "remarks", "email_to")
    unit = UnitSubtreeFilter(queryset=_units())
    kind = django_filters.ChoiceFilter(label=_("channel"), choices=ChannelKind.choices)
    enabled = YesNoFilter(label=_("enabled"))
    event_type = django_filters.ChoiceFilter(
        label=_("event type"), choices=event_choices, field_name="subscriptions__event_type", distinct=True
    )

    class Meta:
        model = ChannelEndpoint
        fields = ["q", "unit", "kind", "enabled", "event_type"]


class ChannelSubscriptionFilterSet(BaseFilterSet):
    search_fields = ("endpoint__name",)
    unit = UnitSubtreeFilter(queryset=_units())
    event_type = django_filters.ChoiceFilter(label=_("event type"), choices=event_choices)

    class Meta:
        model = ChannelSubscription
        fields = ["q", "unit", "endpoint", "event_type"]


class DeliveryFilterSet(BaseFilterSet):
    search_fields = ("title", "target")
    unit = UnitSubtreeFilter(queryset=_units())
    kind = django_filters.ChoiceFilter(label=_("channel"), choices=ChannelKind.choices)
    state = django_filters.ChoiceFilter(label=_("state"), choices=DeliveryState.choices)
    event_type = django_filters.ChoiceFilter(label=_("event type"), choices=all_event_choices)
    is_test = YesNoFilter(label=_("test message"))
    created = django_filters.DateFromToRangeFilter(label=_("created"), field_name="created_at")

    class Meta:
        model = Delivery
        fields = ["q", "unit", "kind", "state", "event_type", "endpoint", "is_test", "created"]
