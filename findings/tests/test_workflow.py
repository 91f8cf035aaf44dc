"""The finding workflow through its pages and the API: false positives and accepted risks are requested and approved by
a unit above (never set directly), accepted risks expire, unattributed findings are assigned (and merged), and the
finding's page explains its risk score."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from rest_framework.test import APIClient

from assets.tests.factories import InformationSystemFactory
from core.models import AuditEntry
from core.scheduler import periodic_jobs
from core.testing import BACKEND, build_test_tree, make_user
from findings import workflow
from findings.models import Finding

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("platform")]


@pytest.fixture
def platform(settings, tmp_path):
    settings.EDUSEC_REQUIRE_2FA = False
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast accounts; not under test


@pytest.fixture
def tree():
    root, unit_a, unit_b, school_a = build_test_tree()
    return {"root": root, "a": unit_a, "b": unit_b, "school": school_a}


@pytest.fixture
def users(tree):
    return {
        "cio": make_user("school_cio", tree["school"], ["school_cio"]),
        "school_sec": make_user("school_sec", tree["school"], ["security_officer"]),
        "district_sec": make_user("district_sec", tree["a"], ["security_officer"]),
        "district_sec2": make_user("district_sec2", tree["a"], ["security_officer"]),
        "district_admin": make_user("district_admin", tree["a"], ["district_admin"]),
        "sibling_sec": make_user("sibling_sec", tree["b"], ["security_officer"]),
        "city_sec": make_user("city_sec", tree["root"], ["security_officer"]),
        "city_sec2": make_user("city_sec2", tree["root"], ["security_officer"]),
        "auditor": make_user("auditor_a", tree["a"], ["auditor"]),
    }


def client_for(user):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user, backend=BACKEND)
    return client


def api_for(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


_counter = iter(range(1, 10_000))


def make_finding(unit, **kwargs):
    n = next(_counter)
    values = {"title": f"后台弱口令 {n}", "severity": "high", "host": f"h{n}.school.example", "tool": "nuclei"}
    values.update(kwargs)
    return Finding.objects.create(unit=unit, **values)


def page(finding, action=""):
    if not action:
        return f"/findings/findings/{finding.pk}/"
    return reverse(f"findings:finding_{action}", kwargs={"pk": finding.pk})


def api(finding, action):
    return reverse(f"findings-finding-{action}", kwargs={"pk": finding.pk})


def ask(user, finding, status="false_positive", reason="扫描器误判：该端口为蜜罐", until=None):
    data = {"requested_status": status, "reason": reason}
    if until is not None:
        data["until"] = until.isoformat()
    return client_for(user).post(page(finding, "request_exception"), data)


# ---- request and approve ---------------------------------------------------------------------------------------------


def test_request_then_approval_by_a_higher_units_security_officer(tree, users):
    finding = make_finding(tree["school"])
    response = ask(users["cio"], finding)
    assert response.status_code == 302
    finding.refresh_from_db()
    assert finding.status == "open"  # unchanged until approved
    assert (finding.requested_status, finding.requested_by) == ("false_positive", users["cio"])
    assert finding.request_reason == "扫描器误判：该端口为蜜罐" and finding.requested_at is not None
    entry = AuditEntry.objects.filter(object_type="findings.finding", object_id=str(finding.pk), action="update")
    assert entry.latest("seq").changes["requested_status"] == ["", "false_positive"]

    # The requester sees the request but no approve button; the district's officer sees both.
    body = client_for(users["cio"]).get(page(finding)).content.decode()
    assert 'data-testid="finding-request"' in body and 'data-testid="approve-button"' not in body
    district = client_for(users["district_sec"])
    assert 'data-testid="approve-button"' in district.get(page(finding)).content.decode()

    response = district.post(page(finding, "approve"))
    assert response.status_code == 302 and response["Location"] == page(finding)
    finding.refresh_from_db()
    assert finding.status == "false_positive"
    assert finding.status_reason == "扫描器误判：该端口为蜜罐"
    assert finding.status_approved_by == users["district_sec"] and finding.status_approved_at is not None
    assert not finding.requested_status and finding.requested_by is None and not finding.request_reason
    assert finding.accepted_until is None
    body = district.get(page(finding)).content.decode()
    assert 'data-testid="approved-by"' in body and "district_sec" in body


def test_risk_acceptance_needs_a_date_within_one_year(tree, users):
    finding = make_finding(tree["school"])
    today = timezone.localdate()
    for until in (None, today, today + timedelta(days=400)):
        response = ask(users["cio"], finding, "risk_accepted", "业务停用前无法升级", until)
        assert response.status_code == 200  # the page again, with the error at the date
        assert "until" in response.context["request_form"].errors
    finding.refresh_from_db()
    assert not finding.requested_status
    until = today + timedelta(days=90)
    assert ask(users["cio"], finding, "risk_accepted", "业务停用前无法升级", until).status_code == 302
    # A second request while one is pending is refused, with a message on the page.
    response = ask(users["cio"], finding)
    assert response.status_code == 302
    finding.refresh_from_db()
    assert finding.requested_status == "risk_accepted"
    with pytest.raises(Exception, match="already waiting"):
        workflow.request(finding, users["cio"], "false_positive", "改为误报")
    client_for(users["district_sec"]).post(page(finding, "approve"))
    finding.refresh_from_db()
    assert (finding.status, finding.accepted_until, finding.requested_until) == ("risk_accepted", until, None)
    assert 'data-testid="accepted-until"' in client_for(users["cio"]).get(page(finding)).content.decode()


def test_a_reason_is_required_and_only_open_findings_can_be_asked_for(tree, users):
    finding = make_finding(tree["school"])
    response = ask(users["cio"], finding, reason="   ")
    assert response.status_code == 200 and "reason" in response.context["request_form"].errors
    fixed = make_finding(tree["school"], status="fixed")
    with pytest.raises(Exception, match="open"):
        workflow.request(fixed, users["cio"], "false_positive", "不再存在")
    with pytest.raises(PermissionDenied):
        workflow.request(finding, users["auditor"], "false_positive", "只读用户")


def test_self_approval_is_refused(tree, users):
    finding = make_finding(tree["school"])
    workflow.request(finding, users["district_sec"], "false_positive", "内部测试环境")
    with pytest.raises(PermissionDenied):
        workflow.approve(finding, users["district_sec"])
    response = client_for(users["district_sec"]).post(page(finding, "approve"))
    assert response.status_code == 302
    assert api_for(users["district_sec"]).post(api(finding, "approve")).status_code == 403
    finding.refresh_from_db()
    assert finding.status == "open" and finding.requested_status == "false_positive"
    workflow.approve(finding, users["district_sec2"])  # someone else of the same higher unit may
    assert finding.status == "false_positive"


def test_same_unit_approval_is_refused_except_at_the_top_unit(tree, users):
    school_finding = make_finding(tree["school"])
    workflow.request(school_finding, users["cio"], "false_positive", "误报")
    with pytest.raises(PermissionDenied):
        workflow.approve(school_finding, users["school_sec"])
    assert api_for(users["school_sec"]).post(api(school_finding, "approve")).status_code == 403

    district_finding = make_finding(tree["a"])
    workflow.request(district_finding, users["district_sec"], "false_positive", "误报")
    with pytest.raises(PermissionDenied):
        workflow.approve(district_finding, users["district_sec2"])
    workflow.approve(district_finding, users["city_sec"])  # the city is above the district
    assert district_finding.status == "false_positive"

    city_finding = make_finding(tree["root"])
    workflow.request(city_finding, users["city_sec"], "false_positive", "误报")
    response = client_for(users["city_sec2"]).post(page(city_finding, "approve"))
    assert response.status_code == 302
    city_finding.refresh_from_db()
    assert city_finding.status == "false_positive" and city_finding.status_approved_by == users["city_sec2"]


def test_reject_keeps_the_status_and_shows_the_reason(tree, users):
    finding = make_finding(tree["school"], status="confirmed")
    ask(users["cio"], finding)
    district = client_for(users["district_sec"])
    response = district.post(page(finding, "reject"), {"reason": ""})
    assert response.status_code == 200 and "reason" in response.context["reject_form"].errors
    response = district.post(page(finding, "reject"), {"reason": "端口确实对外开放，请整改"})
    assert response.status_code == 302
    finding.refresh_from_db()
    assert finding.status == "confirmed" and not finding.requested_status and finding.requested_by is None
    entry = AuditEntry.objects.get(
        object_type="findings.finding", object_id=str(finding.pk), changes__workflow="reject"
    )
    assert entry.username == "district_sec"
    assert entry.changes["rejection_reason"] == "端口确实对外开放，请整改"
    assert entry.changes["requested_by"] == "school_cio"
    body = client_for(users["cio"]).get(page(finding)).content.decode()
    assert 'data-testid="rejection"' in body and "端口确实对外开放，请整改" in body
    assert 'data-testid="request-button"' in body  # it can be asked again


def test_a_siblings_finding_answers_404_on_every_page_and_api_action(tree, users):
    finding = make_finding(tree["school"], attributed=False)
    workflow.request(finding, users["cio"], "false_positive", "误报")
    sibling = client_for(users["sibling_sec"])
    assert sibling.get(page(finding)).status_code == 404
    for action, data in (
        ("request_exception", {"requested_status": "false_positive", "reason": "x"}),
        ("approve", {}),
        ("reject", {"reason": "x"}),
        ("assign", {"unit": tree["b"].pk}),
    ):
        assert sibling.post(page(finding, action), data).status_code == 404, action
    rest = api_for(users["sibling_sec"])
    for action, data in (
        ("request-exception", {"requested_status": "false_positive", "reason": "x"}),
        ("approve", {}),
        ("reject", {"reason": "x"}),
        ("assign", {"unit": tree["b"].pk}),
    ):
        assert rest.post(api(finding, action), data, format="json").status_code == 404, action
    finding.refresh_from_db()
    assert finding.status == "open" and finding.requested_status == "false_positive" and finding.unit == tree["school"]


def test_api_request_approve_and_reject(tree, users):
    finding = make_finding(tree["school"])
    cio = api_for(users["cio"])
    until = timezone.localdate() + timedelta(days=30)
    response = cio.post(
        api(finding, "request-exception"),
        {"requested_status": "risk_accepted", "reason": "替换系统下月上线"},
        format="json",
    )
    assert response.status_code == 400 and "until" in response.json()
    response = cio.post(
        api(finding, "request-exception"),
        {"requested_status": "risk_accepted", "reason": "替换系统下月上线", "until": until.isoformat()},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["requested_status"] == "risk_accepted" and response.json()["status"] == "open"
    assert cio.post(api(finding, "approve")).status_code == 403  # the requester, and a school role
    response = api_for(users["district_sec"]).post(api(finding, "approve"))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "risk_accepted" and body["accepted_until"] == until.isoformat()
    assert body["status_approved_by"] == users["district_sec"].pk

    other = make_finding(tree["school"])
    workflow.request(other, users["cio"], "false_positive", "误报")
    district = api_for(users["district_sec"])
    assert district.post(api(other, "reject"), {}, format="json").status_code == 400
    response = district.post(api(other, "reject"), {"reason": "请先核实"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "open"
    assert response.json()["requested_status"] == ""
    assert district.post(api(other, "approve")).status_code == 400  # nothing pending any more


# ---- no direct way to a false positive or an accepted risk ----------------------------------------------------------


def test_direct_false_positive_is_refused_by_the_edit_form_bulk_edit_and_api(tree, users):
    finding = make_finding(tree["school"])
    client = client_for(users["district_sec"])
    data = {"unit": finding.unit_id, "title": finding.title, "severity": "high", "host": finding.host}
    response = client.post(page(finding) + "edit/", {**data, "status": "false_positive", "status_reason": "误报"})
    assert response.status_code == 200 and "status" in response.context["form"].errors
    form = client.get(page(finding) + "edit/").context["form"]
    assert {"false_positive", "risk_accepted"}.isdisjoint(v for v, _label in form.fields["status"].choices)

    response = client.post(
        "/findings/findings/bulk-edit/", {"pk": [finding.pk], "_apply": "1", "status": "risk_accepted"}
    )
    assert response.status_code == 200 and response.context["form"].errors
    bulk_choices = [v for v, _label in response.context["form"].fields["status"].choices]
    assert "false_positive" not in bulk_choices and "risk_accepted" not in bulk_choices

    rest = api_for(users["district_sec"])
    response = rest.patch(f"/api/findings/findings/{finding.pk}/", {"status": "false_positive"}, format="json")
    assert response.status_code == 400 and "status" in response.json()
    response = rest.post(
        "/api/findings/findings/",
        {"unit": tree["school"].pk, "title": "新问题", "severity": "low", "status": "risk_accepted"},
        format="json",
    )
    assert response.status_code == 400 and "status" in response.json()
    response = rest.patch(
        f"/api/findings/findings/{finding.pk}/", {"requested_status": "false_positive"}, format="json"
    )
    assert response.status_code == 200  # read-only: ignored
    finding.refresh_from_db()
    assert finding.status == "open" and not finding.requested_status
    assert Finding.objects.filter(status__in=["false_positive", "risk_accepted"]).count() == 0


def test_an_approved_exception_stays_editable_and_leaving_it_clears_the_approval(tree, users):
    finding = make_finding(tree["school"])
    workflow.request(finding, users["cio"], "false_positive", "误报")
    workflow.approve(finding, users["district_sec"])
    client = client_for(users["district_sec"])
    data = {"unit": finding.unit_id, "title": "改名", "severity": "high", "host": finding.host}
    response = client.post(page(finding) + "edit/", {**data, "status": "false_positive", "status_reason": "误报"})
    assert response.status_code == 302
    response = client.post(page(finding) + "edit/", {**data, "status": "false_positive", "status_reason": "改了理由"})
    assert response.status_code == 200 and "status_reason" in response.context["form"].errors
    response = client.post(page(finding) + "edit/", {**data, "status": "reopened", "status_reason": "复测仍存在"})
    assert response.status_code == 302
    finding.refresh_from_db()
    assert (finding.title, finding.status, finding.status_approved_by) == ("改名", "reopened", None)


# ---- expiry ---------------------------------------------------------------------------------------------------------


def test_an_expired_risk_acceptance_reopens(tree, users):
    today = timezone.localdate()
    expired = make_finding(tree["school"])
    workflow.request(expired, users["cio"], "risk_accepted", "停用前不升级", today + timedelta(days=10))
    workflow.approve(expired, users["district_sec"])
    still = make_finding(tree["school"])
    workflow.request(still, users["cio"], "risk_accepted", "停用前不升级", today + timedelta(days=20))
    workflow.approve(still, users["district_sec"])

    assert workflow.expire_risk_acceptances(today + timedelta(days=10)) == 0  # accepted until that day, inclusive
    assert workflow.expire_risk_acceptances(today + timedelta(days=11)) == 1
    expired.refresh_from_db()
    still.refresh_from_db()
    assert expired.status == "reopened" and expired.accepted_until is None and expired.status_approved_by is None
    assert still.status == "risk_accepted"
    entry = AuditEntry.objects.filter(object_type="findings.finding", object_id=str(expired.pk)).latest("seq")
    assert entry.changes["status"] == ["risk_accepted", "reopened"]
    assert "findings.expire_risk_acceptances" in periodic_jobs
    assert periodic_jobs["findings.expire_risk_acceptances"].seconds == 24 * 3600


# ---- unattributed findings -------------------------------------------------------------------------------------------


def test_assign_moves_an_unattributed_finding(tree, users):
    finding = make_finding(tree["a"], attributed=False, candidate_unit=tree["school"], ip="192.0.2.7", host="")
    client = client_for(users["district_admin"])
    body = client.get(page(finding)).content.decode()
    assert 'data-testid="assign-button"' in body
    assert f'<option value="{tree["school"].pk}" selected>' in body  # the candidate is suggested
    # "Register the missing asset" opens the IP range form prefilled for the candidate unit.
    assert f"/assets/ip-ranges/add/?unit={tree['school'].pk}&amp;cidr=192.0.2.7%2F32" in body
    form = client.get(f"/assets/ip-ranges/add/?unit={tree['school'].pk}&cidr=192.0.2.7%2F32").context["form"]
    assert form.initial["cidr"] == "192.0.2.7/32" and str(form.initial["unit"]) == str(tree["school"].pk)

    response = client.post(page(finding, "assign"), {"unit": tree["school"].pk})
    assert response.status_code == 302 and response["Location"] == page(finding)
    finding.refresh_from_db()
    assert finding.unit == tree["school"] and finding.attributed and finding.candidate_unit is None
    assert 'data-testid="assign-button"' not in client.get(page(finding)).content.decode()


def test_assign_merges_into_the_units_finding_with_the_same_fingerprint(tree, users):
    now = timezone.now()
    kept = make_finding(
        tree["school"], fingerprint="f" * 64, severity="medium", times_seen=2, last_seen=now - timedelta(days=3)
    )
    stray = make_finding(
        tree["a"], fingerprint="f" * 64, severity="critical", times_seen=3, last_seen=now, attributed=False
    )
    response = api_for(users["district_admin"]).post(api(stray, "assign"), {"unit": tree["school"].pk}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["merged"] is True and body["finding"]["id"] == kept.pk and body["detail"]
    assert not Finding.objects.filter(pk=stray.pk).exists()
    kept.refresh_from_db()
    assert (kept.times_seen, kept.severity, kept.last_seen) == (5, "critical", now)
    assert kept.risk_score == 40  # critical, no linked system
    assert AuditEntry.objects.filter(object_id=str(kept.pk), changes__workflow="merge").exists()
    assert AuditEntry.objects.filter(object_id=str(stray.pk), action="delete").exists()


def test_assign_to_a_unit_outside_the_subtree_is_refused(tree, users):
    finding = make_finding(tree["a"], attributed=False)
    client = client_for(users["district_admin"])
    response = client.post(page(finding, "assign"), {"unit": tree["b"].pk})
    assert response.status_code == 200 and "unit" in response.context["assign_form"].errors
    response = api_for(users["district_admin"]).post(api(finding, "assign"), {"unit": tree["b"].pk}, format="json")
    assert response.status_code == 400 and "unit" in response.json()
    with translation.override("en"), pytest.raises(ValidationError, match="own unit"):
        workflow.assign(finding, users["district_admin"], tree["b"])
    # A role without the assign permission gets 403 (the finding is visible to it).
    cio_finding = make_finding(tree["school"], attributed=False)
    rest = api_for(users["cio"])
    assert rest.post(api(cio_finding, "assign"), {"unit": tree["school"].pk}, format="json").status_code == 403
    finding.refresh_from_db()
    cio_finding.refresh_from_db()
    assert finding.unit == tree["a"] and not finding.attributed and cio_finding.unit == tree["school"]


def test_unattributed_menu_list_and_bulk_assign(tree, users):
    strays = [make_finding(tree["a"], attributed=False, candidate_unit=tree["school"]) for _ in range(2)]
    placed = make_finding(tree["school"])
    client = client_for(users["district_admin"])
    home = client.get("/").content.decode()
    assert reverse("findings:finding_unattributed") in home
    response = client.get(reverse("findings:finding_unattributed"))
    assert response.status_code == 200
    body = response.content.decode()
    assert page(strays[0]) in body and page(placed) not in body
    assert 'data-testid="bulk-assign"' in body

    pks = [f.pk for f in strays] + [placed.pk]
    response = client.post(reverse("findings:finding_bulk_assign"), {"pk": pks})
    assert response.status_code == 200
    assert sorted(o.pk for o in response.context["objects"]) == sorted(
        f.pk for f in strays
    )  # attributed ones are left out
    assert response.context["form"].fields["unit"].initial == tree["school"].pk
    response = client.post(
        reverse("findings:finding_bulk_assign"), {"pk": pks, "unit": tree["school"].pk, "_apply": "1"}
    )
    assert response.status_code == 302
    assert set(Finding.objects.filter(pk__in=pks).values_list("unit", "attributed")) == {(tree["school"].pk, True)}


# ---- the page --------------------------------------------------------------------------------------------------------


def test_the_page_shows_the_risk_score_with_its_parts(tree, users):
    system = InformationSystemFactory(
        unit=tree["school"], mlps_level=3, internet_facing=True, holds_child_pi=True, critical_infrastructure=False
    )
    finding = make_finding(tree["school"], system=system, severity="high", evidence="<script>alert(1)</script>")
    response = client_for(users["district_sec"]).get(page(finding))
    assert response.status_code == 200
    risk = response.context["risk"]
    assert risk["score"] == 73  # 25 × 1.5 × 1.5 × 1.0 × 1.3 = 73.1
    assert [p["name"] for p in risk["parts"]] == [
        "severity",
        "mlps_level",
        "internet_facing",
        "critical_infrastructure",
        "children_pi",
    ]
    body = response.content.decode()
    assert 'data-testid="risk-parts"' in body
    for name, shown in (
        ("severity", "25"),
        ("mlps_level", "×1.5"),
        ("internet_facing", "×1.5"),
        ("children_pi", "×1.3"),
    ):
        row = body.split(f'data-part="{name}"', 1)[1].split("</tr>", 1)[0]
        assert shown in row, name
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "<script>alert(1)" not in body
    assert system.name in body
    assert not risk["current"]  # created without the form: the stored score is still 0
    data = {"unit": finding.unit_id, "title": finding.title, "severity": "high", "system": system.pk, "status": "open"}
    assert client_for(users["district_sec"]).post(page(finding) + "edit/", data).status_code == 302
    finding.refresh_from_db()
    assert finding.risk_score == 73  # saving through the form stores the score the page explains
