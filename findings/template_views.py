"""Downloads of the two import templates (generic findings, 上级通报) linked from the upload page.

Only users who may import (``findings.add_finding``) get them; the example row names the downloader's own unit, so the
template as downloaded imports for that user.
"""

from urllib.parse import quote

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.views.decorators.http import require_GET

from . import sheets
from .importers.generic import XLSX_CONTENT_TYPE

GENERIC_FILENAME = ("漏洞导入模板（通用）.xlsx", "edusec-findings-template.xlsx")
UPSTREAM_FILENAME = ("上级通报导入模板.xlsx", "edusec-upstream-notice-template.xlsx")


def _xlsx_response(content: bytes, filename: str, ascii_filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_filename}\"; filename*=UTF-8''{quote(filename, safe='')}"
    )
    response["Cache-Control"] = "private, no-store"
    return response


def _unit_code(user) -> str:
    unit = getattr(user, "unit", None)
    return str(getattr(unit, "code", "") or "") if unit is not None else ""


def _check(request) -> None:
    if not request.user.has_perm("findings.add_finding"):
        raise PermissionDenied


@require_GET
@login_required
def generic_template(request):
    _check(request)
    return _xlsx_response(sheets.generic_template(_unit_code(request.user)), *GENERIC_FILENAME)


@require_GET
@login_required
def upstream_template(request):
    _check(request)
    return _xlsx_response(sheets.upstream_template(_unit_code(request.user)), *UPSTREAM_FILENAME)
