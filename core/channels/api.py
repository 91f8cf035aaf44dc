"""REST API of the notification channels.

* ``/api/core/channels/endpoints/`` (CRUD, scoped; ``POST …/{id}/test/`` sends a test message),
  ``/api/core/channels/subscriptions/`` (CRUD, scoped) and ``/api/core/channels/deliveries/`` (read, with attempts):
  registered models, routed by ``edusec/api_urls.py`` like every other.
* ``/api/core/notifications/`` (the caller's own: list, read, mark read, mark all read, unread count) and
  ``/api/core/notification-preferences/`` (the caller's own): routed in ``core/urls.py``.

Webhook addresses and secrets are write-only: reads show them masked.
"""

from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import audit
from ..api.serializers import ScopedModelSerializer
from ..api.views import RestrictedModelViewSet
from ..models import (
    AuditAction,
    ChannelEndpoint,
    ChannelSubscription,
    Delivery,
    DeliveryAttempt,
    Notification,
    NotificationPreference,
)
from .events import event_choices, event_label, event_types
from .masking import mask_secret, mask_url


class EventTypeField(serializers.ChoiceField):
    """An event-type code. Choices are read from the registry each time a serializer is built (DRF copies declared
    fields per serializer instance), so types registered after this module was imported are accepted too."""

    def __init__(self, **kwargs):
        kwargs.pop("choices", None)
        super().__init__(choices=[(code, str(label)) for code, label in event_choices()], **kwargs)


# ---- endpoints and subscriptions ------------------------------------------------------------------------------------


class ChannelEndpointSerializer(ScopedModelSerializer):
    webhook_url = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=500,
        help_text=gettext_lazy("Write-only. Empty or absent on update: keep the stored address."),
    )
    secret = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=200,
        trim_whitespace=True,
        style={"input_type": "password"},
        help_text=gettext_lazy("Write-only. Empty or absent on update: keep the stored secret."),
    )
    clear_secret = serializers.BooleanField(
        write_only=True, required=False, default=False, help_text=gettext_lazy("Remove the stored secret.")
    )
    webhook_url_masked = serializers.SerializerMethodField()
    secret_masked = serializers.SerializerMethodField()
    event_types = serializers.ListField(
        child=EventTypeField(),
        required=False,
        help_text=gettext_lazy("Event types this endpoint receives; replaces the subscriptions when given."),
    )

    class Meta:
        model = ChannelEndpoint
        fields = [
            "id",
            "url",
            "display",
            "unit",
            "name",
            "kind",
            "webhook_url",
            "webhook_url_masked",
            "secret",
            "clear_secret",
            "secret_masked",
            "email_to",
            "message_format",
            "event_types",
            "include_subunits",
            "enabled",
            "remarks",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def get_webhook_url_masked(self, obj) -> str:
        return mask_url(obj.webhook_url or "")

    def get_secret_masked(self, obj) -> str:
        return mask_secret(obj.secret or "")

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["event_types"] = instance.event_types
        return data

    def validate(self, attrs):
        codes = attrs.pop("event_types", None)
        clear = attrs.pop("clear_secret", False)
        instance = self.instance
        for name in ("webhook_url", "secret"):
            if name in attrs:
                attrs[name] = (attrs[name] or "").strip()
                if not attrs[name] and instance is not None:
                    attrs.pop(name)  # empty: keep what is stored
        if clear:
            attrs["secret"] = ""
        kind = attrs.get("kind", getattr(instance, "kind", None))
        if kind == "email":
            attrs["webhook_url"], attrs["secret"] = "", ""
        elif kind:
            attrs["email_to"] = ""
        attrs = super().validate(attrs)
        if codes is not None:
            attrs["event_types"] = list(dict.fromkeys(codes))
        return attrs

    def create(self, validated_data):
        from .forms import sync_subscriptions

        codes = validated_data.pop("event_types", None)
        instance = super().create(validated_data)
        if codes is not None:
            sync_subscriptions(instance, codes)
        return instance

    def update(self, instance, validated_data):
        from .forms import sync_subscriptions

        codes = validated_data.pop("event_types", None)
        instance = super().update(instance, validated_data)
        if codes is not None:
            sync_subscriptions(instance, codes)
        return instance


class TestSentSerializer(serializers.Serializer):
    delivery = serializers.IntegerField()
    url = serializers.CharField()
    state = serializers.CharField()


class ChannelEndpointViewSet(RestrictedModelViewSet):
    def get_queryset(self):
        return super().get_queryset().prefetch_related("subscriptions")

    @extend_schema(
        summary="Send a test message",
        description="Queue one test message (a single attempt, no retries) to this endpoint; follow the returned "
        "delivery for the outcome. Needs the right to change the endpoint.",
        request=None,
        responses={202: TestSentSerializer, 404: OpenApiResponse(description="Not found in your subtree.")},
    )
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        from .service import send_test

        if not request.user.has_perm("core.change_channelendpoint"):
            self.permission_denied(request)
        endpoint = get_object_or_404(ChannelEndpoint.objects.restrict(request.user, "change"), pk=pk)
        delivery = send_test(endpoint, request.user)
        record_test(delivery, request._request)
        return Response(
            {"delivery": delivery.pk, "url": delivery.get_absolute_url(), "state": delivery.state},
            status=status.HTTP_202_ACCEPTED,
        )


def record_test(delivery, request):
    audit.record(
        AuditAction.CREATE,
        obj=delivery,
        request=request,
        changes={"test_message": True, "endpoint": delivery.endpoint_id, "target": delivery.target},
    )


class ChannelSubscriptionSerializer(ScopedModelSerializer):
    event_type = EventTypeField()
    event_label = serializers.SerializerMethodField()

    class Meta:
        model = ChannelSubscription
        fields = ["id", "url", "display", "unit", "endpoint", "event_type", "event_label", "created_at"]
        read_only_fields = ["unit", "created_at"]

    def get_event_label(self, obj) -> str:
        return event_label(obj.event_type)

    def validate(self, attrs):
        endpoint = attrs.get("endpoint") or getattr(self.instance, "endpoint", None)
        if endpoint is not None:
            attrs["unit"] = endpoint.unit
        return super().validate(attrs)


# ---- deliveries -----------------------------------------------------------------------------------------------------


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["number", "started_at", "duration_ms", "success", "http_status", "result", "response", "error"]


class DeliverySerializer(ScopedModelSerializer):
    event_type = serializers.CharField(read_only=True)  # any registered code, internal ones included
    event_label = serializers.SerializerMethodField()
    attempt_log = DeliveryAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "url",
            "display",
            "uuid",
            "unit",
            "endpoint",
            "recipient",
            "kind",
            "target",
            "event_type",
            "event_label",
            "title",
            "body",
            "link",
            "state",
            "attempts",
            "max_attempts",
            "next_attempt_at",
            "sent_at",
            "last_error",
            "is_test",
            "created_at",
            "attempt_log",
        ]
        read_only_fields = fields

    def get_event_label(self, obj) -> str:
        return event_label(obj.event_type)


class DeliveryViewSet(RestrictedModelViewSet):
    """Read-only: deliveries are written by the platform itself."""

    http_method_names = ["get", "head", "options"]

    def get_queryset(self):
        return super().get_queryset().prefetch_related("attempt_log")


# ---- the caller's notifications -------------------------------------------------------------------------------------


class NotificationSerializer(serializers.ModelSerializer):
    event_type = serializers.CharField(read_only=True)
    event_label = serializers.SerializerMethodField()
    unit_name = serializers.SerializerMethodField()
    object_type = serializers.SerializerMethodField()
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = [
            "id",
            "event_type",
            "event_label",
            "title",
            "body",
            "url",
            "unit",
            "unit_name",
            "object_type",
            "object_id",
            "read",
            "read_at",
            "created_at",
        ]
        read_only_fields = fields

    def get_event_label(self, obj) -> str:
        return event_label(obj.event_type)

    def get_unit_name(self, obj) -> str:
        return obj.unit.name if obj.unit_id else ""

    def get_object_type(self, obj) -> str:
        return f"{obj.content_type.app_label}.{obj.content_type.model}" if obj.content_type_id else ""

    def get_read(self, obj) -> bool:
        return obj.read_at is not None


class NotificationFilterSet(filters.FilterSet):
    unread = filters.BooleanFilter(field_name="read_at", lookup_expr="isnull", label=gettext_lazy("unread"))
    event_type = filters.CharFilter(label=gettext_lazy("event type"))

    class Meta:
        model = Notification
        fields = ["unread", "event_type"]


_count = inline_serializer("NotificationCount", {"unread": serializers.IntegerField()})
_marked = inline_serializer("NotificationsMarked", {"marked": serializers.IntegerField()})


def mark_read(user, queryset, request=None) -> int:
    """Mark the given notifications of ``user`` read (audited); returns how many changed."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(queryset.restrict(user).unread().values_list("pk", flat=True)[:10000])
        changed = Notification.objects.filter(pk__in=ids).update(read_at=now)
        if changed:
            single = Notification.objects.get(pk=ids[0]) if len(ids) == 1 else None
            audit.record(
                AuditAction.UPDATE,
                obj=single,
                user=user,
                request=request,
                object_type="core.notification",
                object_repr=str(single) if single else _("%(n)d notifications marked read") % {"n": changed},
                changes={"read_at": [None, now.isoformat()], "notifications": ids[:100]},
            )
    return changed


@extend_schema(tags=["notifications"])
class NotificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The caller's own in-app notifications, newest first."""

    serializer_class = NotificationSerializer
    permission_classes = [IsAuthenticated]
    filterset_class = NotificationFilterSet
    ordering_fields = ["created_at"]
    queryset = Notification.objects.none()

    def get_queryset(self):
        return Notification.objects.restrict(self.request.user).select_related("unit", "content_type")

    @extend_schema(summary="Mark one notification read", request=None, responses={200: NotificationSerializer})
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        notification = self.get_object()
        mark_read(request.user, Notification.objects.filter(pk=notification.pk), request._request)
        notification.refresh_from_db()
        return Response(self.get_serializer(notification).data)

    @extend_schema(summary="Mark all notifications read", request=None, responses={200: _marked})
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        return Response({"marked": mark_read(request.user, Notification.objects.all(), request._request)})

    @extend_schema(summary="Count unread notifications", responses={200: _count})
    @action(detail=False, methods=["get"], url_path="unread-count", filter_backends=[], pagination_class=None)
    def unread_count(self, request):
        return Response({"unread": Notification.objects.restrict(request.user).unread().count()})


class PreferenceSerializer(serializers.Serializer):
    event_type = EventTypeField()
    label = serializers.CharField(read_only=True)
    in_app = serializers.BooleanField(default=True)
    email = serializers.BooleanField(default=False)


def preference_rows(user) -> list[dict]:
    stored = {p.event_type: p for p in NotificationPreference.objects.filter(user=user)}
    rows = []
    for event in event_types(subscribable_only=True):
        pref = stored.get(event.code)
        rows.append(
            {
                "event_type": event.code,
                "label": str(event.label),
                "in_app": pref.in_app if pref else True,
                "email": pref.email if pref else False,
            }
        )
    return rows


def save_preferences(user, choices: dict[str, tuple[bool, bool]], request=None) -> dict:
    """Store the user's choices (event code → (in_app, email)); audited with the changes. Returns the changes."""
    before = {r["event_type"]: (r["in_app"], r["email"]) for r in preference_rows(user)}
    changes = {}
    with transaction.atomic():
        for code, (in_app, email) in choices.items():
            if code not in before:
                continue
            if before[code] != (in_app, email):
                changes[code] = [
                    {"in_app": before[code][0], "email": before[code][1]},
                    {"in_app": in_app, "email": email},
                ]
            NotificationPreference.objects.update_or_create(
                user=user, event_type=code, defaults={"in_app": in_app, "email": email}
            )
        if changes:
            audit.record(
                AuditAction.UPDATE,
                user=user,
                request=request,
                object_type="core.notificationpreference",
                object_repr=_("Notification settings of %(user)s") % {"user": user.get_username()},
                changes=changes,
            )
    return changes


@extend_schema(tags=["notifications"])
class NotificationPreferenceView(APIView):
    """The caller's choices per event type: in the platform (default on) and by e-mail (default off)."""

    permission_classes = [IsAuthenticated]
    serializer_class = PreferenceSerializer

    @extend_schema(summary="My notification settings", responses={200: PreferenceSerializer(many=True)})
    def get(self, request):
        return Response(preference_rows(request.user))

    @extend_schema(
        summary="Change my notification settings",
        description="Send the rows to change; event types left out keep their setting.",
        request=PreferenceSerializer(many=True),
        responses={200: PreferenceSerializer(many=True)},
    )
    def put(self, request):
        serializer = PreferenceSerializer(data=request.data, many=True)
        serializer.is_valid(raise_exception=True)
        choices = {row["event_type"]: (row["in_app"], row["email"]) for row in serializer.validated_data}
        if any(email for _in_app, email in choices.values()) and not request.user.email:
            return Response(
                {"email": [_("Your account has no e-mail address; ask an administrator to add one.")]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        save_preferences(request.user, choices, request._request)
        return Response(preference_rows(request.user))
