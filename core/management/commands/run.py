"""``edusec run``: everything in one process: migrate, static files, demo data on an empty database, the waitress web
server, the task scheduler and the in-process task runner. Ctrl-C (or SIGTERM) stops it all; data is kept."""

import os
import signal

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError

from core import services, tasks
from core.scheduler import Scheduler


def listen_address(host: str, port: int) -> str:
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # IPv6 literal
    return f"{host}:{port}"


class Command(BaseCommand):
    help = "Start EduSec: migrate, collect static files, load the demo region into an empty database, then serve."

    def add_arguments(self, parser):
        parser.add_argument(
            "--host",
            default=os.environ.get("EDUSEC_HOST", "127.0.0.1"),
            help="address to listen on (env EDUSEC_HOST; default 127.0.0.1)",
        )
        parser.add_argument(
            "--port",
            type=int,
            default=int(os.environ.get("EDUSEC_PORT") or 8000),
            help="port to listen on (env EDUSEC_PORT; default 8000)",
        )
        parser.add_argument("--threads", type=int, default=8, help="web server threads (default 8)")
        parser.add_argument(
            "--demo",
            action="store_true",
            help="load the demo region into an empty database even when EDUSEC_DEMO is not set",
        )
        parser.add_argument("--no-scheduler", action="store_true", help="do not start the periodic-job scheduler")
        parser.add_argument(
            "--no-services",
            action="store_true",
            help="do not start the companions (the monitor; in the demo, the simulated school sites)",
        )

    def handle(self, *args, **options):
        self.say("Applying database migrations…")
        call_command("migrate", interactive=False, verbosity=0)
        self.say("Collecting static files…")
        call_command("collectstatic", interactive=False, verbosity=0)

        self.load_demo_if_empty(options["demo"] or settings.EDUSEC_DEMO)
        interrupted = tasks.fail_interrupted_runs()
        if interrupted:
            self.say(f"{interrupted} background task(s) interrupted by the last stop were marked failed.")

        from waitress import create_server

        from edusec.wsgi import application

        listen = listen_address(options["host"], options["port"])
        try:
            server = create_server(application, listen=listen, threads=options["threads"])
        except OSError as exc:
            raise CommandError(f"cannot listen on {listen}: {exc}") from exc

        scheduler = None if options["no_scheduler"] else Scheduler()
        if scheduler is not None:
            scheduler.start()
        running = [] if options["no_services"] else services.start_all(self.say)

        self.print_banner(options["host"], getattr(server, "effective_port", options["port"]))
        # Ctrl-C and SIGTERM both end the loop, even when the shell that started us ignores SIGINT (`… &`).
        previous = {sig: signal.signal(sig, self._raise_interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            server.run()  # returns on KeyboardInterrupt
        except KeyboardInterrupt:
            pass
        finally:
            self.say("\nStopping…")
            server.close()
            services.stop_all(running)
            if scheduler is not None:
                scheduler.stop()
            self.stop_tasks()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.say("Stopped.")

    @staticmethod
    def _raise_interrupt(signum, frame):
        raise KeyboardInterrupt

    def say(self, message):
        self.stdout.write(message)
        self.stdout.flush()

    def load_demo_if_empty(self, demo_wanted: bool):
        unit_model = apps.get_model(settings.EDUSEC_UNIT_MODEL)
        if unit_model.objects.exists():
            return
        if not demo_wanted:
            self.say(
                "The database has no units yet. Load the demo region with `edusec load_demo` (or start with "
                "EDUSEC_DEMO=1), or create an administrator with `edusec createsuperuser`."
            )
            return
        if "load_demo" not in get_commands():
            self.stderr.write(self.style.WARNING("The database is empty, but the load_demo command is not available."))
            return
        self.say("Empty database: loading the demo region…")
        call_command("load_demo")

    def print_banner(self, host, port):
        shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        url = f"http://{listen_address(shown, port)}/"
        self.say("")
        self.say(self.style.SUCCESS(f"EduSec is running at {url}"))
        if host not in ("127.0.0.1", "localhost", "::1") and set(settings.ALLOWED_HOSTS) <= {
            "localhost",
            "127.0.0.1",
            "[::1]",
        }:
            self.say(
                self.style.WARNING(
                    "EDUSEC_ALLOWED_HOSTS lists only loopback names: other machines will get 400 Bad Request until "
                    "it names this host."
                )
            )
        if "demo_accounts" in get_commands() and get_user_model().objects.filter(is_demo=True).exists():
            try:
                call_command("demo_accounts", stdout=self.stdout)
            except Exception as exc:  # the banner must not keep the server from starting
                self.stderr.write(self.style.WARNING(f"(could not list demo accounts: {exc})"))
        executor = "Celery workers" if settings.EDUSEC_BROKER_URL else f"{tasks.task_threads()} in-process threads"
        self.say(f"Background tasks: {executor}. Press Ctrl-C to stop.")

    def stop_tasks(self):
        try:
            if tasks.in_flight():
                self.say(
                    f"Waiting for {tasks.in_flight()} background task(s) to finish (Ctrl-C again to abandon them)…"
                )
            tasks.shutdown(wait=True)
        except KeyboardInterrupt:
            self.stderr.write("Abandoned running tasks; they will be marked failed at the next start.")
            self.stdout.flush()
            os._exit(130)
