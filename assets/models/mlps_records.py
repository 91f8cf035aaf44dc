"""MLPS lifecycle records: gradings (定级), their procedure steps, filings (备案) and assessments (等级测评/自查).

The rules (matrix, floors, allowed transitions, conclusions) live in ``assets.mlps``; these models only store what the
rules decided and who moved a record when. Every record belongs to the unit of its information system, so scoping
(``objects.restrict``) and the audit log treat it like the system itself.

A system has at most one *current* grading (``is_current``). A material change or a re-grade creates a new grading with
the next ``version``; the previous one stays as history. The current grading's level and state are mirrored to
``InformationSystem.mlps_level`` / ``mlps_state`` with ``save(update_fields=...)``, so the mirror is audited too.
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.models import UnitOwned

from .. import mlps
from ..policy import grading_policy, mlps_policy
from .ledger import MLPS_LEVEL_CHOICES, InformationSystem

__all__ = [
    "Assessment",
    "AssessmentKind",
    "Filing",
    "Grading",
    "GradingReason",
    "GradingStep",
    "StepAction",
    "AttachmentKind",
]


def _pairs_as_lists(pairs) -> list[list[str]]:
    return [[obj, degree] for obj, degree in pairs]


class GradingReason(models.TextChoices):
    INITIAL = "initial", _("Initial grading")
    MATERIAL_CHANGE = "material_change", _("Material change of the system")
    REGRADE = "regrade", _("Re-grading")


class StepAction(models.TextChoices):
    GRADE = "grade", _("Graded")
    REVISE = "revise", _("Grading revised")
    FINALISE = "finalise", _("Grading concluded (level 1, no filing duty)")
    SUBMIT = "submit", _("Submitted for expert review")
    EXPERT_REVIEW = "expert_review", _("Expert review recorded")
    APPROVE = "approve", _("Approved by the supervising bureau")
    FILE = "file", _("Filing certificate entered")
    ASSESS = "assess", _("Assessment recorded")
    SELF_INSPECT = "self_inspect", _("Self-inspection recorded")
    CONCLUDE = "conclude", _("Assessment conclusion applied")
    ACCEPT_RECTIFICATION = "accept_rectification", _("Rectification accepted")
    RETURN = "return", _("Returned for revision")
    SUPERSEDE = "supersede", _("Superseded by a new grading")


class AttachmentKind(models.TextChoices):
    EXPERT_OPINION = "expert_opinion", _("Expert opinion")
    APPROVAL = "approval", _("Approval document")
    FILING_CERTIFICATE = "filing_certificate", _("Filing certificate")
    ASSESSMENT_REPORT = "assessment_report", _("Assessment report")


def _sync_unit(record, owner) -> None:
    """A record belongs to the unit of the object it hangs from."""
    if owner is not None and getattr(owner, "unit_id", None) and record.unit_id != owner.unit_id:
        record.unit_id = owner.unit_id


class Grading(UnitOwned):
    """One grading of an information system (GB/T 22240-2020) with its grading-report texts and procedure state."""

    system = models.ForeignKey(
        InformationSystem,
        on_delete=models.PROTECT,
        related_name="gradings",
        verbose_name=_("information system"),
    )
    version = models.PositiveIntegerField(_("version"), editable=False)
    is_current = models.BooleanField(_("current"), default=True, editable=False)
    reason = models.CharField(
        _("reason for grading"), max_length=20, choices=GradingReason.choices, default=GradingReason.INITIAL
    )
    business_pairs = models.JSONField(
        _("business information security: harmed objects and degrees"), default=list, blank=True
    )
    service_pairs = models.JSONField(_("system service security: harmed objects and degrees"), default=list, blank=True)
    data_level = models.CharField(
        _("highest data level"), max_length=10, choices=mlps.DATA_LEVELS, blank=True, editable=False
    )
    business_level = models.PositiveSmallIntegerField(
        _("business information security level"), choices=MLPS_LEVEL_CHOICES, editable=False
    )
    service_level = models.PositiveSmallIntegerField(
        _("system service security level"), choices=MLPS_LEVEL_CHOICES, editable=False
    )
    computed_level = models.PositiveSmallIntegerField(_("computed level"), choices=MLPS_LEVEL_CHOICES, editable=False)
    level = models.PositiveSmallIntegerField(_("MLPS level"), choices=MLPS_LEVEL_CHOICES, editable=False)
    floor_applied = models.CharField(
        _("data-level floor applied"),
        max_length=10,
        choices=mlps.DATA_LEVELS,
        blank=True,
        editable=False,
        help_text=_("The data level whose floor raised the level, if any"),
    )
    reasoning = models.JSONField(_("reasoning"), default=list, blank=True, editable=False)
    object_description = models.TextField(
        _("description of the graded object"),
        help_text=_("What the system is, who operates it, its boundary, network and main components"),
    )
    business_description = models.TextField(
        _("business information description"),
        help_text=_("What information the system processes and what harm its loss, leak or tampering would cause"),
    )
    service_description = models.TextField(
        _("system service description"),
        help_text=_("What service the system provides, to whom, and what harm an interruption would cause"),
    )
    state = models.CharField(
        _("procedure state"), max_length=30, choices=mlps.STATES, default=mlps.STATE_DRAFT, editable=False
    )
    state_changed_at = models.DateTimeField(_("state changed at"), default=timezone.now, editable=False)
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True, editable=False)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        verbose_name=_("approved by"),
    )
    level_fixed_on = models.DateField(
        _("level fixed on"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("Date of the supervising bureau's approval (level 1: date of grading)"),
    )

    class Meta:
        verbose_name = _("MLPS grading")
        verbose_name_plural = _("MLPS gradings")
        ordering = ["unit__path", "system__name", "-version"]
        permissions = [
            ("grade_grading", "Can grade information systems"),
            ("submit_grading", "Can submit gradings and record their procedure"),
            ("approve_grading", "Can approve gradings of subordinate units"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["system", "version"], name="assets_grading_system_version_unique"),
            models.UniqueConstraint(
                fields=["system"], condition=Q(is_current=True), name="assets_grading_one_current_per_system"
            ),
        ]
        indexes = [models.Index(fields=["state"]), models.Index(fields=["level"])]

    def __str__(self):
        return gettext("%(system)s · grading v%(version)s") % {"system": self.system, "version": self.version}

    def get_absolute_url(self):
        from core.registry import object_url

        return object_url(self)

    # derived ----------------------------------------------------------------------------------------------------------

    @property
    def level_name(self) -> str:
        return mlps.LEVEL_NAMES.get(self.level, "") if self.level else ""

    @property
    def requires_filing(self) -> bool:
        return bool(self.level and self.level >= 2)

    @property
    def is_filed(self) -> bool:
        return self.state in mlps.FILED_STATES

    def result(self) -> mlps.GradingResult:
        """The grading recomputed from the stored pairs and data level (with this installation's floors)."""
        return mlps.grade(
            [tuple(p) for p in self.business_pairs],
            [tuple(p) for p in self.service_pairs],
            self.data_level or None,
            grading_policy(),
        )

    def apply_result(self, result: mlps.GradingResult) -> None:
        """Store what :func:`assets.mlps.grade` decided, reasoning in the active language."""
        self.business_pairs = _pairs_as_lists(result.business_pairs)
        self.service_pairs = _pairs_as_lists(result.service_pairs)
        self.data_level = result.data_level or ""
        self.business_level = result.business_level
        self.service_level = result.service_level
        self.computed_level = result.computed_level
        self.level = result.level
        self.floor_applied = result.floor_applied or ""
        self.reasoning = [str(line) for line in result.reasoning()]

    def latest_assessment(self):
        return self.assessments.filter(kind=AssessmentKind.ASSESSMENT).order_by("-assessed_on", "-pk").first()

    def allowed_states(self) -> set[str]:
        latest = self.latest_assessment()
        return mlps.allowed_transitions(self.state, self.level, conclusion=latest.conclusion if latest else None)

    # persistence ------------------------------------------------------------------------------------------------------

    def clean(self):
        if self.system_id and not self.unit_id:
            self.unit_id = self.system.unit_id
        if self.level and not (1 <= self.level <= 5):
            raise ValidationError({"level": _("An MLPS level is 1 to 5")})

    def save(self, *args, **kwargs):
        if self.system_id:
            _sync_unit(self, self.system)
        if self.version is None and self.system_id:
            last = Grading.objects.filter(system_id=self.system_id).aggregate(n=Max("version"))["n"] or 0
            self.version = last + 1
        super().save(*args, **kwargs)
        if self.is_current:
            self.sync_system()

    def sync_system(self) -> None:
        """Mirror level and state to the system (audited: a saved update of the system's MLPS fields)."""
        system = InformationSystem.objects.get(pk=self.system_id)
        changed = []
        if system.mlps_level != self.level:
            system.mlps_level = self.level
            changed.append("mlps_level")
        if system.mlps_state != self.state:
            system.mlps_state = self.state
            changed.append("mlps_state")
        if changed:
            system.save(update_fields=changed)
        self.system = system

    def move_to(
        self, to_state: str, *, user, action: str, comment: str = "", assessment=None, conclusion=None
    ) -> "GradingStep":
        """Record one procedure step and, if the state changes, move the record (checked against the rules).

        ``conclusion`` (else that of ``assessment``, else of the latest assessment) decides whether assessed →
        compliant is allowed.
        """
        from_state = self.state
        if to_state != from_state:
            if conclusion is None:
                latest = assessment if assessment is not None else self.latest_assessment()
                conclusion = latest.conclusion if latest is not None else None
            if not mlps.can_transition(from_state, to_state, self.level, conclusion=conclusion):
                raise ValidationError(
                    gettext("A grading cannot move from “%(from)s” to “%(to)s”.")
                    % {"from": mlps.STATE_LABELS[from_state], "to": mlps.STATE_LABELS[to_state]}
                )
        with transaction.atomic():
            step = GradingStep.objects.create(
                grading=self,
                unit_id=self.unit_id,
                action=action,
                from_state="" if action == StepAction.GRADE else from_state,
                to_state=to_state,
                actor=user,
                comment=comment,
                assessment=assessment,
                created_by=user,
                updated_by=user,
            )
            if to_state != from_state:
                self.state = to_state
                self.state_changed_at = step.at
                self.updated_by = user
                fields = ["state", "state_changed_at", "updated_by", "updated_at"]
                if to_state == mlps.STATE_GRADED_FINAL and self.level_fixed_on is None:
                    self.level_fixed_on = timezone.localdate(step.at)
                    fields.append("level_fixed_on")
                self.save(update_fields=fields)
        return step

    def approve(self, *, user, comment: str = "") -> "GradingStep":
        """The supervising bureau's approval: fixes the level (the filing clock starts) without a state change."""
        with transaction.atomic():
            step = self.move_to(self.state, user=user, action=StepAction.APPROVE, comment=comment)
            self.approved_at = step.at
            self.approved_by = user
            self.level_fixed_on = timezone.localdate(step.at)
            self.updated_by = user
            self.save(update_fields=["approved_at", "approved_by", "level_fixed_on", "updated_by", "updated_at"])
        return step

    @classmethod
    def start(cls, system, result: mlps.GradingResult, *, user, reason: str, texts: dict) -> "Grading":
        """A new current grading of ``system`` (the previous current one becomes history); level 1 concludes at once."""
        with transaction.atomic():
            previous = cls.objects.select_for_update().filter(system=system, is_current=True).first()
            if previous is not None:
                previous.move_to(
                    previous.state,
                    user=user,
                    action=StepAction.SUPERSEDE,
                    comment=gettext("Replaced by a new grading (%(reason)s).")
                    % {"reason": GradingReason(reason).label},
                )
                previous.is_current = False
                previous.updated_by = user
                previous.save(update_fields=["is_current", "updated_by", "updated_at"])
            grading = cls(
                system=system, unit_id=system.unit_id, reason=reason, created_by=user, updated_by=user, **texts
            )
            grading.apply_result(result)
            grading.save()
            grading.move_to(mlps.STATE_DRAFT, user=user, action=StepAction.GRADE)
            if grading.level == 1:
                grading.move_to(mlps.STATE_GRADED_FINAL, user=user, action=StepAction.FINALISE)
        return grading

    def revise(self, result: mlps.GradingResult, *, user, texts: dict) -> None:
        """Change a draft grading (after it was returned, or before it is submitted)."""
        if self.state != mlps.STATE_DRAFT:
            raise ValidationError(gettext("Only a grading in progress can be changed; start a re-grade instead."))
        with transaction.atomic():
            self.apply_result(result)
            for name, value in texts.items():
                setattr(self, name, value)
            self.updated_by = user
            self.save()
            self.move_to(mlps.STATE_DRAFT, user=user, action=StepAction.REVISE)
            if self.level == 1:
                self.move_to(mlps.STATE_GRADED_FINAL, user=user, action=StepAction.FINALISE)


class GradingStep(UnitOwned):
    """One step of a grading's procedure: who moved it from which state to which, when, and why."""

    grading = models.ForeignKey(Grading, on_delete=models.CASCADE, related_name="steps", verbose_name=_("grading"))
    action = models.CharField(_("action"), max_length=30, choices=StepAction.choices)
    from_state = models.CharField(_("from state"), max_length=30, choices=mlps.STATES, blank=True)
    to_state = models.CharField(_("to state"), max_length=30, choices=mlps.STATES)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("by"),
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    comment = models.TextField(_("comment"), blank=True)
    assessment = models.ForeignKey(
        "Assessment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="steps",
        verbose_name=_("assessment"),
    )

    class Meta:
        verbose_name = _("MLPS procedure step")
        verbose_name_plural = _("MLPS procedure steps")
        ordering = ["-at", "-pk"]

    def __str__(self):
        return f"{self.grading} · {self.get_action_display()}"

    def get_absolute_url(self):
        from core.registry import object_url

        return object_url(self)

    @property
    def changes_state(self) -> bool:
        return bool(self.from_state) and self.from_state != self.to_state

    def save(self, *args, **kwargs):
        if self.grading_id:
            _sync_unit(self, self.grading)
        super().save(*args, **kwargs)


class Filing(UnitOwned):
    """The filing with public security (公安机关备案) of a grading, with its certificate."""

    grading = models.OneToOneField(Grading, on_delete=models.PROTECT, related_name="filing", verbose_name=_("grading"))
    public_security_organ = models.CharField(
        _("public security organ"), max_length=200, help_text=_("The public security bureau that accepted the filing")
    )
    certificate_number = models.CharField(_("filing certificate number"), max_length=100)
    filed_on = models.DateField(_("filed on"))
    valid_until = models.DateField(
        _("valid until"), blank=True, help_text=_("Leave blank for the default validity after the filing date")
    )

    class Meta:
        verbose_name = _("MLPS filing")
        verbose_name_plural = _("MLPS filings")
        ordering = ["-filed_on", "-pk"]

    def __str__(self):
        return self.certificate_number

    def get_absolute_url(self):
        from core.registry import object_url

        return object_url(self)

    @property
    def system(self):
        return self.grading.system

    def clean(self):
        errors = {}
        if self.filed_on and self.filed_on > timezone.localdate():
            errors["filed_on"] = _("The filing date cannot be in the future")
        if self.filed_on and self.valid_until and self.valid_until <= self.filed_on:
            errors["valid_until"] = _("The certificate must be valid after the filing date")
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs):
        if self.grading_id:
            _sync_unit(self, self.grading)
        if self.valid_until is None and self.filed_on:
            self.valid_until = mlps.default_certificate_valid_until(self.filed_on, mlps_policy())
        super().save(*args, **kwargs)


class AssessmentKind(models.TextChoices):
    ASSESSMENT = "assessment", _("MLPS assessment")
    SELF_INSPECTION = "self_inspection", _("Self-inspection")


def _percent_validators():
    return [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))]


class Assessment(UnitOwned):
    """An MLPS assessment by an agency (等级测评) or a self-inspection (自查) of a graded system."""

    system = models.ForeignKey(
        InformationSystem, on_delete=models.PROTECT, related_name="assessments", verbose_name=_("information system")
    )
    grading = models.ForeignKey(
        Grading, on_delete=models.PROTECT, related_name="assessments", verbose_name=_("grading")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=AssessmentKind.choices, default=AssessmentKind.ASSESSMENT)
    agency = models.CharField(
        _("assessment agency"), max_length=200, blank=True, help_text=_("The assessment agency, or who inspected")
    )
    assessed_on = models.DateField(_("assessed on"))
    score = models.DecimalField(
        _("score"), max_digits=5, decimal_places=2, null=True, blank=True, validators=_percent_validators()
    )
    compliance_rate = models.DecimalField(
        _("compliance rate (%)"), max_digits=5, decimal_places=2, validators=_percent_validators()
    )
    high_risk_count = models.PositiveIntegerField(_("high-risk items"), default=0)
    conclusion = models.CharField(_("conclusion"), max_length=30, choices=mlps.CONCLUSIONS, editable=False)

    class Meta:
        verbose_name = _("MLPS assessment")
        verbose_name_plural = _("MLPS assessments")
        ordering = ["-assessed_on", "-pk"]

    def __str__(self):
        return f"{self.system} · {self.get_kind_display()} {self.assessed_on}"

    def get_absolute_url(self):
        from core.registry import object_url

        return object_url(self)

    def compute_conclusion(self) -> str:
        return mlps.assessment_conclusion(float(self.compliance_rate), int(self.high_risk_count or 0))

    @property
    def needs_rectification(self) -> bool:
        """Non-compliant, or any high-risk item open: the system enters rectification."""
        return self.conclusion == mlps.CONCLUSION_NON_COMPLIANT or (self.high_risk_count or 0) > 0

    def clean(self):
        errors = {}
        if self.assessed_on and self.assessed_on > timezone.localdate():
            errors["assessed_on"] = _("The assessment date cannot be in the future")
        if self.kind == AssessmentKind.ASSESSMENT and not (self.agency or "").strip():
            errors["agency"] = _("Name the assessment agency")
        if self.grading_id and self.system_id and self.grading.system_id != self.system_id:
            errors["grading"] = _("The grading belongs to another system")
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs):
        if self.grading_id and not self.system_id:
            self.system_id = self.grading.system_id
        if self.system_id:
            _sync_unit(self, self.system)
        if self.compliance_rate is not None:
            self.conclusion = self.compute_conclusion()
        super().save(*args, **kwargs)


def _follow_system_unit(sender, instance, raw=False, update_fields=None, **kwargs):
    """When a system moves to another unit, its MLPS records move with it (they are scoped by the unit)."""
    if raw or instance.pk is None or (update_fields is not None and "unit" not in update_fields):
        return
    for model in (Grading, GradingStep, Assessment, Filing):
        lookup = {"system": instance} if model in (Grading, Assessment) else {"grading__system": instance}
        stale = model.objects.filter(**lookup).exclude(unit_id=instance.unit_id)
        for record in stale:
            record.unit_id = instance.unit_id
            record.save(update_fields=["unit"])


models.signals.post_save.connect(
    _follow_system_unit, sender=InformationSystem, dispatch_uid="assets_mlps_follow_system_unit"
)
