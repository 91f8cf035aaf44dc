from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from core.api.serializers import ScopedModelSerializer
from findings.models import Finding, Severity
from orgs.models import Unit

from ..models import DeadlinePolicy, Notice, NoticeKind, NoticeState, Rectification, RectificationItem


class RectificationItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = RectificationItem
        fields = ["id", "finding", "title", "location", "severity", "action_taken", "review", "review_note", "reprobe"]
        read_only_fields = fields


class NoticeSerializer(ScopedModelSerializer):
    recipients = serializers.SerializerMethodField()

    class Meta:
        model = Notice
        fields = [
            "id", "url", "display", "unit", "kind", "number", "year", "sequence", "title", "body", "severity",
            "deadline", "required_evidence", "signer", "state", "origin", "upstream_number", "issued_at", "issued_by",
            "closed_at", "withdrawn_reason", "recipients", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = [
            "number", "year", "sequence", "state", "origin", "issued_at", "issued_by", "closed_at", "withdrawn_reason",
        ]  # fmt: skip

    def get_recipients(self, obj) -> list[dict]:
        """Per recipient unit: its rectification, state, deadline and whether it is overdue (the notice's progress)."""
        return [
            {
                "rectification": r.pk,
                "unit": r.unit_id,
                "state": r.state,
                "deadline": r.deadline,
                "overdue": r.is_overdue,
            }
            for r in obj.rectifications.all()
        ]

    def validate(self, attrs):
        if self.instance is not None and self.instance.state != NoticeState.DRAFT:
            raise serializers.ValidationError(
                _("Only a draft can be changed; withdraw the notice and issue a new one.")
            )
        return super().validate(attrs)


class RectificationSerializer(ScopedModelSerializer):
    items = RectificationItemSerializer(many=True, read_only=True)
    notice_number = serializers.CharField(source="notice.number", read_only=True)
    notice_title = serializers.CharField(source="notice.title", read_only=True)
    overdue = serializers.BooleanField(source="is_overdue", read_only=True)

    class Meta:
        model = Rectification
        fields = [
            "id", "url", "display", "unit", "notice", "notice_number", "notice_title", "state", "deadline", "overdue",
            "acknowledged_at", "assignee", "contractor", "report", "responsible", "contact", "submitted_at",
            "submitted_by", "rounds", "reviewer", "return_reason", "closed_at", "reminded_at", "escalated_at",
            "was_overdue", "items",
        ]  # fmt: skip
        read_only_fields = fields


class DeadlinePolicySerializer(ScopedModelSerializer):
    class Meta:
        model = DeadlinePolicy
        fields = [
            "id", "url", "display", "unit", "number_pattern", "critical_days", "high_days", "medium_days", "low_days",
            "info_days", "reminder_days",
        ]  # fmt: skip

    def validate_number_pattern(self, value):
        from ..rules import check_pattern

        if check_pattern(value):
            raise serializers.ValidationError(
                _("The pattern must contain {n} and only the placeholders {issuer}, {year} and {n}.")
            )
        return value


# ---- action inputs ---------------------------------------------------------------------------------------------------


class DraftSerializer(serializers.Serializer):
    issuer = serializers.PrimaryKeyRelatedField(queryset=Unit.objects.all())
    findings = serializers.PrimaryKeyRelatedField(queryset=Finding.objects.all(), many=True)
    one_per_unit = serializers.BooleanField(default=True)
    kind = serializers.ChoiceField(choices=NoticeKind.choices, default=NoticeKind.RECTIFICATION)
    title = serializers.CharField(max_length=200)
    body = serializers.CharField()
    severity = serializers.ChoiceField(choices=Severity.choices, required=False, allow_blank=True, default="")
    deadline = serializers.DateTimeField(required=False, allow_null=True, default=None)
    required_evidence = serializers.CharField(required=False, allow_blank=True, default="")
    signer = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        user = getattr(self.context.get("request"), "user", None)
        if user is not None:
            self.fields["issuer"].queryset = Unit.objects.restrict(user, "view")
            self.fields["findings"].child_relation.queryset = Finding.objects.restrict(user, "view")


class RecipientsSerializer(serializers.Serializer):
    units = serializers.PrimaryKeyRelatedField(queryset=Unit.objects.all(), many=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        user = getattr(self.context.get("request"), "user", None)
        if user is not None:
            self.fields["units"].child_relation.queryset = Unit.objects.restrict(user, "view")


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField()


class RectificationAssignSerializer(serializers.Serializer):
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.all(), required=False, allow_null=True
    )
    contractor = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        user = getattr(self.context.get("request"), "user", None)
        if user is not None:
            self.fields["assignee"].queryset = get_user_model().objects.restrict(user, "view")


class ReportSerializer(serializers.Serializer):
    report = serializers.CharField()
    responsible = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
    contact = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
    actions = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        default=dict,
        help_text="Item ID → what was done.",
    )


class EvidenceSerializer(serializers.Serializer):
    file = serializers.FileField()
    item = serializers.IntegerField(required=False, allow_null=True, default=None)


class CloseSerializer(serializers.Serializer):
    decisions = serializers.DictField(
        child=serializers.ChoiceField(choices=["verified", "evidence", "next_scan"]),
        required=False,
        default=dict,
        help_text=(
            "Item ID → verified | evidence | next_scan; omitted items: verified when re-probed green, else evidence."
        ),
    )
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ReturnSerializer(serializers.Serializer):
    reason = serializers.CharField()
    rejected = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)


class DeadlineSerializer(serializers.Serializer):
    deadline = serializers.DateTimeField()


class RateSerializer(serializers.Serializer):
    unit = serializers.IntegerField(source="unit.pk")
    unit_name = serializers.CharField(source="unit.name")
    total = serializers.IntegerField()
    closed = serializers.IntegerField()
    overdue = serializers.IntegerField(help_text="Overdue now")
    ever_overdue = serializers.IntegerField(help_text="Ran over the deadline at some time (for the annual assessment)")
    on_time_rate = serializers.FloatField(allow_null=True)
    closure_rate = serializers.FloatField(allow_null=True)
