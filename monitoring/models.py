"""Monitoring: what is probed (Check), its latest state (on the Check row itself), what changed (CheckEvent, with a
stored copy of the page when there is content evidence), charts (WeeklyRollup), reviewed content baselines, the
bureau's keyword library and maintenance windows.

Storage follows the lesson of monitors that drowned in their own heartbeat tables: a probe updates its check's row in
place; a row is added only when something changes or is detected, and once a day per check for the charts. Raw
per-probe rows are not kept.
"""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import formats, timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.idn import unicode_url
from core.models import UnitOwned
from core.scoping import RestrictedManager

from . import rollups
from . import vocabulary as v

# Default interval (seconds) per check kind: availability every 5 minutes, content hourly, TLS daily.
DEFAULT_INTERVALS = {v.HTTP: 300, v.CONTENT: 3600, v.TLS: 86400, v.DNS: 3600, v.IPV6: 3600}


class CheckState(models.TextChoices):
    UNKNOWN = "unknown", _("Not probed yet")
    OK = "ok", _("OK")
    WARNING = "warning", _("Warning")
    CRITICAL = "critical", _("Critical")
    MAINTENANCE = "maintenance", _("Maintenance")


STATE_RANK = {CheckState.OK: 0, CheckState.UNKNOWN: 1, CheckState.MAINTENANCE: 1, CheckState.WARNING: 2,
              CheckState.CRITICAL: 3}  # fmt: skip


# What people may change on a check (form, bulk edit, API PATCH); the rest is the ledger's or the probes'.
EDITABLE_CHECK_FIELDS = ("enabled", "interval", "grace_failures", "recovery_successes")
# The latest result of a check, as shown on its pages and returned by the API.
LATEST_STATE_FIELDS = (
    "next_due_at", "state", "state_since", "last_run_at", "last_ok_at", "status_code", "latency_ms", "error",
    "failures", "successes", "content_changed_at",
)  # fmt: skip


class Check(UnitOwned):
    """One kind of probe of one registered website, on its own interval.

    Created from the ledger (``sync_checks``) for every active website; editable afterwards (interval, grace, off).
    The latest result lives on the row: a probe is an UPDATE, never an INSERT.
    """

    # No index of its own: the unique (website, kind) index below starts with the website and serves its look-ups.
    # Each index is written at every claim (which moves the indexed ``next_due_at``), so none is kept without need.
    website = models.ForeignKey(
        "assets.Website", on_delete=models.CASCADE, related_name="checks", verbose_name=_("website"), db_index=False
    )
    kind = models.CharField(_("kind"), max_length=10, choices=list(v.CHECK_KINDS.items()))
    url = models.CharField(_("URL"), max_length=500)
    enabled = models.BooleanField(_("enabled"), default=True)
    interval = models.PositiveIntegerField(_("interval (seconds)"), default=300)
    grace_failures = models.PositiveSmallIntegerField(
        _("failures before alerting"), default=2, help_text=_("Consecutive failed probes before a finding is raised")
    )
    recovery_successes = models.PositiveSmallIntegerField(
        _("good results before closing"),
        default=2,
        help_text=_("Consecutive good probes after which the check's open findings are closed as fixed"),
    )
    next_due_at = models.DateTimeField(_("next due"), null=True, blank=True)

    # --- latest state
    state = models.CharField(_("state"), max_length=12, choices=CheckState.choices, default=CheckState.UNKNOWN)
    last_run_at = models.DateTimeField(_("last probed"), null=True, blank=True)
    last_ok_at = models.DateTimeField(_("last good"), null=True, blank=True)
    state_since = models.DateTimeField(_("in this state since"), null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    latency_ms = models.FloatField(_("latency (ms)"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    failures = models.PositiveIntegerField(_("consecutive failures"), default=0)
    successes = models.PositiveIntegerField(_("consecutive good results"), default=0)
    body_hash = models.CharField(_("page hash"), max_length=40, blank=True)
    analysed_hash = models.CharField(_("hash of the last analysed page"), max_length=40, blank=True)
    content_changed_at = models.DateTimeField(_("content last changed"), null=True, blank=True)
    detections = models.JSONField(_("current detections"), default=list, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)

    scope_path_field = "unit__path"

    class Meta:
        verbose_name = _("check")
        verbose_name_plural = _("checks")
        ordering = ["website__name", "kind"]
        constraints = [models.UniqueConstraint(fields=["website", "kind"], name="monitoring_one_check_per_kind")]
        indexes = [models.Index(fields=["enabled", "next_due_at"], name="monitoring_due")]

    def __str__(self):
        return f"{self.website} · {self.get_kind_display()}"

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("monitoring:site", args=[self.website_id])


class CheckEvent(UnitOwned):
    """Something changed: the state of a check, or a detection appeared or went away. Evidence as the analysers gave
    it (masked), and for content a stored copy of the page."""

    class Kind(models.TextChoices):
        STATE = "state", _("State changed")
        DETECTED = "detected", _("Detected")
        CLEARED = "cleared", _("Cleared")
        CONTENT = "content", _("Content changed")
        BASELINE = "baseline", _("Baseline accepted")

    site_check = models.ForeignKey(Check, on_delete=models.CASCADE, related_name="events", verbose_name=_("check"))
    at = models.DateTimeField(_("at"), db_index=True)
    kind = models.CharField(_("event"), max_length=10, choices=Kind.choices)
    detection = models.CharField(_("detection"), max_length=30, blank=True, choices=list(v.DETECTION_KINDS.items()))
    state = models.CharField(_("state"), max_length=12, choices=CheckState.choices, blank=True)
    severity = models.CharField(_("severity"), max_length=10, blank=True)
    summary = models.CharField(_("summary"), max_length=300)
    evidence = models.JSONField(_("evidence"), default=dict, blank=True)
    snapshot = models.ForeignKey(
        "PageSnapshot", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("page copy")
    )

    class Meta:
        verbose_name = _("monitoring event")
        verbose_name_plural = _("monitoring events")
        ordering = ["-at"]
        indexes = [models.Index(fields=["site_check", "-at"], name="monitoring_event_timeline")]

    def __str__(self):
        return self.summary_text

    @property
    def summary_text(self) -> str:
        """The summary in the reader's language. A detection's summary is stored as its English message (a cleared
        one says it is no longer found); a change of state is told from the states it went between (its stored
        summary is in the language the monitor ran in)."""
        evidence = self.evidence if isinstance(self.evidence, dict) else {}
        if self.kind == self.Kind.STATE and "from" in evidence and self.state in CheckState.values:
            before = evidence["from"]
            before = CheckState(before).label if before in CheckState.values else ""
            return f"{before} → {CheckState(self.state).label}"
        text = gettext(self.summary) if self.summary else ""
        if self.kind == self.Kind.CLEARED and text:
            return gettext("No longer found: %(summary)s") % {"summary": text}  # it keeps what had been found
        return text

    def export_summary(self) -> str:
        """Exports give the summary as the lists do: in the reader's language."""
        return self.summary_text


class PageSnapshot(UnitOwned):
    """A stored copy of a fetched page (zlib-compressed), kept as evidence for events and as baseline samples."""

    site_check = models.ForeignKey(Check, on_delete=models.CASCADE, related_name="snapshots", verbose_name=_("check"))
    taken_at = models.DateTimeField(_("taken at"))
    # Where the page was fetched from after its redirects: the site chooses it, and no length is too long to keep
    # (a bounded column failed the store of the whole batch on PostgreSQL).
    url = models.TextField(_("URL"))
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    headers = models.JSONField(_("headers"), default=dict, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size = models.PositiveIntegerField(_("size"))
    body = models.BinaryField(_("page (compressed)"))

    class Meta:
        verbose_name = _("page copy")
        verbose_name_plural = _("page copies")
        ordering = ["-taken_at"]

    def __str__(self):
        return f"{self.display_url} @ {timezone.localtime(self.taken_at):%Y-%m-%d %H:%M}"

    @property
    def display_url(self) -> str:
        return unicode_url(self.url)

    def text(self) -> str:
        import zlib

        from .analysis.page import decode_html

        # Decoded as the analysis decoded the page, so that the offsets of the evidence point at the same text.
        return decode_html(zlib.decompress(bytes(self.body)), (self.headers or {}).get("content-type", ""))


class ContentBaseline(UnitOwned):
    """The reviewed look of a site's page, against which defacement is judged (``analysis.make_baseline``).

    A new site learns from its first pages; a person accepts a baseline after a legitimate redesign.
    """

    site_check = models.OneToOneField(Check, on_delete=models.CASCADE, related_name="baseline", verbose_name=_("check"))
    data = models.JSONField(_("baseline"), default=dict)
    samples = models.PositiveSmallIntegerField(_("samples"), default=0)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("reviewed by"),
    )  # fmt: skip
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    snapshot = models.ForeignKey(
        PageSnapshot, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("page copy")
    )

    class Meta:
        verbose_name = _("content baseline")
        verbose_name_plural = _("content baselines")

    def __str__(self):
        return str(self.site_check)


class WeeklyRollup(models.Model):
    """One row per check and ISO week for the charts: counts and a packed array of 7 × 24 hourly figures.

    ``week`` is the Monday that starts the week (local time). ``hours`` holds, per hour of the week (slot ``weekday ×
    24 + hour``), (good probes, failed probes, mean latency in ms), packed as runs or plain varints (see
    ``rollups.py``): a week of a 5-minute check costs one small row, not 2,016, and the database's per-row overhead
    is paid once a week instead of every day. ``probes`` and ``failures`` are the week's totals.

    The hour being filled is kept apart, as plain sums (``open_*``) that each store adds to in SQL; it is folded into
    ``hours`` when a probe of a later hour arrives. ``hourly()`` reads the week with it.
    """

    # No index of its own: the unique (check, week) index below starts with the check and serves its look-ups.
    site_check = models.ForeignKey(
        Check, on_delete=models.CASCADE, related_name="rollups", verbose_name=_("check"), db_index=False
    )
    week = models.DateField(_("week"))
    probes = models.PositiveIntegerField(_("probes"), default=0)
    failures = models.PositiveIntegerField(_("failures"), default=0)
    hours = models.BinaryField(_("hourly figures"))
    open_slot = models.PositiveSmallIntegerField(_("open hour"), null=True, blank=True)  # slot of the open_* sums
    open_good = models.PositiveIntegerField(_("good probes of the open hour"), default=0)
    open_failed = models.PositiveIntegerField(_("failed probes of the open hour"), default=0)
    open_timed = models.PositiveIntegerField(_("timed probes of the open hour"), default=0)
    open_latency = models.FloatField(_("latency sum of the open hour (ms)"), default=0.0)

    class Meta:
        verbose_name = _("weekly figures")
        verbose_name_plural = _("weekly figures")
        constraints = [models.UniqueConstraint(fields=["site_check", "week"], name="monitoring_one_rollup_per_week")]

    def __str__(self):
        return f"{self.site_check_id} {self.week}"

    def hourly(self) -> list[tuple[int, int, int]]:
        """The week's 168 hourly (good, failed, mean latency ms) triples, the open hour included."""
        return rollups.week_hours(
            self.hours, self.open_slot, self.open_good, self.open_failed, self.open_latency, self.open_timed
        )


class ProbeRecord(models.Model):
    """One probe's raw result: when, good or not, status, response time, error.

    Off by default (``EDUSEC_MONITOR_PROBE_RECORD_DAYS`` = 0): the latest state on the check, the events and the
    rollups are what the pages need, and a row per probe is what drowns other monitors (5,000 sites every 5 minutes
    are 1.4 million rows a day). Turned on for a while to troubleshoot a flapping site or to answer an auditor's
    "what exactly did it answer at 03:10"; kept that many days (pruned daily with the rest of the history).
    """

    # No index of its own: the (check, time) index below starts with the check.
    site_check = models.ForeignKey(
        Check, on_delete=models.CASCADE, related_name="probe_records", verbose_name=_("check"), db_index=False
    )
    at = models.DateTimeField(_("probed at"))
    ok = models.BooleanField(_("good"))
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    latency_ms = models.FloatField(_("response time (ms)"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=40, blank=True)

    objects = RestrictedManager()
    scope_path_field = "site_check__unit__path"  # visible as its check is

    class Meta:
        verbose_name = _("probe record")
        verbose_name_plural = _("probe records")
        ordering = ["-at"]
        indexes = [models.Index(fields=["site_check", "-at"], name="monitoring_probe_timeline")]

    def __str__(self):
        return f"{self.site_check} @ {timezone.localtime(self.at):%Y-%m-%d %H:%M:%S}"

    def get_absolute_url(self):
        from core.registry import object_url

        return object_url(self)


class AlertThrottle(models.Model):
    """When one receiver was last told of one monitoring event type, and the alerts held for it meanwhile
    (``alerts.Throttle``).

    A receiver is the people of a unit (``endpoint`` empty) or one robot or webhook (``unit`` is then its owner). The
    state is in the database, not in a process, so that the Celery workers storing batches on several machines share
    it (a district-wide outage found by ten workers is still told in a few messages) and held alerts outlive a restart
    of the monitor. Internal: shown to nobody, one row per receiver and event type.
    """

    event_type = models.CharField(max_length=60)
    receiver = models.CharField(max_length=40)  # "unit:<id>" or "endpoint:<id>" (``alerts.Message.receiver``)
    unit = models.ForeignKey(settings.EDUSEC_UNIT_MODEL, on_delete=models.CASCADE, related_name="+")
    endpoint = models.ForeignKey("core.ChannelEndpoint", on_delete=models.CASCADE, null=True, related_name="+")
    last_sent_at = models.DateTimeField(null=True)
    told = models.JSONField(default=list)  # [website id, detection] of the last message: not told again meanwhile
    held = models.JSONField(default=list)  # the held alerts (``alerts.Alert`` as dicts), oldest first
    found_at = models.DateTimeField(null=True)  # when the first held alert was found: the held message's date
    due_at = models.DateTimeField(null=True, db_index=True)  # set while alerts are held: when they may go

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event_type", "receiver"], name="monitoring_one_throttle_per_receiver")
        ]

    def __str__(self):
        return f"{self.event_type} {self.receiver}"


class KeywordEntry(UnitOwned):
    """A word of the bureau's own keyword library, or a whitelist phrase; it applies to the unit's whole subtree, on
    top of the default library shipped with EduSec."""

    category = models.CharField(_("category"), max_length=20, choices=list(v.KEYWORD_CATEGORIES.items()))
    word = models.CharField(_("word or phrase"), max_length=100)
    whitelist = models.BooleanField(
        _("whitelist"), default=False, help_text=_("A phrase that must not count even though it contains a keyword")
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    remarks = models.CharField(_("remarks"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("keyword")
        verbose_name_plural = _("keywords")
        ordering = ["category", "word"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "category", "word", "whitelist"], name="monitoring_keyword_once")
        ]

    def __str__(self):
        return self.word


class MaintenanceWindow(UnitOwned):
    """While a window is open, the probes of the websites it covers still run and are recorded, but raise no findings.

    A window covers one website, or, without one, every website of its unit and of the units under it (a district
    data centre's power work). It opens once, or every day or every week at the same local time (a nightly backup, a
    Sunday update) until the day ``repeat_until``, or for good when that is empty.
    """

    class Repeat(models.TextChoices):
        ONCE = "once", _("Once")
        DAILY = "daily", _("Every day")
        WEEKLY = "weekly", _("Every week")

    PERIOD_DAYS = {Repeat.DAILY: 1, Repeat.WEEKLY: 7}
    MAX_ONCE = datetime.timedelta(days=7)

    website = models.ForeignKey(
        "assets.Website",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="maintenance_windows",
        verbose_name=_("website"),
        help_text=_("Leave empty for every website of the unit and of the units under it."),
    )
    starts_at = models.DateTimeField(_("starts"), help_text=_("Of the first occurrence, for a repeating window."))
    ends_at = models.DateTimeField(_("ends"))
    repeat = models.CharField(_("repeat"), max_length=10, choices=Repeat.choices, default=Repeat.ONCE)
    repeat_until = models.DateField(
        _("repeat until"), null=True, blank=True, help_text=_("Last day an occurrence starts; empty: no end.")
    )
    # When the last occurrence ends at the latest (empty: never), kept by ``save`` so that the store's read of the
    # windows open now is one indexed range, however many windows of the past the table keeps.
    expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    reason = models.CharField(_("reason"), max_length=200)

    class Meta:
        verbose_name = _("maintenance window")
        verbose_name_plural = _("maintenance windows")
        ordering = ["-starts_at"]
        indexes = [models.Index(fields=["expires_at"], name="monitoring_window_expires")]

    def __str__(self):
        return f"{self.website or self.unit} {self.schedule_text()}"

    @property
    def duration(self) -> datetime.timedelta:
        return self.ends_at - self.starts_at

    def clean(self):
        super().clean()
        if self.starts_at is None or self.ends_at is None:
            return
        errors = {}
        period = self.PERIOD_DAYS.get(self.repeat)
        if self.ends_at <= self.starts_at:
            errors["ends_at"] = _("The end must be after the start.")
        elif period is None and self.duration > self.MAX_ONCE:
            errors["ends_at"] = _("A maintenance window lasts at most 7 days.")
        elif period == 1 and self.duration >= datetime.timedelta(days=1):
            errors["ends_at"] = _("A window repeated every day lasts less than a day.")
        elif period == 7 and self.duration >= datetime.timedelta(days=7):
            errors["ends_at"] = _("A window repeated every week lasts less than a week.")
        if self.repeat_until is not None:
            if period is None:
                errors["repeat_until"] = _("Only a repeating window has a last day.")
            elif self.repeat_until < timezone.localdate(self.starts_at):
                errors["repeat_until"] = _("The last day cannot be before the first occurrence.")
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs):
        self.expires_at = self._expires_at()
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "expires_at"}
        super().save(*args, **kwargs)

    def _expires_at(self):
        if self.repeat == self.Repeat.ONCE:
            return self.ends_at
        if self.repeat_until is None:
            return None
        # The last occurrence starts on ``repeat_until`` at the latest (a weekly one maybe some days before).
        first = timezone.localtime(self.starts_at)
        last_start = timezone.make_aware(datetime.datetime.combine(self.repeat_until, first.time()))
        return last_start + self.duration

    def occurrence_at(self, moment: datetime.datetime) -> tuple[datetime.datetime, datetime.datetime] | None:
        """(start, end) of the occurrence open at ``moment``; None when the window is closed then."""
        if moment < self.starts_at:
            return None
        if self.repeat == self.Repeat.ONCE:
            return (self.starts_at, self.ends_at) if moment < self.ends_at else None
        start = self._occurrence_start(moment, 0)
        if start is None:
            return None
        end = start + self.duration
        return (start, end) if moment < end else None

    def next_occurrence(self, moment: datetime.datetime) -> tuple[datetime.datetime, datetime.datetime] | None:
        """(start, end) of the occurrence open at ``moment``, or else of the next one; None when none is to come."""
        if moment < self.starts_at:
            return self.starts_at, self.ends_at
        if self.repeat == self.Repeat.ONCE:
            return (self.starts_at, self.ends_at) if moment < self.ends_at else None
        for ahead in (0, 1):
            start = self._occurrence_start(moment, ahead)
            if start is not None and moment < start + self.duration:
                return start, start + self.duration
        return None

    def _occurrence_start(self, moment, ahead: int):
        """Start of the last occurrence to start by ``moment`` (``ahead`` = 1: of the one after it), None if past
        ``repeat_until``. Counted on the local wall clock, so that a window stays at its hour across a change of
        daylight saving time where there is one."""
        period = datetime.timedelta(days=self.PERIOD_DAYS[self.repeat])
        first = timezone.localtime(self.starts_at).replace(tzinfo=None)
        count = (timezone.localtime(moment).replace(tzinfo=None) - first) // period + ahead
        start = first + count * period
        if self.repeat_until is not None and start.date() > self.repeat_until:
            return None
        return timezone.make_aware(start)

    def schedule_text(self) -> str:
        """When the window opens, in local time: "2026-11-25 01:30–05:00", "every Sunday 00:00–06:00 from …"."""
        starts, ends = timezone.localtime(self.starts_at), timezone.localtime(self.ends_at)
        if self.repeat == self.Repeat.ONCE:
            # The end's date only when the window runs past midnight.
            end_format = "%H:%M" if ends.date() == starts.date() else "%Y-%m-%d %H:%M"
            return f"{starts:%Y-%m-%d %H:%M}–{ends.strftime(end_format)}"
        values = {
            "weekday": formats.date_format(starts, "l"),
            "start": f"{starts:%H:%M}",
            "end": f"{ends:%H:%M}",
            "first": f"{starts:%Y-%m-%d}",
            "last": f"{self.repeat_until:%Y-%m-%d}" if self.repeat_until else "",
        }
        if self.repeat == self.Repeat.DAILY:
            text = gettext("every day %(start)s–%(end)s") % values
        else:
            text = gettext("every %(weekday)s %(start)s–%(end)s") % values
        if self.repeat_until:
            return gettext("%(schedule)s, %(first)s to %(last)s") % {"schedule": text, **values}
        return gettext("%(schedule)s, from %(first)s") % {"schedule": text, **values}


def open_windows(moment: datetime.datetime, windows=None) -> list[MaintenanceWindow]:
    """The maintenance windows (of ``windows``, a queryset; all by default) open at ``moment``."""
    windows = MaintenanceWindow.objects.all() if windows is None else windows
    candidates = windows.filter(starts_at__lte=moment).filter(
        models.Q(expires_at__gt=moment) | models.Q(expires_at__isnull=True)
    )
    return [window for window in candidates.select_related("unit") if window.occurrence_at(moment)]
