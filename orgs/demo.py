"""The demo region: a fictional city bureau (示范市教育局) with districts, schools, affiliated units, accountable people
and one demo account per role and level.

Everything here is generated: the prefecture (division code 329900) does not exist, school names are built from
invented place and virtue words, addresses name fictional roads of the fictional city, phone numbers are placeholders
and e-mail addresses use the reserved ``.example`` top-level domain. The generator is seeded, so every load gives the
same region.

``build_region()`` is pure (no database); ``load()`` writes the region in one transaction and does nothing when the
city bureau already exists.
"""

import datetime
import random
from dataclasses import dataclass, field

from django.db import transaction

from . import validators

SEED = 2026
DEMO_PASSWORD = "Demo@2026edu"

PROVINCE = "32"
CITY_CODE = "329900"
CITY_NAME = "示范市"
PHONE_AREA = "0599"
SCHOOL_DOMAIN = "school.example"
BUREAU_DOMAIN = "edu.example"

# (division code, name, username prefix)
DISTRICTS = [
    ("329901", "东湖区", "dh"),
    ("329902", "西山区", "xs"),
    ("329903", "南港区", "ng"),
    ("329904", "北原区", "by"),
    ("329905", "中洲区", "zz"),
    ("329906", "清溪县", "qx"),
]
# The district that deliberately has no security officer (an accountability gap for the dashboards).
DISTRICT_WITHOUT_SECURITY_OFFICER = "329903"

# (code, name, short name, head's title)
AFFILIATED = [
    ("329900-ZS01", "示范市教育信息化中心", "市教育信息化中心", "主任"),
    ("329900-ZS02", "示范市教育科学研究院", "市教科院", "院长"),
    ("329900-ZS03", "示范市教育装备中心", "市教育装备中心", "主任"),
]
IT_CENTRE_CODE = AFFILIATED[0][0]


@dataclass(frozen=True)
class SchoolKind:
    suffix: str
    type_code: str
    stages: tuple[str, ...]
    named: bool = True  # False: one per district, named after the district ("东湖区特殊教育学校")
    city_level_name: bool = False  # named after the city rather than the district


SCHOOL_KINDS = {
    "kindergarten": SchoolKind("幼儿园", "11", ("kindergarten",)),
    "primary": SchoolKind("小学", "21", ("primary",)),
    "nine_year": SchoolKind("九年一贯制学校", "21", ("primary", "junior")),
    "junior": SchoolKind("初级中学", "31", ("junior",)),
    "senior": SchoolKind("高级中学", "34", ("senior",), city_level_name=True),
    "complete": SchoolKind("完全中学", "34", ("junior", "senior"), city_level_name=True),
    "vocational": SchoolKind("职业技术学校", "36", ("vocational",), named=False),
    "specialised": SchoolKind("中等专业学校", "36", ("vocational",), named=False),
    "special": SchoolKind("特殊教育学校", "51", ("special",), named=False),
}

# Schools of each kind in every district; kindergartens and primary schools get 0–2 more at random (21–25 a district).
DISTRICT_MIX = [
    ("nine_year", 2),
    ("complete", 1),
    ("senior", 1),
    ("junior", 3),
    ("primary", 7),
    ("kindergarten", 5),
    ("vocational", 1),
    ("special", 1),
]

# Invented name words (places, plants, virtues). Combined with a stage suffix and the fictional district.
NAME_WORDS = (
    "梧桐 青松 明德 启航 星河 翠竹 丹桂 银杏 玉兰 海棠 晨曦 朝阳 彩虹 春晖 秋实 博雅 致远 弘毅 "
    "笃行 崇文 尚德 育英 求真 向阳 金桥 云帆 鹿鸣 白鹭 凤栖 龙泉 清泉 碧波 翠湖 柳岸 荷塘 枫林 "
    "杏坛 书香 墨池 兰亭 知行 思源 睿思 敏学 立人 树人 和美 嘉禾 新苗 春蕾 蓝天 长风 远航 青藤 "
    "紫荆 石榴 芳草 望江 临川 月湾 松涛 竹溪 桃源 杉园 云杉 晴川 锦绣 明远 启明 星光 麦穗 稻香 "
    "栖霞 凌云 虹桥 沐阳 瑞雪 晓园"
).split()
ROAD_WORDS = (
    "梧桐 文昌 兴学 育才 新华 和平 振兴 光明 长青 翠屏 迎宾 滨湖 环湖 东风 西岭 南浦 北辰 中和 清溪 白沙 "
    "金穗 银河 彩云 玉带 春江 秋水 晨光 望月 观澜 听涛"
).split()
SURNAMES = (
    "王 李 张 刘 陈 杨 赵 黄 周 吴 徐 孙 胡 朱 高 林 何 郭 马 罗 梁 宋 郑 谢 韩 唐 冯 于 董 萧 程 曹 袁 邓 许 傅 沈 "
    "曾 彭 吕 苏 卢 蒋 蔡 贾 丁 魏 薛 叶 阎 余 潘 杜 戴 夏 钟 汪 田 任 姜 范 方 石 姚 谭 廖 邹 熊 金 陆 郝 孔 白 崔"
).split()
GIVEN_CHARS = (
    "伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀 霞 平 刚 桂 华 建 国 文 辉 玲 红 英 海 晨 阳 宇 "
    "佳 欣 怡 婷 浩 然 子 轩 思 雨 博 睿 泽 梓 一 诺 嘉 悦 晓 光 志 远 春 秋 书 卓 凯 琳 瑶 雪 松 柏 林 岚"
).split()

POSITIONS = {
    # unit kind -> role -> position
    "bureau": {
        "head": "局长",
        "leader": "副局长",
        "cio": "总工程师",
        "security_officer": "网络安全与信息化科科长",
        "netadmin": "网络管理员",
    },
    "school": {
        "head": "校长",
        "leader": "副校长",
        "cio": "信息中心主任",
        "security_officer": "网络安全管理员",
        "netadmin": "信息技术教师",
    },
    "kindergarten": {
        "head": "园长",
        "leader": "副园长",
        "cio": "信息化负责人",
        "security_officer": "网络安全管理员",
        "netadmin": "保教信息员",
    },
}


# ---- the plan (pure data) -------------------------------------------------------------------------------------------


@dataclass
class PersonPlan:
    name: str
    phone: str
    email: str
    position: str
    roles: list = field(default_factory=list)  # [(accountable role, netadmin mode or "")]
    appointed_on: datetime.date | None = None


@dataclass
class UnitPlan:
    code: str
    name: str
    short_name: str
    unit_type: str
    parent_code: str = ""
    division_code: str = ""
    school_code: str = ""
    stages: list = field(default_factory=list)
    address: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    people: list = field(default_factory=list)


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    unit_code: str
    full_name: str = ""
    person_role: str = ""  # link the account to the unit's holder of this accountable role


@dataclass
class Region:
    units: list
    accounts: list
    demo_school_code: str


class _Names:
    """Deterministic, unique Chinese personal names and placeholder numbers."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()
        self.phone_seq = 0

    def person(self) -> str:
        while True:
            given = "".join(self.rng.sample(GIVEN_CHARS, self.rng.choice((1, 2, 2))))
            name = self.rng.choice(SURNAMES) + given
            if name not in self.used:
                self.used.add(name)
                return name

    def mobile(self) -> str:
        # 139-0000-xxxx style placeholders: obviously fictional and unique.
        self.phone_seq += 1
        return f"13{9 - self.phone_seq // 10000}0000{self.phone_seq % 10000:04d}"

    def office(self) -> str:
        return f"{PHONE_AREA}-8{self.rng.randint(0, 9999999):07d}"

    def address(self, district: str) -> str:
        return f"{CITY_NAME}{district}{self.rng.choice(ROAD_WORDS)}路{self.rng.randint(1, 399)}号"

    def appointed(self) -> datetime.date:
        return datetime.date(2019, 1, 1) + datetime.timedelta(days=self.rng.randint(0, 6 * 365))


def _email(role: str, unit_code: str, domain: str, n: int = 0) -> str:
    local = role.replace("_", "-") + (str(n) if n else "")
    return f"{local}.{unit_code.lower()}@{domain}"


def _people_for(
    unit: UnitPlan,
    kind: str,
    names: _Names,
    rng: random.Random,
    *,
    missing=(),
    head_title: str | None = None,
    netadmins: int = 1,
    netadmin_mode: str = "part_time",
) -> list:
    """The unit's accountable people, leaving the roles in ``missing`` unfilled."""
    positions = dict(POSITIONS[kind])
    if head_title:
        positions["head"] = head_title
        positions["leader"] = "副" + head_title
    domain = SCHOOL_DOMAIN if unit.unit_type == "school" else BUREAU_DOMAIN
    people = []

    def add(role, position, mode="", n=0):
        person = PersonPlan(
            names.person(),
            names.mobile(),
            _email(role, unit.code, domain, n),
            position,
            [(role, mode)],
            names.appointed(),
        )
        people.append(person)
        return person

    if "head" not in missing:
        add("head", positions["head"])
    leader = add("leader", positions["leader"]) if "leader" not in missing else None
    if "cio" not in missing:
        if leader is not None and rng.random() < 0.5:
            # Often the leader in charge is also the CIO.
            leader.roles.append(("cio", ""))
            leader.position += "（兼首席信息官）"
        else:
            add("cio", positions["cio"])
    if "security_officer" not in missing:
        add("security_officer", positions["security_officer"])
    if "netadmin" not in missing:
        for n in range(netadmins):
            mode = netadmin_mode if n == 0 else "part_time"
            position = "网络管理员" if mode == "full_time" else positions["netadmin"]
            add("netadmin", position, mode, n + 1 if netadmins > 1 else 0)
    return people


def _contact(unit: UnitPlan, names: _Names):
    by_role = {role: p for p in unit.people for role, _mode in p.roles}
    contact = by_role.get("security_officer") or by_role.get("cio") or by_role.get("head")
    unit.contact_name = contact.name if contact else ""
    unit.contact_phone = names.office()


def build_region(seed: int = SEED) -> Region:
    """The whole demo region as plain data, the same for the same seed."""
    rng = random.Random(seed)
    names = _Names(rng)
    units: list[UnitPlan] = []

    city = UnitPlan(
        CITY_CODE,
        f"{CITY_NAME}教育局",
        "市教育局",
        "city",
        division_code=CITY_CODE,
        address=f"{CITY_NAME}中洲区市府大道1号",
    )
    city.people = _people_for(city, "bureau", names, rng, netadmin_mode="full_time", netadmins=2)
    _contact(city, names)
    units.append(city)

    used_words: dict[str, set[str]] = {}
    demo_school_code = ""
    for division, district, _prefix in DISTRICTS:
        bureau = UnitPlan(
            division,
            f"{CITY_NAME}{district}教育局",
            f"{district}教育局",
            "district",
            parent_code=CITY_CODE,
            division_code=division,
            address=names.address(district),
        )
        missing = ("security_officer",) if division == DISTRICT_WITHOUT_SECURITY_OFFICER else ()
        bureau.people = _people_for(bureau, "bureau", names, rng, missing=missing, netadmin_mode="full_time")
        _contact(bureau, names)
        units.append(bureau)

        vocational_kind = "vocational" if int(division[-1]) % 2 else "specialised"
        sequence = 0
        for kind_key, base in DISTRICT_MIX:
            if kind_key == "vocational":
                kind_key = vocational_kind
            count = base + (rng.randint(0, 2) if kind_key in ("kindergarten", "primary") else 0)
            kind = SCHOOL_KINDS[kind_key]
            for _i in range(count):
                sequence += 1
                school_code = f"{kind.type_code}{PROVINCE}99{division[4:]}{sequence:02d}"
                if kind.named:
                    taken = used_words.setdefault(kind.suffix, set())
                    word = rng.choice([w for w in NAME_WORDS if w not in taken])
                    taken.add(word)
                    place = "" if kind.city_level_name else district
                    name, short = f"{CITY_NAME}{place}{word}{kind.suffix}", f"{word}{kind.suffix}"
                else:
                    name, short = f"{CITY_NAME}{district}{kind.suffix}", f"{district}{kind.suffix}"
                school = UnitPlan(
                    school_code,
                    name,
                    short,
                    "school",
                    parent_code=division,
                    school_code=school_code,
                    stages=list(kind.stages),
                    address=names.address(district),
                )
                is_demo_school = not demo_school_code and kind_key == "nine_year"
                if is_demo_school:
                    demo_school_code = school_code
                missing = ()
                if not is_demo_school and rng.random() < 0.15:
                    # Deliberate gaps: the dashboards must have something to point at.
                    roles = ["cio", "netadmin", "security_officer", "leader"]
                    missing = tuple(rng.sample(roles, rng.choice((1, 1, 2))))
                large = kind_key in ("senior", "complete", "vocational", "specialised", "nine_year")
                school.people = _people_for(
                    school,
                    "kindergarten" if kind_key == "kindergarten" else "school",
                    names,
                    rng,
                    missing=missing,
                    netadmins=2 if large and rng.random() < 0.5 else 1,
                    netadmin_mode="full_time" if large else "part_time",
                )
                _contact(school, names)
                units.append(school)

    for code, name, short, head_title in AFFILIATED:
        unit = UnitPlan(code, name, short, "affiliated", parent_code=CITY_CODE, address=names.address("中洲区"))
        unit.people = _people_for(unit, "bureau", names, rng, head_title=head_title, netadmin_mode="full_time")
        _contact(unit, names)
        units.append(unit)

    dh, xs = DISTRICTS[0][0], DISTRICTS[1][0]
    accounts = [
        DemoAccount("city_admin", "bureau_admin", CITY_CODE),
        DemoAccount("city_security", "security_officer", CITY_CODE, person_role="security_officer"),
        DemoAccount("city_auditor", "auditor", CITY_CODE),
        DemoAccount("city_participant", "participant", CITY_CODE),
        DemoAccount("city_contractor", "contractor", IT_CENTRE_CODE),
        DemoAccount("dh_admin", "district_admin", dh),
        DemoAccount("dh_security", "security_officer", dh, person_role="security_officer"),
        DemoAccount("dh_auditor", "auditor", dh),
        DemoAccount("dh_contractor", "contractor", dh),
        DemoAccount("dh_participant", "participant", dh),
        DemoAccount("xs_admin", "district_admin", xs),
        DemoAccount("school_cio", "school_cio", demo_school_code, person_role="cio"),
        DemoAccount("school_netadmin", "school_netadmin", demo_school_code, person_role="netadmin"),
        DemoAccount("school_security", "security_officer", demo_school_code, person_role="security_officer"),
        DemoAccount("school_auditor", "auditor", demo_school_code),
        DemoAccount("school_contractor", "contractor", demo_school_code),
        DemoAccount("school_participant", "participant", demo_school_code),
    ]
    accounts = [
        a if a.person_role else DemoAccount(a.username, a.role, a.unit_code, full_name=names.person()) for a in accounts
    ]
    _check(units)
    return Region(units, accounts, demo_school_code)


def _check(units):
    """Every generated code is valid and unique (a programming error otherwise)."""
    codes = [u.code for u in units]
    assert len(codes) == len(set(codes)), "duplicate demo unit code"
    division_of = {u.code: u.division_code for u in units}
    for u in units:
        if u.division_code:
            assert validators.division_code_error(u.division_code) is None, u.division_code
        if u.school_code:
            assert validators.school_code_error(u.school_code, division_of[u.parent_code]) is None, u.school_code


# ---- loading --------------------------------------------------------------------------------------------------------


def is_loaded() -> bool:
    from .models import Unit

    return Unit.objects.filter(code=CITY_CODE).exists()


def _ensure_role_groups():
    from django.contrib.auth.models import Group

    from core.roles import ROLES, sync_roles

    if Group.objects.filter(name__in=list(ROLES)).count() < len(ROLES):
        sync_roles()
    return {g.name: g for g in Group.objects.filter(name__in=list(ROLES))}


@transaction.atomic
def load(seed: int = SEED) -> dict | None:
    """Create the demo region. Returns the counts, or None when it is already loaded (nothing is changed then)."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.password_validation import validate_password
    from django.utils import timezone

    from core.audit import record
    from core.models import AuditAction, PasswordHistory

    from .models import Accountability, Person, Unit, User

    if is_loaded():
        return None
    region = build_region(seed)

    units: dict[str, Unit] = {}
    for plan in region.units:
        unit = Unit(
            code=plan.code,
            name=plan.name,
            short_name=plan.short_name,
            unit_type=plan.unit_type,
            division_code=plan.division_code,
            school_code=plan.school_code,
            stages=list(plan.stages),
            address=plan.address,
            contact_name=plan.contact_name,
            contact_phone=plan.contact_phone,
        )
        parent = units.get(plan.parent_code)
        unit._parent_for_validation = parent
        unit.full_clean(exclude=["path", "depth", "numchild"])
        units[plan.code] = (
            Unit.objects.add_root(instance=unit) if parent is None else Unit.objects.add_child(parent, instance=unit)
        )

    people, duties = [], []
    holders: dict[tuple[str, str], Person] = {}
    for plan in region.units:
        unit = units[plan.code]
        for p in plan.people:
            person = Person(unit=unit, name=p.name, phone=p.phone, email=p.email, position=p.position)
            person.full_clean(exclude=["unit"], validate_unique=False, validate_constraints=False)
            people.append(person)
            for role, mode in p.roles:
                holders.setdefault((plan.code, role), person)
                duty = Accountability(
                    unit=unit, person=person, role=role, netadmin_mode=mode, appointed_on=p.appointed_on
                )
                duty.full_clean(exclude=["unit", "person"], validate_unique=False, validate_constraints=False)
                duties.append(duty)
    Person.objects.bulk_create(people, batch_size=500)
    for duty in duties:
        duty.person_id = duty.person.pk
    Accountability.objects.bulk_create(duties, batch_size=500)

    # One hash for the shared demo password: PBKDF2 is deliberately slow, and every demo account uses the same one.
    validate_password(DEMO_PASSWORD)
    encoded = make_password(DEMO_PASSWORD)
    groups = _ensure_role_groups()
    now = timezone.now()
    for account in region.accounts:
        unit = units[account.unit_code]
        person = holders.get((account.unit_code, account.person_role)) if account.person_role else None
        user = User(
            username=account.username,
            unit=unit,
            full_name=person.name if person else account.full_name,
            person=person,
            email=f"{account.username.replace('_', '-')}@{BUREAU_DOMAIN}",
            is_demo=True,
            password=encoded,
            password_changed_at=now,
        )
        user.full_clean(exclude=["password", "unit", "person"])
        user.save()
        PasswordHistory.objects.create(user=user, password=encoded)
        user.groups.add(groups[account.role])

    counts = {
        "units": len(units),
        "districts": sum(1 for u in region.units if u.unit_type == "district"),
        "schools": sum(1 for u in region.units if u.unit_type == "school"),
        "affiliated": sum(1 for u in region.units if u.unit_type == "affiliated"),
        "people": len(people),
        "accountabilities": len(duties),
        "accounts": len(region.accounts),
    }
    record(AuditAction.IMPORT, object_repr=f"demo region {CITY_NAME}", unit_path=units[CITY_CODE].path, changes=counts)
    return counts


def demo_accounts() -> list[dict]:
    """Every demo account with its password, role and unit, in the order of the region's account list."""
    from core.roles import ROLES

    from .models import User

    order = {a.username: i for i, a in enumerate(build_region().accounts)}
    users = sorted(
        User.objects.filter(is_demo=True).select_related("unit").prefetch_related("groups"),
        key=lambda u: (order.get(u.username, len(order)), u.username),
    )
    rows = []
    for user in users:
        codes = sorted(g.name for g in user.groups.all())
        rows.append(
            {
                "username": user.username,
                "password": DEMO_PASSWORD,
                "role": ",".join(codes),
                "role_label": "、".join(str(ROLES[c].label) if c in ROLES else c for c in codes),
                "unit_code": user.unit.code if user.unit_id else "",
                "unit_name": user.unit.name if user.unit_id else "",
            }
        )
    return rows
