from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from core.api.serializers import ScopedModelSerializer

from ..models import Finding, FindingStatus, ScanImport
from ..workflow import EXCEPTION_STATUSES, assignable_units, risk_of

WORKFLOW_FIELDS = [
    "requested_status",
    "request_reason",
    "requested_by",
    "requested_at",
    "requested_until",
    "accepted_until",
    "status_approved_by",
    "status_approved_at",
    "candidate_unit",
]


class FindingSerializer(ScopedModelSerializer):
    # ``url`` is where the problem is (the model field); the link to the finding's page is ``page_url``.
    url = serializers.CharField(required=False, allow_blank=True)
    page_url = serializers.SerializerMethodField()
    status = serializers.ChoiceField(
        choices=FindingStatus.choices,
        required=False,
        help_text=_(
            "false_positive and risk_accepted cannot be set here: use the request-exception action, then approve."
        ),
    )

    class Meta:
        model = Finding
        fields = [
            "id",
            "page_url",
            "display",
            "unit",
            "source",
            "tool",
            "rule_id",
            "title",
            "description",
            "solution",
            "severity",
            "cve",
            "cwe",
            "cvss_score",
            "cvss_vector",
            "host",
            "ip",
            "port",
            "protocol",
            "url",
            "parameter",
            "evidence",
            "system",
            "website",
            "domain",
            "ip_range",
            "app",
            "attributed",
            "candidate_unit",
            "due_date",
            "status",
            "status_reason",
            "requested_status",
            "request_reason",
            "requested_by",
            "requested_at",
            "requested_until",
            "accepted_until",
            "status_approved_by",
            "status_approved_at",
            "closed_by_rescan",
            "first_seen",
            "last_seen",
            "times_seen",
            "risk_score",
        ]
        read_only_fields = [
            "fingerprint",
            "first_seen",
            "last_seen",
            "times_seen",
            "risk_score",
            "closed_by_rescan",
            "source",
            "tool",
            "attributed",
            *WORKFLOW_FIELDS,
        ]

    def get_page_url(self, obj) -> str:
        return obj.get_absolute_url()

    def validate_status(self, value):
        current = self.instance.status if self.instance is not None else None
        if value in EXCEPTION_STATUSES and value != current:
            raise serializers.ValidationError(
                _(
                    "False positives and accepted risks are requested with the request-exception action and "
                    "approved by a unit above; they cannot be set directly."
                )
            )
        return value

    def validate(self, attrs):
        instance = self.instance
        # The base class applies ``attrs`` to the instance to run its clean(): remember what it was first.
        self._was_status = instance.status if instance is not None else None
        if instance is not None and instance.status in EXCEPTION_STATUSES:
            status = attrs.get("status", instance.status)
            reason = attrs.get("status_reason", instance.status_reason)
            if status == instance.status and (reason or "").strip() != (instance.status_reason or "").strip():
                raise serializers.ValidationError(
                    {
                        "status_reason": _(
                            "This reason was approved with the status; request the status again to change it."
                        )
                    }
                )
        return super().validate(attrs)

    def _with_score(self, validated_data, instance=None):
        probe = Finding(
            severity=validated_data.get("severity", getattr(instance, "severity", "")),
            system=validated_data.get("system", getattr(instance, "system", None)),
        )
        try:
            validated_data["risk_score"] = risk_of(probe).score
        except ValueError:  # a level the scoring does not know: keep the stored score
            pass
        return validated_data

    def create(self, validated_data):
        return super().create(self._with_score(validated_data))

    def update(self, instance, validated_data):
        validated_data = self._with_score(validated_data, instance)
        was = getattr(self, "_was_status", instance.status)
        if was in EXCEPTION_STATUSES and validated_data.get("status", was) != was:
            # Leaving an approved exception: its approval no longer describes the finding.
            validated_data.update(accepted_until=None, status_approved_by=None, status_approved_at=None)
        return super().update(instance, validated_data)


# ---- workflow actions (findings.workflow) ---------------------------------------------------------------------------


class RequestExceptionSerializer(serializers.Serializer):
    requested_status = serializers.ChoiceField(
        choices=[(s.value, s.label) for s in EXCEPTION_STATUSES], help_text=_("The status asked for.")
    )
    reason = serializers.CharField(max_length=4000, help_text=_("Why the finding is a false positive or accepted."))
    until = serializers.DateField(
        required=False,
        allow_null=True,
        help_text=_("Accepted risks only (required there): after today, at most one year ahead."),
    )


class RejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=4000, help_text=_("Why the request is rejected."))


class AssignSerializer(serializers.Serializer):
    unit = serializers.PrimaryKeyRelatedField(
        queryset=assignable_units(None), help_text=_("Your own unit or a unit below it.")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        self.fields["unit"].queryset = assignable_units(getattr(request, "user", None))


class AssignResultSerializer(serializers.Serializer):
    merged = serializers.BooleanField(
        help_text=_("True when the unit already had this finding and the two were merged into that one.")
    )
    detail = serializers.CharField()
    finding = FindingSerializer()


class ScanImportSerializer(ScopedModelSerializer):
    class Meta:
        model = ScanImport
        fields = [
            "id",
            "url",
            "display",
            "unit",
            "file_name",
            "file_format",
            "size",
            "sm3",
            "close_missing",
            "state",
            "error",
            "records",
            "new",
            "updated",
            "reopened",
            "closed",
            "unattributed",
            "rejected",
            "started_at",
            "finished_at",
            "created_at",
        ]
        read_only_fields = fields
