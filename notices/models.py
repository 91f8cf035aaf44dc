"""Notices (通报 / 整改通知书) and each recipient's rectification (整改): the loop 通报–整改–复核–销号.

A ``Notice`` belongs to the issuing unit; each recipient unit gets one ``Rectification`` that belongs to the recipient,
so the scoping layer does the right thing without special cases: the issuer's subtree sees the notice and every
rectification under it, a school sees only its own rectification (and, through it, the notice), never a sibling's.
The rules of the states live in ``notices.rules`` (pure) and ``notices.workflow`` (with the database).
"""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.models import UnitOwned
from findings.models import Finding, Severity


class NoticeKind(models.TextChoices):
    BULLETIN = "bulletin", _("Bulletin (通报)")
    RECTIFICATION = "rectification", _("Rectification order (整改通知书)")


class NoticeState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ISSUED = "issued", _("Issued")
    CLOSED = "closed", pgettext_lazy("notice state", "Closed")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class NoticeOrigin(models.TextChoices):
    MANUAL = "manual", _("Written by hand")
    FINDINGS = "findings", _("From findings")
    UPSTREAM = "upstream", _("Forwarded from a higher authority")


class RectificationState(models.TextChoices):
    DRAFT = "draft", _("Not issued yet")
    RECEIVED = "received", _("Received")
    IN_PROGRESS = "in_progress", _("In progress")
    SUBMITTED = "submitted", _("Submitted")
    UNDER_REVIEW = "under_review", _("Under review")
    RETURNED = "returned", _("Returned")
    CLOSED = "closed", pgettext_lazy("rectification state", "Closed")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class DeadlinePolicy(UnitOwned):
    """How a unit's notices are numbered and how long recipients have, by severity, in working days.

    A unit without a policy of its own uses its nearest ancestor's, and the defaults of domain.md §6 at the top."""

    number_pattern = models.CharField(
        _("document number pattern"),
        max_length=100,
        default="{issuer}教信通〔{year}〕{n}号",
        help_text=_("Placeholders: {issuer} (the unit's short name), {year}, {n} (the sequence of the year)."),
    )
    critical_days = models.PositiveSmallIntegerField(_("critical: working days"), default=1)
    high_days = models.PositiveSmallIntegerField(_("high: working days"), default=3)
    medium_days = models.PositiveSmallIntegerField(_("medium: working days"), default=7)
    low_days = models.PositiveSmallIntegerField(_("low: working days"), default=15)
    info_days = models.PositiveSmallIntegerField(_("info: working days"), default=15)
    reminder_days = models.PositiveSmallIntegerField(_("remind this many working days before the deadline"), default=1)

    class Meta:
        ordering = ["unit__path"]
        verbose_name = _("deadline policy")
        verbose_name_plural = _("deadline policies")
        constraints = [models.UniqueConstraint(fields=["unit"], name="notices_one_policy_per_unit")]

    def __str__(self):
        return str(self.unit)

    def get_absolute_url(self):
        return reverse("notices:deadlinepolicy", args=[self.pk])

    def workdays_for(self, severity: str) -> int:
        return getattr(self, f"{severity}_days", self.low_days)


class Notice(UnitOwned):
    """A notice issued by ``unit`` to one or more units of its subtree."""

    kind = models.CharField(_("kind"), max_length=20, choices=NoticeKind.choices, default=NoticeKind.RECTIFICATION)
    number = models.CharField(_("document number"), max_length=100, blank=True, db_index=True)
    year = models.PositiveSmallIntegerField(_("year"), null=True, blank=True, editable=False)
    sequence = models.PositiveIntegerField(_("sequence"), null=True, blank=True, editable=False)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"))
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices, default=Severity.HIGH)
    deadline = models.DateTimeField(
        _("deadline"),
        null=True,
        blank=True,
        help_text=_("Empty: computed from the severity in working days when the notice is issued."),
    )
    required_evidence = models.TextField(_("required evidence"), blank=True)
    signer = models.CharField(_("signed by"), max_length=100, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=NoticeState.choices, default=NoticeState.DRAFT)
    origin = models.CharField(_("origin"), max_length=10, choices=NoticeOrigin.choices, default=NoticeOrigin.MANUAL)
    upstream_number = models.CharField(_("higher authority's document number"), max_length=100, blank=True)
    issued_at = models.DateTimeField(_("issued at"), null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("issued by"),
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    withdrawn_reason = models.TextField(_("reason for withdrawal"), blank=True)

    class Meta:
        ordering = ["-issued_at", "-created_at"]
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        permissions = [("issue_notice", "Can issue, withdraw and close notices")]
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "year", "sequence"],
                name="notices_number_unique",
                condition=models.Q(sequence__isnull=False),
            )
        ]

    def __str__(self):
        return f"{self.number} {self.title}" if self.number else self.title

    def get_absolute_url(self):
        return reverse("notices:notice", args=[self.pk])

    def delete(self, *args, **kwargs):
        """Only drafts are deleted: an issued notice is part of the record and is withdrawn instead."""
        from django.core.exceptions import ValidationError

        if self.state != NoticeState.DRAFT:
            raise ValidationError(_("Only a draft can be deleted; withdraw an issued notice instead."))
        return super().delete(*args, **kwargs)


class Rectification(UnitOwned):
    """One recipient unit's answer to a notice: its findings, its report and evidence, and the review."""

    notice = models.ForeignKey(
        Notice, on_delete=models.CASCADE, related_name="rectifications", verbose_name=_("notice")
    )
    state = models.CharField(
        _("state"), max_length=12, choices=RectificationState.choices, default=RectificationState.DRAFT
    )
    deadline = models.DateTimeField(_("deadline"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("assigned to"),
    )
    contractor = models.CharField(_("contractor"), max_length=200, blank=True)
    report = models.TextField(_("rectification report"), blank=True)
    responsible = models.CharField(_("responsible person"), max_length=100, blank=True)
    contact = models.CharField(_("contact"), max_length=100, blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("submitted by"),
    )
    rounds = models.PositiveSmallIntegerField(_("submissions"), default=0)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("reviewer"),
    )
    return_reason = models.TextField(_("reason for return"), blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    # Kept once set: the annual assessment counts rectifications that ever ran over their deadline.
    was_overdue = models.BooleanField(_("ran over the deadline"), default=False)

    class Meta:
        ordering = ["deadline", "pk"]
        verbose_name = _("rectification")
        verbose_name_plural = _("rectifications")
        permissions = [("review_rectification", "Can review and close (销号) rectifications")]
        constraints = [models.UniqueConstraint(fields=["notice", "unit"], name="notices_one_rectification_per_unit")]
        indexes = [models.Index(fields=["state", "deadline"], name="notices_rect_due")]

    def __str__(self):
        return f"{self.notice} — {self.unit}"

    @staticmethod
    def restrict_for_user(queryset, user, action):
        """A draft's rectifications exist for the issuer only: the recipient sees nothing until the notice is issued."""
        from core.scoping import user_scope_path

        path = user_scope_path(user) or ""
        return queryset.filter(
            ~models.Q(notice__state=NoticeState.DRAFT) | models.Q(notice__unit__path__startswith=path)
        )

    def get_absolute_url(self):
        return reverse("notices:rectification", args=[self.pk])

    @property
    def is_overdue(self) -> bool:
        from .rules import is_overdue

        return is_overdue(self.state, self.deadline, timezone.now())


class RectificationItem(models.Model):
    """One finding listed in a rectification, what the unit did about it, and how the reviewer judged it."""

    class Review(models.TextChoices):
        PENDING = "pending", _("Not reviewed")
        VERIFIED = "verified", _("Verified fixed")
        EVIDENCE_ACCEPTED = "evidence", _("Evidence accepted")
        NEXT_SCAN = "next_scan", _("Verify at the next scan")
        REJECTED = "rejected", _("Not fixed")

    rectification = models.ForeignKey(
        Rectification, on_delete=models.CASCADE, related_name="items", verbose_name=_("rectification")
    )
    finding = models.ForeignKey(
        Finding,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="rectification_items",
        verbose_name=_("finding"),
    )
    # Copied when the notice is drafted, so that the notice still reads the same when the finding changes or goes.
    title = models.CharField(_("problem"), max_length=300)
    location = models.CharField(_("asset or address"), max_length=300, blank=True)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    action_taken = models.TextField(_("what was done"), blank=True)
    review = models.CharField(_("review"), max_length=10, choices=Review.choices, default=Review.PENDING)
    review_note = models.TextField(_("review note"), blank=True)
    reprobe = models.JSONField(_("re-probe result"), default=dict, blank=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("rectification item")
        verbose_name_plural = _("rectification items")

    def __str__(self):
        return self.title

    @property
    def unit(self):
        return self.rectification.unit

    @property
    def unit_id(self):
        return self.rectification.unit_id


class RectificationEvent(UnitOwned):
    """A line of a rectification's timeline (and of its findings' and its unit's): who did what, when."""

    class Kind(models.TextChoices):
        ISSUED = "issued", _("Notice received")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        ASSIGNED = "assigned", _("Assigned")
        EVIDENCE = "evidence", _("Evidence added")
        SUBMITTED = "submitted", _("Submitted for review")
        REVIEW = "review", _("Review started")
        REPROBE = "reprobe", _("Re-probed")
        RETURNED = "returned", _("Returned")
        CLOSED = "closed", _("Closed (销号)")
        REMINDED = "reminded", _("Reminder sent")
        OVERDUE = "overdue", _("Overdue, escalated")
        WITHDRAWN = "withdrawn", _("Notice withdrawn")
        DEADLINE = "deadline", _("Deadline changed")

    rectification = models.ForeignKey(
        Rectification, on_delete=models.CASCADE, related_name="events", verbose_name=_("rectification")
    )
    kind = models.CharField(_("event"), max_length=12, choices=Kind.choices)
    at = models.DateTimeField(_("time"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("by"),
    )
    message = models.TextField(_("message"), blank=True)
    findings = models.ManyToManyField(Finding, blank=True, related_name="rectification_events")

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("rectification event")
        verbose_name_plural = _("rectification events")

    def __str__(self):
        return f"{timezone.localtime(self.at):%Y-%m-%d %H:%M} {self.get_kind_display()}"


class NumberCounter(models.Model):
    """The last sequence number used by an issuer in a year; locked while a notice takes the next one."""

    unit = models.ForeignKey(settings.EDUSEC_UNIT_MODEL, on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["unit", "year"], name="notices_counter_unique")]

    def __str__(self):
        return f"{self.unit_id}/{self.year}: {self.last}"
