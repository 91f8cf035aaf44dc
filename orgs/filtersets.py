import django_filters
from django.utils.translation import gettext_lazy as _

from core.filtersets import BaseFilterSet, UnitSubtreeFilter, YesNoFilter
from core.roles import role_choices

from .models import Accountability, AccountableRole, Person, SchoolStage, Unit, UnitStatus, UnitType, User


class UnitFilterSet(BaseFilterSet):
    search_fields = ("name", "short_name", "code", "school_code", "division_code", "address")
    within = UnitSubtreeFilter(queryset=Unit.objects.all(), path_lookup="path", label=_("Within unit"))
    unit_type = django_filters.MultipleChoiceFilter(choices=UnitType.choices, label=_("Unit type"))
    status = django_filters.MultipleChoiceFilter(choices=UnitStatus.choices, label=_("Status"))
    stage = django_filters.ChoiceFilter(choices=SchoolStage.choices, method="filter_stage", label=_("School stage"))
    depth = django_filters.NumberFilter(label=_("Depth"))

    class Meta:
        model = Unit
        fields = ["q", "within", "unit_type", "status", "stage", "code", "division_code", "school_code", "depth"]

    def filter_stage(self, queryset, name, value):
        # JSON containment is not portable to SQLite; the quoted value inside the JSON text is.
        return queryset.filter(stages__icontains=f'"{value}"') if value else queryset


class PersonFilterSet(BaseFilterSet):
    search_fields = ("name", "email", "position")
    unit = UnitSubtreeFilter(queryset=Unit.objects.all())
    is_active = YesNoFilter(label=_("active"))

    class Meta:
        model = Person
        fields = ["q", "unit", "is_active"]


class AccountabilityFilterSet(BaseFilterSet):
    search_fields = ("person__name", "unit__name")
    unit = UnitSubtreeFilter(queryset=Unit.objects.all())
    role = django_filters.MultipleChoiceFilter(choices=AccountableRole.choices, label=_("Accountable role"))

    class Meta:
        model = Accountability
        fields = ["q", "unit", "role", "netadmin_mode"]


class UserFilterSet(BaseFilterSet):
    search_fields = ("username", "full_name", "email")
    unit = UnitSubtreeFilter(queryset=Unit.objects.all())
    role = django_filters.ChoiceFilter(choices=role_choices, field_name="groups__name", label=_("Role"))
    is_active = YesNoFilter(label=_("active"))

    class Meta:
        model = User
        fields = ["q", "unit", "role", "is_active"]
