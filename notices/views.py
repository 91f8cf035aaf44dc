"""The notice's and the rectification's pages, their workflow actions, drafting from findings, the issuer's progress
and rates, and the recipient's "my rectifications". The rules are in ``notices.workflow``; these views only turn forms
into calls and answers into messages."""

from collections import Counter, defaultdict

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from core.registry import registry
from core.views.generic import ConfigView, ObjectActionView, ObjectListView
from findings.models import Finding, ScanImport

from . import rules, workflow
from .forms import (
    AssignForm,
    CloseForm,
    DeadlineForm,
    DraftFromFindingsForm,
    EvidenceForm,
    ReasonForm,
    ReportForm,
    ReturnForm,
)
from .models import Notice, NoticeOrigin, NoticeState, Rectification, RectificationState
from .tables import NOTICE_STATE_COLOURS, RECTIFICATION_STATE_COLOURS

# ---- the notice's page -----------------------------------------------------------------------------------------------


def notice_detail_context(request, notice, **bound) -> dict:
    """The issuer's page: recipients × state with overdue highlighted, the annex, and the actions the user may take."""
    user = request.user
    now = timezone.now()
    rectifications = list(
        Rectification.objects.restrict(user, "view")
        .filter(notice=notice)
        .select_related("unit", "assignee")
        .prefetch_related("items")
        .order_by("unit__path")
    )
    annex = [(r, item) for r in rectifications for item in r.items.all()]
    counts = Counter(r.state for r in rectifications)
    for r in rectifications:
        r.colour = RECTIFICATION_STATE_COLOURS.get(r.state, "secondary")
        r.overdue = rules.is_overdue(r.state, r.deadline, now)
    overdue = [r for r in rectifications if r.overdue]
    can_issue = workflow.can_issue(user, notice)
    context = {
        "rectifications": rectifications,
        "state_counts": [
            (label, counts.get(code, 0), RECTIFICATION_STATE_COLOURS[code])
            for code, label in RectificationState.choices
            if counts.get(code)
        ],
        "overdue_count": len(overdue),
        "annex": annex,
        "notice_state_colour": NOTICE_STATE_COLOURS.get(notice.state, "secondary"),
        "can_issue": can_issue and notice.state == NoticeState.DRAFT,
        "can_withdraw": can_issue and notice.state == NoticeState.ISSUED,
        "can_edit": notice.state == NoticeState.DRAFT and user.has_perm("notices.change_notice"),
        "withdraw_form": bound.get("withdraw_form") or ReasonForm(),
        "projected_deadline": (
            notice.deadline or workflow.deadline_for(notice.unit, notice.severity, now)
            if notice.state == NoticeState.DRAFT
            else None
        ),
        "policy_days": workflow.policy_for(notice.unit).workdays_for(notice.severity),
    }
    return context


def rectification_detail_context(request, rectification, **bound) -> dict:
    """The rectification's page for both sides: the notice, the items and their evidence, the forms of the steps the
    user may take now, and the timeline."""
    user = request.user
    steps = {step: workflow.can_act(user, rectification, step) for step in rules.STEPS}
    evidence = workflow.evidence_by_item(rectification)
    items = list(rectification.items.select_related("finding", "finding__website"))
    context = {
        "notice": rectification.notice,
        "items": [{"item": item, "evidence": evidence.get(item.pk, [])} for item in items],
        "report_evidence": evidence.get(None, []),
        "events": rectification.events.select_related("actor")[:100],
        "steps": steps,
        "state_colour": RECTIFICATION_STATE_COLOURS.get(rectification.state, "secondary"),
        "overdue": rectification.is_overdue,
        "has_monitoring_items": any(workflow._is_monitoring(i) for i in items),
        "can_change_deadline": (
            user.has_perm("notices.issue_notice")
            and workflow.is_issuer_side(user, rectification.notice)
            and rectification.state not in rules.FINISHED
        ),
    }
    if steps["assign"]:
        context["assign_form"] = bound.get("assign_form") or AssignForm(rectification=rectification)
    if steps["edit_report"]:
        context["report_form"] = bound.get("report_form") or ReportForm(rectification=rectification)
        context["evidence_form"] = bound.get("evidence_form") or EvidenceForm(rectification=rectification)
    if steps["close"]:
        context["close_form"] = bound.get("close_form") or CloseForm(rectification=rectification)
        context["return_form"] = bound.get("return_form") or ReturnForm(rectification=rectification)
    if context["can_change_deadline"]:
        context["deadline_form"] = bound.get("deadline_form") or DeadlineForm()
    return context


# ---- actions ---------------------------------------------------------------------------------------------------------


class NoticeActionView(ObjectActionView):
    """A step posted from the notice's page (see ``core.views.generic.ObjectActionView``)."""


class IssueView(NoticeActionView):
    def act(self, notice, form):
        notice = workflow.issue(notice, self.request.user)
        count = notice.rectifications.count()
        messages.success(
            self.request, _("Issued %(number)s to %(count)d units.") % {"number": notice.number, "count": count}
        )


class WithdrawView(NoticeActionView):
    form_name, form_class = "withdraw_form", ReasonForm

    def act(self, notice, form):
        workflow.withdraw(notice, self.request.user, form.cleaned_data["reason"])
        messages.success(self.request, _("The notice was withdrawn."))


class RectificationActionView(ObjectActionView):
    """A step posted from the rectification's page; its forms know the rectification."""

    def form_kwargs(self, obj):
        return {"rectification": obj}

    def done(self, message):
        messages.success(self.request, message)


class AcknowledgeView(RectificationActionView):
    def act(self, rectification, form):
        workflow.acknowledge(rectification, self.request.user)
        self.done(_("Acknowledged: the rectification is in progress."))


class AssignView(RectificationActionView):
    form_name, form_class = "assign_form", AssignForm

    def act(self, rectification, form):
        data = form.cleaned_data
        workflow.assign(rectification, self.request.user, assignee=data["assignee"], contractor=data["contractor"])
        self.done(_("Assigned."))


class ReportView(RectificationActionView):
    form_name, form_class = "report_form", ReportForm

    def act(self, rectification, form):
        data = form.cleaned_data
        workflow.save_report(
            rectification,
            self.request.user,
            report=data["report"],
            responsible=data["responsible"],
            contact=data["contact"],
            actions=form.actions(),
        )
        if "_submit" in self.request.POST:
            workflow.submit(rectification, self.request.user)
            self.done(_("Submitted for review."))
        else:
            self.done(_("The report was saved."))


class EvidenceView(RectificationActionView):
    form_name, form_class = "evidence_form", EvidenceForm

    def act(self, rectification, form):
        attachment = workflow.add_evidence(
            rectification, self.request.user, form.cleaned_data["file"], item=form.cleaned_data["item"]
        )
        self.done(_("Evidence %(name)s attached.") % {"name": attachment.name})


class SubmitView(RectificationActionView):
    def act(self, rectification, form):
        workflow.submit(rectification, self.request.user)
        self.done(_("Submitted for review."))


class StartReviewView(RectificationActionView):
    def act(self, rectification, form):
        workflow.start_review(rectification, self.request.user)
        self.done(_("Review started."))


class ReprobeView(RectificationActionView):
    def act(self, rectification, form):
        results = workflow.reprobe(rectification, self.request.user)
        green = sum(1 for r in results if r["green"])
        self.done(_("Re-probed: %(green)d of %(total)d items are green.") % {"green": green, "total": len(results)})


class CloseView(RectificationActionView):
    form_name, form_class = "close_form", CloseForm

    def act(self, rectification, form):
        workflow.close(rectification, self.request.user, form.decisions(), form.cleaned_data["note"])
        self.done(_("Closed (销号)."))


class ReturnView(RectificationActionView):
    form_name, form_class = "return_form", ReturnForm

    def act(self, rectification, form):
        rejected = [item.pk for item in form.cleaned_data["rejected"]]
        workflow.return_(rectification, self.request.user, form.cleaned_data["reason"], rejected)
        self.done(_("Returned to %(unit)s.") % {"unit": rectification.unit})


class DeadlineView(RectificationActionView):
    form_name, form_class = "deadline_form", DeadlineForm

    def form_kwargs(self, obj):
        return {}

    def act(self, rectification, form):
        workflow.change_deadline(rectification, self.request.user, form.cleaned_data["deadline"])
        self.done(_("The deadline was changed."))


# ---- drafting from findings ------------------------------------------------------------------------------------------


class DraftFromFindingsView(ConfigView):
    """Draft notices from findings chosen on the findings list (``pk``), from one finding, or from a higher
    authority's notice imported as a scan (``import``): one per recipient unit or one to many with a per-unit annex."""

    action = "add"
    template_name = "notices/draft_from_findings.html"

    def findings(self, request):
        source = request.POST if request.method == "POST" else request.GET
        pks = [int(p) for p in source.getlist("pk") if str(p).isdigit()]
        visible = Finding.objects.restrict(request.user, "view").select_related("unit")
        scan_import = None
        if source.get("import", "").isdigit():
            scan_import = get_object_or_404(ScanImport.objects.restrict(request.user, "view"), pk=source["import"])
            found = visible.filter(last_import=scan_import, attributed=True)
        else:
            found = visible.filter(pk__in=pks)
        return list(found.order_by("unit__path", "-risk_score")), scan_import

    def get(self, request):
        findings, scan_import = self.findings(request)
        initial = {"title": _("Notice on rectifying the security problems of {unit}")}
        if scan_import is not None:
            initial |= {
                "title": _("Forwarding: %(name)s") % {"name": scan_import.file_name},
                "body": _(
                    "The higher authority's notice lists the following problems of your unit. "
                    "Rectify them and report back before the deadline."
                ),
            }
        return self.render_page(DraftFromFindingsForm(user=request.user, initial=initial), findings, scan_import)

    def post(self, request):
        if "_draft" not in request.POST:  # the selection posted from the findings list: show the form
            return self.get(request)
        findings, scan_import = self.findings(request)
        form = DraftFromFindingsForm(request.POST, user=request.user)
        if not form.is_valid():
            return self.render_page(form, findings, scan_import)
        data = form.cleaned_data
        draft = workflow.DraftInput(
            title=data["title"],
            body=data["body"],
            severity=data["severity"],
            required_evidence=data["required_evidence"],
            signer=data["signer"],
            kind=data["kind"],
            deadline=data["deadline"],
            origin=NoticeOrigin.UPSTREAM if scan_import is not None else NoticeOrigin.FINDINGS,
        )
        try:
            notices = workflow.draft_from_findings(
                request.user, data["issuer"], findings, draft, one_per_unit=data["mode"] == form.ONE_PER_UNIT
            )
        except (PermissionDenied, ValidationError) as exc:
            form.add_error(None, " ".join(getattr(exc, "messages", None) or [str(exc)]))
            return self.render_page(form, findings, scan_import)
        messages.success(
            request, _("%(count)d draft notices were created: check them and issue.") % {"count": len(notices)}
        )
        if len(notices) == 1:
            return HttpResponseRedirect(notices[0].get_absolute_url())
        return HttpResponseRedirect(f"{reverse('notices:notice_list')}?{urlencode({'state': 'draft'})}")

    def render_page(self, form, findings, scan_import):
        by_unit = defaultdict(list)
        for finding in findings:
            by_unit[finding.unit].append(finding)
        return render(
            self.request,
            self.template_name,
            self.base_context(
                form=form,
                groups=sorted(by_unit.items(), key=lambda pair: pair[0].path),
                findings=findings,
                scan_import=scan_import,
                return_url=self.return_url(reverse("findings:finding_list")),
            ),
        )


# ---- recipient: my rectifications; issuer: rates ---------------------------------------------------------------------


class MyRectificationsView(ObjectListView):
    """The rectifications the user's own unit still owes or awaits, most urgent first."""

    def queryset(self, action=None):
        qs = super().queryset(action).exclude(state__in=rules.FINISHED)
        unit = getattr(self.request.user, "unit", None)
        if unit is not None and not self.request.user.is_superuser:
            qs = qs.filter(unit=unit)
        return qs.order_by("deadline", "pk")

    def base_context(self, **extra):
        context = super().base_context(**extra)
        context["model_name_plural"] = _("My rectifications")
        context["list_url"] = reverse("notices:rectification_mine")
        context["can_add"] = False
        return context


def rates_by_unit(rectifications, now) -> list[dict]:
    """On-time and closure rates per recipient unit: closed on time / (closed + already due), closed / all."""
    rows = defaultdict(lambda: Counter())
    units = {}
    for r in rectifications:
        units[r.unit_id] = r.unit
        row = rows[r.unit_id]
        row["total"] += 1
        due = r.deadline is not None and r.deadline < now
        if r.state == RectificationState.CLOSED:
            row["closed"] += 1
            if not r.was_overdue and (r.deadline is None or (r.submitted_at and r.submitted_at <= r.deadline)):
                row["on_time"] += 1
        if r.state == RectificationState.CLOSED or due:
            row["measured"] += 1
        if rules.is_overdue(r.state, r.deadline, now):
            row["overdue"] += 1
        if r.was_overdue:
            row["ever_overdue"] += 1
    result = []
    for unit_id, row in rows.items():
        on_time = rules.on_time_rate(row["on_time"], row["measured"])
        result.append(
            {
                "unit": units[unit_id],
                "total": row["total"],
                "closed": row["closed"],
                "overdue": row["overdue"],
                "ever_overdue": row["ever_overdue"],
                "on_time_rate": on_time,
                "closure_rate": row["closed"] / row["total"] if row["total"] else None,
            }
        )
    return sorted(result, key=lambda r: r["unit"].path)


class RatesView(ConfigView):
    """On-time and closure rates of the units in the user's subtree, over the rectifications of a year."""

    template_name = "notices/rates.html"

    def get(self, request):
        year = request.GET.get("year", "")
        year = int(year) if year.isdigit() else timezone.localdate().year
        rectifications = (
            Rectification.objects.restrict(request.user, "view")
            .filter(notice__year=year)
            .exclude(state=RectificationState.WITHDRAWN)
            .select_related("unit")
        )
        rows = rates_by_unit(rectifications, timezone.now())
        return render(
            request,
            self.template_name,
            self.base_context(rows=rows, year=year, model_name_plural=_("On-time and closure rates")),
        )


# ---- documents -------------------------------------------------------------------------------------------------------


class DocumentView(ConfigView):
    """A notice as DOCX or PDF, or a rectification report (回执) as DOCX. A recipient's copy of the notice carries only
    its own annex rows."""

    fmt = "docx"

    def get(self, request, pk):
        from . import documents_data

        obj = get_object_or_404(self.queryset(), pk=pk)
        try:
            name, content_type, data = documents_data.render(obj, request.user, self.fmt)
        except LookupError:
            raise Http404 from None
        from core import audit
        from core.models import AuditAction

        audit.record(AuditAction.EXPORT, obj=obj, user=request.user, changes={"document": self.fmt})
        response = HttpResponse(data, content_type=content_type)
        response["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(name)}"
        return response


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name)


def notice_urlpatterns():
    notice = registry.get(Notice)
    rectification = registry.get(Rectification)
    return [
        path("notices/draft/", DraftFromFindingsView.as_view(config=notice), name="notice_draft"),
        path("notices/<int:pk>/issue/", IssueView.as_view(config=notice), name="notice_issue"),
        path("notices/<int:pk>/withdraw/", WithdrawView.as_view(config=notice), name="notice_withdraw"),
        path("notices/<int:pk>/notice.docx", DocumentView.as_view(config=notice, fmt="docx"), name="notice_docx"),
        path("notices/<int:pk>/notice.pdf", DocumentView.as_view(config=notice, fmt="pdf"), name="notice_pdf"),
        path("rectifications/mine/", MyRectificationsView.as_view(config=rectification), name="rectification_mine"),
        path("rectifications/rates/", RatesView.as_view(config=rectification), name="rectification_rates"),
        path(
            "rectifications/<int:pk>/notice.docx",
            DocumentView.as_view(config=rectification, fmt="notice-docx"),
            name="rectification_notice_docx",
        ),
        path(
            "rectifications/<int:pk>/notice.pdf",
            DocumentView.as_view(config=rectification, fmt="notice-pdf"),
            name="rectification_notice_pdf",
        ),
        path(
            "rectifications/<int:pk>/receipt.docx",
            DocumentView.as_view(config=rectification, fmt="receipt"),
            name="rectification_receipt",
        ),
        *[
            path(f"rectifications/<int:pk>/{slug}/", view.as_view(config=rectification), name=f"rectification_{name}")
            for slug, name, view in [
                ("acknowledge", "acknowledge", AcknowledgeView),
                ("assign", "assign", AssignView),
                ("report", "report", ReportView),
                ("evidence", "evidence", EvidenceView),
                ("submit", "submit", SubmitView),
                ("review", "review", StartReviewView),
                ("reprobe", "reprobe", ReprobeView),
                ("close", "close", CloseView),
                ("return", "return", ReturnView),
                ("deadline", "deadline", DeadlineView),
            ]
        ],
    ]


# ---- the notices timeline on other objects' pages --------------------------------------------------------------------


def _timeline(request, events, show_unit=False):
    from django.template.loader import render_to_string

    events = list(events.select_related("rectification__notice", "unit", "actor")[:30])
    if not events:
        return None
    return render_to_string(
        "notices/partials/timeline_panel.html", {"events": events, "show_unit": show_unit}, request=request
    )


def finding_timeline_panel(request, finding):
    """The steps of the notices that listed this finding, as far as the user may see them."""
    from .models import RectificationEvent

    visible = Rectification.objects.restrict(request.user, "view")
    return _timeline(request, RectificationEvent.objects.filter(rectification__in=visible, findings=finding))


def unit_overdue_panel(request, unit):
    """On a unit's page: the rectifications of the units below it that are overdue now (escalation lands here)."""
    from django.template.loader import render_to_string

    rows = list(
        Rectification.objects.restrict(request.user, "view")
        .filter(unit__path__startswith=unit.path, state__in=rules.OWING, deadline__lt=timezone.now())
        .exclude(unit=unit)
        .select_related("unit", "notice")
        .order_by("deadline")[:50]
    )
    if not rows:
        return None
    return render_to_string("notices/partials/overdue_panel.html", {"rows": rows}, request=request)


def unit_timeline_panel(request, unit):
    """The latest notice steps of this unit's own rectifications."""
    from .models import RectificationEvent

    visible = Rectification.objects.restrict(request.user, "view").filter(unit=unit)
    return _timeline(request, RectificationEvent.objects.filter(rectification__in=visible), show_unit=False)
