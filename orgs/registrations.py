"""Registers the units-and-people models with the platform base (pages, API, roles, audit)."""

from django.utils.translation import gettext_lazy as _

from core.registry import MenuGroup, ModelConfig, register

from . import filtersets, forms, tables
from .api import serializers
from .models import Accountability, Person, Unit, User
from .views import unit_detail_context, user_detail_context

ORG_ADMINS_WRITE = {
    "bureau_admin": "view add change delete",
    "district_admin": "view add change delete",
    "security_officer": "view",
    "auditor": "view",
}

register(
    ModelConfig(
        model=Unit,
        form=forms.UnitForm,
        filterset=filtersets.UnitFilterSet,
        table=tables.UnitTable,
        serializer=serializers.UnitSerializer,
        menu_group=MenuGroup.ORGS,
        menu_icon="ti-building",
        url_prefix="units",
        import_fields=[
            "parent",
            "name",
            "short_name",
            "unit_type",
            "code",
            "division_code",
            "school_code",
            "stages",
            "address",
            "contact_name",
            "contact_phone",
            "status",
        ],
        bulk_edit_fields=["status", "unit_type", "address", "contact_name", "contact_phone"],
        roles={
            **ORG_ADMINS_WRITE,
            "school_cio": "view change",
            "school_netadmin": "view",
            "contractor": "view",
            "participant": "view",
        },
        detail_template="orgs/unit_detail.html",
        detail_context=unit_detail_context,
    )
)

register(
    ModelConfig(
        model=Person,
        form=forms.PersonForm,
        filterset=filtersets.PersonFilterSet,
        table=tables.PersonTable,
        serializer=serializers.PersonSerializer,
        menu_group=MenuGroup.ORGS,
        menu_icon="ti-users",
        url_prefix="people",
        menu_label=_("People"),
        import_fields=["unit", "name", "phone", "email", "position", "is_active"],
        bulk_edit_fields=["is_active", "position"],
        select_related=("unit",),
        prefetch_related=("duties",),
        roles={**ORG_ADMINS_WRITE, "school_cio": "view add change delete", "school_netadmin": "view"},
    )
)

register(
    ModelConfig(
        model=Accountability,
        form=forms.AccountabilityForm,
        filterset=filtersets.AccountabilityFilterSet,
        table=tables.AccountabilityTable,
        serializer=serializers.AccountabilitySerializer,
        menu_group=MenuGroup.ORGS,
        menu_icon="ti-user-check",
        url_prefix="accountability",
        export_fields=["id", "unit", "role", "person", "netadmin_mode", "appointed_on", "remarks"],
        bulk_edit_fields=["netadmin_mode", "appointed_on"],
        select_related=("unit", "person"),
        roles={**ORG_ADMINS_WRITE, "school_cio": "view add change delete", "school_netadmin": "view"},
    )
)

register(
    ModelConfig(
        model=User,
        form=forms.UserForm,
        filterset=filtersets.UserFilterSet,
        table=tables.UserTable,
        serializer=serializers.UserSerializer,
        menu_group=MenuGroup.ORGS,
        menu_icon="ti-user-shield",
        url_prefix="users",
        export_fields=["id", "username", "full_name", "unit", "email", "phone", "is_active", "last_login"],
        bulk_edit_fields=["is_active"],
        select_related=("unit",),
        prefetch_related=("groups",),
        detail_fields=[
            "username",
            "full_name",
            "unit",
            "person",
            "email",
            "phone",
            "is_active",
            "last_login",
            "password_changed_at",
            "date_joined",
        ],
        detail_template="orgs/user_detail.html",
        detail_context=user_detail_context,
        roles={
            "bureau_admin": "view add change delete",
            "district_admin": "view add change delete",
            "security_officer": "view",
            "auditor": "view",
        },
    )
)
