"""The demo region's asset ledger (台账) and MLPS records, loaded by ``edusec load_demo`` after the region itself.

Everything is fictional and generated from ``orgs.demo.build_region()`` with a fixed seed, so every load gives the same
ledger for the same day:

- the city bureau (示范市教育局, 329900) and its IT centre run the city platforms (智慧教育云平台, 网络学习空间,
  教育资源库, 校园安防平台, 上网认证系统, 门户网站, 招生报名系统, 教育数据中心, 一卡通平台 …); every district
  bureau runs a portal, an authentication system, a security-video platform and a smart-campus platform;
- every school has a portal website (with its portal system and domain) and one to three further systems;
- MLPS records in every procedure state, dated relative to the day of loading, so that the duty list always shows
  ungraded, due-soon and overdue duties next to filed, assessed and compliant systems;
- education apps (some unfiled, one blacklisted and still in use) and electronic screens.

Host names end in ``.example`` or ``.test`` (one console is on the loopback address); IP ranges come only from the
documentation ranges 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 and 2001:db8::/32, split so that no two units
overlap. ICP, public-security, certificate and app filing numbers use the fictional province prefix 示.

``build_ledger(today)`` is pure (no database); ``load()`` writes the ledger in one transaction: ledger rows with
``bulk_create`` after ``full_clean`` (one summary audit entry covers them), the MLPS procedure through the real
``Grading`` API (audited step by step, then back-dated), and finally ``assets.duties.record_duty_states``.
"""

import datetime
import random
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction

from core.registry import register_demo_loader
from orgs import demo as region_demo

from . import mlps

SEED = 2026
CITY_CODE = region_demo.CITY_CODE
IT_CENTRE_CODE = region_demo.IT_CENTRE_CODE
CITY_DOMAIN = "edu.shifan.example"
# Documentation ranges (RFC 5737, RFC 3849) and loopback: the only addresses the demo may contain.
DOCUMENTATION_NETWORKS = (
    "192.0.2.0/24",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "2001:db8::/32",
    "127.0.0.0/8",
    "::1/128",
)
# The summary entry for the bulk-created rows. Not IMPORT: the orgs demo's one IMPORT entry is what its tests count.
SUMMARY_OBJECT_REPR = "demo asset ledger 示范市"

# Pinyin of the invented school-name words of orgs.demo, for host names like www.dh-zijing-jn.school.example.
PINYIN = dict(
    pair.split(":")
    for pair in (
        "梧桐:wutong 青松:qingsong 明德:mingde 启航:qihang 星河:xinghe 翠竹:cuizhu 丹桂:dangui 银杏:yinxing 玉兰:yulan "
        "海棠:haitang 晨曦:chenxi 朝阳:chaoyang 彩虹:caihong 春晖:chunhui 秋实:qiushi 博雅:boya 致远:zhiyuan "
        "弘毅:hongyi 笃行:duxing 崇文:chongwen 尚德:shangde 育英:yuying 求真:qiuzhen 向阳:xiangyang 金桥:jinqiao "
        "云帆:yunfan 鹿鸣:luming 白鹭:bailu 凤栖:fengqi 龙泉:longquan 清泉:qingquan 碧波:bibo 翠湖:cuihu 柳岸:liuan "
        "荷塘:hetang 枫林:fenglin 杏坛:xingtan 书香:shuxiang 墨池:mochi 兰亭:lanting 知行:zhixing 思源:siyuan "
        "睿思:ruisi 敏学:minxue 立人:liren 树人:shuren 和美:hemei 嘉禾:jiahe 新苗:xinmiao 春蕾:chunlei 蓝天:lantian "
        "长风:changfeng 远航:yuanhang 青藤:qingteng 紫荆:zijing 石榴:shiliu 芳草:fangcao 望江:wangjiang "
        "临川:linchuan 月湾:yuewan 松涛:songtao 竹溪:zhuxi 桃源:taoyuan 杉园:shanyuan 云杉:yunshan 晴川:qingchuan "
        "锦绣:jinxiu 明远:mingyuan 启明:qiming 星光:xingguang 麦穗:maisui 稻香:daoxiang 栖霞:qixia 凌云:lingyun "
        "虹桥:hongqiao 沐阳:muyang 瑞雪:ruixue 晓园:xiaoyuan"
    ).split()
)

# School kind (orgs.demo.SCHOOL_KINDS key) → host-name abbreviation.
KIND_ABBR = {
    "kindergarten": "yey",
    "primary": "xx",
    "nine_year": "jn",
    "junior": "cz",
    "senior": "gz",
    "complete": "zx",
    "vocational": "zj",
    "specialised": "zz",
    "special": "tj",
}
DISTRICT_PREFIX = {code: prefix for code, _name, prefix in region_demo.DISTRICTS}
DISTRICT_NAME = {code: name for code, name, _prefix in region_demo.DISTRICTS}

CONTRACTORS = (
    "示例信息技术有限公司",
    "示例智慧校园科技有限公司",
    "示例教育软件有限公司",
    "示例网络通信服务有限公司",
    "示例云计算服务有限公司",
    "示例安防工程有限公司",
)
AGENCIES = ("示范市网络安全等级测评中心（示例）", "示例信息安全测评有限公司", "示例等保测评技术有限公司")
CITY_PSB_ORGAN = "示范市公安局网络安全保卫支队"
CMS = ("示例站群CMS 6.2", "示例建站系统 4.1", "示例门户平台 3.8", "")
RESPONSIBLE_ROLES = ("cio", "netadmin", "security_officer", "head")
SCREEN_ROLES = ("security_officer", "netadmin", "head")


# ---- the plan (pure data) -------------------------------------------------------------------------------------------


@dataclass
class Event:
    """One MLPS step: start, submit, review, return, approve, file, assess, self_inspect or accept."""

    kind: str
    day: datetime.date
    data: dict = field(default_factory=dict)


@dataclass
class SystemPlan:
    key: str
    unit_code: str
    name: str
    business_type: str
    roles: tuple = RESPONSIBLE_ROLES  # the first of these roles the unit has filled is the responsible person
    contractor: str = ""
    deployment: str = "on_premises"
    internet_facing: bool = False
    status: str = "running"
    built_on: datetime.date | None = None
    went_live_on: datetime.date | None = None
    stopped_on: datetime.date | None = None
    retired_on: datetime.date | None = None
    software: str = ""
    version: str = ""
    localization: tuple = ("none", "none", "none", "none")  # chip, OS, database, middleware
    ipv6_support: str = "none"
    critical_infrastructure: bool = False
    data_level: str = ""
    pi: tuple = (False, False, False, False)  # PI, sensitive PI, minors' PI, children's PI
    safeguards: tuple = ()  # four states when the system holds children's PI
    level: int | None = None  # planned MLPS level; None while ungraded
    scenario: str = "ungraded"
    events: list = field(default_factory=list)
    texts: dict = field(default_factory=dict)
    remarks: str = ""


@dataclass
class WebsitePlan:
    unit_code: str
    system_key: str
    name: str
    url: str
    icp_number: str = ""
    psb_number: str = ""
    cms: str = ""
    is_active: bool = True


@dataclass
class DomainPlan:
    unit_code: str
    system_key: str
    name: str
    registrar: str = "示例域名注册服务有限公司"
    expires_on: datetime.date | None = None


@dataclass
class RangePlan:
    unit_code: str
    cidr: str
    purpose: str
    system_key: str = ""


@dataclass
class AppPlan:
    unit_code: str
    name: str
    kind: str
    provider: str
    provider_filing_number: str = ""
    user_filing_state: str = "not_filed"
    icp_filed: bool = False
    mlps_filed: bool = False
    blacklisted: bool = False
    in_use: bool = True
    system_key: str = ""
    remarks: str = ""


@dataclass
class ScreenPlan:
    unit_code: str
    name: str
    location: str
    networked: bool
    content_control: str
    roles: tuple = SCREEN_ROLES


@dataclass
class Ledger:
    systems: list = field(default_factory=list)
    websites: list = field(default_factory=list)
    domains: list = field(default_factory=list)
    ranges: list = field(default_factory=list)
    apps: list = field(default_factory=list)
    screens: list = field(default_factory=list)


@dataclass(frozen=True)
class Kind:
    """A kind of school system: its business type, planned level and what it holds."""

    name: str
    business_type: str
    level: int
    internet: float  # probability of being internet-facing
    data_level: str
    pi: str  # none | pi | minor | sensitive | young (children's PI at kindergartens and primary schools) | child
    software: str
    purpose: str  # for the grading report: what it processes / whom it serves


SCHOOL_SYSTEMS = {
    "card": Kind("校园一卡通系统", "campus_card", 2, 0.1, "general3", "young", "示例一卡通平台", "消费、门禁和考勤"),
    "classroom": Kind("智慧课堂平台", "teaching", 2, 0.6, "general2", "young", "示例智慧课堂", "课堂教学互动和作业"),
    "video": Kind(
        "校园安防监控系统", "security_video", 2, 0.0, "general3", "young", "示例视频监控管理平台", "校园视频监控"
    ),
    "evaluation": Kind(
        "学生综合素质评价系统",
        "management",
        2,
        0.5,
        "general3",
        "young",
        "示例综合素质评价系统",
        "学生综合素质评价记录",
    ),
    "auth": Kind("校园网上网认证系统", "management", 2, 0.0, "general2", "pi", "示例认证网关", "师生上网实名认证"),
    "home": Kind("家校通平台", "other", 2, 0.9, "general2", "young", "示例家校互联平台", "家校沟通和通知"),
    "library": Kind("图书管理系统", "management", 1, 0.0, "general1", "minor", "示例图书管理系统", "图书借阅"),
    "timetable": Kind("排课选课系统", "teaching", 1, 0.3, "general1", "minor", "示例排课选课系统", "排课和选课"),
    "training": Kind("实训管理平台", "teaching", 2, 0.2, "general2", "minor", "示例实训管理平台", "实训教学和考核"),
    "enrolment": Kind(
        "招生就业管理系统", "admission_exam", 3, 1.0, "general3", "sensitive", "示例招生就业平台", "招生报名和就业服务"
    ),
    "growth": Kind("幼儿成长档案系统", "management", 2, 0.3, "general3", "child", "示例成长档案系统", "幼儿成长档案"),
    "nursery": Kind("家园共育平台", "other", 2, 1.0, "general2", "child", "示例家园共育平台", "家园沟通和通知"),
}
SCHOOL_POOLS = {
    "kindergarten": ("growth", "nursery", "video", "auth"),
    "primary": ("card", "classroom", "video", "evaluation", "auth", "home", "library"),
    "nine_year": ("card", "classroom", "video", "evaluation", "auth", "home", "library"),
    "junior": ("card", "classroom", "video", "evaluation", "auth", "home", "library"),
    "senior": ("card", "classroom", "video", "evaluation", "auth", "library", "timetable"),
    "complete": ("card", "classroom", "video", "evaluation", "auth", "home", "library", "timetable"),
    "vocational": ("card", "classroom", "video", "auth", "training", "enrolment", "library"),
    "specialised": ("card", "classroom", "video", "auth", "training", "enrolment", "library"),
    "special": ("classroom", "video", "home", "auth"),
}

# MLPS scenarios (see _Timeline) and how often each occurs.
PLATFORM_WEIGHTS = {
    "compliant": 8,
    "compliant_after_rectification": 3,
    "assessed": 4,
    "assessed_due_soon": 3,
    "rectifying": 3,
    "overdue_high_risk": 2,
    "cert_due_soon": 3,
    "cert_expired": 1,
    "filed": 4,
    "approved_recent": 2,
    "approved_late": 1,
    "regulator_approval": 2,
    "expert_review": 1,
    "draft": 1,
    "ungraded": 1,
}
SCHOOL_WEIGHTS = {
    "ungraded": 22,
    "draft": 7,
    "expert_review": 6,
    "regulator_approval": 6,
    "approved_recent": 5,
    "approved_late": 7,
    "filed": 10,
    "filed_never_assessed": 4,
    "cert_due_soon": 3,
    "cert_expired": 2,
    "assessed": 6,
    "assessed_due_soon": 3,
    "rectifying": 4,
    "overdue_high_risk": 3,
    "compliant": 9,
    "compliant_after_rectification": 3,
}
# Harmed objects and degrees that give each level (business, service).
PAIRS_FOR_LEVEL = {
    1: [([("citizen", "general")], [("citizen", "general")])],
    2: [
        ([("citizen", "serious")], [("citizen", "general")]),
        ([("citizen", "serious")], [("society", "general")]),
        ([("citizen", "special"), ("society", "general")], [("citizen", "serious")]),
    ],
    3: [
        ([("society", "serious")], [("society", "general")]),
        ([("citizen", "special"), ("society", "serious")], [("society", "serious")]),
    ],
    4: [([("society", "serious")], [("society", "special")])],
}


def _https(host: str) -> str:
    """The site address of a demo host (always under .example or .test, written out where it is built)."""
    return "https://" + host


def _http(host: str) -> str:
    return "http://" + host


def _school_kind(short_name: str) -> str:
    for key, kind in sorted(region_demo.SCHOOL_KINDS.items(), key=lambda kv: -len(kv[1].suffix)):
        if short_name.endswith(kind.suffix):
            return key
    return "primary"


def _pick(rng: random.Random, weights: dict) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


class _Timeline:
    """MLPS events of one scenario, dated relative to ``today`` so the duty states come out as the scenario says."""

    def __init__(self, rng: random.Random, today: datetime.date, policy: mlps.MLPSPolicy):
        self.rng, self.today, self.policy = rng, today, policy

    def ago(self, low: int, high: int) -> datetime.date:
        return self.today - datetime.timedelta(days=self.rng.randint(low, max(low, high)))

    def after(self, day: datetime.date, low: int, high: int) -> datetime.date:
        return min(self.today, day + datetime.timedelta(days=self.rng.randint(low, high)))

    def before(self, day: datetime.date, low: int, high: int) -> datetime.date:
        return day - datetime.timedelta(days=self.rng.randint(low, high))

    def start(self, day, level, reason="initial"):
        business, service = self.rng.choice(PAIRS_FOR_LEVEL[level])
        return Event("start", day, {"business": business, "service": service, "reason": reason})

    def approved(self, level, approve_on, reason="initial"):
        review = self.before(approve_on, 2, 10)
        submit = self.before(review, 5, 20)
        return [
            self.start(self.before(submit, 3, 15), level, reason),
            Event("submit", submit),
            Event("review", review),
            Event("approve", approve_on),
        ]

    def filed(self, level, filed_on, reason="initial"):
        events = self.approved(level, self.before(filed_on, 5, 25), reason)
        number = f"{self.rng.randint(1, 99999):05d}-{filed_on.year % 100:02d}{self.rng.randint(1, 999):03d}"
        return events + [Event("file", filed_on, {"number": number})]

    def assess(self, day, outcome, high_risk=0):
        if outcome == "compliant":
            rate = self.rng.uniform(91, 98.5)
        elif outcome == "non_compliant":
            rate, high_risk = self.rng.uniform(48, 59), max(high_risk, 4)
        else:
            rate = self.rng.uniform(70, 89.5)
        score = min(100.0, rate - self.rng.uniform(0, 4))
        return Event(
            "assess",
            day,
            {
                "agency": self.rng.choice(AGENCIES),
                "rate": Decimal(f"{rate:.2f}"),
                "score": Decimal(f"{score:.2f}"),
                "high_risk": high_risk,
            },
        )

    def events(self, scenario: str, level: int, *, regrade: bool = False) -> list:
        today, rng = self.today, self.rng
        months = self.policy.assessment_months.get(level, 24)
        interval = months * 30
        reason = rng.choice(("regrade", "material_change")) if regrade else "initial"
        if scenario == "ungraded":
            return []
        if level == 1 or scenario == "graded_final":
            events = [self.start(self.ago(30, 1500), 1, reason)]
        elif scenario == "draft":
            if rng.random() < 0.3:  # sent back by the experts
                start = self.ago(40, 90)
                submit = self.after(start, 3, 8)
                events = [self.start(start, level, reason), Event("submit", submit)]
                events.append(
                    Event("return", self.after(submit, 5, 15), {"comment": "定级理由不充分，请补充受侵害客体分析"})
                )
            else:
                events = [self.start(self.ago(0, 45), level, reason)]
        elif scenario == "expert_review":
            start = self.ago(10, 60)
            events = [self.start(start, level, reason), Event("submit", self.after(start, 2, 8))]
        elif scenario == "regulator_approval":
            start = self.ago(30, 90)
            submit = self.after(start, 2, 8)
            events = [
                self.start(start, level, reason),
                Event("submit", submit),
                Event("review", self.after(submit, 5, 15)),
            ]
        elif scenario == "approved_recent":
            events = self.approved(level, self.ago(1, 25), reason)
        elif scenario == "approved_late":
            events = self.approved(level, self.ago(45, 240), reason)
        elif scenario == "filed":
            events = self.filed(level, self.ago(20, interval - 5), reason)
        elif scenario == "filed_never_assessed":
            due = mlps.add_months(today, -months)
            events = self.filed(level, self.before(due, 10, 150), reason)
        else:
            events = self._assessed(scenario, level, months, interval, reason)
        if level >= 3 and any(e.kind == "file" for e in events) and rng.random() < 0.6:
            filed_on = next(e.day for e in events if e.kind == "file")
            day = self.ago(10, 400)
            if day > filed_on:
                events.append(Event("self_inspect", day, {"rate": Decimal(f"{rng.uniform(80, 97):.2f}")}))
        events.sort(key=lambda e: e.day)  # stable: same-day steps keep their procedure order
        if regrade and events:
            events = self._history(level, events[0].day) + events
        return events

    def _assessed(self, scenario, level, months, interval, reason):
        today, rng = self.today, self.rng
        if scenario == "assessed":
            day = self.ago(10, interval - 40)
            events = self.filed(level, self.before(day, 30, 300), reason) + [self.assess(day, "basic")]
        elif scenario == "assessed_due_soon":
            day = mlps.add_months(today, -months) + datetime.timedelta(days=rng.randint(1, 25))
            outcome = rng.choice(("compliant", "basic"))
            events = self.filed(level, self.before(day, 30, 300), reason) + [self.assess(day, outcome)]
        elif scenario == "rectifying":
            day = self.ago(10, min(150, interval - 40))
            events = self.filed(level, self.before(day, 30, 300), reason)
            events.append(self.assess(day, "basic", rng.randint(1, 3)))
        elif scenario == "overdue_high_risk":
            day = self.before(mlps.add_months(today, -months), 15, 200)
            outcome = "non_compliant" if rng.random() < 0.15 else "basic"
            events = self.filed(level, self.before(day, 30, 200), reason)
            events.append(self.assess(day, outcome, rng.randint(1, 4)))
        elif scenario == "compliant":
            day = self.ago(10, interval - 40)
            events = self.filed(level, self.before(day, 30, 300), reason)
            earlier = day - datetime.timedelta(days=interval + rng.randint(-20, 20))
            if level >= 3 and rng.random() < 0.5 and earlier > events[-1].day + datetime.timedelta(days=30):
                events.append(self.assess(earlier, "compliant"))  # the previous periodic assessment
            events.append(self.assess(day, "compliant"))
        elif scenario == "compliant_after_rectification":
            day = self.ago(60, min(300, interval - 40))
            events = self.filed(level, self.before(day, 30, 300), reason)
            events += [self.assess(day, "basic", rng.randint(1, 2)), Event("accept", self.after(day, 20, 50))]
        elif scenario in ("cert_due_soon", "cert_expired"):
            base = mlps.add_months(today, -12 * self.policy.certificate_years)
            if scenario == "cert_due_soon":
                filed_on = base + datetime.timedelta(days=rng.randint(5, 85))
            else:
                filed_on = base - datetime.timedelta(days=rng.randint(10, 150))
            events = self.filed(level, filed_on, reason) + [self.assess(self.ago(20, interval - 40), "compliant")]
        else:
            raise ValueError(f"unknown MLPS scenario {scenario!r}")
        return events

    def _history(self, level, before):
        """An earlier grading, filed and assessed, that the scenario's grading replaces."""
        filed_on = self.before(before, 300, 500)
        assessed_on = self.after(filed_on, 60, 150)
        if assessed_on >= before:
            assessed_on = filed_on + datetime.timedelta(days=(before - filed_on).days // 2)
        return self.filed(level, filed_on) + [self.assess(assessed_on, "compliant")]


def _pi_flags(mode: str, young: bool) -> tuple:
    if mode == "none":
        return (False, False, False, False)
    if mode == "pi":
        return (True, False, False, False)
    if mode == "minor":
        return (True, False, True, False)
    if mode == "sensitive":
        return (True, True, True, False)
    if mode == "child" or (mode == "young" and young):
        return (True, True, True, True)
    return (True, False, True, False)


def _safeguards(rng: random.Random) -> tuple:
    roll = rng.random()
    if roll < 0.5:
        return ("done",) * 4
    states = ["done"] * 4
    for index in rng.sample(range(4), rng.randint(1, 2)):
        states[index] = "missing" if roll > 0.85 else "partial"
    return tuple(states)


def _texts(plan: SystemPlan, unit_name: str, purpose: str, audience: str) -> dict:
    where = {
        "on_premises": "部署于本单位机房",
        "government_cloud": "部署于示范市政务云",
        "public_cloud": "部署于公有云",
        "provider_hosted": "由服务商托管",
    }[plan.deployment]
    exposure = "面向互联网提供服务" if plan.internet_facing else "仅在教育城域网和校园网内使用"
    holds = "含师生个人信息" if plan.pi[0] else "不含个人信息"
    if plan.pi[3]:
        holds = "含不满十四周岁儿童的个人信息"
    return {
        "object_description": (
            f"{plan.name}由{unit_name}负责，{where}，{exposure}；由应用服务器、数据库服务器和边界安全设备组成。"
        ),
        "business_description": f"系统处理{purpose}相关业务信息，{holds}；信息泄露或被篡改将损害师生合法权益。",
        "service_description": f"系统为{audience}提供{purpose}服务；服务中断将影响正常教育教学和管理秩序。",
    }


class _Builder:
    def __init__(self, rng: random.Random, today: datetime.date, policy: mlps.MLPSPolicy):
        self.rng, self.today = rng, today
        self.timeline = _Timeline(rng, today, policy)
        self.ledger = Ledger()
        self.icp_seq = 0
        self.psb_seq = 0
        self.app_seq = 0

    # helpers -------------------------------------------------------------------------------------------------------

    def icp(self, site: int = 1) -> str:
        self.icp_seq += 1
        return f"示ICP备{2026000100 + self.icp_seq}号-{site}"

    def psb(self, division: str) -> str:
        self.psb_seq += 1
        return f"示公网安备{division}{self.psb_seq:08d}号"

    def app_filing(self) -> str:
        self.app_seq += 1
        return f"教APP备3299{self.app_seq:03d}号"

    def system(self, unit, key, name, business_type, *, level, scenario, purpose, audience, regrade=False, **kw):
        rng = self.rng
        if scenario == "ungraded":
            level = None
        plan = SystemPlan(key=key, unit_code=unit.code, name=name, business_type=business_type, level=level, **kw)
        plan.scenario = scenario if level is not None else "ungraded"
        if not plan.contractor:
            plan.contractor = rng.choice(CONTRACTORS)
        if not plan.version:
            plan.version = f"{rng.randint(1, 6)}.{rng.randint(0, 9)}.{rng.randint(0, 20)}"
        if plan.pi[3] and not plan.safeguards:
            plan.safeguards = _safeguards(rng)
        if plan.localization == ("none",) * 4 and rng.random() < 0.35:
            plan.localization = tuple(rng.choice(("none", "partial", "complete")) for _ in range(4))
        if plan.ipv6_support == "none" and rng.random() < 0.5:
            plan.ipv6_support = rng.choice(("partial", "full"))
        if level is not None:
            plan.events = self.timeline.events(plan.scenario, level, regrade=regrade and plan.status == "running")
        first = min((e.day for e in plan.events), default=self.today)
        if plan.status == "stopped":
            plan.stopped_on = self.timeline.ago(20, 300)
            first = min(first, plan.stopped_on)
        elif plan.status == "retired":
            plan.stopped_on = self.timeline.ago(200, 500)
            plan.retired_on = self.timeline.after(plan.stopped_on, 30, 120)
            first = min(first, plan.stopped_on)
        if plan.status == "building":
            plan.went_live_on = plan.went_live_on or self.today + datetime.timedelta(days=rng.randint(5, 90))
            plan.built_on = self.timeline.ago(30, 300)
        else:
            plan.went_live_on = plan.went_live_on or self.timeline.before(first, 30, 900)
            plan.built_on = self.timeline.before(plan.went_live_on, 60, 365)
        plan.texts = _texts(plan, unit.name, purpose, audience)
        self.ledger.systems.append(plan)
        return plan

    def website(self, unit, system, name, url, *, division, icp=True, psb=True, site=1, cms=None, active=True):
        self.ledger.websites.append(
            WebsitePlan(
                unit.code,
                system.key if system else "",
                name,
                url,
                icp_number=self.icp(site) if icp else "",
                psb_number=self.psb(division) if psb else "",
                cms=self.rng.choice(CMS) if cms is None else cms,
                is_active=active,
            )
        )

    def domain(self, unit, system, name):
        days = -self.rng.randint(1, 60) if self.rng.random() < 0.04 else self.rng.randint(15, 720)
        self.ledger.domains.append(
            DomainPlan(unit.code, system.key if system else "", name, expires_on=self.today + datetime.timedelta(days))
        )

    def app(self, unit, name, kind, provider, *, state="filed", system=None, remarks=""):
        """``state``: filed, user_unfiled, unfiled, rejected, unused, blacklisted."""
        plan = AppPlan(unit.code, name, kind, provider, system_key=system.key if system else "", remarks=remarks)
        if state in ("filed", "unused", "blacklisted", "user_unfiled", "rejected"):
            plan.provider_filing_number = self.app_filing()
            plan.icp_filed = plan.mlps_filed = True
        if state in ("filed", "unused"):
            plan.user_filing_state = "filed"
        elif state == "rejected":
            plan.user_filing_state = "rejected"
        if state == "unfiled":
            plan.icp_filed = self.rng.random() < 0.5
        plan.in_use = state != "unused"
        plan.blacklisted = state == "blacklisted"
        self.ledger.apps.append(plan)
        return plan

    # the region ----------------------------------------------------------------------------------------------------

    def city(self, city, it_centre, research, equipment):
        d = city.code
        cloud = self.system(
            it_centre,
            "city:cloud",
            "示范市智慧教育云平台",
            "teaching",
            level=3,
            scenario="compliant",
            purpose="教育应用统一承载、统一身份认证和数据交换",
            audience="全市师生和家长",
            deployment="government_cloud",
            internet_facing=True,
            data_level="general4",
            pi=(True, True, True, True),
            critical_infrastructure=True,
            software="示例教育云平台",
            localization=("partial", "complete", "partial", "complete"),
            ipv6_support="full",
        )
        space = self.system(
            it_centre,
            "city:space",
            "示范市网络学习空间",
            "teaching",
            level=3,
            scenario="overdue_high_risk",
            purpose="师生网络学习空间和在线课程",
            audience="全市中小学师生",
            deployment="government_cloud",
            internet_facing=True,
            data_level="general3",
            pi=(True, True, True, True),
            software="示例学习空间",
            safeguards=("done", "done", "partial", "done"),
        )
        resources = self.system(
            it_centre,
            "city:resources",
            "示范市教育资源库",
            "teaching",
            level=2,
            scenario="cert_due_soon",
            purpose="数字教育资源汇聚和共享",
            audience="全市教师",
            deployment="government_cloud",
            internet_facing=True,
            data_level="general1",
            pi=(True, False, False, False),
            software="示例资源管理平台",
        )
        self.system(
            city,
            "city:security",
            "示范市校园安防平台",
            "security_video",
            level=3,
            scenario="assessed_due_soon",
            purpose="全市校园视频监控汇聚和一键报警",
            audience="市区两级教育行政部门和学校",
            deployment="government_cloud",
            data_level="general3",
            pi=(True, True, True, True),
            software="示例视频联网平台",
            safeguards=("done", "partial", "done", "done"),
        )
        auth = self.system(
            it_centre,
            "city:auth",
            "示范市教育城域网上网认证系统",
            "management",
            level=2,
            scenario="approved_recent",
            purpose="教育城域网上网实名认证和日志留存",
            audience="全市学校师生",
            data_level="general2",
            pi=(True, False, True, False),
            software="示例认证网关",
        )
        portal = self.system(
            city,
            "city:portal",
            "示范市教育局门户网站",
            "portal",
            level=2,
            scenario="compliant",
            purpose="政务公开和办事服务",
            audience="社会公众",
            deployment="government_cloud",
            internet_facing=True,
            data_level="general1",
            software="示例站群管理系统",
        )
        admission = self.system(
            city,
            "city:admission",
            "示范市中小学招生报名系统",
            "admission_exam",
            level=3,
            scenario="filed",
            purpose="义务教育招生报名和学位分配",
            audience="全市适龄儿童家长",
            deployment="government_cloud",
            internet_facing=True,
            data_level="general4",
            pi=(True, True, True, True),
            software="示例招生报名平台",
            safeguards=("done", "done", "done", "partial"),
        )
        data = self.system(
            it_centre,
            "city:data",
            "示范市教育数据中心",
            "data_platform",
            level=4,
            scenario="compliant",
            purpose="全市教育数据汇聚、治理和共享",
            audience="市区两级教育行政部门",
            deployment="government_cloud",
            data_level="important",
            pi=(True, True, True, True),
            critical_infrastructure=True,
            software="示例数据中台",
            localization=("complete", "complete", "complete", "partial"),
            ipv6_support="full",
            safeguards=("done", "done", "done", "done"),
        )
        card = self.system(
            it_centre,
            "city:card",
            "示范市教育一卡通平台",
            "campus_card",
            level=2,
            scenario="draft",
            purpose="全市校园卡发卡、消费结算和身份核验",
            audience="全市中小学师生",
            deployment="government_cloud",
            data_level="general3",
            pi=(True, True, True, True),
            software="示例一卡通平台",
        )
        self.system(
            city,
            "city:oa",
            "示范市教育局协同办公系统",
            "office",
            level=2,
            scenario="expert_review",
            purpose="公文流转和协同办公",
            audience="市教育局机关",
            data_level="general2",
            pi=(True, False, False, False),
            software="示例协同办公平台",
        )
        self.system(
            city,
            "city:homework",
            "示范市智慧作业平台",
            "teaching",
            level=None,
            scenario="ungraded",
            purpose="作业布置和学情分析",
            audience="全市中小学师生",
            deployment="government_cloud",
            internet_facing=True,
            status="building",
            went_live_on=self.today + datetime.timedelta(days=18),
            data_level="general3",
            pi=(True, True, True, True),
            software="示例智慧作业",
            remarks="计划本学期上线",
        )
        self.system(
            city,
            "city:old-portal",
            "示范市教育局旧版门户网站",
            "portal",
            level=None,
            scenario="ungraded",
            purpose="政务公开",
            audience="社会公众",
            internet_facing=True,
            status="retired",
            data_level="general1",
            software="示例建站系统",
            remarks="已由新版门户网站替代",
        )
        self.system(
            research,
            "zs02:training",
            "示范市教师研修平台",
            "teaching",
            level=2,
            scenario="regulator_approval",
            purpose="教师培训和教研活动",
            audience="全市教师",
            deployment="government_cloud",
            internet_facing=True,
            data_level="general2",
            pi=(True, False, False, False),
            software="示例研修平台",
        )
        self.system(
            equipment,
            "zs03:equipment",
            "示范市教育装备管理系统",
            "management",
            level=1,
            scenario="graded_final",
            purpose="教育装备采购和资产管理",
            audience="市区两级装备管理部门",
            data_level="general1",
            software="示例资产管理系统",
        )
        self.system(
            research,
            "zs02:quality",
            "示范市教育质量监测系统",
            "data_platform",
            level=3,
            scenario="rectifying",
            purpose="学业质量监测和分析",
            audience="市区两级教育行政部门",
            deployment="government_cloud",
            data_level="general4",
            pi=(True, True, True, True),
            software="示例质量监测平台",
        )

        self.website(
            city, portal, "示范市教育局门户网站", "https://www.edu.shifan.example", division=d, cms="示例站群CMS 6.2"
        )
        self.website(it_centre, cloud, "示范市智慧教育云平台", "https://cloud.edu.shifan.example", division=d, site=2)
        self.website(it_centre, space, "示范市网络学习空间", "https://space.edu.shifan.example", division=d, site=3)
        self.website(it_centre, resources, "示范市教育资源库", "https://res.edu.shifan.example", division=d, site=4)
        self.website(city, admission, "示范市中小学招生报名", "https://zs.edu.shifan.example", division=d, site=5)
        self.website(
            it_centre,
            auth,
            "上网认证页面",
            "http://auth.edu.shifan.test",
            division=d,
            icp=False,
            psb=False,
            cms="",
        )
        self.website(
            it_centre,
            data,
            "教育数据中心运维门户（本机访问）",
            "https://127.0.0.1:8443",
            division=d,
            icp=False,
            psb=False,
            cms="",
        )
        self.domain(city, portal, CITY_DOMAIN)
        self.domain(city, portal, "shifan-edu.example")
        self.domain(it_centre, auth, CITY_DOMAIN.replace(".example", ".test"))

        ranges = self.ledger.ranges
        ranges.append(RangePlan(city.code, "203.0.113.0/27", "市教育局数据中心DMZ", "city:portal"))
        ranges.append(RangePlan(city.code, "2001:db8:9900::/48", "教育城域网IPv6地址（市本级）"))
        ranges.append(RangePlan(it_centre.code, "203.0.113.32/27", "智慧教育云平台政务云出口", "city:cloud"))
        ranges.append(RangePlan(it_centre.code, "203.0.113.64/27", "教育城域网互联网出口", "city:auth"))
        ranges.append(RangePlan(it_centre.code, "2001:db8:99a1::/48", "教育城域网IPv6地址（信息化中心）"))
        ranges.append(RangePlan(research.code, "203.0.113.96/28", "教科院办公网出口"))
        ranges.append(RangePlan(equipment.code, "203.0.113.112/28", "装备中心办公网出口"))

        self.app(it_centre, "示范智慧教育", "app", "示例云校科技有限公司", system=cloud)
        self.app(it_centre, "示范市网络学习空间", "app", "示例云校科技有限公司", system=space)
        self.app(city, "示范教育发布", "official_account", "示范市教育局", system=portal)
        self.app(city, "示范市中小学招生报名", "mini_program", "示例招生服务科技有限公司", system=admission)
        self.app(it_centre, "示范校园卡", "mini_program", "示例一卡通科技有限公司", state="user_unfiled", system=card)
        self.ledger.screens.append(
            ScreenPlan(city.code, "办事大厅信息发布屏", "市教育局一楼办事大厅", True, "platform_managed")
        )

    def district(self, bureau, index):
        rng, d = self.rng, bureau.code
        prefix = DISTRICT_PREFIX.get(d, f"d{index}")
        name = DISTRICT_NAME.get(d, bureau.short_name)
        portal = self.system(
            bureau,
            f"{d}:portal",
            f"{name}教育局门户网站",
            "portal",
            level=2,
            scenario=_pick(rng, PLATFORM_WEIGHTS),
            regrade=index < 2,
            purpose="政务公开和办事服务",
            audience="社会公众",
            internet_facing=True,
            data_level="general1",
            software="示例站群管理系统",
        )
        self.system(
            bureau,
            f"{d}:auth",
            f"{name}教育城域网认证系统",
            "management",
            level=2,
            scenario=_pick(rng, PLATFORM_WEIGHTS),
            purpose="区域教育网上网认证",
            audience="辖区学校师生",
            data_level="general2",
            pi=(True, False, True, False),
            software="示例认证网关",
        )
        video_level = rng.choice((2, 3, 3))
        self.system(
            bureau,
            f"{d}:video",
            f"{name}安防视频平台",
            "security_video",
            level=video_level,
            scenario=_pick(rng, PLATFORM_WEIGHTS),
            purpose="辖区校园视频监控汇聚",
            audience="区教育局和辖区学校",
            deployment="government_cloud",
            data_level="general3",
            pi=(True, True, True, True),
            software="示例视频联网平台",
        )
        campus = self.system(
            bureau,
            f"{d}:campus",
            f"{name}智慧校园平台",
            "teaching",
            level=rng.choice((2, 3, 3)),
            scenario=_pick(rng, PLATFORM_WEIGHTS),
            purpose="区域智慧校园统一应用",
            audience="辖区学校师生和家长",
            deployment="government_cloud",
            internet_facing=True,
            data_level="general3",
            pi=(True, True, True, True),
            software="示例智慧校园平台",
        )
        host = f"{prefix}.edu.shifan.example"  # under CITY_DOMAIN
        self.website(bureau, portal, f"{name}教育局门户网站", f"https://{host}", division=d, psb=rng.random() > 0.2)
        campus_url = _https(f"zhxy.{prefix}.edu.shifan.example")
        self.website(bureau, campus, f"{name}智慧校园平台", campus_url, division=d, site=2)
        self.domain(bureau, portal, host)
        self.ledger.ranges.append(RangePlan(d, f"198.51.100.{32 * index}/27", f"{name}教育城域网出口", f"{d}:auth"))
        self.ledger.ranges.append(RangePlan(d, f"2001:db8:{0x9901 + index:x}::/48", f"{name}教育城域网IPv6地址"))
        state = rng.choice(("filed", "filed", "user_unfiled", "unfiled"))
        self.app(bureau, f"{name}智慧校园", "app", "示例智慧校园科技有限公司", state=state, system=campus)
        self.app(bureau, f"{name}教育", "official_account", bureau.name, system=portal)
        self.ledger.screens.append(
            ScreenPlan(d, "大厅电子屏", f"{name}教育局一楼大厅", rng.random() < 0.7, "manual_review")
        )

    def school(self, school, district_code, is_demo_school):
        rng = self.rng
        short = school.short_name
        kind = _school_kind(short)
        young = bool({"kindergarten", "primary"} & set(school.stages))
        prefix = DISTRICT_PREFIX.get(district_code, "sf")
        word = school.short_name[: -len(region_demo.SCHOOL_KINDS[kind].suffix)]
        slug = "-".join(p for p in (prefix, PINYIN.get(word, ""), KIND_ABBR[kind]) if p)
        use_test_host = not is_demo_school and rng.random() < 0.15
        # School sites live under school.example; a few older ones under school.test, registered by the school's
        # Chinese name as public institutions' .公益 names are (stored and probed as punycode, shown in Chinese).
        base = f"{short}.{prefix}.school.test" if use_test_host else f"{slug}.school.example"
        url = _http(base) if use_test_host else _https(f"www.{slug}.school.example")

        if is_demo_school:
            portal_scenario = "compliant"
        else:
            portal_scenario = _pick(rng, SCHOOL_WEIGHTS)
        portal = self.system(
            school,
            f"{school.code}:portal",
            f"{short}门户网站",
            "portal",
            level=2,
            scenario=portal_scenario,
            regrade=not is_demo_school and portal_scenario not in ("ungraded", "draft") and rng.random() < 0.06,
            purpose="学校新闻、通知和招生信息发布",
            audience="社会公众和家长",
            internet_facing=True,
            deployment=rng.choice(("on_premises", "provider_hosted", "public_cloud")),
            data_level="general1",
            pi=(rng.random() < 0.3, False, False, False),
            software=rng.choice(("示例站群管理系统", "示例建站系统")),
        )
        self.website(
            school,
            portal,
            f"{short}官方网站",
            url,
            division=district_code,
            icp=rng.random() > (0.3 if use_test_host else 0.06),
            psb=rng.random() > (0.4 if use_test_host else 0.15),
        )
        self.domain(school, portal, base)

        pool = list(SCHOOL_POOLS[kind])
        large = kind in ("nine_year", "complete", "senior", "vocational", "specialised")
        count = 3 if is_demo_school else rng.randint(2, 3) if large else rng.randint(1, 2)
        chosen = rng.sample(pool, min(count, len(pool)))
        demo_scenarios = ["approved_recent", "ungraded", "draft"]
        for n, key in enumerate(chosen):
            spec = SCHOOL_SYSTEMS[key]
            status = "running"
            roll = rng.random()
            if not is_demo_school and roll < 0.03:
                status = "building"
            elif not is_demo_school and roll < 0.06:
                status = "stopped"
            internet = rng.random() < spec.internet
            if is_demo_school:
                scenario = demo_scenarios[n]
                internet = internet or scenario == "ungraded"
            elif status == "building":
                scenario = rng.choice(("ungraded", "draft"))
            elif status == "stopped":
                scenario = "ungraded"
            elif spec.level == 1:
                scenario = "graded_final" if rng.random() < 0.7 else "ungraded"
            else:
                scenario = _pick(rng, SCHOOL_WEIGHTS)
            data_level = spec.data_level if rng.random() > 0.15 else ""
            system = self.system(
                school,
                f"{school.code}:{key}",
                f"{short}{spec.name}",
                spec.business_type,
                level=None if scenario == "ungraded" else spec.level,
                scenario=scenario,
                purpose=spec.purpose,
                audience="本校师生和家长",
                internet_facing=internet,
                status=status,
                data_level=data_level,
                pi=_pi_flags(spec.pi, young),
                software=spec.software,
                deployment=rng.choice(("on_premises", "on_premises", "provider_hosted", "public_cloud")),
            )
            if key == "home" and rng.random() < 0.3:
                self.website(
                    school,
                    system,
                    f"{short}家校通",
                    _https(f"jxt.{slug}.school.example"),
                    division=district_code,
                    site=2,
                    psb=False,
                    cms="",
                )
        return kind

    def school_apps(self, school, kind, blacklisted_done):
        rng = self.rng
        short = school.short_name
        apps = 0
        if rng.random() < 0.35:
            self.app(school, short, "official_account", school.name, state="filed")
            apps += 1
        if rng.random() < 0.35:
            state = rng.choices(("filed", "user_unfiled", "unfiled", "rejected", "unused"), weights=(55, 20, 12, 5, 8))[
                0
            ]
            provider = "示例家园共育科技有限公司" if kind == "kindergarten" else "示例家校互联科技有限公司"
            self.app(school, f"{short}家校通", "mini_program", provider, state=state)
            apps += 1
        if kind != "kindergarten" and rng.random() < 0.25:
            name, provider = rng.choice(
                (
                    ("智学作业", "示例智学科技有限公司"),
                    ("口算练习", "示例口算科技有限公司"),
                    ("悦读打卡", "示例阅读科技有限公司"),
                )
            )
            if not blacklisted_done:
                self.app(
                    school,
                    "速学搜题",
                    "app",
                    "示例搜题科技有限公司",
                    state="blacklisted",
                    remarks="已列入教育APP黑名单，仍有教师在用，正在督促停用",
                )
                return True
            state = rng.choices(("filed", "unfiled", "user_unfiled"), weights=(50, 30, 20))[0]
            self.app(school, name, "app", provider, state=state)
        return blacklisted_done

    def school_screens(self, school, kind):
        rng = self.rng
        if rng.random() > 0.65:
            return
        spots = [
            ("教学楼大厅电子屏", "教学楼一楼大厅"),
            ("校门口LED显示屏", "校门口"),
            ("食堂电子屏", "学生食堂"),
            ("报告厅LED大屏", "报告厅"),
        ]
        if kind == "kindergarten":
            spots = [("园区门口电子屏", "幼儿园大门"), ("门厅电子屏", "教学楼门厅")]
        for name, location in rng.sample(spots, rng.randint(1, 2)):
            networked = rng.random() < 0.6
            if networked:
                control = rng.choices(("manual_review", "platform_managed", "none"), weights=(50, 40, 10))[0]
            else:
                control = rng.choice(("offline_playback", "manual_review"))
            self.ledger.screens.append(ScreenPlan(school.code, name, location, networked, control))


def build_ledger(today: datetime.date, seed: int = SEED, policy: mlps.MLPSPolicy | None = None) -> Ledger:
    """The demo ledger for the demo region as plain data, the same for the same seed and day."""
    region = region_demo.build_region()
    builder = _Builder(random.Random(seed), today, policy or mlps.MLPSPolicy())
    by_code = {u.code: u for u in region.units}
    affiliated = [u for u in region.units if u.unit_type == "affiliated"]
    builder.city(by_code[CITY_CODE], by_code[IT_CENTRE_CODE], affiliated[1], affiliated[2])
    districts = [u for u in region.units if u.unit_type == "district"]
    for index, bureau in enumerate(districts):
        builder.district(bureau, index)

    schools = [u for u in region.units if u.unit_type == "school"]
    blacklisted = False
    kinds = {}
    for school in schools:
        kinds[school.code] = builder.school(school, school.parent_code, school.code == region.demo_school_code)
    for school in schools:
        blacklisted = builder.school_apps(school, kinds[school.code], blacklisted)
        builder.school_screens(school, kinds[school.code])

    # Address space: the large schools get an IPv4 /28 and an IPv6 /48, some others an IPv6 /48 only. Every unit's
    # ranges are disjoint from every other unit's (the ledger refuses overlaps between units that are not shared).
    v4_blocks = [f"192.0.2.{16 * k}/28" for k in range(16)]
    v4_blocks += [f"203.0.113.{128 + 16 * k}/28" for k in range(8)]
    v4_blocks += [f"198.51.100.{192 + 16 * k}/28" for k in range(4)]
    large = [s for s in schools if kinds[s.code] in ("nine_year", "complete", "senior", "vocational", "specialised")]
    with_v4 = sorted(builder.rng.sample(large, min(len(large), len(v4_blocks))), key=lambda s: s.code)
    others = [s for s in schools if s not in with_v4]
    with_v6 = with_v4 + sorted(builder.rng.sample(others, min(20, len(others))), key=lambda s: s.code)
    for school, block in zip(with_v4, v4_blocks, strict=False):
        builder.ledger.ranges.append(RangePlan(school.code, block, "校园网互联网出口"))
    for n, school in enumerate(with_v6):
        builder.ledger.ranges.append(RangePlan(school.code, f"2001:db8:{0x9A00 + n:x}::/48", "校园网IPv6地址"))
    return builder.ledger


# ---- loading --------------------------------------------------------------------------------------------------------


def is_loaded() -> bool:
    """Whether the demo region's ledger exists: any system or network asset under the city bureau's subtree."""
    from orgs.models import Unit

    from .models import Domain, InformationSystem, IPRange, Website

    city = Unit.objects.filter(code=CITY_CODE).first()
    if city is None:
        return False
    return any(
        model.objects.filter(unit__path__startswith=city.path).exists()
        for model in (InformationSystem, Website, Domain, IPRange)
    )


def _validate(obj, *exclude) -> None:
    """``full_clean`` without the foreign keys we set ourselves and the values ``clean()`` derives."""
    skip = [f.name for f in obj._meta.concrete_fields if not f.editable] + list(exclude)
    obj.full_clean(exclude=skip)


class _Actors:
    """The demo accounts that perform the MLPS steps (None when an account does not exist)."""

    def __init__(self, units):
        from orgs.models import User

        self.users = {u.username: u for u in User.objects.filter(is_demo=True).select_related("unit")}
        self.districts = [(units[code], prefix) for code, _name, prefix in region_demo.DISTRICTS if code in units]
        cio = self.users.get("school_cio")
        self.demo_school = cio.unit.code if cio is not None and cio.unit_id else None

    def district_of(self, unit):
        """(district bureau, account prefix) above ``unit``, or (None, None)."""
        return next(((d, p) for d, p in self.districts if unit.path.startswith(d.path)), (None, None))

    def for_unit(self, unit):
        """(grader, approver) of a system of ``unit``: the school's CIO or its district administrator grades, the
        district administrator approves; the city security officer and administrator stand in for the others."""
        _district, prefix = self.district_of(unit)
        admin = self.users.get(f"{prefix}_admin") if prefix else None
        grader = self.users.get("school_cio") if unit.code == self.demo_school else None
        return grader or admin or self.users.get("city_security"), admin or self.users.get("city_admin")

    def organ(self, unit):
        district, _prefix = self.district_of(unit)
        if district is None:
            return CITY_PSB_ORGAN
        return f"示范市公安局{DISTRICT_NAME.get(district.code, district.short_name)}分局网安大队"


class _Clock:
    """Back-dates the procedure: each step gets the date its event says, at a plausible office hour."""

    def __init__(self):
        from django.utils import timezone

        self.tz = timezone.get_current_timezone()
        self.marks = defaultdict(list)

    def mark(self, grading, day):
        from django.utils import timezone

        n = len(self.marks[grading.pk])
        moment = datetime.datetime.combine(day, datetime.time(9, 0)) + datetime.timedelta(minutes=23 * n)
        # A step of today never lies after the moment of loading.
        self.marks[grading.pk].append(min(timezone.make_aware(moment, self.tz), timezone.now()))

    def apply(self):
        from django.utils import timezone

        from .models import Grading, GradingStep, StepAction

        steps_to_save = []
        for pk, moments in self.marks.items():
            steps = list(GradingStep.objects.filter(grading_id=pk).order_by("pk"))
            assert len(steps) == len(moments), (pk, len(steps), len(moments))
            changed_at = approved_at = fixed_on = None
            for step, moment in zip(steps, moments, strict=True):
                step.at = moment
                steps_to_save.append(step)
                if step.action == StepAction.GRADE or (step.from_state and step.from_state != step.to_state):
                    changed_at = moment
                if step.action == StepAction.APPROVE:
                    approved_at, fixed_on = moment, timezone.localdate(moment)
                if step.action == StepAction.FINALISE:
                    fixed_on = timezone.localdate(moment)
            fields = {"created_at": moments[0], "state_changed_at": changed_at or moments[0]}
            if approved_at is not None:
                fields["approved_at"] = approved_at
            if fixed_on is not None:
                fields["level_fixed_on"] = fixed_on
            Grading.objects.filter(pk=pk).update(**fields)
        GradingStep.objects.bulk_update(steps_to_save, ["at"], batch_size=500)


def _run_procedure(system, plan, grader, approver, organ, clock, counts):
    """Walk ``plan.events`` through the real Grading API (rules checked, steps recorded, system mirrored)."""
    from .models import Assessment, AssessmentKind, Filing, Grading, StepAction
    from .policy import grading_policy

    grading = None
    for event in plan.events:
        if event.kind == "start":
            result = mlps.grade(
                event.data["business"], event.data["service"], plan.data_level or None, grading_policy()
            )
            previous = grading
            grading = Grading.start(system, result, user=grader, reason=event.data["reason"], texts=plan.texts)
            counts["gradings"] += 1
            if previous is not None:
                clock.mark(previous, event.day)  # superseded
            clock.mark(grading, event.day)
            if grading.level == 1:
                clock.mark(grading, event.day)
            continue
        if grading is None or grading.level == 1:
            continue
        if event.kind == "submit":
            grading.move_to(mlps.STATE_EXPERT_REVIEW, user=grader, action=StepAction.SUBMIT, comment="提交专家评审")
        elif event.kind == "review":
            grading.move_to(
                mlps.STATE_REGULATOR_APPROVAL,
                user=grader,
                action=StepAction.EXPERT_REVIEW,
                comment="专家评审通过，同意定级意见",
            )
        elif event.kind == "return":
            grading.move_to(mlps.STATE_DRAFT, user=grader, action=StepAction.RETURN, comment=event.data["comment"])
        elif event.kind == "approve":
            grading.approve(user=approver, comment="同意定级")
        elif event.kind == "file":
            filing = Filing(
                grading=grading,
                unit_id=grading.unit_id,
                public_security_organ=organ,
                certificate_number=f"3299{event.data['number']}",
                filed_on=event.day,
                created_by=grader,
                updated_by=grader,
            )
            _validate(filing, "grading", "unit")
            filing.save()
            counts["filings"] += 1
            grading.move_to(mlps.STATE_FILED, user=grader, action=StepAction.FILE, comment="已取得备案证明")
        elif event.kind in ("assess", "self_inspect"):
            self_inspection = event.kind == "self_inspect"
            assessment = Assessment(
                grading=grading,
                system=system,
                unit_id=grading.unit_id,
                kind=AssessmentKind.SELF_INSPECTION if self_inspection else AssessmentKind.ASSESSMENT,
                agency=system.unit.short_name if self_inspection else event.data["agency"],
                assessed_on=event.day,
                score=event.data.get("score"),
                compliance_rate=event.data["rate"],
                high_risk_count=event.data.get("high_risk", 0),
                created_by=grader,
                updated_by=grader,
            )
            assessment.conclusion = assessment.compute_conclusion()
            _validate(assessment, "grading", "system", "unit")
            assessment.save()
            counts["assessments"] += 1
            if self_inspection:
                grading.move_to(
                    grading.state,
                    user=grader,
                    action=StepAction.SELF_INSPECT,
                    comment="年度自查",
                    assessment=assessment,
                )
            else:
                grading.move_to(
                    mlps.STATE_ASSESSED,
                    user=grader,
                    action=StepAction.ASSESS,
                    comment="等级测评完成",
                    assessment=assessment,
                )
                label = str(mlps.CONCLUSION_LABELS[assessment.conclusion])
                if assessment.conclusion == mlps.CONCLUSION_COMPLIANT:
                    grading.move_to(
                        mlps.STATE_COMPLIANT,
                        user=grader,
                        action=StepAction.CONCLUDE,
                        comment=label,
                        conclusion=assessment.conclusion,
                    )
                    clock.mark(grading, event.day)
                elif assessment.needs_rectification:
                    grading.move_to(
                        mlps.STATE_RECTIFYING,
                        user=grader,
                        action=StepAction.CONCLUDE,
                        comment=label,
                        conclusion=assessment.conclusion,
                    )
                    clock.mark(grading, event.day)
        elif event.kind == "accept":
            grading.move_to(
                mlps.STATE_COMPLIANT,
                user=approver,
                action=StepAction.ACCEPT_RECTIFICATION,
                comment="整改完成，复核通过",
            )
        else:
            raise ValueError(f"unknown MLPS event {event.kind!r}")
        clock.mark(grading, event.day)


@contextmanager
def _row_audit_paused(models):
    """Pause the per-row audit receivers of ``models`` (``core.signals.connect_model_audit``) while the demo's MLPS
    procedure is written, and reconnect them afterwards.

    Writing the procedure through the Grading API with one audit entry per saved row costs ~6 000 chained entries and
    more than the whole load's time budget; the loader records one summary entry with the counts instead, exactly as
    for the bulk-created ledger rows. The loader runs before the server or the scheduler start (``load_demo``, or
    ``run`` on an empty database), so no other write can fall into the pause. Receivers this cannot find stay
    connected (the rows are then audited one by one, only slower).
    """
    from django.db.models.signals import post_delete, post_save, pre_save

    from core.signals import connect_model_audit

    paused = []
    try:
        for model in models:
            uid = f"edusec_audit_{model._meta.label_lower}"
            found = [
                signal.disconnect(sender=model, dispatch_uid=uid + suffix)
                for signal, suffix in ((pre_save, "_pre"), (post_save, "_post"), (post_delete, "_del"))
            ]
            if any(found):
                paused.append(model)
        yield
    finally:
        for model in paused:
            connect_model_audit(model)


@transaction.atomic
def load(seed: int = SEED) -> dict | None:
    """Create the demo ledger. Returns the counts, or None when it exists already or the region does not."""
    from django.conf import settings
    from django.utils import timezone, translation

    from core.audit import record
    from core.models import AuditAction
    from orgs.models import Accountability, Unit

    from .duties import record_duty_states
    from .models import (
        Assessment,
        BusinessType,
        Domain,
        Filing,
        Grading,
        GradingStep,
        InformationSystem,
        IPRange,
        MobileApp,
        Screen,
        Website,
    )
    from .policy import mlps_policy

    city = Unit.objects.filter(code=CITY_CODE).first()
    if city is None or is_loaded():
        return None
    today = timezone.localdate()
    ledger = build_ledger(today, seed, mlps_policy())
    units = {u.code: u for u in Unit.objects.filter(path__startswith=city.path)}
    holders: dict[tuple[str, str], object] = {}
    duties = Accountability.objects.filter(unit__in=list(units.values())).select_related("person__unit", "unit")
    for duty in duties.order_by("pk"):
        holders.setdefault((duty.unit.code, duty.role), duty.person)

    def holder(unit_code, roles):
        return next((holders[(unit_code, r)] for r in roles if (unit_code, r) in holders), None)

    types = {t.code: t for t in BusinessType.objects.all()}
    counts = defaultdict(int)

    with translation.override(settings.LANGUAGE_CODE):
        systems = {}
        for plan in ledger.systems:
            unit = units.get(plan.unit_code)
            if unit is None:
                continue
            holds_pi, sensitive, minor, child = plan.pi
            system = InformationSystem(
                unit=unit,
                name=plan.name,
                business_type=types[plan.business_type],
                responsible_person=holder(plan.unit_code, plan.roles),
                contractor=plan.contractor,
                deployment=plan.deployment,
                internet_facing=plan.internet_facing,
                status=plan.status,
                built_on=plan.built_on,
                went_live_on=plan.went_live_on,
                stopped_on=plan.stopped_on,
                retired_on=plan.retired_on,
                software=plan.software,
                version=plan.version,
                chip_localization=plan.localization[0],
                os_localization=plan.localization[1],
                db_localization=plan.localization[2],
                middleware_localization=plan.localization[3],
                ipv6_support=plan.ipv6_support,
                critical_infrastructure=plan.critical_infrastructure,
                data_level=plan.data_level,
                holds_pi=holds_pi,
                holds_sensitive_pi=sensitive,
                holds_minor_pi=minor,
                holds_child_pi=child,
                remarks=plan.remarks,
            )
            if child:
                (
                    system.child_guardian_consent,
                    system.child_processing_rules,
                    system.child_encrypted_storage,
                    system.child_access_control,
                ) = plan.safeguards
            _validate(system, "unit", "business_type", "responsible_person")
            systems[plan.key] = system
        InformationSystem.objects.bulk_create(list(systems.values()), batch_size=500)

        def assets(plans, build, model, *fks):
            objects = []
            for plan in plans:
                unit = units.get(plan.unit_code)
                if unit is None:
                    continue
                obj = build(plan, unit)
                _validate(obj, "unit", "system", *fks)
                objects.append(obj)
            model.objects.bulk_create(objects, batch_size=500)
            return len(objects)

        def system_of(plan):
            return systems.get(plan.system_key) if plan.system_key else None

        counts["systems"] = len(systems)
        counts["websites"] = assets(
            ledger.websites,
            lambda p, u: Website(
                unit=u,
                system=system_of(p),
                name=p.name,
                url=p.url,
                icp_number=p.icp_number,
                psb_number=p.psb_number,
                cms=p.cms,
                is_active=p.is_active,
            ),
            Website,
        )
        counts["domains"] = assets(
            ledger.domains,
            lambda p, u: Domain(
                unit=u, system=system_of(p), name=p.name, registrar=p.registrar, expires_on=p.expires_on
            ),
            Domain,
        )
        counts["ip_ranges"] = assets(
            ledger.ranges,
            lambda p, u: IPRange(unit=u, system=system_of(p), cidr=p.cidr, purpose=p.purpose),
            IPRange,
        )
        counts["apps"] = assets(
            ledger.apps,
            lambda p, u: MobileApp(
                unit=u,
                system=system_of(p),
                name=p.name,
                kind=p.kind,
                provider=p.provider,
                provider_filing_number=p.provider_filing_number,
                user_filing_state=p.user_filing_state,
                icp_filed=p.icp_filed,
                mlps_filed=p.mlps_filed,
                blacklisted=p.blacklisted,
                in_use=p.in_use,
                remarks=p.remarks,
            ),
            MobileApp,
        )
        counts["screens"] = assets(
            ledger.screens,
            lambda p, u: Screen(
                unit=u,
                name=p.name,
                location=p.location,
                networked=p.networked,
                content_control=p.content_control,
                responsible_person=holder(p.unit_code, p.roles),
            ),
            Screen,
            "responsible_person",
        )

        actors = _Actors(units)
        clock = _Clock()
        with _row_audit_paused((InformationSystem, Grading, GradingStep, Filing, Assessment)):
            for plan in ledger.systems:
                system = systems.get(plan.key)
                if system is None or not plan.events:
                    continue
                grader, approver = actors.for_unit(system.unit)
                _run_procedure(system, plan, grader, approver, actors.organ(system.unit), clock, counts)
            clock.apply()
        counts["grading_steps"] = GradingStep.objects.filter(grading__system__in=list(systems.values())).count()
        counts["duties"] = record_duty_states(today)["opened"]

    counts = dict(counts)
    record(AuditAction.CREATE, object_repr=SUMMARY_OBJECT_REPR, unit_path=city.path, changes=counts)
    return counts


register_demo_loader(load)
