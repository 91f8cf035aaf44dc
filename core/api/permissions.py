from rest_framework.permissions import DjangoModelPermissions


class RestrictedModelPermissions(DjangoModelPermissions):
    """Model permissions for every method, reads included. Rows are further limited by ``restrict`` in the viewset,
    so an object outside the caller's subtree is never found (404)."""

    perms_map = {
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": [],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "POST": ["%(app_label)s.add_%(model_name)s"],
        "PUT": ["%(app_label)s.change_%(model_name)s"],
        "PATCH": ["%(app_label)s.change_%(model_name)s"],
        "DELETE": ["%(app_label)s.delete_%(model_name)s"],
    }
