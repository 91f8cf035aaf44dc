"""Audit receivers: model changes of registered models, sign-in events, permission changes.

Model changes are caught at the ORM level (not in views) so that the UI, the API, imports, the shell and management
commands are all logged alike.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import receiver

from . import audit
from .models import AuditAction


def _pre_save(sender, instance, raw=False, **kwargs):
    if raw or instance.pk is None:
        instance._audit_before = None
        return
    old = sender._default_manager.filter(pk=instance.pk).first()
    instance._audit_before = audit.snapshot(old) if old is not None else None


def _post_save(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    after = audit.snapshot(instance)
    before = getattr(instance, "_audit_before", None)
    if created or before is None:
        audit.record(AuditAction.CREATE, obj=instance, changes={k: [None, v] for k, v in after.items()})
    else:
        changes = audit.diff(before, after)
        if changes:
            audit.record(AuditAction.UPDATE, obj=instance, changes=changes)
    instance._audit_before = audit.snapshot(instance)


def _post_delete(sender, instance, **kwargs):
    audit.record(AuditAction.DELETE, obj=instance, changes={k: [v, None] for k, v in audit.snapshot(instance).items()})


def connect_model_audit(model):
    uid = f"edusec_audit_{model._meta.label_lower}"
    pre_save.connect(_pre_save, sender=model, dispatch_uid=uid + "_pre")
    post_save.connect(_post_save, sender=model, dispatch_uid=uid + "_post")
    post_delete.connect(_post_delete, sender=model, dispatch_uid=uid + "_del")


@receiver(user_logged_in, dispatch_uid="edusec_audit_login")
def _logged_in(sender, request, user, **kwargs):
    audit.record(AuditAction.LOGIN, user=user, request=request, obj=None)


@receiver(user_logged_out, dispatch_uid="edusec_audit_logout")
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        audit.record(AuditAction.LOGOUT, user=user, request=request)


@receiver(user_login_failed, dispatch_uid="edusec_audit_login_failed")
def _login_failed(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username", ""))[:150]
    user = get_user_model().objects.filter(username=username).select_related("unit").first()
    audit.record(
        AuditAction.LOGIN_FAILED,
        user=user,
        username=username,
        request=request,
        result="failure",
        unit_path=(user.unit.path if user is not None and user.unit_id else ""),
    )


def _groups_changed(sender, instance, action, pk_set, reverse, **kwargs):
    """Granting or revoking roles is a permission change (domain.md §10)."""
    if action not in ("post_add", "post_remove", "post_clear") or reverse:
        return
    from django.contrib.auth.models import Group

    names = sorted(Group.objects.filter(pk__in=pk_set or []).values_list("name", flat=True))
    verb = {"post_add": "granted", "post_remove": "revoked", "post_clear": "cleared"}[action]
    audit.record(
        AuditAction.PERMISSION,
        obj=instance,
        changes={"roles": {verb: names}},
        object_repr=instance.get_username(),
    )


def _group_permissions_changed(sender, instance, action, pk_set, reverse, **kwargs):
    """A role's permission set changed (normally by ``sync_roles`` after an upgrade)."""
    if action not in ("post_add", "post_remove", "post_clear") or reverse:
        return
    from django.contrib.auth.models import Permission

    codes = sorted(
        f"{app}.{code}"
        for app, code in Permission.objects.filter(pk__in=pk_set or []).values_list(
            "content_type__app_label", "codename"
        )
    )
    verb = {"post_add": "granted", "post_remove": "revoked", "post_clear": "cleared"}[action]
    audit.record(
        AuditAction.PERMISSION,
        obj=instance,
        object_repr=f"role {instance.name}",
        changes={"permissions": {verb: codes}},
    )


def connect_permission_audit():
    from django.contrib.auth.models import Group

    user_model = get_user_model()
    m2m_changed.connect(_groups_changed, sender=user_model.groups.through, dispatch_uid="edusec_audit_groups")
    m2m_changed.connect(
        _group_permissions_changed, sender=Group.permissions.through, dispatch_uid="edusec_audit_group_permissions"
    )


try:
    import axes.signals as axes_signals

    @receiver(axes_signals.user_locked_out, dispatch_uid="edusec_audit_locked_out")
    def _locked_out(sender, request, username, ip_address, **kwargs):
        user = get_user_model().objects.filter(username=username).select_related("unit").first()
        audit.record(
            AuditAction.LOCKED_OUT,
            user=user,
            username=username or "",
            request=request,
            result="failure",
            unit_path=(user.unit.path if user is not None and user.unit_id else ""),
        )
except ImportError:  # pragma: no cover - axes is a hard dependency; kept importable for tooling
    pass
