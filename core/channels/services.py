"""What ``edusec run`` starts for the channels (core.services): in the demo, the local stand-in for the WeCom,
DingTalk and Feishu robots and the signed webhook, so that the demo's endpoints (``core.channels.demo``) deliver
somewhere real. Every message it receives is appended to ``DATA_DIR/webhook-receiver.jsonl``."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from django.conf import settings

from core.services import service


@service("webhook receiver")
def start_receiver(say):
    if not settings.EDUSEC_DEMO:
        return None
    from .demo import DEMO_SECRETS
    from .receiver import KINDS, WebhookReceiver

    log_path = Path(settings.DATA_DIR) / "webhook-receiver.jsonl"
    lock = threading.Lock()

    def record(received):
        line = {
            "at": received.at, "kind": received.kind, "path": received.path,
            "signature_valid": received.signature_valid, "accepted": received.accepted, "body": received.text[:4000],
        }  # fmt: skip
        with lock, open(log_path, "a", encoding="utf-8") as log:
            log.write(json.dumps(line, ensure_ascii=False) + "\n")

    receiver = WebhookReceiver("127.0.0.1", settings.EDUSEC_DEMO_RECEIVER_PORT, on_receive=record)
    for kind in KINDS:
        receiver.add_route(f"/{kind}", kind, secret=DEMO_SECRETS[kind])
    receiver.start()
    say(f"Robot and webhook stand-in: {receiver.url('/')} (received messages in {log_path})")
    return receiver.stop
