"""The demo's farm manifest: every active website of the ledger, each trouble once, certificate troubles only on
HTTPS sites, the same story at every start."""

import pytest

from assets.tests.factories import WebsiteFactory
from core.testing import build_test_tree
from monitoring.demo import TROUBLE, farm_sites
from monitoring.vocabulary import FARM_CHARSETS, FARM_SCENARIOS, FARM_TLS_VARIANTS


@pytest.mark.django_db
def test_farm_sites_cover_the_ledger_with_each_trouble_once():
    root, unit_a, unit_b, school_a = build_test_tree()
    for n in range(40):
        scheme = "https" if n % 3 else "http"
        WebsiteFactory(unit=school_a if n % 2 else unit_b, url=f"{scheme}://www.s{n:02d}.school.example/")
    WebsiteFactory(unit=school_a, url="https://www.closed.school.example/", is_active=False)
    WebsiteFactory(unit=school_a, url="http://127.0.0.1:8081/")  # by address: not a farm site
    sites = farm_sites()
    assert [site["host"] for site in sites] == sorted(f"www.s{n:02d}.school.example" for n in range(40))
    assert all(site["scenario"] in FARM_SCENARIOS and site["tls"] in FARM_TLS_VARIANTS for site in sites)
    played = [(site["scenario"], site["tls"]) for site in sites]
    for scenario, tls in TROUBLE:
        if tls is None:
            assert scenario in {played_scenario for played_scenario, _tls in played}
        else:
            assert played.count((scenario, tls)) == 1  # a certificate trouble, on an HTTPS site
    for site in sites:
        if site["tls"] == "none":
            assert site["host"] in {f"www.s{n:02d}.school.example" for n in range(0, 40, 3)}
    assert farm_sites() == sites  # deterministic
    gbk = [site for site in sites if site["charset"] == "gbk"]
    assert any(site["scenario"] == "keywords" for site in gbk)  # a GBK page judged by its Chinese text
    assert 2 <= len(gbk) < len(sites) // 2 and {site["charset"] for site in sites} <= set(FARM_CHARSETS)
    assert {site["school"] for site in sites} == {school_a.name, unit_b.name}
