"""The simulated school-site farm: every scenario and TLS variant, routing, control API, CLI, persistence.

Everything talks to 127.0.0.1 or ::1 only; host names are sent in the Host header and SNI.
"""

import datetime as dt
import email.utils
import http.client
import io
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.core.management import call_command

from monitoring.analysis.page import decode_html
from monitoring.engine.engine import SEARCH_REFERER
from monitoring.simfarm import cli
from monitoring.simfarm.identity import check_char, is_valid_id_number
from monitoring.simfarm.pages import SchoolPages
from monitoring.simfarm.server import ipv6_available
from monitoring.simfarm.sites import Site, SiteError, generate_sites, load_sites
from monitoring.simfarm.testing import running_farm
from monitoring.vocabulary import FARM_SCENARIOS, FARM_TLS_VARIANTS, HIDDEN_LINK_TECHNIQUES

ROOT = Path(__file__).resolve().parents[2]
SLOW_DELAY = 0.4


def host_for(scenario: str) -> str:
    return f"{scenario.replace('_', '-')}.farm.test"


def tls_host(variant: str) -> str:
    return f"tls-{variant.replace('_', '-')}.farm.test"


SITES = (
    [Site(host_for(scenario), scenario) for scenario in FARM_SCENARIOS]
    + [Site(tls_host(variant), "healthy", tls=variant) for variant in FARM_TLS_VARIANTS]
    + [Site("no-v6.farm.test", "healthy", ipv6=False), Site("switch.farm.test", "healthy")]
    + [Site("gbk.farm.test", "keywords", charset="gbk"), Site("gbk-dynamic.farm.test", "dynamic", charset="gbk")]
)


@pytest.fixture(scope="module")
def farm(tmp_path_factory):
    with running_farm(SITES, tmp_path_factory.mktemp("farm"), slow_delay=SLOW_DELAY) as running:
        yield running


def fetch(port, host, path="/", *, addr="127.0.0.1", headers=None, timeout=5.0, method="GET"):
    """(status, lower-cased headers, body) of one plain HTTP request to the farm."""
    conn = http.client.HTTPConnection(addr, port, timeout=timeout)
    try:
        conn.request(method, path, headers={"Host": host, **(headers or {})})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def tls_socket(farm, host, *, check_hostname=True, verify=True, server_hostname=None, addr="127.0.0.1"):
    context = ssl.create_default_context(cafile=str(farm.ca_path))
    context.check_hostname = check_hostname and verify
    if not verify:
        context.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection((addr, farm.https_port), timeout=5)
    try:
        return context.wrap_socket(raw, server_hostname=server_hostname or host)
    except BaseException:
        raw.close()
        raise


def fetch_tls(farm, host, **options):
    conn = http.client.HTTPConnection(host, farm.https_port, timeout=5)
    conn.sock = tls_socket(farm, host, **options)
    try:
        conn.request("GET", "/", headers={"Host": host})
        response = conn.getresponse()
        return response.status, response.read(), conn.sock.getpeercert()
    finally:
        conn.close()


def text(body: bytes) -> str:
    return body.decode("utf-8")


def title(body: bytes) -> str:
    return re.search(r"<title>(.*?)</title>", text(body), re.S).group(1)


def wait_for(predicate, seconds=3.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


SPAM_HOST = re.compile(r"www\.[a-z0-9-]+\.(?:example|test)")


# --- pure parts ----------------------------------------------------------------------------------------------------


def test_resident_id_check_character():
    assert check_char("11010519491231002") == "X"  # the sample number of GB 11643
    assert is_valid_id_number("11010519491231002X")
    assert not is_valid_id_number("110105194912310021")
    assert not is_valid_id_number("11010519491331002X")  # month 13


def test_generated_mix_is_deterministic_and_complete():
    first, second = generate_sites(1000), generate_sites(1000)
    assert first == second
    assert [s.host for s in first[:2]] == ["s00001.farm.test", "s00002.farm.test"]
    scenarios = {s.scenario for s in first}
    assert scenarios == set(FARM_SCENARIOS)
    assert 550 <= sum(s.scenario == "healthy" for s in first) <= 600
    assert {s.tls for s in first} == set(FARM_TLS_VARIANTS)
    assert 750 <= sum(s.ipv6 for s in first) <= 850
    assert all(re.search(r"[\u4e00-\u9fff]", s.school) for s in first)
    only = generate_sites(10, mix="error=1,timeout=1")
    assert sorted(s.scenario for s in only) == ["error"] * 5 + ["timeout"] * 5
    with pytest.raises(SiteError):
        generate_sites(3, mix="nonsense=1")
    with pytest.raises(SiteError):
        Site("bad_host.farm.test")
    with pytest.raises(SiteError):
        Site("x.farm.test", "no-such-scenario")


def test_page_size_is_configurable():
    assert 29_000 <= len(SchoolPages("a.farm.test", "某某小学").healthy_page().body) <= 33_000
    assert 59_000 <= len(SchoolPages("a.farm.test", "某某小学", page_size=60_000).healthy_page().body) <= 63_000


# --- scenarios -------------------------------------------------------------------------------------------------------


def test_healthy_page_is_a_stable_school_home_page(farm):
    site = next(s for s in SITES if s.scenario == "healthy")
    status, headers, body = fetch(farm.http_port, site.host)
    assert status == 200
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert 25_000 <= len(body) <= 40_000
    page = text(body)
    assert title(body) == site.school
    for part in ("通知公告", "学校新闻", 'class="carousel', 'class="sub-menu"', 'aria-haspopup="true"', "版权所有"):
        assert part in page
    assert re.search(r"0\d{3}-\d{8}", page)
    assert re.search(r"[\u4e00-\u9fff]ICP备\d{8}号", page)
    assert re.search(r"公网安备 ?\d{14}号", page)
    assert re.search(r"\d{4}-\d{2}-\d{2}", page)
    assert not SPAM_HOST.search(page)
    assert fetch(farm.http_port, site.host)[2] == body  # byte-identical between requests


def test_no_page_links_to_a_real_domain(farm):
    for site in SITES:
        if site.scenario in ("timeout", "refused", "slow"):
            continue
        for headers in ({}, {"User-Agent": "Baiduspider/2.0", "Referer": SEARCH_REFERER + "x"}):
            _, answer_headers, body = fetch(farm.http_port, site.host, headers=headers)
            page = decode_html(body, answer_headers.get("content-type", ""))  # GBK sites too
            hosts = re.findall(r"https?://([^/\"'\s?:]+)", page + answer_headers.get("location", ""))
            assert all(h.endswith((".example", ".test")) for h in hosts), (site.scenario, hosts)


def test_dynamic_changes_on_every_request_benignly(farm):
    bodies = [fetch(farm.http_port, host_for("dynamic"))[2] for _ in range(3)]
    assert len(set(bodies)) == 3
    page = text(bodies[0])
    assert re.search(r'<marquee[^>]*scrollamount="4"[^>]*>\s*<a href="/', page)
    assert 'aria-controls="mobile-menu"' in page and 'id="mobile-menu"' in page
    assert re.search(r"您是本站第 <span id=\"visits\">\d+</span> 位访客", page)
    assert not SPAM_HOST.search(page)
    counters = [int(re.search(r'id="visits">(\d+)<', text(b)).group(1)) for b in bodies]
    assert counters == sorted(counters) and len(set(counters)) == 3


def test_slow_answers_after_the_delay(farm):
    started = time.monotonic()
    status, _, body = fetch(farm.http_port, host_for("slow"))
    assert status == 200 and "学校新闻" in text(body)
    assert time.monotonic() - started >= SLOW_DELAY * 0.9


def test_error_is_http_500(farm):
    status, _, body = fetch(farm.http_port, host_for("error"))
    assert status == 500 and b"500 Internal Server Error" in body


def test_timeout_holds_until_the_client_gives_up(farm):
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        fetch(farm.http_port, host_for("timeout"), timeout=0.4)
    assert time.monotonic() - started >= 0.35
    # The held handler is cancelled when the client closes, not leaked.
    assert wait_for(lambda: farm.farm.held_connections == 0)


def test_refused_closes_without_answer(farm):
    with pytest.raises((ConnectionError, http.client.HTTPException)):
        fetch(farm.http_port, host_for("refused"))


def test_defaced_replaces_the_title(farm):
    site = next(s for s in SITES if s.scenario == "defaced")
    status, _, body = fetch(farm.http_port, site.host)
    assert status == 200
    assert site.school not in title(body) or "博彩" in title(body)
    assert title(body).startswith("Hacked by") or "澳门" in title(body)
    assert "学校新闻" not in text(body)
    # The other style of defacement, on another host.
    hacked = SchoolPages("x1.farm.test", "某小学").defaced_page().body
    gambling = SchoolPages("x2.farm.test", "某小学").defaced_page().body
    styles = {title(hacked).startswith("Hacked by"), title(gambling).startswith("Hacked by")}
    assert styles == {True, False}


def test_malicious_script_is_injected(farm):
    page = text(fetch(farm.http_port, host_for("malicious_script"))[2])
    assert re.search(r'<script[^>]+src="http://[a-z0-9.-]+\.example/[^"]+\.js', page)
    assert "eval(function(p,a,c,k,e,d)" in page
    assert "学校新闻" in page


def test_keywords_are_visible(farm):
    page = text(fetch(farm.http_port, host_for("keywords"))[2])
    assert '<div class="box"><h2>热门推荐</h2>' in page  # an ordinary, visible box
    assert (
        sum(phrase in page for phrase in ("澳门百家乐", "网上博彩", "真人荷官在线发牌", "在线赌场", "六合彩特码")) >= 2
    )
    assert sum(phrase in page for phrase in ("成人视频", "色情直播", "裸聊视频", "激情电影", "一夜情交友")) >= 2


def test_a_gbk_site_serves_gbk_declared_in_the_page_only(farm):
    for host in ("gbk.farm.test", "gbk-dynamic.farm.test"):
        status, headers, body = fetch(farm.http_port, host)
        assert status == 200 and headers["content-type"] == "text/html"  # no charset named by the server
        assert b'<meta charset="gb2312">' in body
        with pytest.raises(UnicodeDecodeError):
            body.decode("utf-8")
        page = body.decode("gb18030")
        assert "版权所有" in page and "ICP备" in page
    keywords = fetch(farm.http_port, "gbk.farm.test")[2].decode("gb18030")
    assert (
        sum(phrase in keywords for phrase in ("澳门百家乐", "网上博彩", "真人荷官在线发牌", "在线赌场", "六合彩特码"))
        >= 2
    )
    with pytest.raises(SiteError):
        Site("x.farm.test", charset="big5")


def test_id_leak_has_checksum_valid_numbers(farm):
    page = text(fetch(farm.http_port, host_for("id_leak"))[2])
    numbers = re.findall(r"<td>(\d{17}[\dX])</td>", page)
    assert len(numbers) >= 10
    assert all(is_valid_id_number(n) for n in numbers)
    assert len(re.findall(r"<td>(1[3-9]\d{9})</td>", page)) >= 10
    assert "身份证号" in page


def test_missing_icp_has_no_filing_numbers(farm):
    page = text(fetch(farm.http_port, host_for("missing_icp"))[2])
    assert "ICP备" not in page and "公网安备" not in page
    assert "版权所有" in page


def test_stale_site_shows_old_software(farm):
    status, headers, body = fetch(farm.http_port, host_for("stale"))
    page = text(body)
    assert status == 200
    assert headers["server"] == "Apache/2.2.15 (CentOS)"
    assert headers["x-powered-by"] == "PHP/5.2.17"
    assert '<meta name="generator" content="DedeCMS V5.3">' in page
    assert "jquery-1.4" in page
    modified = email.utils.parsedate_to_datetime(headers["last-modified"])
    assert modified.year <= dt.date.today().year - 5


# The farm's spam links: www. sites under the reserved .example and .test names.
SPAM_URL = r"http://www\.[\w-]+\.(?:example|test)/"
HIDDEN_PATTERNS = {
    "css_display_none": r'<div style="display:none"><a href="' + SPAM_URL,
    "css_visibility_hidden": r'<div style="visibility:hidden"><a href="' + SPAM_URL,
    "css_opacity_zero": r'<div style="opacity:0;[^"]*"><a href="' + SPAM_URL,
    "css_zero_size": r'<div style="width:0;height:0;overflow:hidden"><a href="' + SPAM_URL,
    "css_font_size_zero": r'<div style="font-size:0;[^"]*"><a href="' + SPAM_URL,
    "css_same_colour": r'background-color:#FFFFFF"><a href="' + SPAM_URL + r'[^"]*" style="color:#FFFFFF"',
    "css_text_indent": r'<div style="text-indent:-9999px"><a href="' + SPAM_URL,
    "css_clip": r'<div style="position:absolute;clip:rect\(0px,0px,0px,0px\)"><a href="' + SPAM_URL,
    "offscreen_position": r'<div style="position:absolute;top:-1000px;left:-1000px"><a href="' + SPAM_URL,
    "negative_margin": r'<div style="margin-left:-5000px"><a href="' + SPAM_URL,
    "marquee_tiny": r'<marquee width="1" height="1" scrollamount="3000"[^>]*><a href="' + SPAM_URL,
    "js_write_hidden": r"document\.write\('<div style=\"display:none\">'\);</script>\s*<a href=\"" + SPAM_URL,
    "js_hide_after_load": r'<div id="(\w+)"><a href="' + SPAM_URL + r'.*getElementById\("\1"\)\.style\.display="none"',
    "noscript_links": r'<noscript><a href="' + SPAM_URL,
    "comment_links": r'<!-- <a href="' + SPAM_URL,
    "data_attribute_links": r'<i data-url="' + SPAM_URL + r'[^"]*" data-title="[^"]+"></i>',
    "bare_domain_text": r'<p class="tags">[^<]*www\.[a-z0-9-]+\.(?:example|test)',
    "zero_size_iframe": r'<iframe src="' + SPAM_URL + r'[^"]*" width="0" height="0"',
}


def test_every_hidden_technique_has_a_pattern():
    techniques = {t for t in HIDDEN_LINK_TECHNIQUES if not t.startswith("cloaking_")}
    assert set(HIDDEN_PATTERNS) == techniques
    assert {f"hidden_{t}" for t in techniques} <= set(FARM_SCENARIOS)


@pytest.mark.parametrize("technique", sorted(HIDDEN_PATTERNS))
def test_hidden_links(farm, technique):
    status, _, body = fetch(farm.http_port, host_for(f"hidden_{technique}"))
    page = text(body)
    assert status == 200 and "学校新闻" in page
    assert re.search(HIDDEN_PATTERNS[technique], page, re.S), technique
    assert len(set(SPAM_HOST.findall(page))) >= 4  # a block of several spam domains
    # Exactly this technique: no other technique's signature is on the page.
    others = [t for t in HIDDEN_PATTERNS if t != technique]
    assert not [t for t in others if re.search(HIDDEN_PATTERNS[t], page, re.S)]


def test_cloaking_spider(farm):
    host = host_for("cloaking_spider")
    normal = fetch(farm.http_port, host, headers={"User-Agent": "Mozilla/5.0 (Windows NT 10.0) Chrome/126"})[2]
    spider = fetch(farm.http_port, host, headers={"User-Agent": "Mozilla/5.0 (compatible; Baiduspider/2.0)"})[2]
    assert not SPAM_HOST.search(text(normal))
    assert SPAM_HOST.search(text(spider)) and "百家乐" in title(spider)
    for agent in ("Googlebot/2.1", "bingbot/2.0", "360Spider", "Sogou web spider/4.0"):
        assert fetch(farm.http_port, host, headers={"User-Agent": agent})[2] == spider


def test_cloaking_mobile(farm):
    host = host_for("cloaking_mobile")
    desktop = fetch(farm.http_port, host, headers={"User-Agent": "Mozilla/5.0 (Windows NT 10.0) Chrome/126"})
    mobile = fetch(farm.http_port, host, headers={"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Mobile"})
    assert desktop[0] == 200
    assert mobile[0] == 302 and mobile[1]["location"].startswith("http://m.")
    assert mobile[1]["location"].split("/")[2].endswith((".example", ".test"))


def test_cloaking_referer(farm):
    host = host_for("cloaking_referer")
    direct = fetch(farm.http_port, host)[2]
    for referer in (
        "https://www.baidu.com/s?wd=%E5%AD%A6%E6%A0%A1",
        "https://www.so.com/s?q=x",
        "https://www.sogou.com/web?query=x",
    ):
        redirected = text(fetch(farm.http_port, host, headers={"Referer": referer})[2])
        assert 'http-equiv="refresh"' in redirected and SPAM_HOST.search(redirected)
    assert not SPAM_HOST.search(text(direct))


def test_unknown_host_is_404(farm):
    status, _, body = fetch(farm.http_port, "nobody.farm.test")
    assert status == 404 and b"no such site" in body


# --- TLS -------------------------------------------------------------------------------------------------------------


def test_tls_valid_verifies_against_the_farm_ca(farm):
    status, body, cert = fetch_tls(farm, tls_host("valid"))
    assert status == 200 and b"<title>" in body
    assert dict(x[0] for x in cert["subject"])["commonName"] == tls_host("valid")


def test_tls_expiring_expires_within_a_week(farm):
    _, _, cert = fetch_tls(farm, tls_host("expiring"))
    left = ssl.cert_time_to_seconds(cert["notAfter"]) - time.time()
    assert 0 < left < 7 * 86_400


@pytest.mark.parametrize(
    "variant,code",
    # X509_V_ERR_CERT_HAS_EXPIRED, …SELF_SIGNED…, …HOSTNAME_MISMATCH (twice: a NUL in the name never matches)
    [("expired", 10), ("self_signed", 18), ("wrong_host", 62), ("null_prefix", 62)],
)
def test_tls_invalid_variants_fail_verification(farm, variant, code):
    with pytest.raises(ssl.SSLCertVerificationError) as failure:
        tls_socket(farm, tls_host(variant))
    assert failure.value.verify_code == code, failure.value.verify_message


def test_tls_wrong_host_is_signed_by_the_ca(farm):
    # Only the name is wrong: with the host-name check off the chain verifies.
    sock = tls_socket(farm, tls_host("wrong_host"), check_hostname=False)
    with sock:
        names = [value for kind, value in sock.getpeercert()["subjectAltName"] if kind == "DNS"]
    assert names == ["other-site.example"]


def test_tls_none_refuses_the_handshake(farm):
    with pytest.raises((ssl.SSLError, ConnectionError)):
        tls_socket(farm, tls_host("none"), verify=False)
    assert fetch(farm.http_port, tls_host("none"))[0] == 200  # HTTP is served


def test_sni_selects_the_site_certificate(farm):
    seen = {}
    for host in (tls_host("valid"), host_for("healthy"), host_for("keywords")):
        status, body, cert = fetch_tls(farm, host)
        seen[host] = dict(x[0] for x in cert["subject"])["commonName"]
        assert status == 200
    assert seen == {host: host for host in seen}
    # Without SNI the listener's own certificate is used and the Host header still picks the site.
    sock = tls_socket(farm, "127.0.0.1", server_hostname="127.0.0.1")
    with sock:
        sock.sendall(f"GET / HTTP/1.1\r\nHost: {host_for('healthy')}\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200") and b"<title>" in answer


# --- IPv6 ------------------------------------------------------------------------------------------------------------


def test_ipv6_listener(farm):
    if not ipv6_available():
        pytest.skip("::1 cannot be bound on this machine")
    assert farm.ipv6
    assert fetch(farm.http_port, host_for("healthy"), addr="::1")[0] == 200
    assert fetch_tls(farm, tls_host("valid"), addr="::1")[0] == 200
    # A site without IPv6 answers on 127.0.0.1 only.
    assert fetch(farm.http_port, "no-v6.farm.test")[0] == 200
    with pytest.raises((ConnectionError, http.client.HTTPException)):
        fetch(farm.http_port, "no-v6.farm.test", addr="::1")


# --- control API, CLI, persistence -------------------------------------------------------------------------------


def test_control_api(farm):
    status, sites = farm.control("GET", "/sites")
    assert status == 200 and len(sites) == len(SITES)
    status, info = farm.control("GET", "/")
    assert info["https_port"] == farm.https_port and Path(info["ca_path"]) == farm.ca_path
    assert farm.control("GET", "/sites/switch.farm.test")[1]["scenario"] == "healthy"

    assert farm.set_scenario("switch.farm.test", "error")["scenario"] == "error"
    assert fetch(farm.http_port, "switch.farm.test")[0] == 500
    farm.set_scenario("switch.farm.test", "healthy")
    assert fetch(farm.http_port, "switch.farm.test")[0] == 200

    # Control host name works the same as the loopback address.
    conn = http.client.HTTPConnection("127.0.0.1", farm.http_port, timeout=5)
    conn.request("GET", "/sites/switch.farm.test", headers={"Host": "farm.control.test"})
    assert json.loads(conn.getresponse().read())["host"] == "switch.farm.test"
    conn.close()

    assert farm.control("PUT", "/sites/new.farm.test", {"scenario": "error", "tls": "expired", "ipv6": False})[0] == 201
    assert fetch(farm.http_port, "new.farm.test")[0] == 500
    assert farm.control("PUT", "/sites/new.farm.test", {"scenario": "bogus"})[0] == 400
    assert farm.control("PUT", "/sites/new.farm.test", {"colour": "red"})[0] == 400
    assert farm.control("PUT", "/sites/farm.control.test", {"scenario": "healthy"})[0] == 400
    assert farm.control("DELETE", "/sites/new.farm.test")[0] == 204
    assert farm.control("GET", "/sites/new.farm.test")[0] == 404
    assert fetch(farm.http_port, "new.farm.test")[0] == 404
    saved = {site.host for site in load_sites(farm.farm.sites_path)}
    assert "new.farm.test" not in saved and "switch.farm.test" in saved


def test_cli_set_and_list_talk_to_the_farm(farm, tmp_path):
    out = io.StringIO()
    options = ["--state-dir", str(tmp_path), "--control-url", farm.control_url]
    assert cli.run(vars(_parse(["set", "switch.farm.test", "keywords", "--tls", "expiring", *options])), out) == 0
    assert "热门推荐" in text(fetch(farm.http_port, "switch.farm.test")[2])
    assert farm.control("GET", "/sites/switch.farm.test")[1]["tls"] == "expiring"
    out = io.StringIO()
    call_command("simfarm", "list", "--control-url", farm.control_url, stdout=out)
    assert re.search(r"switch\.farm\.test\s+keywords\s+expiring", out.getvalue())
    call_command("simfarm", "set", "switch.farm.test", "healthy", "--tls", "valid", "--control-url", farm.control_url)
    assert farm.control("GET", "/sites/switch.farm.test")[1]["scenario"] == "healthy"
    assert not (tmp_path / "sites.json").exists()  # a running farm was reached, nothing saved offline


def _parse(argv):
    import argparse

    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return parser.parse_args(argv)


def test_cli_set_without_a_farm_edits_the_saved_table(tmp_path):
    options = ["--state-dir", str(tmp_path), "--control-url", "http://127.0.0.1:9"]
    assert cli.main(["set", "offline.farm.test", "stale", "--site-ipv6", "no", *options]) == 0
    (site,) = load_sites(tmp_path / "sites.json")
    assert (site.host, site.scenario, site.ipv6) == ("offline.farm.test", "stale", False)
    with running_farm([Site("offline.farm.test", "healthy")], tmp_path) as running:
        assert fetch(running.http_port, "offline.farm.test")[1]["server"].startswith("Apache/2.2")


def test_runtime_switch_survives_a_restart(tmp_path):
    sites = [Site("keep.farm.test", "healthy"), Site("other.farm.test", "healthy")]
    with running_farm(sites, tmp_path) as running:
        running.set_scenario("keep.farm.test", "missing_icp", tls="self_signed")
        first_ca = running.ca_path.read_bytes()
    with running_farm(sites, tmp_path) as running:
        assert "ICP备" not in text(fetch(running.http_port, "keep.farm.test")[2])
        assert "ICP备" in text(fetch(running.http_port, "other.farm.test")[2])
        assert running.control("GET", "/sites/keep.farm.test")[1]["tls"] == "self_signed"
        assert running.ca_path.read_bytes() == first_ca  # one CA per state directory


def test_shutdown_releases_held_requests(tmp_path):
    outcome = {}

    def client(port):
        started = time.monotonic()
        try:
            fetch(port, "hold.farm.test", timeout=20)
            outcome["result"] = "answered"
        except (ConnectionError, http.client.HTTPException) as exc:
            outcome["result"] = type(exc).__name__
        outcome["seconds"] = time.monotonic() - started

    with running_farm([Site("hold.farm.test", "timeout")], tmp_path) as running:
        thread = threading.Thread(target=client, args=(running.http_port,))
        thread.start()
        assert wait_for(lambda: running.farm.held_connections == 1)
        loop = running.loop
    thread.join(5)
    assert not thread.is_alive()
    assert outcome["result"] != "answered" and outcome["seconds"] < 5
    assert running.farm.held_connections == 0
    assert loop.is_closed()


def test_bare_python_process_without_django(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = str(ROOT)
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps([{"host": "m.farm.test", "scenario": "error"}]))
    command = [sys.executable, "-m", "monitoring.simfarm", "--sites", "3", "--manifest", str(manifest)]
    command += ["--state-dir", str(tmp_path), "--http-port", "0", "--https-port", "0", "--no-ipv6"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = None
        for line in process.stdout:
            if match := re.search(r"listening on http://127\.0\.0\.1:(\d+)", line):
                port = int(match.group(1))
                break
        assert port, process.stderr.read()
        assert fetch(port, "m.farm.test")[0] == 500
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/sites")
        hosts = {site["host"] for site in json.loads(conn.getresponse().read())}
        conn.close()
        assert hosts == {"s00001.farm.test", "s00002.farm.test", "s00003.farm.test", "m.farm.test"}
        assert (tmp_path / "ca.pem").exists() and (tmp_path / "farm.json").exists()
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "simfarm stopped" in out
    assert not (tmp_path / "farm.json").exists()
