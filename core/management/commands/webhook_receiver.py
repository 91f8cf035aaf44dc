"""``edusec webhook_receiver``: stand in for the WeCom, DingTalk and Feishu robots and a signed webhook receiver on
this machine, for the demo. Point a unit's notification channels at the printed addresses, with the printed secrets."""

import json

from django.core.management.base import BaseCommand, CommandError

from core.channels.demo import DEMO_SECRETS
from core.channels.receiver import KINDS, WebhookReceiver


class Command(BaseCommand):
    help = (
        "Run a local receiver that answers like the WeCom/DingTalk/Feishu robots and checks their signatures "
        "(loopback addresses only; for the demo and manual tests)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="127.0.0.1 (default) or ::1")
        parser.add_argument("--port", type=int, default=18090, help="port (default 18090; 0 = any free port)")
        parser.add_argument(
            "--secret",
            action="append",
            default=[],
            metavar="KIND=SECRET",
            help="secret of a route (dingtalk, feishu, webhook); repeatable. Defaults are fixed demo secrets.",
        )
        parser.add_argument(
            "--fail", type=int, default=0, metavar="N", help="answer the first N requests of each route with an error"
        )

    def handle(self, *args, **options):
        secrets = dict(DEMO_SECRETS)
        for item in options["secret"]:
            kind, sep, secret = item.partition("=")
            if not sep or kind not in KINDS or kind == "wecom":
                raise CommandError(f"--secret takes dingtalk=…, feishu=… or webhook=…, not {item!r}")
            secrets[kind] = secret
        try:
            receiver = WebhookReceiver(options["host"], options["port"], on_receive=self.report)
            for kind in KINDS:
                route = receiver.add_route(f"/{kind}", kind, secret=secrets[kind])
                if options["fail"]:
                    route.fail_next(options["fail"])
            receiver.start()
        except (ValueError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Webhook receiver listening on {receiver.url('/')}"))
        for kind in KINDS:
            secret = secrets[kind]
            self.stdout.write(f"  {kind:9} {receiver.url('/' + kind)}" + (f"   secret: {secret}" if secret else ""))
        self.stdout.write("Press Ctrl-C to stop.")
        self.stdout.flush()
        try:
            receiver.wait()
        except KeyboardInterrupt:
            self.stdout.write("\nStopped.")
        finally:
            receiver.stop()

    def report(self, record):
        signature = {True: "signature ok", False: "SIGNATURE INVALID", None: "unsigned"}[record.signature_valid]
        outcome = "accepted" if record.accepted else f"refused {record.error}"
        summary = json.dumps(record.json, ensure_ascii=False)[:300] if record.json is not None else record.text[:300]
        self.stdout.write(f"[{record.kind}] {signature}, {outcome}: {summary}")
        self.stdout.flush()
