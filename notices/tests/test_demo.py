"""The demo region's notices: every state of the loop, reached through the workflow, and channels that deliver to
the local stand-in."""

import pytest
from django.core.management import call_command

from core.models import ChannelEndpoint
from notices.models import Notice, Rectification, RectificationEvent

pytestmark = pytest.mark.django_db


def test_demo_has_notices_in_every_state_and_local_channels(settings):
    settings.EDUSEC_DEMO = True
    call_command("load_demo", "--quiet")
    assert set(Notice.objects.values_list("state", flat=True)) == {"draft", "issued", "closed", "withdrawn"}
    states = set(Rectification.objects.values_list("state", flat=True))
    assert states >= {
        "draft",
        "received",
        "in_progress",
        "submitted",
        "under_review",
        "returned",
        "closed",
        "withdrawn",
    }
    overdue = Rectification.objects.filter(escalated_at__isnull=False, was_overdue=True)
    assert overdue.count() >= 1
    assert RectificationEvent.objects.filter(kind="overdue").exists()
    # Issued on days in the past, each number once per issuer and year.
    numbers = list(Notice.objects.exclude(number="").values_list("unit_id", "year", "sequence"))
    assert len(numbers) == len(set(numbers))
    closed = Rectification.objects.filter(state="closed").first()
    events = list(closed.events.order_by("at").values_list("kind", flat=True))
    assert events[0] == "issued" and events[-1] == "closed"
    # Every demo robot points at the loopback stand-in.
    urls = [e.webhook_url for e in ChannelEndpoint.objects.all()]
    assert urls and all(u.startswith("http://127.0.0.1:") for u in urls)
    # Loading again changes nothing.
    count = Notice.objects.count()
    call_command("load_demo", "--quiet")
    assert Notice.objects.count() == count
