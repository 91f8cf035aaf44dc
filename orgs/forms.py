from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _

from core import roles
from core.forms import ScopedModelForm

from .models import Accountability, Person, SchoolStage, Unit, User


class UnitForm(ScopedModelForm):
    """Create a unit under a parent in the user's subtree, or edit one. Moving is a separate, audited action."""

    parent = forms.ModelChoiceField(
        queryset=Unit.objects.all(),
        label=_("Parent unit"),
        to_field_name=None,
        help_text=_("The unit this one reports to"),
    )
    stages = forms.MultipleChoiceField(
        choices=SchoolStage.choices, required=False, label=_("School stages"), widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Unit
        fields = [
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
            "remarks",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].required = False
        if self.instance.pk:
            # The parent of an existing unit changes only through "move", which re-paths the whole subtree.
            del self.fields["parent"]

    def clean(self):
        cleaned = super().clean()
        if not self.instance.pk:
            self.instance._parent_for_validation = cleaned.get("parent")
        return cleaned

    def _post_clean(self):
        if not self.instance.pk and self.cleaned_data.get("parent") is not None:
            parent = self.cleaned_data["parent"]
            if parent.division_code and self.cleaned_data.get("division_code"):
                if not self.cleaned_data["division_code"].startswith(_division_prefix(parent.division_code)):
                    self.add_error(
                        "division_code",
                        _("The division code must lie within the parent's (%(code)s)") % {"code": parent.division_code},
                    )
        super()._post_clean()

    def save(self, commit=True):
        unit = super().save(commit=False)
        if unit.pk is None:
            parent = self.cleaned_data["parent"]
            # treebeard computes path/depth; add_child saves.
            unit = Unit.objects.add_child(parent, instance=unit)
            self.instance = unit
        elif commit:
            unit.save()
        return unit

    def save_m2m(self):  # no many-to-many fields; the generic views call this after save
        pass


def _division_prefix(code: str) -> str:
    """The prefix every subordinate division code shares: 32 for 320000, 3201 for 320100, the whole code below."""
    if code[2:] == "0000":
        return code[:2]
    if code[4:] == "00":
        return code[:4]
    return code


class UnitMoveForm(forms.Form):
    target = forms.ModelChoiceField(queryset=Unit.objects.all(), label=_("New parent unit"))

    def __init__(self, *args, unit=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.unit = unit
        self.fields["target"].queryset = Unit.objects.restrict(user, "change").exclude(path__startswith=unit.path)


class PersonForm(ScopedModelForm):
    class Meta:
        model = Person
        fields = ["unit", "name", "phone", "email", "position", "is_active", "remarks"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.phone:
            # Never echo the stored number into the page; leaving the field blank keeps it.
            self.initial["phone"] = ""
            self.fields["phone"].help_text = _("Stored (%(masked)s); leave blank to keep it") % {
                "masked": _masked(self.instance.phone)
            }

    def clean_phone(self):
        value = self.cleaned_data.get("phone", "")
        if not value and self.instance.pk:
            return Person.objects.filter(pk=self.instance.pk).values_list("phone", flat=True).first() or ""
        return value


def _masked(value):
    from core.crypto import mask_value

    return mask_value(value)


class AccountabilityForm(ScopedModelForm):
    class Meta:
        model = Accountability
        fields = ["unit", "role", "person", "netadmin_mode", "appointed_on", "remarks"]
        widgets = {"appointed_on": forms.DateInput(attrs={"type": "date"})}


class UserForm(ScopedModelForm):
    """Account data. Roles are granted separately by a security administrator (三员分立)."""

    password1 = forms.CharField(label=_("Password"), widget=forms.PasswordInput, required=False, strip=False)
    password2 = forms.CharField(label=_("Repeat password"), widget=forms.PasswordInput, required=False, strip=False)

    class Meta:
        model = User
        fields = ["username", "full_name", "unit", "person", "email", "phone", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].required = True
        if self.instance.pk:
            del self.fields["password1"]
            del self.fields["password2"]
            if self.instance.phone:
                self.initial["phone"] = ""
                self.fields["phone"].help_text = _("Stored (%(masked)s); leave blank to keep it") % {
                    "masked": _masked(self.instance.phone)
                }
        else:
            self.fields["password1"].required = True
            self.fields["password2"].required = True
            self.fields["password1"].help_text = password_validation.password_validators_help_text_html()

    def clean_phone(self):
        value = self.cleaned_data.get("phone", "")
        if not value and self.instance.pk:
            return User.objects.filter(pk=self.instance.pk).values_list("phone", flat=True).first() or ""
        return value

    def clean(self):
        cleaned = super().clean()
        if not self.instance.pk:
            p1, p2 = cleaned.get("password1"), cleaned.get("password2")
            if p1 and p2 and p1 != p2:
                self.add_error("password2", _("The two passwords differ"))
            elif p1:
                probe = User(
                    username=cleaned.get("username", ""),
                    full_name=cleaned.get("full_name", ""),
                    email=cleaned.get("email", ""),
                )
                try:
                    password_validation.validate_password(p1, probe)
                except forms.ValidationError as exc:
                    self.add_error("password1", exc)
        return cleaned

    def save(self, commit=True):
        user = super().save(commit=False)
        if not user.pk and self.cleaned_data.get("password1"):
            user.set_password(self.cleaned_data["password1"])
        if commit:
            user.save()
        return user


class UserRolesForm(forms.Form):
    roles = forms.MultipleChoiceField(
        choices=roles.role_choices, required=False, widget=forms.CheckboxSelectMultiple, label=_("Roles")
    )

    def __init__(self, *args, target=None, actor=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.target = target
        self.actor = actor

    def clean_roles(self):
        codes = self.cleaned_data["roles"]
        if self.target.pk == self.actor.pk:
            raise forms.ValidationError(_("Nobody can change their own roles"))
        reason = roles.separation_violation(codes)
        if reason:
            raise forms.ValidationError(reason)
        return codes

    def save(self):
        groups = list(Group.objects.filter(name__in=self.cleaned_data["roles"]))
        self.target.groups.set(groups)
        return self.target


class SetPasswordForm(forms.Form):
    password1 = forms.CharField(label=_("New password"), widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(label=_("Repeat password"), widget=forms.PasswordInput, strip=False)

    def __init__(self, *args, target=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.target = target
        self.fields["password1"].help_text = password_validation.password_validators_help_text_html()

    def clean(self):
        cleaned = super().clean()
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("The two passwords differ"))
        elif p1:
            try:
                password_validation.validate_password(p1, self.target)
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned
