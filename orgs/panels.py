"""The units-and-people panel of the home page."""

from django.db.models import Count

from core.registry import register_home_panel

from .models import REQUIRED_ROLES, Accountability, Person, Unit, UnitType


def subtree_summary(user) -> dict:
    """Counts for the user's subtree: units by type, people, and units whose accountable roles are not all filled."""
    units = Unit.objects.restrict(user, "view")
    by_type = dict(units.values_list("unit_type").annotate(n=Count("id")).order_by())
    held: dict[int, set] = {}
    for unit_id, role in Accountability.objects.restrict(user, "view").values_list("unit_id", "role").distinct():
        held.setdefault(unit_id, set()).add(role)
    unit_rows = list(units.values_list("id", "name"))
    gap_units = []
    for unit_id, name in unit_rows:
        missing = [r for r in REQUIRED_ROLES if r not in held.get(unit_id, set())]
        if missing:
            gap_units.append({"id": unit_id, "name": name, "missing": len(missing)})
    return {
        "unit_total": len(unit_rows),
        "unit_counts": [
            {"label": t.label, "count": by_type[t.value], "type": t.value} for t in UnitType if by_type.get(t.value)
        ],
        "people_total": Person.objects.restrict(user, "view").count(),
        "gap_unit_total": len(gap_units),
        "gap_units": sorted(gap_units, key=lambda g: -g["missing"])[:10],
        "role_gap_total": sum(g["missing"] for g in gap_units),
    }


@register_home_panel
def org_panel(request):
    if not request.user.has_perm("orgs.view_unit"):
        return None
    return "orgs/panels/subtree_summary.html", subtree_summary(request.user)
