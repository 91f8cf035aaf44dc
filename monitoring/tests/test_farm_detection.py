"""The simulated farm and the analysers agree: every malicious scenario the farm serves is detected as what it is
(hidden links with the right technique), and the benign ones (healthy, dynamic, slow) raise nothing. The farm is what
the demo and the benchmark probe, so a scenario the analysers miss would make the demo lie."""

import pytest

from monitoring.analysis import analyse_page, compare_variants, make_baseline
from monitoring.simfarm.pages import SchoolPages, invent_school_name
from monitoring.vocabulary import FARM_SCENARIOS, HIDDEN_LINK_TECHNIQUES

HOST = "www.dh-zijing-jn.school.example"
URL = f"https://{HOST}/"
EXPECTED = {
    "healthy": set(),
    "dynamic": set(),
    "slow": set(),
    "defaced": {"defacement"},
    "malicious_script": {"malicious_script"},
    "keywords": {"harmful_keywords"},
    "id_leak": {"personal_info"},
    "missing_icp": {"missing_registration"},
    "stale": {"stale_site"},
}


@pytest.fixture(scope="module")
def site():
    pages = SchoolPages(HOST, invent_school_name(HOST))
    return pages, make_baseline([pages.page("healthy").body.decode()], url=URL)


def analyse(page, baseline):
    return analyse_page(page.body.decode(), url=URL, baseline=baseline, site_domains=(HOST,), headers=page.headers)


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_each_content_scenario_is_detected_as_itself(site, scenario):
    pages, baseline = site
    kinds = analyse(pages.page(scenario), baseline).kinds
    if EXPECTED[scenario]:
        assert EXPECTED[scenario] <= set(kinds), kinds
    else:
        assert not kinds, kinds


@pytest.mark.parametrize("scenario", [s for s in FARM_SCENARIOS if s.startswith("hidden_")])
def test_each_hidden_link_scenario_names_its_technique(site, scenario):
    pages, baseline = site
    technique = scenario.removeprefix("hidden_")
    assert technique in HIDDEN_LINK_TECHNIQUES
    detection = analyse(pages.page(scenario), baseline).get("hidden_links")
    assert detection is not None and technique in detection.evidence["techniques"]


@pytest.mark.parametrize(
    ("variant", "page_name"), [("spider", "spider_page"), ("mobile", "mobile_redirect"), ("referer", "referer_page")]
)
def test_each_cloaking_scenario_is_found_by_comparing_variants(site, variant, page_name):
    pages, _baseline = site
    ordinary = pages.healthy_page().body.decode()
    cloaked = getattr(pages, page_name)().body.decode()
    detection = compare_variants({"browser": ordinary, variant: cloaked}, url=URL, site_domains=(HOST,))
    assert detection is not None and detection.technique == f"cloaking_{variant}"
    assert compare_variants({"browser": ordinary, variant: ordinary}, url=URL, site_domains=(HOST,)) is None
