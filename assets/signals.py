"""Signals other apps listen to, so that the ledger never imports them."""

from django.dispatch import Signal

#: Sent by ``assets.duties.record_duty_states`` after the day's duty states are written (``today`` = the date checked).
duties_recorded = Signal()
