from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.serializers import ScopedModelSerializer

from ..forms import MAX_INTERVAL, MIN_INTERVAL
from ..models import (
    EDITABLE_CHECK_FIELDS,
    LATEST_STATE_FIELDS,
    Check,
    CheckEvent,
    CheckState,
    KeywordEntry,
    MaintenanceWindow,
    ProbeRecord,
)


# Documented as a string with its values rather than an enum: "state" is also the name of other models' choice
# fields, and drf-spectacular's shared enum component name would collide (ENUM_NAME_OVERRIDES is in the settings).
@extend_schema_field(
    {
        "type": "string",
        "description": "One of: " + ", ".join(value for value, _label in CheckState.choices) + " (empty: none).",
    }
)
class CheckStateField(serializers.CharField):
    """A check state: ok, warning, critical, unknown (not probed yet) or maintenance; empty on events without one."""


class CheckSerializer(ScopedModelSerializer):
    """A check and its latest state. Only the schedule and the thresholds are writable (PATCH)."""

    # ``url`` is what is probed (the model field); the site's monitoring page is ``page_url``.
    url = serializers.CharField(read_only=True)
    page_url = serializers.SerializerMethodField()
    website_name = serializers.CharField(source="website.name", read_only=True)
    host = serializers.CharField(source="website.host", read_only=True)
    interval = serializers.IntegerField(min_value=MIN_INTERVAL, max_value=MAX_INTERVAL, required=False)
    grace_failures = serializers.IntegerField(min_value=1, max_value=100, required=False)
    recovery_successes = serializers.IntegerField(min_value=1, max_value=100, required=False)
    state = CheckStateField(read_only=True)

    class Meta:
        model = Check
        fields = [
            "id",
            "page_url",
            "display",
            "unit",
            "website",
            "website_name",
            "host",
            "kind",
            "url",
            *EDITABLE_CHECK_FIELDS,
            *LATEST_STATE_FIELDS,
            "detections",
            "details",
        ]
        read_only_fields = [name for name in fields if name not in EDITABLE_CHECK_FIELDS]

    def get_page_url(self, obj) -> str:
        return obj.get_absolute_url()


class CheckEventSerializer(ScopedModelSerializer):
    """What the monitor saw; the evidence is masked (no raw ID or mobile numbers)."""

    website = serializers.IntegerField(source="site_check.website_id", read_only=True)
    check_kind = serializers.CharField(source="site_check.kind", read_only=True)
    evidence_url = serializers.SerializerMethodField()
    state = CheckStateField(read_only=True)
    summary_text = serializers.CharField(read_only=True, help_text="The summary in the language of the request")

    class Meta:
        model = CheckEvent
        fields = [
            "id",
            "url",
            "display",
            "unit",
            "site_check",
            "website",
            "check_kind",
            "at",
            "kind",
            "detection",
            "state",
            "severity",
            "summary",
            "summary_text",
            "evidence",
            "snapshot",
            "evidence_url",
        ]
        read_only_fields = fields

    def get_evidence_url(self, obj) -> str:
        return reverse("monitoring:evidence", args=[obj.pk])


class ProbeRecordSerializer(ScopedModelSerializer):
    """One probe's raw result (kept only while ``EDUSEC_MONITOR_PROBE_RECORD_DAYS`` is above 0)."""

    website = serializers.IntegerField(source="site_check.website_id", read_only=True)
    check_kind = serializers.CharField(source="site_check.kind", read_only=True)

    class Meta:
        model = ProbeRecord
        fields = ["id", "url", "display", "site_check", "website", "check_kind", "at", "ok", "status_code",
                  "latency_ms", "error"]  # fmt: skip
        read_only_fields = fields


class KeywordEntrySerializer(ScopedModelSerializer):
    class Meta:
        model = KeywordEntry
        fields = ["id", "url", "display", "unit", "category", "word", "whitelist", "enabled", "remarks"]

    def validate_word(self, value):
        word = " ".join(value.split())
        if not word:
            raise serializers.ValidationError(_("Enter a word or phrase."))
        return word


class MaintenanceWindowSerializer(ScopedModelSerializer):
    """A window of one website belongs to the website's unit; without a website it covers every website of its
    ``unit`` (one of the caller's subtree) and of the units under it."""

    class Meta:
        model = MaintenanceWindow
        fields = ["id", "url", "display", "unit", "website", "starts_at", "ends_at", "repeat", "repeat_until", "reason"]
        extra_kwargs = {"unit": {"required": False}}

    def validate(self, attrs):
        website = attrs.get("website", getattr(self.instance, "website", None))
        if website is not None:
            attrs["unit"] = website.unit
        elif attrs.get("unit", getattr(self.instance, "unit", None)) is None:
            raise serializers.ValidationError(
                {"unit": _("Choose a website, or the unit whose websites the window covers.")}
            )
        return super().validate(attrs)


# ---- actions and the status board ------------------------------------------------------------------------------------


class ProbeStartedSerializer(serializers.Serializer):
    task = serializers.IntegerField(help_text=_("The background task's ID (its progress: GET /tasks/<id>/)."))
    checks = serializers.ListField(child=serializers.IntegerField(), help_text=_("The checks being probed."))


class BaselineSerializer(serializers.Serializer):
    check_id = serializers.IntegerField(help_text=_("The content check."))
    reviewed_by = serializers.CharField()
    reviewed_at = serializers.DateTimeField()
    snapshot = serializers.IntegerField(help_text=_("The stored copy of the page the baseline was made from."))
    event = serializers.IntegerField(help_text=_("The BASELINE event recorded on the check."))


class BoardSiteSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    host = serializers.CharField()
    state = serializers.CharField()
    url = serializers.CharField()


class BoardTileSerializer(serializers.Serializer):
    unit = serializers.IntegerField()
    name = serializers.CharField()
    state = serializers.CharField()
    sites = BoardSiteSerializer(many=True)
    counts = serializers.DictField(child=serializers.IntegerField())


class BoardGroupSerializer(serializers.Serializer):
    district = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    tiles = BoardTileSerializer(many=True)
    counts = serializers.DictField(child=serializers.IntegerField())


class BoardSerializer(serializers.Serializer):
    summary = serializers.DictField(child=serializers.IntegerField())
    groups = BoardGroupSerializer(many=True)
