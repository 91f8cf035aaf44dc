from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from core.attachments import EvidenceFileField
from core.forms import ScopedModelForm
from findings.models import Severity
from orgs.models import Unit

from . import rules
from .models import DeadlinePolicy, Notice, NoticeKind, NoticeState, RectificationItem

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class NoticeForm(ScopedModelForm):
    """A draft written by hand (or a drafted one being finished): its text, deadline and recipient units. An issued
    notice is not edited; it is withdrawn and issued anew."""

    recipients = forms.ModelMultipleChoiceField(
        queryset=Unit.objects.all(),
        required=False,
        label=_("recipient units"),
        help_text=_("Units below the issuing unit; each gets its own rectification."),
    )

    class Meta:
        model = Notice
        fields = [
            "unit",
            "kind",
            "title",
            "body",
            "severity",
            "deadline",
            "required_evidence",
            "signer",
            "upstream_number",
        ]
        widgets = {"deadline": DATETIME, "body": forms.Textarea(attrs={"rows": 10})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].label = _("issuing unit")
        self.fields["deadline"].input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
        if self.instance.pk:
            self.fields["recipients"].initial = list(self.instance.rectifications.values_list("unit_id", flat=True))
            if self.instance.rectifications.filter(items__isnull=False).exists():
                # Drafted from findings: the recipients are the findings' units.
                self.fields["recipients"].disabled = True

    def clean(self):
        data = super().clean()
        if self.instance.pk and self.instance.state != NoticeState.DRAFT:
            raise forms.ValidationError(
                _("Only a draft can be changed; this notice is %(state)s.")
                % {"state": self.instance.get_state_display()}
            )
        issuer = data.get("unit")
        if issuer is not None and not self.fields["recipients"].disabled:
            for unit in data.get("recipients") or []:
                if unit.pk == issuer.pk or not unit.path.startswith(issuer.path):
                    self.add_error(
                        "recipients", _("%(unit)s is not below %(issuer)s.") % {"unit": unit, "issuer": issuer}
                    )
        return data

    def _save_m2m(self):
        super()._save_m2m()
        if self.fields["recipients"].disabled:
            return
        from .models import Rectification

        wanted = {u.pk: u for u in self.cleaned_data.get("recipients") or []}
        self.instance.rectifications.exclude(unit_id__in=wanted).delete()
        have = set(self.instance.rectifications.values_list("unit_id", flat=True))
        for pk, unit in wanted.items():
            if pk not in have:
                Rectification.objects.create(
                    unit=unit, notice=self.instance, created_by=self.user, updated_by=self.user
                )


class DeadlinePolicyForm(ScopedModelForm):
    class Meta:
        model = DeadlinePolicy
        fields = [
            "unit", "number_pattern", "critical_days", "high_days", "medium_days", "low_days", "info_days",
            "reminder_days",
        ]  # fmt: skip

    def clean_number_pattern(self):
        pattern = self.cleaned_data["number_pattern"]
        problem = rules.check_pattern(pattern)
        if problem == "no {n}":
            raise forms.ValidationError(_("The pattern must contain {n}, the sequence number of the year."))
        if problem:
            raise forms.ValidationError(_("Only the placeholders {issuer}, {year} and {n} may be used."))
        return pattern

    def clean(self):
        data = super().clean()
        for name in ("critical_days", "high_days", "medium_days", "low_days", "info_days"):
            if data.get(name) == 0:
                self.add_error(name, _("At least one working day."))
        return data


class DraftFromFindingsForm(forms.Form):
    """Draft notices from selected findings (the findings list's bulk action)."""

    ONE_PER_UNIT, ONE_FOR_ALL = "per_unit", "one"

    issuer = forms.ModelChoiceField(queryset=Unit.objects.all(), label=_("issuing unit"))
    mode = forms.ChoiceField(
        label=_("notices"),
        choices=[
            (ONE_PER_UNIT, _("One notice per recipient unit")),
            (ONE_FOR_ALL, _("One notice to all units, with a per-unit annex")),
        ],
        initial=ONE_PER_UNIT,
        widget=forms.RadioSelect,
    )
    kind = forms.ChoiceField(label=_("kind"), choices=NoticeKind.choices, initial=NoticeKind.RECTIFICATION)
    title = forms.CharField(
        label=_("title"),
        max_length=200,
        help_text=_("{unit} is replaced by the recipient's name when there is one notice per unit."),
    )
    body = forms.CharField(label=_("body"), widget=forms.Textarea(attrs={"rows": 8}))
    severity = forms.ChoiceField(
        label=_("severity"),
        choices=[("", _("The worst among the findings"))] + list(Severity.choices),
        required=False,
    )
    deadline = forms.DateTimeField(
        label=_("deadline"),
        required=False,
        widget=DATETIME,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        help_text=_("Empty: computed from the severity in working days when the notice is issued."),
    )
    required_evidence = forms.CharField(
        label=_("required evidence"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    signer = forms.CharField(label=_("signed by"), max_length=100, required=False)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["issuer"].queryset = Unit.objects.restrict(user, "view")
        unit = getattr(user, "unit", None)
        if unit is not None and not self.is_bound:
            self.fields["issuer"].initial = unit.pk


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("reason"), widget=forms.Textarea(attrs={"rows": 3}))


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(queryset=get_user_model().objects.none(), required=False, label=_("person"))
    contractor = forms.CharField(label=_("or the contractor"), max_length=200, required=False)

    def __init__(self, *args, rectification=None, **kwargs):
        super().__init__(*args, **kwargs)
        if rectification is not None:
            self.fields["assignee"].queryset = get_user_model().objects.filter(unit=rectification.unit, is_active=True)
            contractors = sorted(
                {
                    item.finding.system.contractor
                    for item in rectification.items.select_related("finding__system")
                    if item.finding and item.finding.system and item.finding.system.contractor
                }
            )
            if contractors and not self.is_bound:
                self.fields["contractor"].help_text = _("Contractor of the asset: %(names)s") % {
                    "names": "、".join(contractors)
                }
                self.fields["contractor"].initial = contractors[0]


class ReportForm(forms.Form):
    """The rectification report and one "what was done" field per item (``action_<item pk>``)."""

    report = forms.CharField(label=_("rectification report"), widget=forms.Textarea(attrs={"rows": 6}))
    responsible = forms.CharField(label=_("responsible person"), max_length=100, required=False)
    contact = forms.CharField(label=_("contact"), max_length=100, required=False)

    def __init__(self, *args, rectification=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.items = list(rectification.items.all()) if rectification is not None else []
        for item in self.items:
            self.fields[f"action_{item.pk}"] = forms.CharField(
                label=item.title, required=False, initial=item.action_taken, widget=forms.Textarea(attrs={"rows": 2})
            )
        if rectification is not None and not self.is_bound:
            self.fields["report"].initial = rectification.report
            self.fields["responsible"].initial = rectification.responsible
            self.fields["contact"].initial = rectification.contact

    def item_fields(self):
        return [self[f"action_{item.pk}"] for item in self.items]

    def actions(self) -> dict[int, str]:
        return {item.pk: self.cleaned_data.get(f"action_{item.pk}", "") for item in self.items}


class EvidenceForm(forms.Form):
    file = EvidenceFileField(label=_("evidence file"))
    item = forms.ModelChoiceField(queryset=RectificationItem.objects.none(), required=False, label=_("for the finding"))

    def __init__(self, *args, rectification=None, **kwargs):
        super().__init__(*args, **kwargs)
        if rectification is not None:
            self.fields["item"].queryset = rectification.items.all()
            self.fields["item"].empty_label = _("The whole report")


class CloseForm(forms.Form):
    """销号, with the way each item was verified (``decision_<item pk>``)."""

    note = forms.CharField(label=_("review note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    CHOICES = [
        (RectificationItem.Review.VERIFIED, _("Verified fixed (re-probe green)")),
        (RectificationItem.Review.EVIDENCE_ACCEPTED, _("Evidence accepted")),
        (RectificationItem.Review.NEXT_SCAN, _("Verify at the next scan")),
    ]

    def __init__(self, *args, rectification=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.items = list(rectification.items.select_related("finding")) if rectification is not None else []
        for item in self.items:
            default = "verified" if item.reprobe.get("green") else "evidence"
            self.fields[f"decision_{item.pk}"] = forms.ChoiceField(
                label=item.title, choices=self.CHOICES, initial=default
            )

    def item_fields(self):
        return [self[f"decision_{item.pk}"] for item in self.items]

    def decisions(self) -> dict[int, str]:
        return {item.pk: self.cleaned_data[f"decision_{item.pk}"] for item in self.items}


class ReturnForm(forms.Form):
    reason = forms.CharField(label=_("reason for return"), widget=forms.Textarea(attrs={"rows": 3}))
    rejected = forms.ModelMultipleChoiceField(
        queryset=RectificationItem.objects.none(),
        required=False,
        label=_("not fixed"),
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, rectification=None, **kwargs):
        super().__init__(*args, **kwargs)
        if rectification is not None:
            self.fields["rejected"].queryset = rectification.items.all()


class DeadlineForm(forms.Form):
    deadline = forms.DateTimeField(
        label=_("new deadline"), widget=DATETIME, input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
    )
