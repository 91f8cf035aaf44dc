"""Background jobs of the findings app."""

from core.scheduler import periodic
from core.tasks import progress, task

from .imports import run_import
from .models import ScanImport


@task
def import_scan(scan_import_id: int) -> dict:
    """Import the uploaded file of one ScanImport (the upload page starts this and shows its progress)."""
    scan_import = ScanImport.objects.select_related("unit", "created_by").get(pk=scan_import_id)
    progress(5, scan_import.file_name)
    with scan_import.upload.open("rb") as fileobj:
        run_import(scan_import, fileobj, user=scan_import.created_by)
    progress(100, scan_import.get_state_display())
    return {"state": scan_import.state, "new": scan_import.new, "updated": scan_import.updated}


@periodic(24 * 3600, first_after=180)
def expire_risk_acceptances() -> dict:
    """Daily: accepted risks past their ``accepted_until`` are reopened (findings.workflow)."""
    from .workflow import expire_risk_acceptances as expire

    return {"reopened": expire()}


@periodic(3600, first_after=240)
def repair_loose_references() -> dict:
    """Hourly: findings' references to deleted rows set to NULL (findings.models)."""
    from .models import repair_loose_references as repair

    return {"repaired": repair()}
