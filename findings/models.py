from django.conf import settings
from django.db import models
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from assets.models import Domain, InformationSystem, IPRange, MobileApp, Website
from core.models import UnitOwned


class Severity(models.TextChoices):
    CRITICAL = "critical", _("Critical")
    HIGH = "high", _("High")
    MEDIUM = "medium", _("Medium")
    LOW = "low", _("Low")
    INFO = "info", _("Info")


SEVERITY_ORDER = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}


class FindingStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("finding status", "Open")
    CONFIRMED = "confirmed", _("Confirmed")
    FALSE_POSITIVE = "false_positive", _("False positive")
    RISK_ACCEPTED = "risk_accepted", _("Risk accepted")
    FIXED = "fixed", _("Fixed")
    REOPENED = "reopened", _("Reopened")


OPEN_STATUSES = {FindingStatus.OPEN, FindingStatus.CONFIRMED, FindingStatus.REOPENED}


class FindingSource(models.TextChoices):
    SCANNER = "scanner", _("Scanner import")
    MLPS_DUTY = "mlps_duty", _("MLPS duty")
    MONITORING = "monitoring", pgettext_lazy("finding source", "Monitoring")
    INSPECTION = "inspection", _("Inspection")
    UPSTREAM = "upstream_notice", _("Upstream notice")
    MANUAL = "manual", _("Manual")


class Finding(UnitOwned):
    """Anything that needs a unit to act: one model, one list, one lifecycle for every source.

    Indexes are few on purpose: an import writes tens of thousands of rows and every index costs each of them. Kept:
    the unique (fingerprint, unit) the writer looks up, (unit, status) for the lists, risk score (the lists' order),
    system (asset pages), deadline. Foreign keys to users, other assets, the candidate unit and the last import are
    not indexed (they are only followed from the finding, or on rare deletions; the last import changes on every
    re-seen finding).

    Only the unit carries a database foreign-key constraint. PostgreSQL checks each constrained reference of each
    inserted row with a query of its own at commit (about 5 µs each, one after the other): for a 550,000-line scan,
    the last import, the users, the system, the asset and the candidate unit cost about 9 s of a 40 s import, for
    references the writer itself just read in the same transaction. All of them are set to NULL when their row is
    deleted: by Django (``on_delete``), and, for rows of an import that committed after such a deletion ran, by
    ``repair_loose_references`` (an hourly task). Pages read them with ``select_related`` (an outer join), so such
    a reference shows as empty there meanwhile. Imports are never deleted.
    """

    # Re-declared without their single-column indexes: (unit, status) leads with the unit.
    unit = models.ForeignKey(
        settings.EDUSEC_UNIT_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("unit"), db_index=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        db_index=False,
        db_constraint=False,
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        db_index=False,
        db_constraint=False,
    )

    fingerprint = models.CharField(_("fingerprint"), max_length=64, editable=False)
    source = models.CharField(_("source"), max_length=20, choices=FindingSource.choices, default=FindingSource.MANUAL)
    tool = models.CharField(_("tool"), max_length=30, blank=True)
    rule_id = models.CharField(_("rule"), max_length=200, blank=True)
    title = models.CharField(_("title"), max_length=300)
    description = models.TextField(_("description"), blank=True)
    solution = models.TextField(_("solution"), blank=True)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    cve = models.JSONField(_("CVE"), default=list, blank=True)
    cwe = models.JSONField(_("CWE"), default=list, blank=True)
    cvss_score = models.DecimalField(_("CVSS score"), max_digits=3, decimal_places=1, null=True, blank=True)
    cvss_vector = models.CharField(_("CVSS vector"), max_length=200, blank=True)
    host = models.CharField(_("host"), max_length=255, blank=True)
    ip = models.CharField(_("IP address"), max_length=45, blank=True)
    port = models.PositiveIntegerField(_("port"), null=True, blank=True)
    protocol = models.CharField(_("protocol"), max_length=20, blank=True)
    url = models.TextField(_("URL"), blank=True)
    parameter = models.CharField(_("parameter"), max_length=200, blank=True)
    evidence = models.TextField(_("evidence"), blank=True)
    system = models.ForeignKey(
        InformationSystem,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="findings",
        verbose_name=_("information system"),
        db_constraint=False,
    )
    website = models.ForeignKey(
        Website,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="findings",
        verbose_name=_("website"),
        db_index=False,
        db_constraint=False,
    )
    domain = models.ForeignKey(
        Domain,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="findings",
        verbose_name=_("domain"),
        db_index=False,
        db_constraint=False,
    )
    ip_range = models.ForeignKey(
        IPRange,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="findings",
        verbose_name=_("IP range"),
        db_index=False,
        db_constraint=False,
    )
    app = models.ForeignKey(
        MobileApp,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="findings",
        verbose_name=_("mobile app"),
        db_index=False,
    )
    attributed = models.BooleanField(
        _("matched to an asset"),
        default=True,
        help_text=_("Unattributed findings matched no registered asset: register the asset or assign the finding"),
    )
    candidate_unit = models.ForeignKey(
        settings.EDUSEC_UNIT_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("candidate unit"),
        help_text=_("For an unattributed finding: the unit whose address space or domain it falls in"),
        db_index=False,
        db_constraint=False,
    )
    due_date = models.DateField(_("deadline"), null=True, blank=True, db_index=True)
    status = models.CharField(_("status"), max_length=20, choices=FindingStatus.choices, default=FindingStatus.OPEN)
    status_reason = models.TextField(_("reason"), blank=True)
    # A false positive or an accepted risk is requested by the unit and approved by someone else (see workflow.py).
    requested_status = models.CharField(
        _("requested status"),
        max_length=20,
        blank=True,
        choices=[
            (FindingStatus.FALSE_POSITIVE, FindingStatus.FALSE_POSITIVE.label),
            (FindingStatus.RISK_ACCEPTED, FindingStatus.RISK_ACCEPTED.label),
        ],
    )
    request_reason = models.TextField(_("reason given"), blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("requested by"),
        db_index=False,
    )
    requested_at = models.DateTimeField(_("requested at"), null=True, blank=True)
    requested_until = models.DateField(_("accept the risk until"), null=True, blank=True)
    accepted_until = models.DateField(_("risk accepted until"), null=True, blank=True)
    status_approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    status_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("approved by"),
        db_index=False,
    )
    closed_by_rescan = models.BooleanField(_("closed by re-scan"), default=False)
    first_seen = models.DateTimeField(_("first seen"), default=timezone.now)
    last_seen = models.DateTimeField(_("last seen"), default=timezone.now)
    times_seen = models.PositiveIntegerField(_("times seen"), default=1)
    risk_score = models.PositiveSmallIntegerField(_("risk score"), default=0, db_index=True)
    last_import = models.ForeignKey(
        "ScanImport",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        verbose_name=_("last import"),
        # Not indexed: every re-seen finding changes it, and an index on it would be rewritten for each of them;
        # the "last import" filter and the rare deletion of an import scan instead.
        db_index=False,
        db_constraint=False,
    )

    class Meta:
        verbose_name = _("finding")
        verbose_name_plural = _("findings")
        ordering = ["-risk_score", "-last_seen"]
        permissions = [
            ("approve_finding", "Can approve false positives and accepted risks of subordinate units"),
            ("assign_finding", "Can assign unattributed findings to a unit"),
        ]
        # Fingerprint first: the import writer looks up a batch of fingerprints (whatever their units) in this index.
        constraints = [models.UniqueConstraint(fields=["fingerprint", "unit"], name="findings_unique_per_unit")]
        indexes = [models.Index(fields=["unit", "status"])]

    def __str__(self):
        where = self.host or self.ip or self.url
        return f"{self.title} @ {where}" if where else self.title

    def get_absolute_url(self):
        from core.registry import object_url

        return object_url(self)

    def save(self, *args, **kwargs):
        if not self.rule_id:
            self.rule_id = f"manual:{self.title}"[:200]
        if not self.fingerprint:
            # Scanner findings get theirs from the writer; a manual one is identified the same way.
            from .fingerprints import fingerprint
            from .importers.base import Record

            self.fingerprint = fingerprint(
                Record(
                    tool=self.tool or "manual",
                    rule_id=self.rule_id,
                    title=self.title,
                    severity=self.severity,
                    host=self.host,
                    ip=self.ip,
                    port=self.port,
                    url=self.url,
                    parameter=self.parameter,
                )
            )
        super().save(*args, **kwargs)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


LOOSE_REFERENCES = (
    "created_by", "updated_by", "last_import", "system", "website", "domain", "ip_range", "candidate_unit",
)  # fmt: skip


def repair_loose_references() -> int:
    """Set to NULL the references without a database constraint whose row is gone; how many were.

    Django's ``on_delete`` already does this when a user is deleted. What it cannot see are the rows of an import
    that commits after the deletion ran (see ``Finding``'s docstring); the hourly task calls this for those.
    """
    repaired = 0
    for name in LOOSE_REFERENCES:
        target = Finding._meta.get_field(name).related_model
        repaired += (
            Finding._base_manager.filter(**{f"{name}__isnull": False})
            .exclude(models.Exists(target._base_manager.filter(pk=models.OuterRef(f"{name}_id"))))
            .update(**{name: None})
        )
    return repaired


def scan_upload_to(instance, filename):
    """A random stored name; the uploader's file name is kept in ``file_name``."""
    import uuid

    return f"scans/{timezone.now():%Y/%m}/{uuid.uuid4().hex}"


class ImportState(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ScanImport(UnitOwned):
    """One imported scanner file and what it changed; the history the bureau reads."""

    file_name = models.CharField(_("file name"), max_length=255)
    upload = models.FileField(_("file"), upload_to=scan_upload_to, max_length=200, blank=True)
    file_format = models.CharField(_("format"), max_length=20, blank=True)
    size = models.PositiveBigIntegerField(_("size"), default=0)
    sm3 = models.CharField(_("SM3 digest"), max_length=64, blank=True)
    close_missing = models.BooleanField(_("close findings of this scope not seen in this scan"), default=False)
    state = models.CharField(_("state"), max_length=10, choices=ImportState.choices, default=ImportState.PENDING)
    error = models.TextField(_("error"), blank=True)
    error_en = models.TextField(_("error (English)"), blank=True)
    records = models.PositiveIntegerField(_("records"), default=0)
    new = models.PositiveIntegerField(_("new"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    reopened = models.PositiveIntegerField(_("reopened"), default=0)
    closed = models.PositiveIntegerField(_("closed"), default=0)
    unattributed = models.PositiveIntegerField(_("unattributed"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    rejected_sample = models.JSONField(_("rejected records (first 100)"), default=list, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("scan import")
        verbose_name_plural = _("scan imports")
        ordering = ["-created_at"]

    def __str__(self):
        if not self.created_at:
            return self.file_name
        return f"{self.file_name} ({timezone.localtime(self.created_at):%Y-%m-%d %H:%M})"

    @property
    def error_message(self) -> str:
        """The failure reason in the reader's language (both are stored when the import fails)."""
        language = translation.get_language() or ""
        return self.error_en if language.startswith("en") and self.error_en else self.error

    def get_absolute_url(self):
        from core.registry import object_url

        return object_url(self)
