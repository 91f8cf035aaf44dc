"""Pages of the MLPS lifecycle: the grading wizard (with its live preview), the grading page with its procedure
actions and timeline, the system's MLPS page, and the DOCX grading report.

Who may do what (on top of the unit-subtree scoping of ``objects.restrict``):

- grade (wizard, re-grade, revise a draft): the ``grade`` permission on gradings;
- submit for expert review: the ``submit`` permission, and the user belongs to the system's own unit;
- record the expert review, enter the filing certificate, record an assessment: the ``submit`` permission, at the
  system's unit or above it;
- approve, return for revision, accept rectification: the ``approve`` permission at a unit *above* the system's unit,
  so that a school never approves its own grading.

Every state change is also checked against :func:`assets.mlps.allowed_transitions`.
"""

from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from core import audit
from core.attachments import attach, attachments_of
from core.models import AuditAction
from core.scoping import permission_name

from . import mlps
from .mlps_forms import (
    ApproveForm,
    AssessmentForm,
    CommentForm,
    ExpertReviewForm,
    FilingForm,
    GradingForm,
    ReturnForm,
    initial_for,
    pair_value,
)
from .models import (
    Assessment,
    AssessmentKind,
    AttachmentKind,
    Filing,
    Grading,
    GradingReason,
    InformationSystem,
    StepAction,
)

OWN, ABOVE = "own", "above"
# The installation's top unit (e.g. the city bureau) has no supervising bureau on the platform: for its own systems
# it records both its own steps and the outside authority's approval (e.g. the provincial department's).
TOP = "top"


# ---- who may act -----------------------------------------------------------------------------------------------------


def position(user, system) -> str | None:
    """``"own"`` when the user belongs to the system's unit, ``"above"`` when to a unit above it, else ``None``."""
    if user.is_superuser:
        return ABOVE
    unit = getattr(user, "unit", None)
    if unit is None or not system.unit_id:
        return None
    if unit.pk == system.unit_id:
        return TOP if unit.depth == 1 else OWN
    if system.unit.path.startswith(unit.path):
        return ABOVE
    return None


def has(user, action: str) -> bool:
    return user.has_perm(permission_name(Grading, action))


def can_grade(user) -> bool:
    return has(user, "grade")


@dataclass(frozen=True)
class Action:
    """One procedure action offered on the grading page."""

    code: str
    label: str
    icon: str
    permission: str  # "submit" or "approve" (a permission on gradings)
    positions: frozenset
    from_states: frozenset
    target: str | None  # the state it moves to; None: no state change of its own
    form_class: type
    button: str = "btn"
    help: str = ""
    extra: dict = field(default_factory=dict)

    def allowed_for(self, user, grading) -> bool:
        """Role and position: may this user take this action on this system at all?"""
        return has(user, self.permission) and position(user, grading.system) in self.positions

    def possible(self, grading) -> bool:
        """State: does the grading's procedure allow this action now?"""
        if not grading.is_current or grading.state not in self.from_states:
            return False
        if self.code == "approve" and grading.approved_at is not None:
            return False
        if self.code == "return" and grading.approved_at is not None:
            return False
        if self.code == "file" and grading.approved_at is None:
            return False
        if self.target is None or self.target == grading.state:
            return True
        return self.target in grading.allowed_states()


REVIEW_STATES = frozenset({mlps.STATE_EXPERT_REVIEW, mlps.STATE_REGULATOR_APPROVAL})

ACTIONS: dict[str, Action] = {
    a.code: a
    for a in [
        Action(
            "submit",
            gettext_lazy("Submit for expert review"),
            "ti-send",
            "submit",
            frozenset({OWN, TOP}),
            frozenset({mlps.STATE_DRAFT}),
            mlps.STATE_EXPERT_REVIEW,
            CommentForm,
            "btn-primary",
            gettext_lazy("The grading goes to expert review. Levels 2 and above need expert review and approval."),
        ),
        Action(
            "expert_review",
            gettext_lazy("Record expert review"),
            "ti-users-group",
            "submit",
            frozenset({OWN, ABOVE, TOP}),
            frozenset({mlps.STATE_EXPERT_REVIEW}),
            mlps.STATE_REGULATOR_APPROVAL,
            ExpertReviewForm,
            "btn-primary",
            gettext_lazy("Attach the experts' opinion; the grading then goes to the supervising bureau for approval."),
        ),
        Action(
            "approve",
            gettext_lazy("Approve"),
            "ti-circle-check",
            "approve",
            frozenset({ABOVE, TOP}),
            frozenset({mlps.STATE_REGULATOR_APPROVAL}),
            None,
            ApproveForm,
            "btn-success",
            gettext_lazy(
                "Approving fixes the level: the system must then be filed with public security within 30 days."
            ),
        ),
        Action(
            "file",
            gettext_lazy("Enter filing certificate"),
            "ti-certificate",
            "submit",
            frozenset({OWN, ABOVE, TOP}),
            frozenset({mlps.STATE_REGULATOR_APPROVAL}),
            mlps.STATE_FILED,
            FilingForm,
            "btn-primary",
            gettext_lazy("The filing with public security (公安机关备案) and its certificate."),
        ),
        Action(
            "assess",
            gettext_lazy("Record assessment"),
            "ti-clipboard-check",
            "submit",
            frozenset({OWN, ABOVE, TOP}),
            frozenset(mlps.FILED_STATES),
            mlps.STATE_ASSESSED,
            AssessmentForm,
            "btn-primary",
            gettext_lazy(
                "An MLPS assessment moves the grading to compliant (符合), keeps it assessed (基本符合 without "
                "high-risk items) or starts rectification; a self-inspection is recorded without a state change."
            ),
        ),
        Action(
            "accept_rectification",
            gettext_lazy("Accept rectification"),
            "ti-checks",
            "approve",
            frozenset({ABOVE, TOP}),
            frozenset({mlps.STATE_RECTIFYING}),
            mlps.STATE_COMPLIANT,
            CommentForm,
            "btn-success",
            gettext_lazy("The rectification of the assessment's findings is complete and checked."),
        ),
        Action(
            "return",
            gettext_lazy("Return for revision"),
            "ti-arrow-back-up",
            "approve",
            frozenset({ABOVE, TOP}),
            REVIEW_STATES,
            mlps.STATE_DRAFT,
            ReturnForm,
            "btn-outline-danger",
            gettext_lazy("The grading goes back to the grader with your comment."),
        ),
    ]
}


def available_actions(user, grading) -> list[Action]:
    return [a for a in ACTIONS.values() if a.possible(grading) and a.allowed_for(user, grading)]


def _visible_system(request, system_pk):
    return get_object_or_404(
        InformationSystem.objects.restrict(request.user, "view").select_related("unit"), pk=system_pk
    )


def _visible_grading(request, pk):
    qs = Grading.objects.restrict(request.user, "view").select_related("system", "system__unit", "unit")
    return get_object_or_404(qs, pk=pk)


# ---- context shared by the pages -------------------------------------------------------------------------------------


def level_label(level) -> str:
    if not level:
        return ""
    return _("Level %(level)d · %(name)s") % {"level": level, "name": mlps.LEVEL_NAMES[level]}


def aspect_pairs(grading) -> list[dict]:
    """The ticked pairs of both aspects, labelled, the deciding pair marked."""
    try:
        result = grading.result()
    except ValueError:
        result = None
    aspects = []
    for aspect in (mlps.ASPECT_BUSINESS, mlps.ASPECT_SERVICE):
        deciding = pair_value(getattr(result, f"{aspect}_pair")) if result is not None else None
        aspects.append(
            {
                "code": aspect,
                "label": mlps.ASPECT_LABELS[aspect],
                "level": getattr(grading, f"{aspect}_level"),
                "pairs": [
                    {
                        "object": mlps.OBJECT_LABELS.get(obj, obj),
                        "degree": mlps.DEGREE_LABELS.get(degree, degree),
                        "level": mlps.MATRIX.get((obj, degree)),
                        "deciding": f"{obj}:{degree}" == deciding,
                    }
                    for obj, degree in getattr(grading, f"{aspect}_pairs")
                ],
            }
        )
    return aspects


def evidence(*objects) -> list[dict]:
    """The attachments of ``objects``, each with its kind's label."""
    labels = dict(AttachmentKind.choices)
    return [
        {"file": file, "label": labels.get(file.kind, file.kind)}
        for obj in objects
        if obj is not None
        for file in attachments_of(obj).order_by("created_at", "pk")
    ]


def timeline(grading) -> list[dict]:
    steps = grading.steps.select_related("actor", "assessment").order_by("at", "pk")
    return [{"step": step, "attachments": evidence(step, step.assessment)} for step in steps]


STATE_COLOURS = {
    mlps.STATE_DRAFT: "secondary",
    mlps.STATE_EXPERT_REVIEW: "azure",
    mlps.STATE_REGULATOR_APPROVAL: "indigo",
    mlps.STATE_FILED: "blue",
    mlps.STATE_ASSESSED: "cyan",
    mlps.STATE_RECTIFYING: "orange",
    mlps.STATE_COMPLIANT: "green",
    mlps.STATE_GRADED_FINAL: "green",
}

PROCEDURE = [
    mlps.STATE_DRAFT,
    mlps.STATE_EXPERT_REVIEW,
    mlps.STATE_REGULATOR_APPROVAL,
    mlps.STATE_FILED,
    mlps.STATE_ASSESSED,
    mlps.STATE_RECTIFYING,
    mlps.STATE_COMPLIANT,
]


def procedure_steps(grading) -> list[dict]:
    """The procedure as a progress list; level 1 ends after grading."""
    states = [mlps.STATE_DRAFT, mlps.STATE_GRADED_FINAL] if grading.level == 1 else PROCEDURE
    reached = set(grading.steps.values_list("to_state", flat=True))
    current = grading.state
    rows = []
    for state in states:
        rows.append(
            {
                "state": state,
                "label": mlps.STATE_LABELS[state],
                "current": state == current,
                "done": state in reached and state != current,
            }
        )
    return rows


def mlps_system_context(request, system) -> dict:
    """What the system's pages show about its MLPS lifecycle: the current grading, the history, filings and
    assessments. The ledger's system page can add this to its context and include ``assets/mlps/_system_panel.html``."""
    user = request.user
    gradings = list(
        Grading.objects.restrict(user, "view").filter(system=system).select_related("filing").order_by("-version")
    )
    current = next((g for g in gradings if g.is_current), None)
    assessments = list(Assessment.objects.restrict(user, "view").filter(system=system).select_related("grading")[:20])
    return {
        "mlps_system": system,
        "mlps_current": current,
        "mlps_current_level_label": level_label(current.level) if current else "",
        "mlps_history": [g for g in gradings if not g.is_current],
        "mlps_gradings": gradings,
        "mlps_assessments": assessments,
        "mlps_can_grade": can_grade(user) and position(user, system) is not None,
        "mlps_wizard_url": reverse("assets:grading_wizard", kwargs={"system_pk": system.pk}),
        "mlps_page_url": reverse("assets:system_mlps", kwargs={"system_pk": system.pk}),
        "mlps_state_colours": STATE_COLOURS,
    }


# ---- the grading wizard ----------------------------------------------------------------------------------------------


class GradingWizardView(LoginRequiredMixin, View):
    """Grade a system: new grading (initial or re-grade) at ``systems/<system_pk>/grading/new/``, or revise a draft at
    ``gradings/<pk>/edit/``."""

    template_name = "assets/mlps/grading_wizard.html"

    def setup_objects(self, request, system_pk=None, pk=None):
        if pk is not None:
            self.grading = _visible_grading(request, pk)
            self.system = self.grading.system
        else:
            self.grading = None
            self.system = _visible_system(request, system_pk)
        if not can_grade(request.user) or position(request.user, self.system) is None:
            raise PermissionDenied
        self.current = (
            self.grading
            if self.grading is not None
            else Grading.objects.filter(system=self.system, is_current=True).first()
        )

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.setup_objects(request, kwargs.get("system_pk"), kwargs.get("pk"))
        if self.grading is not None and not (self.grading.is_current and self.grading.state == mlps.STATE_DRAFT):
            messages.error(request, _("Only a current grading in progress can be changed; start a re-grade instead."))
            return HttpResponseRedirect(self.grading.get_absolute_url())
        if self.grading is None and self.current is not None and self.current.state == mlps.STATE_DRAFT:
            messages.info(request, _("This system's grading is still in progress: continue it."))
            return HttpResponseRedirect(reverse("assets:grading_edit", kwargs={"pk": self.current.pk}))
        return super().dispatch(request, *args, **kwargs)

    @property
    def regrading(self) -> bool:
        return self.grading is None and self.current is not None

    def get_form(self, data=None):
        initial = initial_for(self.current if self.current is not None else None, self.system)
        if self.grading is None and self.current is None:
            initial = initial_for(None, self.system)
        return GradingForm(data, initial=initial, regrading=self.regrading)

    def get(self, request, **kwargs):
        form = self.get_form()
        return self.render(form)

    def post(self, request, **kwargs):
        form = self.get_form(request.POST)
        if not form.is_valid():
            return self.render(form, status=200)
        user = request.user
        with transaction.atomic():
            self.update_system_data_level(form.cleaned_data.get("data_level") or "")
            if self.grading is not None:
                self.grading.revise(form.result, user=user, texts=form.texts())
                grading = self.grading
                messages.success(request, _("Grading revised: %(level)s") % {"level": level_label(grading.level)})
            else:
                reason = form.cleaned_data.get("reason") if self.regrading else GradingReason.INITIAL
                grading = Grading.start(self.system, form.result, user=user, reason=reason, texts=form.texts())
                messages.success(request, _("Grading saved: %(level)s") % {"level": level_label(grading.level)})
        return HttpResponseRedirect(grading.get_absolute_url())

    def update_system_data_level(self, data_level: str) -> None:
        """The data level chosen on the page is the system's (就高从严): write it back when the user may edit it."""
        if data_level == (self.system.data_level or ""):
            return
        editable = InformationSystem.objects.restrict(self.request.user, "change").filter(pk=self.system.pk).first()
        if editable is not None:
            editable.data_level = data_level
            editable.updated_by = self.request.user
            editable.save(update_fields=["data_level", "updated_by", "updated_at"])
            self.system.data_level = data_level

    def render(self, form, status=200):
        result = form.result
        if not form.is_bound and form.initial.get("business") and form.initial.get("service"):
            # Revising or re-grading: the current ticks' result is shown before anything changes.
            preview = GradingForm({**form.initial}, preview=True)
            result = preview.result if preview.is_valid() else None
        context = {
            "system": self.system,
            "grading": self.grading,
            "current": self.current,
            "form": form,
            "regrading": self.regrading,
            "grids": form.grids(),
            "result": result,
            "preview_url": reverse("assets:grading_preview", kwargs={"system_pk": self.system.pk}),
            "cancel_url": self.grading.get_absolute_url() if self.grading else self.system.get_absolute_url(),
        }
        return render(self.request, self.template_name, context, status=status)


class GradingPreviewView(LoginRequiredMixin, View):
    """The wizard's live result: posted by htmx whenever a box or the data level changes."""

    def post(self, request, system_pk):
        system = _visible_system(request, system_pk)
        if not can_grade(request.user) or position(request.user, system) is None:
            raise PermissionDenied
        form = GradingForm(request.POST, preview=True)
        form.is_valid()
        context = {
            "form": form,
            "result": form.result,
            "hints": [form.errors[a][0] for a in (mlps.ASPECT_BUSINESS, mlps.ASPECT_SERVICE) if a in form.errors],
        }
        return render(request, "assets/mlps/_grading_result.html", context)


# ---- the grading page and its actions --------------------------------------------------------------------------------


class GradingDetailView(LoginRequiredMixin, View):
    template_name = "assets/mlps/grading_detail.html"

    def get(self, request, pk):
        grading = _visible_grading(request, pk)
        system = grading.system
        user = request.user
        filing = Filing.objects.restrict(user, "view").filter(grading=grading).first()
        context = {
            "object": grading,
            "grading": grading,
            "system": system,
            "level_label": level_label(grading.level),
            "computed_label": level_label(grading.computed_level),
            "floor_label": mlps.DATA_LEVEL_LABELS.get(grading.floor_applied, ""),
            "data_level_label": mlps.DATA_LEVEL_LABELS.get(grading.data_level, ""),
            "aspects": aspect_pairs(grading),
            "timeline": timeline(grading),
            "procedure": procedure_steps(grading),
            "state_colour": STATE_COLOURS.get(grading.state, "secondary"),
            "actions": available_actions(user, grading),
            "filing": filing,
            "assessments": Assessment.objects.restrict(user, "view").filter(grading=grading),
            "history": Grading.objects.restrict(user, "view").filter(system=system).exclude(pk=grading.pk),
            "can_edit": grading.is_current
            and grading.state == mlps.STATE_DRAFT
            and can_grade(user)
            and position(user, system) is not None,
            "can_regrade": grading.is_current
            and grading.state != mlps.STATE_DRAFT
            and can_grade(user)
            and position(user, system) is not None,
            "current": grading
            if grading.is_current
            else Grading.objects.restrict(user, "view").filter(system=system, is_current=True).first(),
            "state_colours": STATE_COLOURS,
        }
        return render(request, self.template_name, context)


class GradingActionView(LoginRequiredMixin, View):
    """One procedure action: GET shows its form, POST records the step (and its evidence) and moves the grading."""

    template_name = "assets/mlps/grading_action.html"

    def setup_action(self, request, pk, action):
        self.grading = _visible_grading(request, pk)  # outside the user's subtree: 404
        self.action = ACTIONS.get(action)
        if self.action is None or not self.action.allowed_for(request.user, self.grading):
            raise PermissionDenied  # wrong role, or a school user trying to approve its own grading
        if not self.action.possible(self.grading):
            messages.error(
                request,
                _("“%(action)s” is not possible while the grading is “%(state)s”.")
                % {"action": self.action.label, "state": self.grading.get_state_display()},
            )
            return HttpResponseRedirect(self.grading.get_absolute_url())
        return None

    def form(self, data=None, files=None):
        cls = self.action.form_class
        if cls is FilingForm:
            return cls(data, files, instance=Filing(grading=self.grading, unit_id=self.grading.unit_id))
        if cls is AssessmentForm:
            instance = Assessment(grading=self.grading, system=self.grading.system, unit_id=self.grading.unit_id)
            return cls(data, files, instance=instance)
        return cls(data, files)

    def get(self, request, pk, action):
        refused = self.setup_action(request, pk, action)
        if refused:
            return refused
        return self.render(self.form())

    def post(self, request, pk, action):
        refused = self.setup_action(request, pk, action)
        if refused:
            return refused
        form = self.form(request.POST, request.FILES)
        if not form.is_valid():
            return self.render(form)
        try:
            with transaction.atomic():
                getattr(self, f"do_{self.action.code}")(form, request.user, form.cleaned_data.get("comment", ""))
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.render(form)
        self.grading.refresh_from_db()
        messages.success(
            request,
            _("%(action)s: the grading is now “%(state)s”.")
            % {"action": self.action.label, "state": self.grading.get_state_display()},
        )
        return HttpResponseRedirect(self.grading.get_absolute_url())

    def render(self, form):
        context = {
            "grading": self.grading,
            "object": self.grading,
            "system": self.grading.system,
            "action": self.action,
            "form": form,
            "level_label": level_label(self.grading.level),
        }
        return render(self.request, self.template_name, context)

    # the actions ------------------------------------------------------------------------------------------------------

    def do_submit(self, form, user, comment):
        self.grading.move_to(mlps.STATE_EXPERT_REVIEW, user=user, action=StepAction.SUBMIT, comment=comment)

    def do_expert_review(self, form, user, comment):
        step = self.grading.move_to(
            mlps.STATE_REGULATOR_APPROVAL, user=user, action=StepAction.EXPERT_REVIEW, comment=comment
        )
        attach(step, form.cleaned_data["expert_opinion"], kind=AttachmentKind.EXPERT_OPINION, user=user)

    def do_approve(self, form, user, comment):
        step = self.grading.approve(user=user, comment=comment)
        if form.cleaned_data.get("approval"):
            attach(step, form.cleaned_data["approval"], kind=AttachmentKind.APPROVAL, user=user)

    def do_file(self, form, user, comment):
        filing = form.save(commit=False)
        filing.created_by = filing.updated_by = user
        filing.save()
        step = self.grading.move_to(mlps.STATE_FILED, user=user, action=StepAction.FILE, comment=comment)
        if form.cleaned_data.get("certificate"):
            attach(step, form.cleaned_data["certificate"], kind=AttachmentKind.FILING_CERTIFICATE, user=user)

    def do_assess(self, form, user, comment):
        grading = self.grading
        assessment = form.save(commit=False)
        assessment.created_by = assessment.updated_by = user
        assessment.save()
        if form.cleaned_data.get("report"):
            attach(assessment, form.cleaned_data["report"], kind=AttachmentKind.ASSESSMENT_REPORT, user=user)
        if assessment.kind == AssessmentKind.SELF_INSPECTION:
            grading.move_to(
                grading.state, user=user, action=StepAction.SELF_INSPECT, comment=comment, assessment=assessment
            )
            return
        grading.move_to(
            mlps.STATE_ASSESSED, user=user, action=StepAction.ASSESS, comment=comment, assessment=assessment
        )
        conclusion = assessment.conclusion
        label = mlps.CONCLUSION_LABELS[conclusion]
        if conclusion == mlps.CONCLUSION_COMPLIANT:
            grading.move_to(
                mlps.STATE_COMPLIANT, user=user, action=StepAction.CONCLUDE, comment=str(label), conclusion=conclusion
            )
        elif assessment.needs_rectification:
            grading.move_to(
                mlps.STATE_RECTIFYING, user=user, action=StepAction.CONCLUDE, comment=str(label), conclusion=conclusion
            )

    def do_accept_rectification(self, form, user, comment):
        self.grading.move_to(mlps.STATE_COMPLIANT, user=user, action=StepAction.ACCEPT_RECTIFICATION, comment=comment)

    def do_return(self, form, user, comment):
        self.grading.move_to(mlps.STATE_DRAFT, user=user, action=StepAction.RETURN, comment=comment)


# ---- the system's MLPS page ------------------------------------------------------------------------------------------


class SystemMLPSView(LoginRequiredMixin, View):
    """``systems/<system_pk>/grading/``: the system's current grading, its history, filings and assessments."""

    template_name = "assets/mlps/system_mlps.html"

    def get(self, request, system_pk):
        system = _visible_system(request, system_pk)
        if not request.user.has_perm(permission_name(Grading, "view")):
            raise PermissionDenied
        context = {"system": system, "object": system, **mlps_system_context(request, system)}
        return render(request, self.template_name, context)


# ---- DOCX grading report ---------------------------------------------------------------------------------------------


class GradingReportDocxView(LoginRequiredMixin, View):
    def get(self, request, pk):
        from .mlps_docx import grading_report, report_filename

        grading = _visible_grading(request, pk)
        body = grading_report(grading)
        filename = report_filename(grading)
        audit.record(
            AuditAction.EXPORT,
            obj=grading,
            changes={"format": "docx", "report": "grading_report", "file": filename},
        )
        response = HttpResponse(
            body, content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        )
        response["Content-Disposition"] = content_disposition_header(True, filename)
        response["Cache-Control"] = "no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response


# ---- generic detail pages of steps, filings and assessments ----------------------------------------------------------


def record_detail_context(request, obj) -> dict:
    """Extra context for the generic detail pages of steps, filings and assessments: the grading and the evidence."""
    grading = obj.grading
    if isinstance(obj, Filing):
        files = evidence(*grading.steps.filter(action=StepAction.FILE))
    elif isinstance(obj, Assessment):
        files = evidence(obj)
    else:
        files = evidence(obj, obj.assessment)
    return {"mlps_grading": grading, "mlps_attachments": files, "mlps_level_label": level_label(grading.level)}
