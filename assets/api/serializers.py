from rest_framework import serializers

from core.api.serializers import ScopedModelSerializer

from ..models import BusinessType, Domain, InformationSystem, IPRange, Localization, MobileApp, Screen, Website

RECORD_FIELDS = ["created_at", "updated_at"]


class BusinessTypeSerializer(ScopedModelSerializer):
    class Meta:
        model = BusinessType
        fields = ["id", "url", "display", "code", "name", "order", "is_active"]


class InformationSystemSerializer(ScopedModelSerializer):
    localization_status = serializers.ChoiceField(
        choices=Localization.choices, read_only=True, help_text="Derived: none / partial / complete over the layers"
    )
    child_safeguard_gaps = serializers.IntegerField(
        read_only=True, help_text="Children's-PI safeguards not fully in place (0 without children's PI)"
    )

    class Meta:
        model = InformationSystem
        fields = [
            "id",
            "url",
            "display",
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
            "localization_status",
            "ipv6_support",
            "critical_infrastructure",
            "data_level",
            "holds_pi",
            "holds_sensitive_pi",
            "holds_minor_pi",
            "holds_child_pi",
            "child_guardian_consent",
            "child_processing_rules",
            "child_encrypted_storage",
            "child_access_control",
            "child_safeguard_gaps",
            "mlps_level",
            "mlps_state",
            "remarks",
            *RECORD_FIELDS,
        ]
        read_only_fields = ["mlps_level", "mlps_state", *RECORD_FIELDS]


class WebsiteSerializer(ScopedModelSerializer):
    # Here ``url`` is the website's own address (the model field, as in forms and spreadsheets); the link to its page
    # in EduSec, which other endpoints call ``url``, is ``page_url``.
    url = serializers.URLField(max_length=500, help_text="The website's address (http:// or https://)")
    display_url = serializers.CharField(
        read_only=True, help_text="The address as people write it: an internationalised host in its own script"
    )
    display_host = serializers.CharField(read_only=True)
    page_url = serializers.SerializerMethodField()

    class Meta:
        model = Website
        fields = [
            "id",
            "page_url",
            "display",
            "unit",
            "system",
            "name",
            "url",
            "display_url",
            "host",
            "display_host",
            "icp_number",
            "psb_number",
            "cms",
            "is_active",
            "remarks",
            *RECORD_FIELDS,
        ]
        read_only_fields = ["host", *RECORD_FIELDS]

    def get_page_url(self, obj) -> str:
        return obj.get_absolute_url()


class DomainSerializer(ScopedModelSerializer):
    display_name = serializers.CharField(
        read_only=True, help_text="The name as people write it: internationalised labels in their own script"
    )

    class Meta:
        model = Domain
        fields = [
            "id",
            "url",
            "display",
            "unit",
            "system",
            "name",
            "display_name",
            "registrar",
            "expires_on",
            "remarks",
            *RECORD_FIELDS,
        ]
        read_only_fields = RECORD_FIELDS


class IPRangeSerializer(ScopedModelSerializer):
    first_address = serializers.CharField(read_only=True)
    last_address = serializers.CharField(read_only=True)

    class Meta:
        model = IPRange
        fields = [
            "id",
            "url",
            "display",
            "unit",
            "system",
            "cidr",
            "version",
            "first_address",
            "last_address",
            "purpose",
            "shared",
            "remarks",
            *RECORD_FIELDS,
        ]
        read_only_fields = ["version", *RECORD_FIELDS]


class MobileAppSerializer(ScopedModelSerializer):
    must_be_cleared = serializers.BooleanField(
        read_only=True, help_text="In use although blacklisted or not user-filed"
    )

    class Meta:
        model = MobileApp
        fields = [
            "id",
            "url",
            "display",
            "unit",
            "system",
            "name",
            "kind",
            "provider",
            "provider_filing_number",
            "user_filing_state",
            "icp_filed",
            "mlps_filed",
            "blacklisted",
            "in_use",
            "must_be_cleared",
            "remarks",
            *RECORD_FIELDS,
        ]
        read_only_fields = RECORD_FIELDS


class ScreenSerializer(ScopedModelSerializer):
    class Meta:
        model = Screen
        fields = [
            "id",
            "url",
            "display",
            "unit",
            "system",
            "name",
            "location",
            "networked",
            "content_control",
            "responsible_person",
            "remarks",
            *RECORD_FIELDS,
        ]
        read_only_fields = RECORD_FIELDS
