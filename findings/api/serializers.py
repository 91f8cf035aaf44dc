from rest_framework import serializers

from core.api.serializers import ScopedModelSerializer

from ..models import Finding, ScanImport


class FindingSerializer(ScopedModelSerializer):
    # ``url`` is where the problem is (the model field); the link to the finding's page is ``page_url``.
    url = serializers.CharField(required=False, allow_blank=True)
    page_url = serializers.SerializerMethodField()

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
            "attributed",
            "status",
            "status_reason",
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
        ]

    def get_page_url(self, obj) -> str:
        return obj.get_absolute_url()


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
