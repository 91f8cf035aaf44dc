from django.db import transaction
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from core.api.serializers import MaskedField, ScopedModelSerializer
from core.roles import ROLES

from ..models import Accountability, Person, SchoolStage, Unit, User


class UnitSerializer(ScopedModelSerializer):
    parent = serializers.PrimaryKeyRelatedField(
        queryset=Unit.objects.all(), required=False, allow_null=False, help_text=_("Parent unit (on create only)")
    )
    stages = serializers.ListField(child=serializers.ChoiceField(choices=SchoolStage.choices), required=False)
    code = serializers.CharField(max_length=32, required=False, allow_blank=True)

    class Meta:
        model = Unit
        fields = [
            "id",
            "url",
            "display",
            "parent",
            "name",
            "short_name",
            "code",
            "unit_type",
            "division_code",
            "school_code",
            "stages",
            "address",
            "contact_name",
            "contact_phone",
            "status",
            "remarks",
            "depth",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["depth", "created_at", "updated_at"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        parent = Unit.objects.get_parent(instance) if instance.depth > 1 else None
        data["parent"] = parent.pk if parent is not None else None
        return data

    def validate(self, attrs):
        if self.instance is None:
            if "parent" not in attrs:
                raise serializers.ValidationError({"parent": _("A new unit needs its parent unit")})
            parent = attrs["parent"]
            probe = Unit(**{k: v for k, v in attrs.items() if k != "parent"})
            probe._parent_for_validation = parent
            probe.full_clean(exclude=["path", "depth", "numchild"], validate_unique=False)
            attrs["code"] = probe.code
            return attrs
        if "parent" in attrs:
            raise serializers.ValidationError({"parent": _("Move a unit with the move action, not by editing")})
        return super().validate(attrs)

    def _clean_exclude(self, model):
        return ["path", "depth", "numchild"]

    def create(self, validated_data):
        parent = validated_data.pop("parent")
        with transaction.atomic():
            return Unit.objects.add_child(parent, validated_data)


class PersonSerializer(ScopedModelSerializer):
    phone = MaskedField(required=False, allow_blank=True, max_length=20)

    class Meta:
        model = Person
        fields = [
            "id",
            "url",
            "display",
            "unit",
            "name",
            "phone",
            "email",
            "position",
            "is_active",
            "remarks",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


class AccountabilitySerializer(ScopedModelSerializer):
    class Meta:
        model = Accountability
        fields = ["id", "url", "display", "unit", "role", "person", "netadmin_mode", "appointed_on", "remarks"]


class UserSerializer(ScopedModelSerializer):
    phone = MaskedField(required=False, allow_blank=True, max_length=20)
    roles = serializers.SerializerMethodField()
    password = serializers.CharField(write_only=True, required=False, style={"input_type": "password"})

    class Meta:
        model = User
        fields = [
            "id",
            "url",
            "display",
            "username",
            "full_name",
            "unit",
            "person",
            "email",
            "phone",
            "is_active",
            "roles",
            "last_login",
            "password",
        ]
        read_only_fields = ["last_login"]

    def get_roles(self, obj) -> list[str]:
        return [g.name for g in obj.groups.all() if g.name in ROLES]

    def validate(self, attrs):
        from django.contrib.auth import password_validation

        password = attrs.get("password")
        if self.instance is None and not password:
            raise serializers.ValidationError({"password": _("A new account needs a password")})
        if password:
            probe = self.instance or User(username=attrs.get("username", ""))
            try:
                password_validation.validate_password(password, probe)
            except Exception as exc:  # django ValidationError → field error
                raise serializers.ValidationError({"password": list(getattr(exc, "messages", [str(exc)]))}) from exc
        if attrs.get("unit") is None and self.instance is None:
            raise serializers.ValidationError({"unit": _("Every account belongs to a unit")})
        return super().validate(attrs)

    def create(self, validated_data):
        password = validated_data.pop("password")
        user = User(**validated_data)
        user.set_password(password)
        user.save()
        return user

    def update(self, instance, validated_data):
        password = validated_data.pop("password", None)
        for key, value in validated_data.items():
            setattr(instance, key, value)
        if password:
            instance.set_password(password)
        instance.save()
        return instance
