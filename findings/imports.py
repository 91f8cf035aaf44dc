"""Running one scanner import: detect the format from the content, stream it through the writer, record the counts.

Used by the upload page (as a background task) and by ``edusec import_scan``. A malformed file leaves nothing written
and the import marked failed with the reason (line or element).
"""

import hashlib

from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from core import audit
from core.models import AuditAction

from .importers.base import ImportFormatError
from .importers.detect import parse_any
from .models import ImportState, ScanImport
from .writer import write_records

INTERNAL_ERROR = _(
    "the import stopped on an internal error, not on the file's content; nothing was written. "
    "The administrators can read the details in the task log"
)


def file_digest(fileobj) -> str:
    """SM3 of a binary file, read in chunks; the file is rewound."""
    digest = hashlib.new("sm3")
    for chunk in iter(lambda: fileobj.read(1024 * 1024), b""):
        digest.update(chunk)
    fileobj.seek(0)
    return digest.hexdigest()


def run_import(scan_import: ScanImport, fileobj, *, user=None, audit_entry: bool = True) -> ScanImport:
    """Import ``fileobj`` (binary, seekable) into ``scan_import.unit``'s subtree and fill ``scan_import``'s counts.

    ``audit_entry=False`` leaves the import's audit entry to the caller (the demo loader writes one for all its files).
    """
    scan_import.state, scan_import.started_at = ImportState.RUNNING, timezone.now()
    scan_import.save(update_fields=["state", "started_at"])
    try:
        file_format, records = parse_any(fileobj, child=True)
        scan_import.file_format = file_format
        counts = write_records(
            records,
            unit=scan_import.unit,
            scan_import=scan_import,
            close_missing=scan_import.close_missing,
            tool=_tool_of(file_format),
            user=user,
        )
    except ImportFormatError as exc:
        _failed(scan_import, user, exc.render("zh-hans"), exc.render("en"))
        return scan_import
    except Exception:
        # Not the file's fault (the database, a bug): nothing was written (the writer's transaction rolled back);
        # the import must not stay "running" for ever. The error itself goes to the task's log.
        with translation.override("zh-hans"):
            message = str(INTERNAL_ERROR)
        with translation.override("en"):
            message_en = str(INTERNAL_ERROR)
        _failed(scan_import, user, message, message_en)
        raise
    for name in ("records", "new", "updated", "reopened", "closed", "unattributed", "rejected", "rejected_sample"):
        setattr(scan_import, name, getattr(counts, name))
    scan_import.state, scan_import.finished_at = ImportState.DONE, timezone.now()
    scan_import.save()
    if not audit_entry:
        return scan_import
    audit.record(
        AuditAction.IMPORT,
        obj=scan_import,
        user=user,
        changes={
            "file": scan_import.file_name,
            "format": scan_import.file_format,
            "records": counts.records,
            "new": counts.new,
            "updated": counts.updated,
            "reopened": counts.reopened,
            "closed": counts.closed,
            "unattributed": counts.unattributed,
            "rejected": counts.rejected,
        },
    )
    return scan_import


def _failed(scan_import: ScanImport, user, error: str, error_en: str) -> None:
    """Mark ``scan_import`` failed with the reason in Chinese and English, and audit it."""
    scan_import.state, scan_import.error, scan_import.error_en = ImportState.FAILED, error, error_en
    scan_import.finished_at = timezone.now()
    scan_import.save(update_fields=["state", "error", "error_en", "finished_at", "file_format"])
    audit.record(
        AuditAction.IMPORT,
        obj=scan_import,
        user=user,
        result="failure",
        changes={"file": scan_import.file_name, "error": error_en},
    )


def _tool_of(file_format: str) -> str:
    return {
        "nessus_csv": "nessus",
        "openvas_csv": "openvas",
        "generic_csv": "generic",
        "generic_xlsx": "generic",
        "upstream_xlsx": "upstream",
    }.get(file_format, file_format)
