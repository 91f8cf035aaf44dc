import ipaddress
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from assets.models import InformationSystem
from core.tasks import run_task
from core.views.generic import ConfigView, ObjectActionView, ObjectListView

from . import workflow
from .forms import AssignForm, RejectRequestForm, RequestExceptionForm, ScanUploadForm
from .imports import file_digest
from .models import Finding, FindingStatus, ScanImport
from .scoring import MAX_SCORE
from .tables import SEVERITY_COLOURS
from .tasks import import_scan


class ScanUploadView(LoginRequiredMixin, View):
    """Upload a scanner file; it is imported in the background and the import page shows its progress."""

    template_name = "findings/scan_upload.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.has_perm("findings.add_finding"):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        return render(request, self.template_name, {"form": ScanUploadForm(user=request.user)})

    def post(self, request):
        form = ScanUploadForm(request.POST, request.FILES, user=request.user)
        if not form.is_valid():
            return render(request, self.template_name, {"form": form})
        upload = form.cleaned_data["file"]
        scan_import = ScanImport(
            unit=form.cleaned_data["unit"],
            file_name=upload.name[:255],
            size=upload.size,
            sm3=file_digest(upload),
            close_missing=form.cleaned_data["close_missing"],
            created_by=request.user,
            updated_by=request.user,
        )
        scan_import.upload.save("scan", upload, save=False)
        scan_import.save()
        run = run_task(import_scan, scan_import.pk)
        messages.info(request, _("Importing %(file)s in the background.") % {"file": upload.name})
        return HttpResponseRedirect(f"{scan_import.get_absolute_url()}?task={run.pk}")


# ---- the finding's page and its workflow actions ---------------------------------------------------------------------


STATUS_COLOURS = {
    "open": "red",
    "confirmed": "orange",
    "reopened": "red",
    "false_positive": "secondary",
    "risk_accepted": "purple",
    "fixed": "green",
}


def _risk_parts(finding) -> dict:
    """The risk score's factors with the reason for each, from the finding's severity and its linked system."""
    system = finding.system
    level = system.mlps_level if system is not None else None
    facts = {
        "internet_facing": bool(system and system.internet_facing),
        "critical_infrastructure": bool(system and system.critical_infrastructure),
        "children_pi": bool(system and system.holds_child_pi),
    }
    try:
        result = workflow.risk_of(finding)
    except ValueError:  # an unknown severity or level in old data: show the stored score only
        return {"score": finding.risk_score, "stored": finding.risk_score, "parts": [], "current": True}
    system_fields = {f.name: f.verbose_name for f in InformationSystem._meta.fields}
    labels = {
        "severity": Finding._meta.get_field("severity").verbose_name,
        "mlps_level": system_fields["mlps_level"],
        "internet_facing": system_fields["internet_facing"],
        "critical_infrastructure": system_fields["critical_infrastructure"],
        "children_pi": system_fields["holds_child_pi"],
    }
    parts = []
    for name, value in result.parts:
        if name == "severity":
            why = _("%(severity)s: %(points)d points") % {
                "severity": finding.get_severity_display(),
                "points": int(value),
            }
        elif name == "mlps_level":
            if system is None:
                why = _("No information system is linked")
            elif level is None:
                why = _("%(system)s is not graded") % {"system": system}
            else:
                why = _("%(system)s is at MLPS level %(level)d") % {"system": system, "level": level}
        elif system is None:
            why = _("No information system is linked")
        elif facts[name]:
            why = _("Yes, for %(system)s") % {"system": system}
        else:
            why = _("No, for %(system)s") % {"system": system}
        parts.append(
            {
                "name": name,
                "label": labels[name],
                "value": value,
                "is_base": name == "severity",
                "applies": name == "severity" or value != 1.0,
                "why": why,
            }
        )
    return {
        "score": result.score,
        "stored": finding.risk_score,
        "parts": parts,
        "current": result.score == finding.risk_score,
        "capped": result.score == MAX_SCORE,
    }


def _register_links(user, finding) -> list[dict]:
    """Create pages of the missing asset, prefilled from the finding (the generic create page reads GET values)."""
    unit = finding.candidate_unit or finding.unit
    back = finding.get_absolute_url()
    links = []
    host = finding.host
    if not host and finding.url:
        host = urlsplit(finding.url).hostname or ""
    is_address = False
    try:
        ipaddress.ip_address(host)
        is_address = True
    except ValueError:
        pass
    if host and not is_address and user.has_perm("assets.add_website"):
        parts = urlsplit(finding.url) if finding.url else None
        scheme = parts.scheme if parts is not None and parts.scheme in ("http", "https") else None
        if scheme is None:
            scheme = "http" if finding.port in (80, 8080) else "https"
        netloc = host if finding.port in (None, 80, 443) else f"{host}:{finding.port}"
        query = urlencode({"unit": unit.pk, "name": host, "url": f"{scheme}://{netloc}", "return_url": back})
        links.append(
            {"label": _("Register the website"), "icon": "ti-world", "url": f"{reverse('assets:website_add')}?{query}"}
        )
    address = finding.ip or (host if is_address else "")
    if address and user.has_perm("assets.add_iprange"):
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            ip = None
        if ip is not None:
            query = urlencode({"unit": unit.pk, "cidr": f"{ip}/{ip.max_prefixlen}", "return_url": back})
            links.append(
                {
                    "label": _("Register the IP range"),
                    "icon": "ti-network",
                    "url": f"{reverse('assets:iprange_add')}?{query}",
                }
            )
    return links


def finding_detail_context(request, finding, **bound) -> dict:
    """Extra context of the finding's page: risk parts, workflow state and the forms the user may use.

    ``bound`` replaces a form by its bound copy (with errors) when an action is shown again."""
    user = request.user
    context = {
        "labels": {f.name: f.verbose_name for f in Finding._meta.fields},
        "risk": _risk_parts(finding),
        "severity_colour": SEVERITY_COLOURS.get(finding.severity, "secondary"),
        "status_colour": STATUS_COLOURS.get(finding.status, "secondary"),
        "is_exception": finding.status in workflow.EXCEPTION_STATUSES,
        "can_request": workflow.can_request(user, finding),
        "can_decide": bool(finding.requested_status) and workflow.can_decide(user, finding),
        "can_assign": workflow.can_assign(user, finding),
        "rejections": workflow.rejections(finding),
        "max_accept_date": workflow.latest_accept_date(timezone.localdate()),
    }
    if context["can_request"]:
        context["request_form"] = bound.get("request_form") or RequestExceptionForm(
            initial={"requested_status": FindingStatus.FALSE_POSITIVE}
        )
    if context["can_decide"]:
        context["reject_form"] = bound.get("reject_form") or RejectRequestForm()
    if context["can_assign"]:
        context["assign_form"] = bound.get("assign_form") or AssignForm(user=user, candidate=finding.candidate_unit)
    if not finding.attributed:
        context["register_links"] = _register_links(user, finding)
    return context


class FindingActionView(ObjectActionView):
    """One workflow action posted from the finding's page (see ``core.views.generic.ObjectActionView``)."""


class RequestExceptionView(FindingActionView):
    form_name, form_class = "request_form", RequestExceptionForm

    def act(self, finding, form):
        data = form.cleaned_data
        workflow.request(finding, self.request.user, data["requested_status"], data["reason"], data.get("until"))
        messages.success(
            self.request,
            _("Requested “%(status)s”: a unit above decides.") % {"status": finding.get_requested_status_display()},
        )


class ApproveView(FindingActionView):
    def act(self, finding, form):
        workflow.approve(finding, self.request.user)
        messages.success(
            self.request, _("Approved: the finding is now “%(status)s”.") % {"status": finding.get_status_display()}
        )


class RejectView(FindingActionView):
    form_name, form_class = "reject_form", RejectRequestForm

    def act(self, finding, form):
        workflow.reject(finding, self.request.user, form.cleaned_data["reason"])
        messages.success(
            self.request,
            _("The request was rejected; the finding stays “%(status)s”.") % {"status": finding.get_status_display()},
        )


class AssignView(FindingActionView):
    form_name, form_class = "assign_form", AssignForm

    def form_kwargs(self, finding):
        return {"user": self.request.user}

    def act(self, finding, form):
        result = workflow.assign(finding, self.request.user, form.cleaned_data["unit"])
        messages.success(self.request, result.message)
        return self.config.url("detail", result.finding)


# ---- unattributed findings -------------------------------------------------------------------------------------------


class UnattributedFindingListView(ObjectListView):
    """The findings list limited to unattributed findings (the menu's 未归属问题), with bulk assign."""

    template_name = "findings/unattributed_list.html"

    def queryset(self, action=None):
        return super().queryset(action).filter(attributed=False)

    def base_context(self, **extra):
        context = super().base_context(**extra)
        context["list_url"] = reverse("findings:finding_unattributed")
        context["all_findings_url"] = self.config.url("list")
        context["model_name_plural"] = _("Unattributed findings")
        context["can_assign"] = workflow.has(self.request.user, "assign")
        return context


class BulkAssignView(ConfigView):
    """Assign the selected unattributed findings to one unit (each through ``workflow.assign``)."""

    action = "assign"
    template_name = "findings/bulk_assign.html"

    def get(self, request):
        return HttpResponseRedirect(reverse("findings:finding_unattributed"))

    def post(self, request):
        pks = [int(p) for p in request.POST.getlist("pk") if p.isdigit()]
        objects = list(
            Finding.objects.restrict(request.user, "assign")
            .filter(pk__in=pks, attributed=False)
            .select_related("unit", "candidate_unit")
        )
        candidates = {f.candidate_unit_id for f in objects}
        candidate = objects[0].candidate_unit if len(candidates) == 1 and objects else None
        if "_apply" not in request.POST:
            return self.render_form(objects, AssignForm(user=request.user, candidate=candidate))
        form = AssignForm(request.POST, user=request.user, candidate=candidate)
        if not form.is_valid():
            return self.render_form(objects, form)
        unit = form.cleaned_data["unit"]
        moved = merged = 0
        try:
            with transaction.atomic():
                for finding in objects:
                    result = workflow.assign(finding, request.user, unit)
                    merged += result.merged
                    moved += not result.merged
        except (PermissionDenied, ValidationError) as exc:
            form.add_error(None, " ".join(getattr(exc, "messages", None) or [str(exc)]))
            return self.render_form(objects, form)
        messages.success(
            request,
            _("Findings assigned to %(unit)s: %(moved)d moved, %(merged)d merged into findings it already had.")
            % {"moved": moved, "merged": merged, "unit": unit},
        )
        return HttpResponseRedirect(self.return_url(reverse("findings:finding_unattributed")))

    def render_form(self, objects, form):
        return render(
            self.request,
            self.template_name,
            self.base_context(
                objects=objects,
                form=form,
                return_url=self.return_url(reverse("findings:finding_unattributed")),
            ),
        )


def workflow_urlpatterns():
    """The workflow pages, listed in ``findings.urls`` before the generic pages of the registered models."""
    from django.urls import path

    from core.registry import registry

    config = registry.get(Finding)
    return [
        path("unattributed/", UnattributedFindingListView.as_view(config=config), name="finding_unattributed"),
        path("findings/bulk-assign/", BulkAssignView.as_view(config=config), name="finding_bulk_assign"),
        path(
            "findings/<int:pk>/request-exception/",
            RequestExceptionView.as_view(config=config),
            name="finding_request_exception",
        ),
        path("findings/<int:pk>/approve/", ApproveView.as_view(config=config), name="finding_approve"),
        path("findings/<int:pk>/reject/", RejectView.as_view(config=config), name="finding_reject"),
        path("findings/<int:pk>/assign/", AssignView.as_view(config=config), name="finding_assign"),
    ]
