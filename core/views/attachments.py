from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import FileResponse, Http404
from django.views import View

from .. import audit
from ..attachments import visible_attachment
from ..models import AuditAction


class AttachmentDownloadView(LoginRequiredMixin, View):
    """Download evidence: allowed exactly when the object it belongs to is visible to the user; audited."""

    def get(self, request, pk):
        attachment = visible_attachment(request.user, pk)
        if attachment is None:
            raise Http404
        audit.record(AuditAction.EXPORT, obj=attachment, changes={"download": attachment.name})
        response = FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.name)
        response["X-Content-Type-Options"] = "nosniff"
        return response
