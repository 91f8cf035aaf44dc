"""Background jobs of the asset ledger."""

from core.scheduler import periodic

from .duties import record_duty_states


@periodic(24 * 3600, first_after=120)
def record_duties() -> dict:
    """Daily: record the state of every MLPS and app duty; changes become audit entries."""
    return record_duty_states()
