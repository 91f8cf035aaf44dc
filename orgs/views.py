from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View

from core import audit
from core.models import AuditAction
from core.roles import ROLES

from .forms import SetPasswordForm, UnitMoveForm, UserRolesForm
from .models import Accountability, AccountableRole, Person, Unit, UnitType, User


def unit_detail_context(request, unit):
    """Who is accountable, which required roles are empty, and what lies below the unit."""
    user = request.user
    assignments = list(
        Accountability.objects.restrict(user, "view").filter(unit=unit).select_related("person").order_by("role")
    )
    by_role = {}
    for a in assignments:
        by_role.setdefault(a.role, []).append(a)
    accountability = [{"role": role, "assignments": by_role.get(role.value, [])} for role in AccountableRole]
    children = Unit.objects.restrict(user, "view").filter(path__startswith=unit.path, depth=unit.depth + 1)
    descendants = Unit.objects.restrict(user, "view").filter(path__startswith=unit.path).exclude(pk=unit.pk)
    type_counts = {
        UnitType(row["unit_type"]).label: row["n"]
        for row in descendants.values("unit_type").annotate(n=Count("id")).order_by("unit_type")
    }
    ancestors = [a for a in Unit.objects.get_ancestors(unit) if user.is_superuser or a.path.startswith(user.unit.path)]
    return {
        "accountability": accountability,
        "gaps": unit.accountability_gaps(assignments),
        "children": children[:200],
        "children_count": children.count(),
        "descendant_type_counts": type_counts,
        "people": Person.objects.restrict(user, "view").filter(unit=unit)[:100],
        "ancestors": ancestors,
        "can_move": user.has_perm("orgs.change_unit") and unit.path != getattr(user.unit, "path", None),
    }


def user_detail_context(request, account):
    return {
        "roles": [ROLES[g.name] for g in account.groups.all() if g.name in ROLES],
        "can_assign_roles": request.user.has_perm("orgs.assign_roles") and request.user.pk != account.pk,
        "can_set_password": request.user.has_perm("orgs.change_user"),
        "has_totp": account.totpdevice_set.filter(confirmed=True).exists(),
    }


class UnitMoveView(LoginRequiredMixin, View):
    """Move a unit with its whole subtree under another unit; audited as one 'move' entry."""

    template_name = "orgs/unit_move.html"

    def get_unit(self, pk):
        unit = get_object_or_404(Unit.objects.restrict(self.request.user, "change"), pk=pk)
        if unit.path == getattr(self.request.user.unit, "path", None):
            raise PermissionDenied  # nobody moves the root of their own scope out of it
        return unit

    def get(self, request, pk):
        unit = self.get_unit(pk)
        return render(request, self.template_name, {"object": unit, "form": UnitMoveForm(unit=unit, user=request.user)})

    def post(self, request, pk):
        unit = self.get_unit(pk)
        form = UnitMoveForm(request.POST, unit=unit, user=request.user)
        if not form.is_valid():
            return render(request, self.template_name, {"object": unit, "form": form})
        target = form.cleaned_data["target"]
        old_parent = Unit.objects.get_parent(unit)
        old_path = unit.path
        size = Unit.objects.filter(path__startswith=unit.path).count()
        with transaction.atomic():
            Unit.objects.move(unit, target, "last-child")
            unit.refresh_from_db()
            audit.record(
                AuditAction.MOVE,
                obj=unit,
                changes={
                    "parent": [str(old_parent), str(target)],
                    "path": [old_path, unit.path],
                    "subtree_size": size,
                },
            )
        messages.success(
            request,
            ngettext(
                "Moved %(unit)s (%(n)d unit) under %(target)s",
                "Moved %(unit)s (with %(n)d units) under %(target)s",
                size,
            )
            % {"unit": unit, "n": size, "target": target},
        )
        return HttpResponseRedirect(unit.get_absolute_url())


class UserRolesView(LoginRequiredMixin, View):
    """Grant or revoke roles: the security administrator's duty, never one's own (三员分立)."""

    template_name = "orgs/user_roles.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.has_perm("orgs.assign_roles"):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_target(self, pk):
        return get_object_or_404(User.objects.restrict(self.request.user, "view"), pk=pk)

    def get(self, request, pk):
        target = self.get_target(pk)
        form = UserRolesForm(initial={"roles": target.role_codes()}, target=target, actor=request.user)
        return render(request, self.template_name, {"object": target, "form": form})

    def post(self, request, pk):
        target = self.get_target(pk)
        form = UserRolesForm(request.POST, target=target, actor=request.user)
        if form.is_valid():
            with transaction.atomic():
                form.save()
            messages.success(request, _("Roles of %(user)s saved") % {"user": target})
            return HttpResponseRedirect(target.get_absolute_url())
        return render(request, self.template_name, {"object": target, "form": form})


class UserSetPasswordView(LoginRequiredMixin, View):
    """An administrator sets a new password for an account in their subtree; audited as a password change."""

    template_name = "orgs/user_set_password.html"

    def get_target(self, pk):
        return get_object_or_404(User.objects.restrict(self.request.user, "change"), pk=pk)

    def get(self, request, pk):
        target = self.get_target(pk)
        return render(request, self.template_name, {"object": target, "form": SetPasswordForm(target=target)})

    def post(self, request, pk):
        target = self.get_target(pk)
        form = SetPasswordForm(request.POST, target=target)
        if form.is_valid():
            with transaction.atomic():
                target.set_password(form.cleaned_data["password1"])
                target.save()
                audit.record(
                    AuditAction.PASSWORD,
                    obj=target,
                    object_repr=target.username,
                    changes={"set_by": request.user.username},
                )
            messages.success(request, _("Password of %(user)s changed") % {"user": target})
            return HttpResponseRedirect(target.get_absolute_url())
        return render(request, self.template_name, {"object": target, "form": form})
