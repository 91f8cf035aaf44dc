import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from core.tables import BaseTable, ChoiceListColumn, MaskedColumn

from .models import Accountability, Person, SchoolStage, Unit, User


class UnitTable(BaseTable):
    name = tables.Column(linkify=True, verbose_name=_("name"))
    code = tables.Column()
    unit_type = tables.Column()
    parent = tables.Column(empty_values=(), orderable=False, verbose_name=_("Parent unit"))
    division_code = tables.Column()
    school_code = tables.Column()
    stages = ChoiceListColumn(SchoolStage.choices, verbose_name=_("school stages"))
    status = tables.Column()
    contact_name = tables.Column()
    address = tables.Column()
    numchild = tables.Column(verbose_name=_("Subordinate units"))

    class Meta(BaseTable.Meta):
        model = Unit
        fields = (
            "select",
            "name",
            "short_name",
            "code",
            "unit_type",
            "parent",
            "division_code",
            "school_code",
            "stages",
            "status",
            "contact_name",
            "contact_phone",
            "address",
            "numchild",
            "updated_at",
        )
        default_columns = ("name", "code", "unit_type", "parent", "school_code", "stages", "status")

    def __init__(self, data, *args, **kwargs):
        super().__init__(data, *args, **kwargs)
        self._parents = None

    def render_parent(self, record):
        # One query for all parents on the page instead of one per row.
        if self._parents is None:
            rows = self.page.object_list if hasattr(self, "page") else self.rows
            paths = {row.record.path[: -Unit.steplen] for row in rows}
            self._parents = dict(Unit.objects.filter(path__in=paths).values_list("path", "name"))
        return self._parents.get(record.path[: -Unit.steplen], "—")


class PersonTable(BaseTable):
    name = tables.Column(linkify=True)
    unit = tables.Column(linkify=True)
    phone = MaskedColumn()
    duties = tables.Column(empty_values=(), orderable=False, verbose_name=_("Accountable roles"))

    class Meta(BaseTable.Meta):
        model = Person
        fields = ("select", "name", "unit", "position", "phone", "email", "duties", "is_active", "updated_at")
        default_columns = ("name", "unit", "position", "phone", "duties", "is_active")

    def render_duties(self, record):
        return "、".join(sorted({d.get_role_display() for d in record.duties.all()})) or "—"


class AccountabilityTable(BaseTable):
    role = tables.Column(linkify=True)
    person = tables.Column(linkify=True)
    unit = tables.Column(linkify=True)

    class Meta(BaseTable.Meta):
        model = Accountability
        fields = ("select", "role", "person", "unit", "netadmin_mode", "appointed_on", "remarks")
        default_columns = ("role", "person", "unit", "netadmin_mode", "appointed_on")


class UserTable(BaseTable):
    username = tables.Column(linkify=True)
    unit = tables.Column(linkify=True)
    roles = tables.Column(empty_values=(), orderable=False, verbose_name=_("Roles"))
    phone = MaskedColumn()

    class Meta(BaseTable.Meta):
        model = User
        fields = ("select", "username", "full_name", "unit", "roles", "email", "phone", "is_active", "last_login")
        default_columns = ("username", "full_name", "unit", "roles", "is_active", "last_login")

    def render_roles(self, record):
        from core.roles import ROLES

        return "、".join(str(ROLES[g.name].label) for g in record.groups.all() if g.name in ROLES) or "—"
