"""Command line of the farm, shared by ``edusec simfarm`` and ``python -m monitoring.simfarm``.

``serve`` (the default) runs the farm; ``set``, ``remove`` and ``list`` talk to a running farm's control API and,
when none answers, edit ``<state dir>/sites.json`` so the next start agrees.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import urllib.error
import urllib.request
from pathlib import Path

from monitoring.simfarm.pages import DEFAULT_PAGE_SIZE
from monitoring.simfarm.server import DEFAULT_HTTP_PORT, DEFAULT_HTTPS_PORT, RUNTIME_FILE, Farm
from monitoring.simfarm.sites import (
    DEFAULT_IPV6_SHARE,
    DEFAULT_MIX,
    DEFAULT_TLS_MIX,
    SITES_FILE,
    Site,
    SiteError,
    generate_sites,
    load_sites,
    normalise_host,
    save_sites,
)
from monitoring.vocabulary import FARM_CHARSETS, FARM_TLS_VARIANTS

DEFAULT_STATE_DIR = Path("var") / "simfarm"
ACTIONS = ("serve", "set", "remove", "list")


def add_arguments(parser: argparse.ArgumentParser, default_state_dir: Path = DEFAULT_STATE_DIR) -> None:
    parser.add_argument("action", nargs="?", choices=ACTIONS, default="serve", help="what to do (default: serve)")
    parser.add_argument("host", nargs="?", help="site host name (set, remove)")
    parser.add_argument("scenario", nargs="?", help="scenario (set)")
    parser.add_argument("--state-dir", type=Path, default=default_state_dir, help="CA, sites.json (%(default)s)")
    parser.add_argument("--http-port", type=int, default=DEFAULT_HTTP_PORT, help="0 picks a free port")
    parser.add_argument("--https-port", type=int, default=DEFAULT_HTTPS_PORT, help="0 picks a free port")
    serve = parser.add_argument_group("serve")
    serve.add_argument("--sites", type=int, default=0, help="generate N sites s00001.farm.test …")
    serve.add_argument("--mix", default=DEFAULT_MIX, help="scenario weights; groups: hidden, cloaking")
    serve.add_argument("--tls-mix", default=DEFAULT_TLS_MIX, help="TLS variant weights")
    serve.add_argument("--ipv6-share", type=float, default=DEFAULT_IPV6_SHARE, help="share of sites answering on ::1")
    serve.add_argument("--seed", type=int, default=0, help="seed of the generated mix and pages")
    serve.add_argument("--manifest", type=Path, help="JSON list of sites to load")
    serve.add_argument("--no-ipv6", action="store_true", help="do not listen on ::1")
    serve.add_argument("--page-size", type=int, default=DEFAULT_PAGE_SIZE, help="bytes of a home page")
    serve.add_argument("--slow-delay", type=float, default=3.0, help="seconds before a slow site answers")
    serve.add_argument("--reset", action="store_true", help="ignore the saved sites.json")
    serve.add_argument(
        "--warm", action="store_true", help="build every page before listening (default: in the background)"
    )
    change = parser.add_argument_group("set")
    change.add_argument("--tls", choices=FARM_TLS_VARIANTS, help="TLS variant of the site")
    change.add_argument("--charset", choices=FARM_CHARSETS, help="encoding of the site's pages")
    change.add_argument("--site-ipv6", choices=("yes", "no"), help="whether the site answers on ::1")
    change.add_argument("--control-url", help="control API (default: from farm.json, else 127.0.0.1:HTTP port)")


def _say(out, text: str) -> None:
    # write() with the newline included: Django's OutputWrapper adds none then, a plain stream needs it.
    out.write(text + "\n")
    with contextlib.suppress(AttributeError, ValueError):
        out.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m monitoring.simfarm", description=__doc__.splitlines()[0])
    add_arguments(parser)
    options = vars(parser.parse_args(argv))
    try:
        return run(options, sys.stdout)
    except (SiteError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def run(options: dict, out) -> int:
    action = options["action"]
    if action == "serve":
        if options.get("host") or options.get("scenario"):
            raise SiteError("serve takes no positional arguments (did you mean: set HOST SCENARIO?)")
        return serve(options, out)
    if action == "list":
        return list_sites(options, out)
    if not options.get("host"):
        raise SiteError(f"{action} needs a host name")
    if action == "remove":
        return remove_site(options, out)
    if not options.get("scenario"):
        raise SiteError("set needs HOST SCENARIO")
    return set_site(options, out)


# --- serve ------------------------------------------------------------------------------------------------------


def build_farm(options: dict) -> Farm:
    sites: list[Site] = []
    if options.get("sites"):
        sites += generate_sites(
            options["sites"],
            mix=options["mix"],
            tls_mix=options["tls_mix"],
            ipv6_share=options["ipv6_share"],
            seed=options["seed"],
        )
    if options.get("manifest"):
        sites += load_sites(options["manifest"])
    return Farm(
        options["state_dir"],
        sites,
        http_port=options["http_port"],
        https_port=options["https_port"],
        ipv6=not options["no_ipv6"],
        page_size=options["page_size"],
        slow_delay=options["slow_delay"],
        restore=not options["reset"],
    )


def _loop_factory():
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop
    return uvloop.new_event_loop


def serve(options: dict, out) -> int:
    farm = build_farm(options)
    warm_before = options.get("warm")
    if warm_before:
        _say(out, f"building pages of {farm.warm()} sites …")

    async def main():
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        # Without --warm the pages are built in the background while the farm already answers.
        await farm.start(warm=not warm_before)
        try:
            _say(out, f"simfarm: {len(farm.sites)} sites, event loop {type(loop).__module__}")
            for address in farm.addresses:
                _say(out, f"  listening on {address}")
            _say(out, f"  control API: {farm.control_url}/sites (or Host: farm.control.test)")
            _say(out, f"  CA certificate: {farm.ca_path}")
            _say(out, f"  site table: {farm.sites_path}")
            await stop.wait()
        finally:
            await farm.stop()
            _say(out, "simfarm stopped")

    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(main())
    return 0


# --- set / remove / list ------------------------------------------------------------------------------------------


def control_url(options: dict) -> str:
    if options.get("control_url"):
        return options["control_url"].rstrip("/")
    runtime = Path(options["state_dir"]) / RUNTIME_FILE
    with contextlib.suppress(OSError, ValueError, KeyError):
        return json.loads(runtime.read_text(encoding="utf-8"))["control_url"].rstrip("/")
    return f"http://127.0.0.1:{options['http_port']}"


def _call(options: dict, method: str, path: str, body: dict | None = None):
    """(status, JSON) from the control API, or None when no farm answers there."""
    request = urllib.request.Request(
        control_url(options) + path,
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Content-Type": "application/json", "Host": "farm.control.test"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw, status = response.read(), response.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None
    return status, json.loads(raw) if raw else None


def _saved(options: dict) -> tuple[Path, dict[str, Site]]:
    path = Path(options["state_dir"]) / SITES_FILE
    return path, {site.host: site for site in (load_sites(path) if path.exists() else [])}


def set_site(options: dict, out) -> int:
    host = normalise_host(options["host"])
    fields = {"scenario": options["scenario"], "tls": options.get("tls"), "charset": options.get("charset")}
    if options.get("site_ipv6"):
        fields["ipv6"] = options["site_ipv6"] == "yes"
    answer = _call(options, "PUT", f"/sites/{host}", {k: v for k, v in fields.items() if v is not None})
    if answer is not None:
        status, data = answer
        if status not in (200, 201):
            raise SiteError(data.get("error") if isinstance(data, dict) else f"control API answered {status}")
        _say(out, f"{data['host']}: {data['scenario']} (tls {data['tls']}, ipv6 {data['ipv6']}, {data['charset']})")
        return 0
    # No farm running: change the saved table, which the next start lays over its sites.
    path, sites = _saved(options)
    current = sites.get(host)
    fields = {k: v for k, v in fields.items() if v is not None}
    sites[host] = current.changed(**fields) if current else Site(host=host, **fields)
    save_sites(path, sites.values())
    site = sites[host]
    _say(
        out,
        f"{host}: {site.scenario} (tls {site.tls}, ipv6 {site.ipv6}, {site.charset}) saved in {path}; no farm answered",
    )
    return 0


def remove_site(options: dict, out) -> int:
    host = normalise_host(options["host"])
    answer = _call(options, "DELETE", f"/sites/{host}")
    if answer is not None:
        if answer[0] != 204:
            raise SiteError(f"no site {host}")
        _say(out, f"{host} removed")
        return 0
    path, sites = _saved(options)
    if sites.pop(host, None) is None:
        raise SiteError(f"no site {host} in {path}")
    save_sites(path, sites.values())
    _say(out, f"{host} removed from {path}; no farm answered")
    return 0


def list_sites(options: dict, out) -> int:
    answer = _call(options, "GET", "/sites")
    if answer is not None and answer[0] == 200:
        rows = [Site.from_dict(item) for item in answer[1]]
    else:
        path, saved = _saved(options)
        rows = list(saved.values())
        _say(out, f"(no farm answered; saved table {path})")
    for site in rows:
        ipv6 = "ipv6" if site.ipv6 else "-"
        _say(out, f"{site.host:<32} {site.scenario:<30} {site.tls:<12} {ipv6:<5} {site.charset:<6} {site.school}")
    _say(out, f"{len(rows)} sites")
    return 0
