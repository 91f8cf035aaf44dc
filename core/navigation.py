"""The navigation menu, built from the registry so that it shows only what exists and what the user may see."""

from django.urls import reverse

from .registry import MenuGroup, menu_items, registry
from .scoping import permission_name


def build_navigation(request) -> list[dict]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    groups: dict[str, dict] = {}
    labels = {
        g[0]: g
        for g in (
            MenuGroup.ORGS,
            MenuGroup.ASSETS,
            MenuGroup.MONITORING,
            MenuGroup.FINDINGS,
            MenuGroup.NOTICES,
            MenuGroup.SYSTEM,
        )
    }
    for config in registry.all():
        if not config.in_menu or not user.has_perm(permission_name(config.model, "view")):
            continue
        key, label, icon = config.menu_group
        group = groups.setdefault(key, {"key": key, "label": label, "icon": icon, "items": []})
        group["items"].append(
            {"label": config.verbose_name_plural, "url": config.url("list"), "icon": config.menu_icon}
        )
    for item in menu_items:
        if not user.has_perm(item["permission"]):
            continue
        key, label, icon = item["group"]
        group = groups.setdefault(key, {"key": key, "label": label, "icon": icon, "items": []})
        group["items"].append({"label": item["label"], "url": reverse(item["url_name"]), "icon": item["icon"]})
    if user.has_perm("core.view_auditentry"):
        key, label, icon = MenuGroup.SYSTEM
        group = groups.setdefault(key, {"key": key, "label": label, "icon": icon, "items": []})
        from django.utils.translation import gettext as _

        group["items"].append({"label": _("Audit log"), "url": reverse("core:audit_list"), "icon": "ti-history"})
    ordered = [groups[k] for k in MenuGroup.ORDER if k in groups and labels]
    mark_active(ordered, request.path)
    return ordered


def mark_active(groups: list[dict], path: str) -> None:
    """Flag the one item of each group whose URL is the longest prefix of ``path``: on ``/monitoring/checks/7/`` the
    checks item is current, not also the status board at ``/monitoring/``."""
    for group in groups:
        matching = [item for item in group["items"] if item["url"] != "/" and path.startswith(item["url"])]
        for item in group["items"]:
            item["active"] = False
        if matching:
            max(matching, key=lambda item: len(item["url"]))["active"] = True
