"""The MLPS duty list and the bureau's coverage view, both limited to the user's subtree."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from core import audit, xlsx
from core.models import AuditAction
from orgs.models import Unit

from . import mlps
from .duties import coverage, duty_rows
from .models import InformationSystem, MobileApp


class ViewSystemsRequired(LoginRequiredMixin):
    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.has_perm("assets.view_informationsystem"):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


def _scoped_units(request):
    """The units a user may pick to narrow a page: their subtree."""
    return Unit.objects.restrict(request.user, "view")


class DutyListView(ViewSystemsRequired, View):
    """Due and overdue MLPS and app duties of the user's subtree, with counts per unit."""

    template_name = "assets/duties.html"

    def get(self, request):
        systems = InformationSystem.objects.restrict(request.user, "view")
        apps = MobileApp.objects.restrict(request.user, "view")
        unit = None
        unit_id = request.GET.get("unit", "")
        if unit_id.isdigit():
            unit = _scoped_units(request).filter(pk=unit_id).first()
            if unit is not None:
                systems = systems.filter(unit__path__startswith=unit.path)
                apps = apps.filter(unit__path__startswith=unit.path)
        states = request.GET.getlist("state") or [mlps.DUTY_OVERDUE, mlps.DUTY_DUE_SOON]
        kind = request.GET.get("kind", "")
        rows = [r for r in duty_rows(systems, apps) if r.duty.state in states and (not kind or r.duty.kind == kind)]
        rows.sort(
            key=lambda r: (-mlps.DUTY_STATE_ORDER[r.duty.state], r.duty.due_on or timezone.localdate(), r.unit.path)
        )
        if request.GET.get("export") in ("csv", "xlsx"):
            return self.export(rows, request.GET["export"])
        per_unit = {}
        for row in rows:
            entry = per_unit.setdefault(row.unit.pk, {"unit": row.unit, "overdue": 0, "due_soon": 0})
            entry[row.duty.state] = entry.get(row.duty.state, 0) + 1
        query = request.GET.copy()
        query.pop("export", None)
        return render(
            request,
            self.template_name,
            {
                "rows": rows[:1000],
                "total": len(rows),
                "per_unit": sorted(per_unit.values(), key=lambda e: (-e["overdue"], -e["due_soon"], e["unit"].path)),
                "units": _scoped_units(request).exclude(unit_type="school")[:500],
                "selected_unit": unit,
                "states": states,
                "state_choices": mlps.DUTY_STATES,
                "kind": kind,
                "kind_choices": mlps.DUTY_KINDS,
                "querystring": query.urlencode(),
                "today": timezone.localdate(),
            },
        )

    def export(self, rows, fmt):
        data = [[_("Unit"), _("Object"), _("Duty"), _("Due on"), _("State"), _("Detail")]]
        for r in rows:
            data.append(
                [
                    r.unit.name,
                    str(r.subject),
                    str(r.kind_label),
                    r.duty.due_on.isoformat() if r.duty.due_on else "",
                    str(r.state_label),
                    r.duty.detail,
                ]
            )
        audit.record(
            AuditAction.EXPORT,
            object_type="assets.duty",
            object_repr=f"MLPS duties ({len(rows)})",
            changes={"format": fmt, "rows": len(rows)},
        )
        if fmt == "xlsx":
            body = xlsx.write_xlsx(data, str(_("Duties")))
            ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        else:
            body, ctype = xlsx.write_csv(data), "text/csv; charset=utf-8"
        response = HttpResponse(body, content_type=ctype)
        response["Content-Disposition"] = f'attachment; filename="duties-{timezone.localdate():%Y%m%d}.{fmt}"'
        return response


class CoverageView(ViewSystemsRequired, View):
    """MLPS coverage per subordinate unit: graded, filed and assessed on time, by level; a table and a chart."""

    template_name = "assets/coverage.html"

    def get(self, request):
        root = request.user.unit
        if request.GET.get("unit", "").isdigit():
            root = _scoped_units(request).filter(pk=request.GET["unit"]).first() or root
        if root is None:
            raise PermissionDenied
        children = list(
            Unit.objects.filter(path__startswith=root.path, depth=root.depth + 1)
            .exclude(unit_type="school")
            .order_by("path")
        )
        rows = [root, *children] if children else [root]
        table = coverage(InformationSystem.objects.restrict(request.user, "view"), rows)
        # The root row counts its whole subtree; each child row its own.
        chart = {
            "units": [e["unit"].display_name for e in table[1:]] or [table[0]["unit"].display_name],
            "graded": [e["graded"] for e in table[1:]] or [table[0]["graded"]],
            "ungraded": [e["systems"] - e["graded"] for e in table[1:]] or [table[0]["systems"] - table[0]["graded"]],
            "filed": [e["filed"] for e in table[1:]] or [table[0]["filed"]],
            "assessed": [e["assessed_on_time"] for e in table[1:]] or [table[0]["assessed_on_time"]],
            "labels": {
                "graded": _("Graded"),
                "ungraded": _("Not graded"),
                "filed": _("Filed"),
                "assessed": _("Assessed on time"),
            },
        }
        return render(
            request,
            self.template_name,
            {
                "root": root,
                "table": table,
                "levels": range(1, 6),
                "chart": chart,
                "units": _scoped_units(request).exclude(unit_type="school")[:500],
            },
        )
