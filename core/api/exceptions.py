from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    """DRF's handler, plus clear 400/409 answers for model validation and protected deletes instead of a 500."""
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response(detail, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ProtectedError):
        names = ", ".join(sorted({str(o) for o in list(exc.protected_objects)[:5]}))
        return Response(
            {"detail": _("Cannot delete: still referenced by %(objects)s") % {"objects": names}},
            status=status.HTTP_409_CONFLICT,
        )
    return drf_exception_handler(exc, context)
