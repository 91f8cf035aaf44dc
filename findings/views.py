from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views import View

from core.tasks import run_task

from .forms import ScanUploadForm
from .imports import file_digest
from .models import ScanImport
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
