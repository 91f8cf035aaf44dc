from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils.translation import gettext_lazy as _

from .scoping import RestrictedManager


class UnitOwned(models.Model):
    """Base of every row that belongs to a unit.

    Reach such rows only through ``Model.objects.restrict(user, action)``.
    """

    unit = models.ForeignKey(
        settings.EDUSEC_UNIT_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("unit")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    objects = RestrictedManager()

    # The lookup that leads from this model to the owning unit's materialised path.
    scope_path_field = "unit__path"

    class Meta:
        abstract = True

    def get_scope_path(self) -> str:
        return self.unit.path if self.unit_id else ""


class AuditAction(models.TextChoices):
    CREATE = "create", _("Create")
    UPDATE = "update", _("Update")
    DELETE = "delete", _("Delete")
    MOVE = "move", _("Move")
    LOGIN = "login", _("Login")
    LOGOUT = "logout", _("Logout")
    LOGIN_FAILED = "login_failed", _("Failed login")
    LOCKED_OUT = "locked_out", _("Locked out")
    EXPORT = "export", _("Export")
    IMPORT = "import", _("Import")
    PERMISSION = "permission", _("Permission change")
    PASSWORD = "password", _("Password change")
    OTP = "otp", _("Second factor")
    REVEAL = "reveal", _("Reveal sensitive field")


class AuditQuerySet(models.QuerySet):
    """Append-only: the ORM refuses to change or remove entries."""

    def update(self, **kwargs):
        raise PermissionDenied("audit entries are append-only")

    def delete(self):
        raise PermissionDenied("audit entries are append-only")

    def _raw_delete(self, using):
        raise PermissionDenied("audit entries are append-only")

    def restrict(self, user, action: str = "view"):
        """Auditors read entries about their own subtree (by the object's or, for sign-ins, the actor's unit)."""
        from .scoping import user_scope_path

        if user is None or not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        if action != "view" or not user.has_perm("core.view_auditentry"):
            return self.none()
        path = user_scope_path(user)
        return self.filter(unit_path__startswith=path) if path else self.none()


class AuditEntry(models.Model):
    """One tamper-evident line of the audit log: ``hash = SM3(prev_hash ‖ canonical JSON of the entry)``."""

    seq = models.PositiveBigIntegerField(_("sequence"), unique=True, editable=False)
    timestamp = models.DateTimeField(_("time"), db_index=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        verbose_name=_("user"),
    )
    username = models.CharField(_("username"), max_length=150, blank=True, db_index=True)
    ip = models.CharField(_("source address"), max_length=64, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=255, blank=True)
    action = models.CharField(_("action"), max_length=20, choices=AuditAction.choices, db_index=True)
    result = models.CharField(
        _("result"), max_length=10, default="success", choices=[("success", _("Success")), ("failure", _("Failure"))]
    )
    object_type = models.CharField(_("object type"), max_length=100, blank=True, db_index=True)
    object_id = models.CharField(_("object ID"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=255, blank=True)
    unit_path = models.CharField(_("unit path"), max_length=255, blank=True, db_index=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, editable=False)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-seq"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")

    def __str__(self):
        return f"#{self.seq} {self.timestamp:%Y-%m-%d %H:%M:%S} {self.username} {self.action} {self.object_repr}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionDenied("audit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionDenied("audit entries are append-only")


class AuditChainHead(models.Model):
    """The last link of the chain. Locked while appending so concurrent writers form one chain, and compared by
    ``audit_verify`` so that removing the newest entries is detected too."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self):
        return f"audit chain head #{self.seq}"


class UserPreference(models.Model):
    """Per-user UI settings, such as the columns chosen for a list."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preferences")
    key = models.CharField(max_length=200)
    value = models.JSONField(default=list)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="core_userpreference_unique")]

    def __str__(self):
        return f"{self.user_id}:{self.key}"


class PasswordHistory(models.Model):
    """Hashes of a user's previous passwords, for the no-reuse rule."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="password_history")
    password = models.CharField(max_length=256)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"password of user {self.user_id} set {self.created_at:%Y-%m-%d}"


class TaskRun(models.Model):
    """One execution of a background task: its state and progress, shown in the UI for long jobs."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Running")
        SUCCESS = "success", _("Succeeded")
        FAILURE = "failure", _("Failed")

    name = models.CharField(_("task"), max_length=200)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    progress = models.PositiveSmallIntegerField(_("progress"), default=0)
    message = models.TextField(_("message"), blank=True)
    result = models.JSONField(_("result"), null=True, blank=True)
    executor = models.CharField(_("executor"), max_length=20, blank=True)
    # Who started it (None for scheduled jobs): only they may follow its progress.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.state})"


def attachment_upload_to(instance, filename):
    """A random stored name: the uploader's file name is kept in ``name`` and never becomes a path."""
    import uuid

    from django.utils import timezone

    return f"attachments/{timezone.now():%Y/%m}/{uuid.uuid4().hex}"


class Attachment(UnitOwned):
    """An evidence file attached to any unit-owned object; it belongs to that object's unit."""

    content_type = models.ForeignKey("contenttypes.ContentType", on_delete=models.CASCADE, related_name="+")
    object_id = models.PositiveBigIntegerField()
    kind = models.CharField(_("kind"), max_length=50, blank=True)
    name = models.CharField(_("file name"), max_length=200)
    file = models.FileField(_("file"), upload_to=attachment_upload_to, max_length=200)
    file_type = models.CharField(_("file type"), max_length=20)
    size = models.PositiveIntegerField(_("size"))
    sm3 = models.CharField(_("SM3 digest"), max_length=64)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["content_type", "object_id"])]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self):
        return self.name


class WorkdayOverride(models.Model):
    """A date whose working-day status differs from the maintained holiday calendar: a holiday or 调休 working day the
    library does not know yet (next year's schedule is published each November), or a local day off."""

    date = models.DateField(_("date"), unique=True)
    is_workday = models.BooleanField(_("working day"))
    name = models.CharField(_("reason"), max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("working-day override")
        verbose_name_plural = _("working-day overrides")

    def __str__(self):
        return f"{self.date:%Y-%m-%d} {'workday' if self.is_workday else 'day off'}"
