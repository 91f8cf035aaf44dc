"""Roles: named bundles of model permissions, held by users as Django groups.

A role never widens *where* a user may act: that is always the user's unit subtree (see ``core.scoping``). It decides
*what* the user may do there. The permission matrix for each model is declared where the model is registered
(``core.registry.register(..., roles=...)``); ``sync_roles`` turns the matrices into group permissions after every
migrate, so the database always matches the code.

System, security and audit administration are separate duties (三员分立): a user may hold roles of at most one of
those duties, and only holders of the security duty may grant roles.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

SYSTEM, SECURITY, AUDIT, BUSINESS = "system", "security", "audit", "business"

DUTY_LABELS = {
    SYSTEM: _("System administration"),
    SECURITY: _("Security administration"),
    AUDIT: _("Audit administration"),
    BUSINESS: _("Business"),
}


@dataclass(frozen=True)
class Role:
    code: str
    label: str
    duty: str
    description: str = ""

    @property
    def is_administrator(self) -> bool:
        """Administrator roles must use a second factor (domain.md §10)."""
        return self.duty in (SYSTEM, SECURITY, AUDIT)


ROLES: dict[str, Role] = {
    r.code: r
    for r in [
        Role("bureau_admin", _("Bureau administrator"), SYSTEM, _("Manages units, people and accounts of the bureau")),
        Role(
            "district_admin", _("District administrator"), SYSTEM, _("Manages units, people and accounts of a district")
        ),
        Role("security_officer", _("Security officer"), SECURITY, _("Runs security work and grants roles")),
        Role("school_cio", _("School CIO"), BUSINESS, _("Chief information officer of a school")),
        Role("school_netadmin", _("School network administrator"), BUSINESS, _("Operates a school's network")),
        Role("contractor", _("Contractor"), BUSINESS, _("Operates assets assigned to it")),
        Role("auditor", _("Auditor"), AUDIT, _("Reads everything in its subtree and the audit log; changes nothing")),
        Role("participant", _("Participant"), BUSINESS, _("Takes part in quizzes and training")),
    ]
}

ACTIONS = ("view", "add", "change", "delete")

# The matrix a unit-owned business model gets unless its registration says otherwise.
DEFAULT_MATRIX = {
    "bureau_admin": "view add change delete",
    "district_admin": "view add change delete",
    "security_officer": "view add change delete",
    "school_cio": "view add change delete",
    "school_netadmin": "view add change delete",
    "contractor": "view",
    "auditor": "view",
}

# Permissions that belong to no registered model's matrix.
EXTRA_PERMISSIONS = {
    "auditor": ["core.view_auditentry"],
    "security_officer": ["orgs.assign_roles"],
}


def role_choices():
    return [(r.code, r.label) for r in ROLES.values()]


def duties_of(role_codes) -> set[str]:
    return {ROLES[c].duty for c in role_codes if c in ROLES}


def separation_violation(role_codes) -> str | None:
    """A reason when the roles mix system, security and audit duties, else None."""
    admin_duties = duties_of(role_codes) - {BUSINESS}
    if len(admin_duties) > 1:
        names = "、".join(str(DUTY_LABELS[d]) for d in sorted(admin_duties))
        return str(_("System, security and audit administration are separate duties; these roles combine: %s")) % names
    return None


def user_roles(user) -> list[Role]:
    if not getattr(user, "is_authenticated", False):
        return []
    names = getattr(user, "_edusec_role_codes", None)
    if names is None:
        names = list(user.groups.values_list("name", flat=True))
        user._edusec_role_codes = names
    return [ROLES[n] for n in names if n in ROLES]


def is_administrator(user) -> bool:
    return any(r.is_administrator for r in user_roles(user))


def sync_roles(**kwargs):
    """Create one group per role and give it exactly the permissions its matrices name."""
    from django.contrib.auth.models import Group, Permission

    from .registry import registry

    wanted: dict[str, set[tuple[str, str]]] = {code: set() for code in ROLES}
    for config in registry.all():
        opts = config.model._meta
        for role, actions in config.role_matrix().items():
            for action in actions.split():
                wanted[role].add((opts.app_label, f"{action}_{opts.model_name}"))
    for role, perms in EXTRA_PERMISSIONS.items():
        for perm in perms:
            app_label, codename = perm.split(".")
            wanted[role].add((app_label, codename))

    for code, perms in wanted.items():
        group, _created = Group.objects.get_or_create(name=code)
        objs = []
        for app_label, codename in sorted(perms):
            perm = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if perm is not None:
                objs.append(perm)
        current = set(group.permissions.values_list("pk", flat=True))
        if current != {p.pk for p in objs}:
            group.permissions.set(objs)


def connect_role_sync():
    from django.db.models.signals import post_migrate

    post_migrate.connect(sync_roles, dispatch_uid="edusec_sync_roles")
