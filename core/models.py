from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils import timezone
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
        at = timezone.localtime(self.timestamp)
        return f"#{self.seq} {at:%Y-%m-%d %H:%M:%S} {self.username} {self.action} {self.object_repr}"

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

    objects = RestrictedManager()
    scope_path_field = None  # one national calendar for the installation: the permission decides alone

    class Meta:
        ordering = ["date"]
        verbose_name = _("working-day override")
        verbose_name_plural = _("working-day overrides")

    def __str__(self):
        return f"{self.date:%Y-%m-%d} {self.name}".strip()

    def get_absolute_url(self):
        from .registry import object_url

        return object_url(self)


# ---- notification channels (core/channels; docs/channels.md) -------------------------------------------------------
# Event types are codes registered by the apps (core.channels.register_event_type); they are stored as plain strings so
# that a new event type needs no migration.

from .channels.events import all_event_choices, event_choices  # noqa: E402  (appended section: imports stay here)
from .crypto import EncryptedCharField  # noqa: E402


class ChannelKind(models.TextChoices):
    EMAIL = "email", _("E-mail")
    WECOM = "wecom", _("WeCom group robot")
    DINGTALK = "dingtalk", _("DingTalk custom robot")
    FEISHU = "feishu", _("Feishu custom bot")
    WEBHOOK = "webhook", _("Signed webhook")


class MessageFormat(models.TextChoices):
    MARKDOWN = "markdown", _("Markdown / rich text")
    TEXT = "text", _("Plain text")


class ChannelEndpoint(UnitOwned):
    """Where a unit's messages go besides the in-app inbox: a group robot, a webhook or a list of e-mail addresses.

    Robot URLs carry their access key and the signing secrets are credentials: both are stored SM4-encrypted and shown
    masked only."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("channel"), max_length=20, choices=ChannelKind.choices)
    webhook_url = EncryptedCharField(_("webhook URL"), blank=True, max_plain_length=500)
    secret = EncryptedCharField(_("signing secret"), blank=True, max_plain_length=200)
    email_to = models.TextField(
        _("e-mail addresses"), blank=True, help_text=_("One or more addresses, separated by commas or new lines")
    )
    message_format = models.CharField(
        _("message format"), max_length=10, choices=MessageFormat.choices, default=MessageFormat.MARKDOWN
    )
    include_subunits = models.BooleanField(
        _("also for subordinate units"),
        default=False,
        help_text=_("Also receive the subscribed events addressed to the units below this one"),
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    remarks = models.CharField(_("remarks"), max_length=200, blank=True)

    class Meta:
        ordering = ["unit__path", "name"]
        verbose_name = _("notification channel")
        verbose_name_plural = _("notification channels")
        constraints = [models.UniqueConstraint(fields=["unit", "name"], name="core_channelendpoint_unique_name")]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        from .registry import object_url

        return object_url(self)

    def clean(self):
        from .channels.validation import endpoint_errors

        errors = endpoint_errors(self)
        if errors:
            from django.core.exceptions import ValidationError

            raise ValidationError(errors)

    @property
    def event_types(self) -> list[str]:
        return sorted(s.event_type for s in self.subscriptions.all())


class ChannelSubscription(UnitOwned):
    """An endpoint hears one event type. The unit is always the endpoint's."""

    endpoint = models.ForeignKey(
        ChannelEndpoint, on_delete=models.CASCADE, related_name="subscriptions", verbose_name=_("notification channel")
    )
    event_type = models.CharField(_("event type"), max_length=100, choices=event_choices)

    class Meta:
        ordering = ["unit__path", "endpoint__name", "event_type"]
        verbose_name = _("channel subscription")
        verbose_name_plural = _("channel subscriptions")
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_type"], name="core_channelsubscription_unique")
        ]

    def __str__(self):
        from .channels.events import event_label

        return f"{self.endpoint}: {event_label(self.event_type)}"

    def save(self, *args, **kwargs):
        if self.endpoint_id:
            self.unit_id = self.endpoint.unit_id
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        from .registry import object_url

        return object_url(self)

    def clean(self):
        from django.core.exceptions import ValidationError

        from .channels.events import subscribable_codes

        if self.endpoint_id:
            self.unit = self.endpoint.unit
        if self.event_type and self.event_type not in subscribable_codes():
            raise ValidationError({"event_type": _("Unknown event type: %(code)s") % {"code": self.event_type}})


class DeliveryState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    RETRYING = "retrying", _("Waiting to retry")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class Delivery(UnitOwned):
    """One message to one external destination (an endpoint, or one user's e-mail address), sent by a background
    task and retried with back-off. The message is kept as it was composed so that every retry sends the same.

    Rows are written with ``bulk_create`` and ``update`` only: they are the system's record of its own work, so the
    model-change audit (which would log every state change) is deliberately not triggered."""

    uuid = models.UUIDField(_("delivery ID"), unique=True, editable=False)
    endpoint = models.ForeignKey(
        ChannelEndpoint,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
        verbose_name=_("notification channel"),
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("recipient"),
    )
    kind = models.CharField(_("channel"), max_length=20, choices=ChannelKind.choices)
    target = models.CharField(_("destination"), max_length=200, blank=True)
    event_type = models.CharField(_("event type"), max_length=100, db_index=True, choices=all_event_choices)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("message"), blank=True)
    link = models.CharField(_("link"), max_length=500, blank=True)
    content_type = models.ForeignKey(
        "contenttypes.ContentType", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    state = models.CharField(
        _("state"), max_length=10, choices=DeliveryState.choices, default=DeliveryState.QUEUED, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    max_attempts = models.PositiveSmallIntegerField(_("maximum attempts"), default=5)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True, db_index=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    is_test = models.BooleanField(_("test message"), default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")

    def __str__(self):
        return f"{self.title} → {self.target or self.get_kind_display()}"

    def get_absolute_url(self):
        from .registry import object_url

        return object_url(self)

    @property
    def is_final(self) -> bool:
        return self.state in (DeliveryState.SENT, DeliveryState.FAILED)


class DeliveryAttempt(models.Model):
    """One try of a delivery: when, how long, what the other side answered."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField(_("attempt"))
    started_at = models.DateTimeField(_("started at"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    success = models.BooleanField(_("succeeded"), default=False)
    http_status = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    result = models.CharField(_("result"), max_length=200, blank=True)
    response = models.TextField(_("response"), blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["delivery_id", "number", "id"]
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")

    def __str__(self):
        return f"{self.delivery_id} #{self.number} {'ok' if self.success else 'failed'}"


class NotificationQuerySet(models.QuerySet):
    def restrict(self, user, action: str = "view"):
        """A notification is its addressee's alone: nobody else, whatever their role, reads or marks it."""
        if user is None or not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(user=user)

    def unread(self):
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    """An in-app message in one user's inbox (the bell in the top bar)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("user")
    )
    event_type = models.CharField(_("event type"), max_length=100, db_index=True, choices=all_event_choices)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("message"), blank=True)
    url = models.CharField(_("link"), max_length=500, blank=True)
    unit = models.ForeignKey(
        settings.EDUSEC_UNIT_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("unit"),
    )
    content_type = models.ForeignKey(
        "contenttypes.ContentType", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"], name="core_notif_user_read")]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")

    def __str__(self):
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class NotificationPreference(models.Model):
    """A user's choice for one event type: in the inbox (default yes) and by e-mail (default no, opt-in)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    event_type = models.CharField(_("event type"), max_length=100, choices=event_choices)
    in_app = models.BooleanField(_("in the platform"), default=True)
    email = models.BooleanField(_("by e-mail"), default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user_id", "event_type"]
        constraints = [
            models.UniqueConstraint(fields=["user", "event_type"], name="core_notificationpreference_unique")
        ]
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")

    def __str__(self):
        return f"{self.user_id}:{self.event_type}"
