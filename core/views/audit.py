"""The audit log for auditors: filterable, exportable, read-only."""

import django_filters
import django_tables2 as tables
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views import View
from django_tables2 import RequestConfig

from .. import audit, xlsx
from ..models import AuditAction, AuditEntry


class AuditFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    action = django_filters.MultipleChoiceFilter(choices=AuditAction.choices, label=_("action"))
    username = django_filters.CharFilter(lookup_expr="icontains", label=_("username"))
    object_type = django_filters.CharFilter(lookup_expr="icontains", label=_("object type"))
    result = django_filters.ChoiceFilter(
        choices=[("success", _("Success")), ("failure", _("Failure"))], label=_("result")
    )
    ip = django_filters.CharFilter(lookup_expr="startswith", label=_("source address"))
    since = django_filters.DateTimeFilter(field_name="timestamp", lookup_expr="gte", label=_("From"))
    until = django_filters.DateTimeFilter(field_name="timestamp", lookup_expr="lte", label=_("Until"))

    class Meta:
        model = AuditEntry
        fields = ["q", "action", "username", "object_type", "result", "ip", "since", "until"]

    def search(self, queryset, name, value):
        return queryset.filter(object_repr__icontains=value.strip()) if value.strip() else queryset


class AuditTable(tables.Table):
    seq = tables.Column(linkify=("core:audit_detail", {"pk": tables.A("pk")}), verbose_name="#")
    timestamp = tables.DateTimeColumn(format="Y-m-d H:i:s")
    changes = tables.Column(orderable=False, verbose_name=_("changes"))

    class Meta:
        model = AuditEntry
        fields = ("seq", "timestamp", "username", "ip", "action", "result", "object_type", "object_repr", "changes")
        attrs = {"class": "table table-vcenter card-table table-striped"}
        order_by = ("-seq",)

    def render_changes(self, value):
        if not value:
            return "—"
        text = ", ".join(f"{k}" for k in list(value)[:6])
        return text + ("…" if len(value) > 6 else "")


class AuditAccessMixin(LoginRequiredMixin):
    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not (
            request.user.has_perm("core.view_auditentry") or request.user.is_superuser
        ):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class AuditListView(AuditAccessMixin, View):
    template_name = "core/audit_list.html"

    def get(self, request):
        entries = AuditEntry.objects.restrict(request.user, "view")
        filterset = AuditFilterSet(request.GET or None, queryset=entries)
        rows = filterset.qs if filterset.is_valid() or not filterset.is_bound else entries.none()
        if request.GET.get("export") in ("csv", "xlsx"):
            return self.export(rows, request.GET["export"])
        table = AuditTable(rows)
        RequestConfig(request, paginate={"per_page": 50}).configure(table)
        query = request.GET.copy()
        query.pop("page", None)
        return render(
            request,
            self.template_name,
            {
                "table": table,
                "filter_form": filterset.form,
                "querystring": query.urlencode(),
            },
        )

    def export(self, rows, fmt):
        header = [
            "#",
            str(_("time")),
            str(_("username")),
            str(_("source address")),
            str(_("action")),
            str(_("result")),
            str(_("object type")),
            str(_("object ID")),
            str(_("object")),
            str(_("changes")),
            "hash",
        ]
        data = [header]
        for e in rows.order_by("seq")[:100000]:
            data.append(
                [
                    e.seq,
                    timezone.localtime(e.timestamp).isoformat(),
                    e.username,
                    e.ip,
                    e.get_action_display(),
                    e.result,
                    e.object_type,
                    e.object_id,
                    e.object_repr,
                    str(e.changes),
                    e.hash,
                ]
            )
        audit.record(
            AuditAction.EXPORT,
            object_repr=f"audit log ({len(data) - 1})",
            changes={"model": "core.auditentry", "format": fmt, "rows": len(data) - 1},
        )
        if fmt == "xlsx":
            body = xlsx.write_xlsx(data, "audit")
            ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        else:
            body, ctype = xlsx.write_csv(data), "text/csv; charset=utf-8"
        response = HttpResponse(body, content_type=ctype)
        response["Content-Disposition"] = f'attachment; filename="audit-{timezone.localtime():%Y%m%d-%H%M%S}.{fmt}"'
        return response


class AuditDetailView(AuditAccessMixin, View):
    def get(self, request, pk):
        entry = get_object_or_404(AuditEntry.objects.restrict(request.user, "view"), pk=pk)
        changes = entry.changes if isinstance(entry.changes, dict) else {}
        return render(request, "core/audit_detail.html", {"entry": entry, "changes": changes})
