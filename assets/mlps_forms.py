"""Forms of the MLPS lifecycle: the grading wizard and one form per procedure action.

The wizard's two aspects are each a 3×3 grid of checkboxes (harmed object × degree of harm); a ticked box posts
``"<object>:<degree>"``. The grading itself is decided by :func:`assets.mlps.grade`; the form only turns the ticks into
pairs and reports what is missing, per field.
"""

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.attachments import EvidenceFileField

from . import mlps
from .models import Assessment, AssessmentKind, Filing, GradingReason
from .policy import grading_policy, mlps_policy

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TEXT = forms.Textarea(attrs={"rows": 3})

ASPECTS = (mlps.ASPECT_BUSINESS, mlps.ASPECT_SERVICE)
PAIR_CHOICES = [
    (f"{obj}:{degree}", f"{mlps.OBJECT_LABELS[obj]} / {mlps.DEGREE_LABELS[degree]}") for obj, degree in mlps.PAIRS
]


class CapfirstLabels:
    """Labels start with a capital letter, as model forms do with verbose names (the msgids stay lower case)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if field.label:
                field.label = capfirst(field.label)


def pair_value(pair) -> str:
    return f"{pair[0]}:{pair[1]}"


def parse_pair(value: str) -> tuple[str, str]:
    obj, _sep, degree = value.partition(":")
    return obj, degree


class GradingForm(CapfirstLabels, forms.Form):
    """The grading wizard: both aspects, the data level, the reason (for a re-grade) and the grading-report texts."""

    business = forms.MultipleChoiceField(
        label=mlps.ASPECT_LABELS[mlps.ASPECT_BUSINESS],
        choices=PAIR_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    service = forms.MultipleChoiceField(
        label=mlps.ASPECT_LABELS[mlps.ASPECT_SERVICE],
        choices=PAIR_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    data_level = forms.ChoiceField(
        label=_("highest data level"),
        choices=[("", _("Not classified")), *mlps.DATA_LEVELS],
        required=False,
        help_text=_("Taken from the ledger; important data raises the level to at least 3, core data to at least 4"),
    )
    reason = forms.ChoiceField(
        label=_("reason for grading"),
        choices=[
            (GradingReason.MATERIAL_CHANGE, GradingReason.MATERIAL_CHANGE.label),
            (GradingReason.REGRADE, GradingReason.REGRADE.label),
        ],
        widget=forms.RadioSelect,
        initial=GradingReason.REGRADE,
    )
    object_description = forms.CharField(
        label=_("description of the graded object"),
        widget=TEXT,
        max_length=5000,
        help_text=_("What the system is, who operates it, its boundary, network and main components"),
    )
    business_description = forms.CharField(
        label=_("business information description"),
        widget=TEXT,
        max_length=5000,
        help_text=_("What information the system processes and what harm its loss, leak or tampering would cause"),
    )
    service_description = forms.CharField(
        label=_("system service description"),
        widget=TEXT,
        max_length=5000,
        help_text=_("What service the system provides, to whom, and what harm an interruption would cause"),
    )

    TEXT_FIELDS = ("object_description", "business_description", "service_description")

    def __init__(self, *args, regrading=False, preview=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.result: mlps.GradingResult | None = None
        self.regrading = regrading
        if not regrading:
            del self.fields["reason"]
        if preview:  # the live preview needs only the ticks and the data level
            for name in (*self.TEXT_FIELDS, "reason"):
                self.fields.pop(name, None)

    def clean(self):
        cleaned = super().clean()
        pairs = {}
        for aspect in ASPECTS:
            values = cleaned.get(aspect) or []
            pairs[aspect] = [parse_pair(v) for v in values]
            if not values and aspect not in self.errors:
                self.add_error(
                    aspect,
                    gettext("Tick at least one harmed object and degree of harm for %(aspect)s.")
                    % {"aspect": mlps.ASPECT_LABELS[aspect]},
                )
        if not any(a in self.errors for a in (*ASPECTS, "data_level")):
            self.result = mlps.grade(
                pairs[mlps.ASPECT_BUSINESS],
                pairs[mlps.ASPECT_SERVICE],
                cleaned.get("data_level") or None,
                grading_policy(),
            )
        return cleaned

    def texts(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.TEXT_FIELDS}

    def grid(self, aspect: str) -> dict:
        """One aspect as the matrix: rows are harmed objects, columns degrees, each cell a checkbox with its level."""
        field = self[aspect]
        if self.is_bound:
            ticked = set(self.data.getlist(aspect)) if hasattr(self.data, "getlist") else set(self.data.get(aspect, []))
        else:
            ticked = {str(v) for v in (field.initial or [])}
        deciding = None
        if self.result is not None:
            deciding = pair_value(getattr(self.result, f"{aspect}_pair"))
        rows = []
        for obj, obj_label in mlps.OBJECTS:
            cells = []
            for degree, degree_label in mlps.DEGREES:
                value = f"{obj}:{degree}"
                cells.append(
                    {
                        "value": value,
                        "id": f"id_{aspect}_{obj}_{degree}",
                        "checked": value in ticked,
                        "level": mlps.MATRIX[(obj, degree)],
                        "deciding": value == deciding,
                        "label": f"{obj_label}, {degree_label}",
                    }
                )
            rows.append({"code": obj, "label": obj_label, "cells": cells})
        return {
            "name": aspect,
            "field": field,
            "label": mlps.ASPECT_LABELS[aspect],
            "degrees": [label for _code, label in mlps.DEGREES],
            "rows": rows,
            "errors": field.errors,
        }

    def grids(self) -> list[dict]:
        return [self.grid(aspect) for aspect in ASPECTS]


def initial_for(grading=None, system=None) -> dict:
    """The wizard's initial values: an existing grading's ticks and texts, else the system's data level."""
    if grading is not None:
        return {
            "business": [pair_value(p) for p in grading.business_pairs],
            "service": [pair_value(p) for p in grading.service_pairs],
            "data_level": grading.data_level,
            **{name: getattr(grading, name) for name in GradingForm.TEXT_FIELDS},
        }
    return {"data_level": getattr(system, "data_level", "") or ""}


# ---- procedure actions -----------------------------------------------------------------------------------------------


class CommentForm(CapfirstLabels, forms.Form):
    comment = forms.CharField(label=_("comment"), widget=TEXT, required=False, max_length=2000)


class ReturnForm(CapfirstLabels, forms.Form):
    comment = forms.CharField(
        label=_("reason for returning"),
        widget=TEXT,
        max_length=2000,
        help_text=_("Say what must be corrected; the grader sees it in the timeline"),
    )


class ExpertReviewForm(CommentForm):
    expert_opinion = EvidenceFileField(
        label=_("expert opinion"), help_text=_("The signed expert review opinion (PDF, Word/OFD or a scan)")
    )
    field_order = ["expert_opinion", "comment"]


class ApproveForm(CommentForm):
    approval = EvidenceFileField(
        label=_("approval document"),
        required=False,
        help_text=_("The supervising bureau's approval, if there is a written one"),
    )
    field_order = ["approval", "comment"]


class FilingForm(CapfirstLabels, forms.ModelForm):
    certificate = EvidenceFileField(
        label=_("filing certificate"), required=False, help_text=_("A scan of the filing certificate (备案证明)")
    )
    comment = forms.CharField(label=_("comment"), widget=TEXT, required=False, max_length=2000)

    class Meta:
        model = Filing
        fields = ["public_security_organ", "certificate_number", "filed_on", "valid_until"]
        widgets = {"filed_on": DATE, "valid_until": DATE}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        years = mlps_policy().certificate_years
        self.fields["valid_until"].required = False
        self.fields["valid_until"].help_text = gettext(
            "Leave blank for the default: %(years)d years after the filing date"
        ) % {"years": years}


class AssessmentForm(CapfirstLabels, forms.ModelForm):
    report = EvidenceFileField(
        label=_("assessment report"),
        required=False,
        help_text=_("The assessment or self-inspection report (PDF or Word/OFD)"),
    )
    comment = forms.CharField(label=_("comment"), widget=TEXT, required=False, max_length=2000)

    class Meta:
        model = Assessment
        fields = ["kind", "agency", "assessed_on", "score", "compliance_rate", "high_risk_count"]
        widgets = {"assessed_on": DATE}
        help_texts = {
            "compliance_rate": _(
                "Above 90 with no high-risk item: compliant; 60 to 90: basically compliant; below 60: non-compliant"
            ),
        }

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind") == AssessmentKind.ASSESSMENT and not cleaned.get("report"):
            if "report" not in self.errors:
                self.add_error("report", gettext("Attach the assessment report."))
        return cleaned
