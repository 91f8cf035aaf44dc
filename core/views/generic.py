"""Views written once for every registered model (see ``core.registry``).

Each view reaches rows only through ``Model.objects.restrict(user, action)``: an object outside the user's subtree is
not found (404), and an action the user's roles do not grant is refused (403) before any row is read.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View
from django_tables2 import RequestConfig

from .. import audit, xlsx
from ..forms import ImportUploadForm, bulk_edit_form_for
from ..models import AuditAction, UserPreference
from ..registry import actions_for
from ..scoping import permission_name

PER_PAGE_CHOICES = (25, 50, 100, 250)


class ConfigView(LoginRequiredMixin, View):
    """Base: knows its model's registration and checks the role permission for ``action``."""

    config = None
    action = "view"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.has_perm(self.permission(self.action)):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    @property
    def model(self):
        return self.config.model

    def permission(self, action):
        return permission_name(self.model, action)

    def queryset(self, action=None):
        qs = self.model.objects.restrict(self.request.user, action or self.action)
        if self.config.select_related:
            qs = qs.select_related(*self.config.select_related)
        if self.config.prefetch_related:
            qs = qs.prefetch_related(*self.config.prefetch_related)
        return qs

    def can(self, action) -> bool:
        return self.request.user.has_perm(self.permission(action))

    def base_context(self, **extra):
        user = self.request.user
        context = {
            "config": self.config,
            "model_name": self.config.verbose_name,
            "model_name_plural": self.config.verbose_name_plural,
            "can_add": self.can("add"),
            "can_change": self.can("change"),
            "can_delete": self.can("delete"),
            "can_import": self.can("add") and bool(self.config.import_fields),
            "list_url": self.config.url("list"),
            "user_unit": getattr(user, "unit", None),
        }
        context.update(extra)
        return context

    def return_url(self, default=None):
        url = self.request.POST.get("return_url") or self.request.GET.get("return_url")
        if url and url_has_allowed_host_and_scheme(url, allowed_hosts={self.request.get_host()}):
            return url
        return default or self.config.url("list")


# ---- list, export ---------------------------------------------------------------------------------------------------


class ObjectListView(ConfigView):
    template_name = "core/object_list.html"

    def preference_key(self):
        return f"tables.{self.config.label}.columns"

    def get(self, request):
        queryset = self.queryset()
        filterset = self.config.filterset(request.GET or None, queryset=queryset, request=request)
        if filterset.is_bound and not filterset.is_valid():
            queryset = queryset.none()
            rows = queryset
        else:
            rows = filterset.qs
        export = request.GET.get("export")
        if export in ("csv", "xlsx"):
            return self.export(rows, export)

        table = self.config.table(rows, user=request.user)
        pref = UserPreference.objects.filter(user=request.user, key=self.preference_key()).first()
        table.apply_columns(pref.value if pref else None)
        per_page = request.GET.get("per_page")
        per_page = int(per_page) if per_page and per_page.isdigit() and int(per_page) in PER_PAGE_CHOICES else 50
        RequestConfig(request, paginate={"per_page": per_page}).configure(table)

        list_actions = actions_for(request.user, self.config.list_actions)
        can_bulk_edit = self.can("change") and self.config.form is not None
        query = request.GET.copy()
        for key in ("page", "export"):
            query.pop(key, None)
        context = self.base_context(
            table=table,
            filter_form=filterset.form,
            filter_active=any(v for k, v in request.GET.items() if k not in ("page", "per_page", "sort")),
            column_choices=self.config.table.selectable_columns(),
            visible_columns=[c.name for c in table.columns if c.name != "select"],
            per_page=per_page,
            per_page_choices=PER_PAGE_CHOICES,
            querystring=query.urlencode(),
            export_csv_url=f"?{urlencode({**query.dict(), 'export': 'csv'})}",
            export_xlsx_url=f"?{urlencode({**query.dict(), 'export': 'xlsx'})}",
            can_bulk=can_bulk_edit or self.can("delete") or bool(list_actions),
            can_bulk_edit=can_bulk_edit,
            list_actions=list_actions,
        )
        template = (
            "core/partials/object_table.html" if request.htmx and not request.htmx.boosted else self.template_name
        )
        return render(request, template, context)

    def post(self, request):
        """Remember the columns the user chose for this list."""
        if "columns" in request.POST or "reset_columns" in request.POST:
            chosen = [] if "reset_columns" in request.POST else request.POST.getlist("columns")
            valid = [c for c in chosen if c in dict(self.config.table.selectable_columns())]
            UserPreference.objects.update_or_create(
                user=request.user, key=self.preference_key(), defaults={"value": valid}
            )
        return HttpResponseRedirect(self.return_url(request.path))

    def export(self, rows, fmt):
        data_rows = list(xlsx.export_rows(self.config, self.request.user, rows))
        title = str(self.config.verbose_name_plural)
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
        if fmt == "xlsx":
            body = xlsx.write_xlsx(data_rows, title)
            content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        else:
            body = xlsx.write_csv(data_rows)
            content_type = "text/csv; charset=utf-8"
        audit.record(
            AuditAction.EXPORT,
            object_type=self.config.label,
            object_repr=f"{title} ({len(data_rows) - 1})",
            changes={
                "model": self.config.label,
                "format": fmt,
                "rows": len(data_rows) - 1,
                "filters": {k: v for k, v in self.request.GET.items() if k != "export"},
            },
        )
        response = HttpResponse(body, content_type=content_type)
        filename = f"{self.config.model_name}-{stamp}.{fmt}"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["Cache-Control"] = "no-store"
        return response


# ---- detail ---------------------------------------------------------------------------------------------------------


class ObjectView(ConfigView):
    def get(self, request, pk):
        obj = get_object_or_404(self.queryset(), pk=pk)
        context = self.base_context(object=obj, fields=self.detail_fields(obj), unit_trail=self.unit_trail(obj))
        context["object_actions"] = actions_for(request.user, self.config.object_actions, obj)
        panels = (panel(request, obj) for panel in self.config.detail_panels)
        context["extra_panels"] = [html for html in panels if html]
        extra = getattr(self.config, "detail_context", None)
        if extra is not None:
            context.update(extra(request, obj))
        return render(request, self.config.detail_template, context)

    def unit_trail(self, obj) -> list:
        """Breadcrumbs by unit: the owning unit and those above it, as far up as the user can see."""
        unit = getattr(obj, "unit", None) if hasattr(obj, "unit_id") else None
        if unit is None:
            return []
        user_path = getattr(getattr(self.request.user, "unit", None), "path", "")
        chain = [*type(unit).objects.get_ancestors(unit), unit]
        return [u for u in chain if self.request.user.is_superuser or u.path.startswith(user_path)]

    def detail_fields(self, obj):
        from ..audit import field_value

        names = self.config.detail_fields
        result = []
        for field in obj._meta.concrete_fields:
            if names is not None and field.name not in names:
                continue
            if names is None and (field.name in ("id", "path", "depth", "numchild", "password") or not field.editable):
                continue
            if field.choices:
                value = getattr(obj, f"get_{field.name}_display")()
            elif field.is_relation:
                value = getattr(obj, field.name)
            elif hasattr(obj, f"export_{field.name}"):  # what a reader should see rather than what is stored
                value = getattr(obj, f"export_{field.name}")()
            else:
                value = field_value(obj, field) if getattr(field, "sensitive", False) else getattr(obj, field.name)
            result.append((field.verbose_name, value, field))
        return result


class ObjectActionView(ObjectView):
    """One workflow step posted from an object's detail page (approve, submit, close …), the rules being elsewhere.

    Done → ``act`` adds its message and the user is sent back to the page (or to the URL ``act`` returns); refused
    (``PermissionDenied``) → an error message; not possible (``ValidationError``) → the page again, with the form's
    errors when the step has a form. A GET only goes back to the page. ``form_class`` is built from the POST with
    ``form_kwargs(obj)``; the page's ``detail_context`` receives the bound form as ``form_name`` to show it again."""

    http_method_names = ["get", "post"]
    form_class = None
    form_name = ""

    def get(self, request, pk):
        return HttpResponseRedirect(self.config.url("detail", get_object_or_404(self.queryset(), pk=pk)))

    def form_kwargs(self, obj) -> dict:
        return {}

    def act(self, obj, form) -> str | None:
        raise NotImplementedError

    def post(self, request, pk):
        obj = get_object_or_404(self.queryset(), pk=pk)
        form = None
        if self.form_class is not None:
            form = self.form_class(request.POST, request.FILES, **self.form_kwargs(obj))
            if not form.is_valid():
                return self.show_again(obj, form)
        try:
            redirect_to = self.act(obj, form)
        except PermissionDenied as exc:
            messages.error(request, str(exc) or _("You may not do this."))
        except ValidationError as exc:
            if form is None:
                messages.error(request, " ".join(exc.messages))
            else:
                # Field-keyed errors go to their fields where the form has them, the rest above the form.
                errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
                for name, field_errors in errors.items():
                    form.add_error(name if name in form.fields else None, field_errors)
                return self.show_again(obj, form)
        else:
            return HttpResponseRedirect(redirect_to or self.config.url("detail", obj))
        return HttpResponseRedirect(self.config.url("detail", obj))

    def show_again(self, obj, form):
        context = self.base_context(object=obj, fields=self.detail_fields(obj), unit_trail=self.unit_trail(obj))
        context.update(self.config.detail_context(self.request, obj, **{self.form_name: form}))
        if context.get(self.form_name) is not form:
            # The form is no longer offered (e.g. the step is no longer possible): say why, on the page.
            for errors in form.errors.values():
                for error in errors:
                    messages.error(self.request, error)
            return HttpResponseRedirect(self.config.url("detail", obj))
        messages.error(self.request, _("The action was not done: correct the marked fields."))
        return render(self.request, self.config.detail_template, context)


# ---- create / edit / delete -----------------------------------------------------------------------------------------


class ObjectEditView(ConfigView):
    template_name = "core/object_edit.html"

    def dispatch(self, request, *args, **kwargs):
        self.action = "change" if "pk" in kwargs else "add"
        allowed = request.user.is_authenticated and request.user.has_perm(self.permission(self.action))
        if allowed and self.config.form is None:  # changed only through its own steps (e.g. a rectification)
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def get_object(self, pk):
        if pk is None:
            obj = self.model()
            initial_unit = getattr(self.request.user, "unit", None)
            if hasattr(obj, "unit_id") and initial_unit is not None:
                obj.unit = initial_unit
            return obj
        return get_object_or_404(self.queryset("change"), pk=pk)

    def get_form(self, obj, data=None, files=None):
        initial = {k: v for k, v in self.request.GET.items() if k != "return_url"}
        return self.config.form(data=data, files=files, instance=obj, user=self.request.user, initial=initial)

    def get(self, request, pk=None):
        obj = self.get_object(pk)
        return self.render_form(obj, self.get_form(obj))

    def post(self, request, pk=None):
        obj = self.get_object(pk)
        form = self.get_form(obj, request.POST, request.FILES)
        if form.is_valid():
            try:
                with transaction.atomic():
                    instance = form.save(commit=False)
                    if hasattr(instance, "updated_by_id"):
                        instance.updated_by = request.user
                        if pk is None:
                            instance.created_by = request.user
                    instance.save()
                    form.save_m2m()
            except (ValidationError, IntegrityError) as exc:
                form.add_error(None, _error_text(exc))
                return self.render_form(obj, form)
            messages.success(request, (_("Created %(obj)s") if pk is None else _("Saved %(obj)s")) % {"obj": instance})
            if "_addanother" in request.POST:
                return HttpResponseRedirect(request.path)
            return HttpResponseRedirect(self.return_url(self.config.url("detail", instance)))
        return self.render_form(obj, form)

    def render_form(self, obj, form):
        return render(
            self.request,
            self.template_name,
            self.base_context(
                object=obj,
                form=form,
                is_new=obj.pk is None,
                return_url=self.return_url(self.config.url("detail", obj) if obj.pk else None),
            ),
        )


def _validation_text(obj, exc) -> str:
    """'field label: message' for each problem, so a bulk-edit error says which field of which record is wrong."""
    if not hasattr(exc, "error_dict"):
        return "; ".join(exc.messages)
    parts = []
    for name, field_messages in exc.message_dict.items():
        try:
            label = obj._meta.get_field(name).verbose_name if name != "__all__" else ""
        except Exception:  # a non-field key
            label = name
        parts += [f"{label}: {m}" if label else m for m in field_messages]
    return "; ".join(parts)


def _error_text(exc) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)
    return _("The record conflicts with an existing one (a unique value is already used).")


class ObjectDeleteView(ConfigView):
    action = "delete"
    template_name = "core/object_delete.html"

    def get(self, request, pk):
        obj = get_object_or_404(self.queryset(), pk=pk)
        return render(
            request,
            self.template_name,
            self.base_context(object=obj, return_url=self.return_url(self.config.url("detail", obj))),
        )

    def post(self, request, pk):
        obj = get_object_or_404(self.queryset(), pk=pk)
        try:
            with transaction.atomic():
                obj.delete()
        except ValidationError as exc:  # the model refuses (e.g. an issued notice is withdrawn, not deleted)
            messages.error(request, " ".join(exc.messages))
            return HttpResponseRedirect(self.config.url("detail", obj))
        except ProtectedError as exc:
            names = "、".join(sorted({str(o) for o in list(exc.protected_objects)[:5]}))
            messages.error(
                request, _("Cannot delete %(obj)s: still referenced by %(refs)s") % {"obj": obj, "refs": names}
            )
            return HttpResponseRedirect(self.config.url("detail", obj))
        messages.success(request, _("Deleted %(obj)s") % {"obj": obj})
        return HttpResponseRedirect(self.config.url("list"))


# ---- bulk -----------------------------------------------------------------------------------------------------------


class BulkEditView(ConfigView):
    action = "change"
    template_name = "core/bulk_edit.html"

    def post(self, request):
        pks = [int(p) for p in request.POST.getlist("pk") if p.isdigit()]
        objects = list(self.queryset().filter(pk__in=pks))
        form_class = bulk_edit_form_for(self.config, request.user)
        if "_apply" not in request.POST:
            return self.render_form(objects, form_class())
        form = form_class(request.POST)
        if not form.is_valid():
            return self.render_form(objects, form)
        changes = {k: v for k, v in form.cleaned_data.items() if v not in (None, "", [])}
        errors = []
        try:
            with transaction.atomic():
                for obj in objects:
                    for name, value in changes.items():
                        setattr(obj, name, value)
                    if hasattr(obj, "updated_by_id"):
                        obj.updated_by = request.user
                    try:
                        obj.full_clean()
                    except ValidationError as exc:
                        errors.append(f"{obj}: {_validation_text(obj, exc)}")
                        continue
                    obj.save()
                if errors:
                    raise ValidationError(errors)
        except ValidationError:
            for error in errors:
                form.add_error(None, error)
            return self.render_form(objects, form)
        messages.success(
            request, ngettext("Updated %(n)d record", "Updated %(n)d records", len(objects)) % {"n": len(objects)}
        )
        return HttpResponseRedirect(self.return_url())

    def render_form(self, objects, form):
        return render(
            self.request,
            self.template_name,
            self.base_context(objects=objects, form=form, return_url=self.return_url()),
        )


class BulkDeleteView(ConfigView):
    action = "delete"
    template_name = "core/bulk_delete.html"

    def post(self, request):
        pks = [int(p) for p in request.POST.getlist("pk") if p.isdigit()]
        objects = list(self.queryset().filter(pk__in=pks))
        if "_confirm" not in request.POST:
            return render(request, self.template_name, self.base_context(objects=objects, return_url=self.return_url()))
        try:
            with transaction.atomic():
                for obj in objects:
                    obj.delete()
        except ProtectedError as exc:
            names = "、".join(sorted({str(o) for o in list(exc.protected_objects)[:5]}))
            messages.error(
                request, _("Nothing was deleted: some records are still referenced by %(refs)s") % {"refs": names}
            )
            return HttpResponseRedirect(self.return_url())
        messages.success(
            request, ngettext("Deleted %(n)d record", "Deleted %(n)d records", len(objects)) % {"n": len(objects)}
        )
        return HttpResponseRedirect(self.return_url())


# ---- import ---------------------------------------------------------------------------------------------------------


class ImportTemplateView(ConfigView):
    action = "add"

    def get(self, request):
        wb = xlsx.build_template(self.config, request.user)
        import io

        buffer = io.BytesIO()
        wb.save(buffer)
        response = HttpResponse(
            buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        response["Content-Disposition"] = f'attachment; filename="{self.config.model_name}-template.xlsx"'
        return response


class ObjectImportView(ConfigView):
    action = "add"
    template_name = "core/object_import.html"

    def dispatch(self, request, *args, **kwargs):
        if not self.config.import_fields:
            from django.http import Http404

            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        return self.render_page(ImportUploadForm())

    def post(self, request):
        form = ImportUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render_page(form)
        upload = form.cleaned_data["file"]
        try:
            bound_forms, errors = xlsx.parse_import(self.config, request.user, upload)
        except xlsx.ImportFileError as exc:
            return self.render_page(form, file_error=str(exc), filename=upload.name)
        if not errors:
            errors = self.write(bound_forms)
        if errors:
            audit.record(
                AuditAction.IMPORT,
                result="failure",
                object_type=self.config.label,
                object_repr=f"{self.config.verbose_name_plural}: {upload.name}",
                changes={"model": self.config.label, "file": upload.name, "errors": len(errors), "written": 0},
            )
            rows = {n for n, _f in bound_forms} | {e.row for e in errors}
            return self.render_page(form, errors=errors, filename=upload.name, row_count=len(rows))
        audit.record(
            AuditAction.IMPORT,
            object_type=self.config.label,
            object_repr=f"{self.config.verbose_name_plural}: {upload.name}",
            changes={"model": self.config.label, "file": upload.name, "written": len(bound_forms)},
        )
        messages.success(
            request,
            ngettext("Imported %(n)d record from %(file)s", "Imported %(n)d records from %(file)s", len(bound_forms))
            % {"n": len(bound_forms), "file": upload.name},
        )
        return HttpResponseRedirect(self.config.url("list"))

    def write(self, bound_forms):
        """All rows or none: any failure while saving rolls the whole import back."""
        errors = []
        try:
            with transaction.atomic():
                for number, form in bound_forms:
                    try:
                        with transaction.atomic():
                            instance = form.save(commit=False)
                            if hasattr(instance, "created_by_id"):
                                instance.created_by = instance.updated_by = self.request.user
                            instance.save()
                            form.save_m2m()
                    except (ValidationError, IntegrityError) as exc:
                        errors.append(xlsx.RowError(number, "", _error_text(exc)))
                if errors:
                    raise IntegrityError("import rolled back")
        except IntegrityError:
            pass
        return errors

    def render_page(self, form, **extra):
        return render(
            self.request,
            self.template_name,
            self.base_context(
                form=form,
                columns=[
                    xlsx.header_for(self.config.form(user=self.request.user).fields[n], n)
                    for n in self.config.import_fields
                ],
                **extra,
            ),
        )
