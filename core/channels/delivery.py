"""Sending one Delivery: one attempt at a time, retried with exponential back-off, every attempt recorded.

Life of a delivery::

    queued ──attempt──► sent
       │                  ▲
       └──► sending ──────┤
               │ failed, tries left: retrying (next_attempt_at = now + back-off) ──► sending … ──► sent / failed
               └ failed, no tries left (or a configuration problem): failed

An attempt first *claims* the row (one UPDATE that moves it from queued/retrying to sending when it is due), so a
delivery dispatched twice (a retry timer and the periodic sweep, or two workers) is still sent once per due time.

Back-off after attempt *n* (1-based): ``EDUSEC_CHANNEL_BACKOFF_SECONDS × 2^(n−1)``, at most
``EDUSEC_CHANNEL_BACKOFF_MAX_SECONDS``; ``EDUSEC_CHANNEL_MAX_ATTEMPTS`` tries in all (the first included). The retry is
scheduled right away (a timer in this process, or a Celery countdown when a broker is configured); the periodic
``core.channels.retry_due`` job re-dispatches anything a stopped process left behind.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import connections
from django.db.models import F, Q
from django.utils import timezone, translation

from ..models import ChannelKind, Delivery, DeliveryAttempt, DeliveryState
from . import senders
from .events import event_label
from .validation import split_addresses

logger = logging.getLogger("edusec.channels")

# An attempt left "sending" this long after it started was interrupted (the process stopped).
STALE_SENDING_EXTRA = timedelta(seconds=60)
# Queued deliveries that no task picked up in this time are dispatched again (the process stopped before it ran them).
STALE_QUEUED = timedelta(minutes=2)
# The sweep leaves a retry this long to its own timer before dispatching it itself.
SWEEP_GRACE = timedelta(seconds=5)


def backoff_delay(attempt_number: int) -> float:
    """Seconds to wait after failed attempt ``attempt_number`` (1-based)."""
    base = float(settings.EDUSEC_CHANNEL_BACKOFF_SECONDS)
    return min(base * (2 ** max(0, attempt_number - 1)), float(settings.EDUSEC_CHANNEL_BACKOFF_MAX_SECONDS))


def compose(delivery: Delivery, attempt_number: int) -> senders.OutgoingMessage:
    unit = delivery.unit
    object_type = ""
    if delivery.content_type_id:
        ct = delivery.content_type
        object_type = f"{ct.app_label}.{ct.model}"
    return senders.OutgoingMessage(
        delivery_id=str(delivery.uuid),
        event_type=delivery.event_type,
        event_label=event_label(delivery.event_type),
        title=delivery.title,
        body=delivery.body,
        link=senders.absolute_link(delivery.link),
        unit_name=getattr(unit, "name", "") or "",
        unit_code=getattr(unit, "code", "") or "",
        object_type=object_type,
        object_id=delivery.object_id,
        created_at=delivery.created_at,
        attempt=attempt_number,
        is_test=delivery.is_test,
    )


def send(delivery: Delivery, attempt_number: int, now: float | None = None) -> senders.AttemptResult:
    """One try, with no bookkeeping: compose the message and hand it to its channel."""
    now = time.time() if now is None else now
    with translation.override(settings.LANGUAGE_CODE):  # messages leave in the platform's language
        msg = compose(delivery, attempt_number)
        endpoint = delivery.endpoint
        if delivery.kind == ChannelKind.EMAIL and delivery.endpoint_id is None:
            user = delivery.recipient
            if user is None or not user.is_active or not user.email:
                return senders.AttemptResult(
                    False, None, "not sent", "", "the recipient has no active account or no e-mail address", False
                )
            return senders.send_email([user.email], msg)
        if endpoint is None:
            return senders.AttemptResult(False, None, "not sent", "", "the channel was deleted", retryable=False)
        if not endpoint.enabled and not delivery.is_test:
            return senders.AttemptResult(False, None, "not sent", "", "the channel is disabled", retryable=False)
        if endpoint.kind == ChannelKind.EMAIL:
            return senders.send_email(split_addresses(endpoint.email_to), msg)
        return senders.send_http(
            endpoint.kind,
            (endpoint.webhook_url or "").strip(),
            endpoint.secret or "",
            endpoint.message_format,
            msg,
            now,
        )


def claim(delivery_id: int, now) -> bool:
    """Move the delivery to "sending" if it is waiting and due; True when this caller got it."""
    return (
        Delivery.objects.filter(pk=delivery_id, state__in=(DeliveryState.QUEUED, DeliveryState.RETRYING))
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now + timedelta(seconds=1)))
        .update(state=DeliveryState.SENDING, attempts=F("attempts") + 1, updated_at=now)
        > 0
    )


def attempt(delivery_id: int, *, now=None, schedule: bool = True) -> dict:
    """Make one attempt of a due delivery and record it; on failure schedule the next one (unless ``schedule`` is
    false, as in tests that drive the clock themselves). Returns a summary for the TaskRun."""
    now = now or timezone.now()
    if not claim(delivery_id, now):
        state = Delivery.objects.filter(pk=delivery_id).values_list("state", flat=True).first()
        return {"delivery": delivery_id, "skipped": True, "state": state}
    delivery = Delivery.objects.select_related("endpoint", "recipient", "unit", "content_type").get(pk=delivery_id)
    number = delivery.attempts
    started = time.monotonic()
    try:
        result = send(delivery, number, now=now.timestamp())
    except Exception as exc:  # a bug or an unexpected library error is a failed attempt, recorded like any other
        logger.exception("delivery %s: attempt %s raised", delivery_id, number)
        result = senders.AttemptResult(False, None, "error", "", f"{type(exc).__name__}: {exc}")
    duration_ms = int((time.monotonic() - started) * 1000)
    DeliveryAttempt.objects.create(
        delivery_id=delivery_id,
        number=number,
        started_at=now,
        duration_ms=duration_ms,
        success=result.success,
        http_status=result.http_status,
        result=result.result[:200],
        response=result.response,
        error=result.error,
    )
    finished = now + timedelta(milliseconds=duration_ms)
    if result.success:
        fields = {"state": DeliveryState.SENT, "sent_at": finished, "next_attempt_at": None, "last_error": ""}
    elif result.retryable and number < delivery.max_attempts:
        delay = backoff_delay(number)
        fields = {
            "state": DeliveryState.RETRYING,
            "next_attempt_at": finished + timedelta(seconds=delay),
            "last_error": result.error,
        }
    else:
        fields = {"state": DeliveryState.FAILED, "next_attempt_at": None, "last_error": result.error}
    Delivery.objects.filter(pk=delivery_id).update(updated_at=finished, **fields)
    if fields["state"] == DeliveryState.RETRYING and schedule:
        schedule_retry(delivery_id, (fields["next_attempt_at"] - timezone.now()).total_seconds())
    if fields["state"] == DeliveryState.FAILED:
        logger.warning(
            "delivery %s to %s failed after %s attempt(s): %s", delivery_id, delivery.target, number, result.error
        )
    return {"delivery": delivery_id, "attempt": number, "state": str(fields["state"]), "result": result.result}


# ---- dispatch -------------------------------------------------------------------------------------------------------


def queue(delivery_ids) -> list:
    """Start the deliver task for each delivery once the current transaction commits (``run_task`` waits for it)."""
    from ..tasks import run_task
    from .tasks import deliver

    return [run_task(deliver, pk) for pk in delivery_ids]


def schedule_retry(delivery_id: int, delay: float) -> None:
    """Run the deliver task again in ``delay`` seconds."""
    delay = max(0.0, delay)
    if getattr(settings, "EDUSEC_BROKER_URL", ""):
        from ..tasks import get_celery_app

        # A Celery countdown; run_task has none. The attempt itself is recorded in DeliveryAttempt either way.
        get_celery_app().send_task("core.channels.deliver", args=[delivery_id], countdown=delay)
        return
    timer = threading.Timer(delay, _retry_now, args=[delivery_id])
    timer.daemon = True  # a stopped server leaves it to the sweep after restart
    timer.name = f"edusec-retry-{delivery_id}"
    timer.start()


def _retry_now(delivery_id: int) -> None:
    try:
        queue([delivery_id])
    except Exception:  # the sweep will pick it up
        logger.exception("could not re-queue delivery %s", delivery_id)
    finally:
        connections.close_all()  # this timer thread's connections


def dispatch_due(now=None) -> dict:
    """The periodic sweep: finish interrupted attempts, re-dispatch due retries and forgotten queued deliveries."""
    now = now or timezone.now()
    interrupted = 0
    stale = now - timedelta(seconds=float(settings.EDUSEC_CHANNEL_TIMEOUT) * 3) - STALE_SENDING_EXTRA
    for delivery in Delivery.objects.filter(state=DeliveryState.SENDING, updated_at__lt=stale):
        error = "interrupted: the process stopped during the attempt"
        DeliveryAttempt.objects.create(
            delivery_id=delivery.pk, number=delivery.attempts, started_at=delivery.updated_at, error=error
        )
        retry = delivery.attempts < delivery.max_attempts
        interrupted += Delivery.objects.filter(pk=delivery.pk, state=DeliveryState.SENDING).update(
            state=DeliveryState.RETRYING if retry else DeliveryState.FAILED,
            next_attempt_at=now if retry else None,
            last_error=error,
            updated_at=now,
        )
    due = list(
        Delivery.objects.filter(
            Q(state=DeliveryState.RETRYING, next_attempt_at__lte=now - SWEEP_GRACE)
            | Q(state=DeliveryState.QUEUED, created_at__lt=now - STALE_QUEUED)
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:500]
    )
    queue(due)
    return {"interrupted": interrupted, "dispatched": len(due)}
