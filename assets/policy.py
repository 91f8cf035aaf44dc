"""This installation's MLPS settings, read from Django settings (EDUSEC_MLPS_*), for the pure rules in ``assets.mlps``.

One place for both policies, so the grading wizard, the workflow and the duty engine always agree.
"""

from django.conf import settings

from . import mlps


def grading_policy() -> mlps.GradingPolicy:
    """The data-level floors (``EDUSEC_MLPS_IMPORTANT_DATA_FLOOR`` and ``EDUSEC_MLPS_CORE_DATA_FLOOR``; ``None``
    disables a floor; defaults 3 and 4)."""
    return mlps.GradingPolicy(
        important_data_floor=getattr(settings, "EDUSEC_MLPS_IMPORTANT_DATA_FLOOR", 3),
        core_data_floor=getattr(settings, "EDUSEC_MLPS_CORE_DATA_FLOOR", 4),
    )


def _months(text: str, default: dict[int, int]) -> dict[int, int]:
    """Parse "2:24,3:12,4:6" (level:months) from a setting; empty → the default."""
    if not text:
        return default
    pairs = [part.split(":") for part in text.split(",") if part.strip()]
    return {int(level): int(months) for level, months in pairs}


def mlps_policy() -> mlps.MLPSPolicy:
    """The installation's deadlines (domain.md §2.3, configurable through EDUSEC_MLPS_* settings)."""
    defaults = mlps.MLPSPolicy()
    return mlps.MLPSPolicy(
        filing_days=getattr(settings, "EDUSEC_MLPS_FILING_DAYS", defaults.filing_days),
        certificate_years=getattr(settings, "EDUSEC_MLPS_CERTIFICATE_YEARS", defaults.certificate_years),
        renewal_notice_days=getattr(settings, "EDUSEC_MLPS_RENEWAL_NOTICE_DAYS", defaults.renewal_notice_days),
        assessment_months=_months(
            getattr(settings, "EDUSEC_MLPS_ASSESSMENT_MONTHS", ""), dict(defaults.assessment_months)
        ),
        self_inspection_months=_months(
            getattr(settings, "EDUSEC_MLPS_SELF_INSPECTION_MONTHS", ""), dict(defaults.self_inspection_months)
        ),
        due_soon_days=getattr(settings, "EDUSEC_MLPS_DUE_SOON_DAYS", defaults.due_soon_days),
    )
