from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from treebeard.mp_tree import MP_Node, MP_NodeManager, MP_NodeQuerySet

from core.crypto import EncryptedCharField
from core.models import UnitOwned
from core.scoping import RestrictedQuerySet

from . import validators


class UnitType(models.TextChoices):
    PROVINCE = "province", _("Provincial bureau")
    CITY = "city", _("City bureau")
    DISTRICT = "district", _("District/county bureau")
    SCHOOL = "school", _("School")
    AFFILIATED = "affiliated", _("Directly-affiliated unit")
    OTHER = "other", _("Other")


BUREAU_TYPES = {UnitType.PROVINCE, UnitType.CITY, UnitType.DISTRICT}
# The division-code level each bureau type must carry.
BUREAU_LEVEL = {UnitType.PROVINCE: "province", UnitType.CITY: "city", UnitType.DISTRICT: "county"}


class SchoolStage(models.TextChoices):
    KINDERGARTEN = "kindergarten", _("Kindergarten")
    PRIMARY = "primary", _("Primary")
    JUNIOR = "junior", _("Junior secondary")
    SENIOR = "senior", _("Senior secondary")
    VOCATIONAL = "vocational", _("Secondary vocational")
    SPECIAL = "special", _("Special education")
    HIGHER = "higher", _("Higher education")


class UnitStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")
    CLOSED = "closed", _("Closed or merged")


class UnitQuerySet(RestrictedQuerySet, MP_NodeQuerySet):
    pass


class UnitManager(MP_NodeManager):
    def get_queryset(self):
        return UnitQuerySet(self.model, using=self._db).order_by("path")

    def restrict(self, user, action="view"):
        return self.get_queryset().restrict(user, action)


class Unit(MP_Node):
    """A node of the education hierarchy: bureau, school, directly-affiliated unit or other organisation."""

    name = models.CharField(_("name"), max_length=100)
    short_name = models.CharField(_("short name"), max_length=50, blank=True)
    code = models.CharField(
        _("unit code"),
        max_length=32,
        unique=True,
        blank=True,  # blank in forms: clean() fills the default
        help_text=_("Unique code of the unit; defaults to the school identification code or the division code"),
    )
    unit_type = models.CharField(_("unit type"), max_length=20, choices=UnitType.choices)
    division_code = models.CharField(_("division code"), max_length=6, blank=True, help_text=_("GB/T 2260, 6 digits"))
    school_code = models.CharField(
        _("school identification code"), max_length=10, blank=True, help_text=_("10 digits: type, province, sequence")
    )
    stages = models.JSONField(_("school stages"), default=list, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    contact_name = models.CharField(_("contact person"), max_length=50, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=30, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=UnitStatus.choices, default=UnitStatus.ACTIVE)
    remarks = models.TextField(_("remarks"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = UnitManager()
    scope_path_field = "path"
    import_key = "code"  # how spreadsheets name a unit
    stages_choices = SchoolStage.choices

    @property
    def export_parent(self):
        parent = Unit.objects.get_parent(self) if self.depth > 1 else None
        return parent.code if parent is not None else ""

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(
                fields=["school_code"], condition=~models.Q(school_code=""), name="orgs_unit_school_code_unique"
            ),
        ]

    def __str__(self):
        return self.name

    def get_scope_path(self) -> str:
        return self.path

    def get_absolute_url(self):
        from core.registry import object_url

        return object_url(self)

    @property
    def display_name(self):
        return self.short_name or self.name

    def effective_division_code(self) -> str:
        """The unit's own division code, else the nearest ancestor's (a school inherits its district's)."""
        if self.division_code:
            return self.division_code
        if self.path and self.depth > 1:
            ancestor = (
                Unit.objects.filter(path__in=[self.path[: i * self.steplen] for i in range(1, self.depth)])
                .exclude(division_code="")
                .order_by("-depth")
                .first()
            )
            return ancestor.division_code if ancestor else ""
        return ""

    def clean(self):
        errors = {}
        if self.division_code:
            err = validators.division_code_error(self.division_code)
            if err:
                errors["division_code"] = err
            elif (
                self.unit_type in BUREAU_LEVEL
                and validators.division_level(self.division_code) != BUREAU_LEVEL[self.unit_type]
            ):
                errors["division_code"] = _("The division code's level does not match the unit type")
        elif self.unit_type in BUREAU_TYPES:
            errors["division_code"] = _("A bureau needs its division code")
        if self.unit_type == UnitType.SCHOOL:
            if not self.school_code:
                errors["school_code"] = _("A school needs its school identification code")
            else:
                err = validators.school_code_error(self.school_code, self._division_for_validation())
                if err:
                    errors["school_code"] = err
        elif self.school_code:
            errors["school_code"] = _("Only schools have a school identification code")
        unknown = [s for s in self.stages or [] if s not in SchoolStage.values]
        if unknown:
            errors["stages"] = _("Unknown school stage: %s") % ", ".join(unknown)
        if not self.code:
            self.code = self.school_code or self.division_code
            if not self.code:
                errors["code"] = _("Give a unit code (schools and bureaus default to their own codes)")
        if errors:
            raise ValidationError(errors)

    def _division_for_validation(self) -> str:
        if self.division_code:
            return self.division_code
        parent = getattr(self, "_parent_for_validation", None)
        if parent is not None:
            return parent.effective_division_code()
        return self.effective_division_code() if self.pk else ""

    # Accountability -------------------------------------------------------------------------------------------------

    def accountability_gaps(self, assignments=None) -> list:
        """Required accountable roles that nobody holds in this unit (labels)."""
        if assignments is None:
            held = set(Accountability.objects.filter(unit=self).values_list("role", flat=True))
        else:
            held = {a.role for a in assignments}
        return [AccountableRole(r).label for r in REQUIRED_ROLES if r not in held]


class AccountableRole(models.TextChoices):
    HEAD = "head", _("Head (一把手)")
    LEADER = "leader", _("Leader in charge (分管领导)")
    CIO = "cio", _("CIO (首席信息官)")
    SECURITY_OFFICER = "security_officer", _("Security officer (网络安全管理员)")
    NETADMIN = "netadmin", _("Network administrator (网管员)")


REQUIRED_ROLES = [r.value for r in AccountableRole]


class NetadminMode(models.TextChoices):
    FULL_TIME = "full_time", _("Full-time")
    PART_TIME = "part_time", _("Part-time")


class Person(UnitOwned):
    """Someone the platform must know about (accountable staff, contacts); not necessarily a user."""

    name = models.CharField(_("name"), max_length=50)
    phone = EncryptedCharField(_("mobile phone"), blank=True, max_plain_length=20)
    email = models.EmailField(_("e-mail"), blank=True)
    position = models.CharField(_("position"), max_length=100, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    remarks = models.TextField(_("remarks"), blank=True)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        ordering = ["unit__path", "name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        from core.registry import object_url

        return object_url(self)

    def clean(self):
        if self.phone and not (self.phone.replace("-", "").replace(" ", "").isdigit() and 7 <= len(self.phone) <= 20):
            raise ValidationError({"phone": _("A phone number consists of 7 to 20 digits")})


class Accountability(UnitOwned):
    """A person holding one of the unit's accountable roles (谁主管谁负责)."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="duties", verbose_name=_("person"))
    role = models.CharField(_("accountable role"), max_length=20, choices=AccountableRole.choices)
    netadmin_mode = models.CharField(
        _("full- or part-time"),
        max_length=10,
        choices=NetadminMode.choices,
        blank=True,
        help_text=_("Only for network administrators"),
    )
    appointed_on = models.DateField(_("appointed on"), null=True, blank=True)
    remarks = models.CharField(_("remarks"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("accountable role")
        verbose_name_plural = _("accountable roles")
        ordering = ["unit__path", "role"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "role", "person"], name="orgs_accountability_unique"),
        ]

    def __str__(self):
        return f"{self.get_role_display()}: {self.person}"

    def get_absolute_url(self):
        from core.registry import object_url

        return object_url(self)

    def clean(self):
        errors = {}
        if self.role == AccountableRole.NETADMIN and not self.netadmin_mode:
            errors["netadmin_mode"] = _("Say whether the network administrator is full-time or part-time")
        if self.role != AccountableRole.NETADMIN and self.netadmin_mode:
            errors["netadmin_mode"] = _("Only network administrators are full-time or part-time")
        if self.person_id and self.unit_id:
            person_path = self.person.unit.path
            if not self.unit.path.startswith(person_path):
                errors["person"] = _("The person must belong to this unit or to one above it")
        if errors:
            raise ValidationError(errors)


class UserQuerySet(RestrictedQuerySet):
    pass


class UserManager(DjangoUserManager.from_queryset(UserQuerySet)):
    def _create_user_object(self, username, email, password, **extra_fields):
        user = super()._create_user_object(username, email, password, **extra_fields)
        if password is not None:
            # Through set_password, so the first password starts the expiry clock and enters the reuse history.
            user.set_password(password)
        return user


class User(AbstractUser):
    """A platform account. It belongs to one unit and sees that unit's subtree only."""

    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="users", verbose_name=_("unit")
    )
    full_name = models.CharField(_("full name"), max_length=50, blank=True)
    phone = EncryptedCharField(_("mobile phone"), blank=True, max_plain_length=20)
    person = models.ForeignKey(
        Person, on_delete=models.SET_NULL, null=True, blank=True, related_name="accounts", verbose_name=_("person")
    )
    password_changed_at = models.DateTimeField(_("password changed at"), null=True, blank=True)
    is_demo = models.BooleanField(_("demo account"), default=False, editable=False)

    objects = UserManager()
    scope_path_field = "unit__path"

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["username"]
        permissions = [("assign_roles", "Can grant and revoke roles")]

    def __str__(self):
        return f"{self.full_name} ({self.username})" if self.full_name else self.username

    def get_scope_path(self) -> str:
        return self.unit.path if self.unit_id else ""

    def get_absolute_url(self):
        from core.registry import object_url

        return object_url(self)

    def set_password(self, raw_password):
        super().set_password(raw_password)
        self.password_changed_at = timezone.now()

    def role_codes(self) -> list[str]:
        return sorted(self.groups.values_list("name", flat=True))

    def clean(self):
        super().clean()
        if not self.is_superuser and not self.unit_id:
            raise ValidationError({"unit": _("Every account belongs to a unit")})
