"""The one place where visibility of unit-owned rows is decided.

Every view, API endpoint, export, import and search reaches unit-owned rows through ``restrict(user, action)``. A row is
visible when the user's role grants ``action`` on its model *and* the row's unit lies in the user's unit subtree.
Anything else is simply absent from the queryset, which is why a sibling's object answers 404 rather than 403.
"""

from django.db import models


def user_scope_path(user) -> str | None:
    """Materialised path of the user's unit, the prefix of everything the user may see."""
    unit = getattr(user, "unit", None)
    return getattr(unit, "path", None) if unit is not None else None


def permission_name(model, action: str) -> str:
    opts = model._meta
    return f"{opts.app_label}.{action}_{opts.model_name}"


class RestrictedQuerySet(models.QuerySet):
    def restrict(self, user, action: str = "view"):
        if user is None or not getattr(user, "is_authenticated", False):
            return self.none()
        if user.is_superuser:
            # Superusers exist to install and repair the platform; they see everything.
            return self
        if not user.has_perm(permission_name(self.model, action)):
            return self.none()
        if self.model.scope_path_field is None:
            # Reference data shared by the whole installation (e.g. business types): permission decides alone.
            return self
        path = user_scope_path(user)
        if not path:
            return self.none()
        qs = self.filter(**{f"{self.model.scope_path_field}__startswith": path})
        narrow = getattr(self.model, "restrict_for_user", None)
        if narrow is not None:
            # A model may narrow further for some roles (e.g. contractors see only what is assigned to them).
            qs = narrow(qs, user, action)
        return qs


class RestrictedManager(models.Manager.from_queryset(RestrictedQuerySet)):
    pass
