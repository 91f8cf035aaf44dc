"""The Simplified Chinese catalogue (locale/zh_Hans/LC_MESSAGES/django.po and its compiled django.mo).

All msgids in the code and templates are English; the UI defaults to Simplified Chinese. These tests keep the committed
catalogue complete (every entry translated, none fuzzy), compiled (the .mo matches the .po) and in step with the code
(every string that makemessages finds is translated), and check that the language negotiation works end to end.

To update the catalogue after adding strings:

    EDUSEC_DATA_DIR=$(mktemp -d) .venv/bin/python -m django makemessages -l zh_Hans --settings=edusec.settings \\
        -e html,txt,py -i ".venv/*" -i "var/*" -i "tests/*" --no-location
    # translate the new entries (and clear any "#, fuzzy" flag after checking the suggestion), then
    .venv/bin/python -m django compilemessages -l zh_Hans -i .venv
"""

import ast
import gettext as stdlib_gettext
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.utils import translation

LOCALE_DIR = Path(settings.BASE_DIR) / "locale"
PO_PATH = LOCALE_DIR / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO_PATH = PO_PATH.with_suffix(".mo")

# Same options as the update command in the module docstring.
MAKEMESSAGES_ARGS = [
    "makemessages",
    "-l",
    "zh_Hans",
    "--settings=edusec.settings",
    "-e",
    "html,txt,py",
    "-i",
    ".venv/*",
    "-i",
    "var/*",
    "-i",
    "tests/*",
    "--no-location",
]


# ---- a tiny .po parser ----------------------------------------------------------------------------------------------


class Entry:
    def __init__(self):
        self.flags: set[str] = set()
        self.msgctxt: str | None = None
        self.msgid: str | None = None
        self.msgid_plural: str | None = None
        self.msgstr: dict[int, str] = {}
        self.line = 0

    def __repr__(self):
        return f"<entry line {self.line}: {self.msgid!r}>"


def _unquote(text: str) -> str:
    # A PO string is a C string literal; Python's literal syntax covers the escapes gettext writes.
    return ast.literal_eval(text)


def parse_po(path: Path) -> list[Entry]:
    """Entries of a .po file, header included (msgid ""), obsolete ("#~") entries left out."""
    entries: list[Entry] = []
    current: Entry | None = None
    field: tuple[str, int] | None = None

    def finish():
        nonlocal current, field
        if current is not None and current.msgid is not None:
            entries.append(current)
        current, field = None, None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#~"):
            finish()
            continue
        if current is None:
            current = Entry()
            current.line = number
        if line.startswith("#,"):
            current.flags.update(f.strip() for f in line[2:].split(",") if f.strip())
            continue
        if line.startswith("#"):
            continue
        match = re.fullmatch(r"(msgctxt|msgid_plural|msgid|msgstr)(?:\[(\d+)\])?\s+(\".*\")", line)
        if match:
            keyword, index, value = match.groups()
            if keyword == "msgid" and current.msgid is not None:  # no blank line between two entries
                finish()
                current = Entry()
                current.line = number
            if keyword == "msgstr":
                field = ("msgstr", int(index or 0))
                current.msgstr[field[1]] = _unquote(value)
            else:
                field = (keyword, 0)
                setattr(current, keyword, _unquote(value))
            continue
        assert line.startswith('"') and field is not None, f"{path}:{number}: cannot parse {raw!r}"
        if field[0] == "msgstr":
            current.msgstr[field[1]] += _unquote(line)
        else:
            setattr(current, field[0], getattr(current, field[0]) + _unquote(line))
    finish()
    return entries


def messages(entries: list[Entry]) -> list[Entry]:
    """The entries without the header."""
    return [e for e in entries if e.msgid != "" or e.msgctxt is not None]


@pytest.fixture(scope="module")
def catalogue() -> list[Entry]:
    assert PO_PATH.exists(), f"{PO_PATH} is missing"
    return parse_po(PO_PATH)


# ---- (a) every entry is translated, nothing is fuzzy ----------------------------------------------------------------


def test_catalogue_has_entries(catalogue):
    assert len(messages(catalogue)) > 100


def test_header(catalogue):
    header = [e for e in catalogue if e.msgid == "" and e.msgctxt is None]
    assert len(header) == 1, "the .po needs exactly one header entry"
    assert "fuzzy" not in header[0].flags, "the header is marked fuzzy: msgfmt would drop it (and its charset)"
    text = header[0].msgstr.get(0, "")
    assert "charset=UTF-8" in text
    assert re.search(r"nplurals\s*=\s*1\s*;", text), "Chinese has one plural form"


def test_no_fuzzy_or_untranslated_entry(catalogue):
    fuzzy = [e for e in messages(catalogue) if "fuzzy" in e.flags]
    assert not fuzzy, f"fuzzy entries (check the translation, then remove the flag): {fuzzy}"
    untranslated = [e for e in messages(catalogue) if not e.msgstr or not all(e.msgstr.values())]
    assert not untranslated, f"untranslated entries: {untranslated}"


def test_no_duplicate_msgid(catalogue):
    seen = set()
    duplicates = []
    for e in messages(catalogue):
        key = (e.msgctxt, e.msgid)
        if key in seen:
            duplicates.append(e)
        seen.add(key)
    assert not duplicates


def test_plural_entries_have_one_form(catalogue):
    plural = [e for e in messages(catalogue) if e.msgid_plural is not None]
    wrong = [e for e in plural if sorted(e.msgstr) != [0]]
    assert not wrong, f"Chinese has one plural form: only msgstr[0] (nplurals=1): {wrong}"
    singular_with_index = [e for e in messages(catalogue) if e.msgid_plural is None and sorted(e.msgstr) != [0]]
    assert not singular_with_index


NAMED = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[sdifr]")
POSITIONAL = re.compile(r"%[-#0 +]*\d*(?:\.\d+)?[sdifr]")


def _positional(text: str) -> list[str]:
    return POSITIONAL.findall(NAMED.sub("", text.replace("%%", "")))


def test_placeholders_kept(catalogue):
    """A translation keeps every %(name)s of its msgid (and of msgid_plural), and the same %s/%d in the same order."""
    problems = []
    for e in messages(catalogue):
        if "python-format" not in e.flags:
            continue
        source_named = set(NAMED.findall(e.msgid)) | set(NAMED.findall(e.msgid_plural or ""))
        required = set(NAMED.findall(e.msgid_plural if e.msgid_plural is not None else e.msgid))
        for text in e.msgstr.values():
            named = set(NAMED.findall(text))
            if not required <= named or not named <= source_named:
                problems.append((e.msgid, text))
            if _positional(text) != _positional(e.msgid):
                problems.append((e.msgid, text))
    assert not problems, f"placeholders differ between msgid and msgstr: {problems}"


# ---- (b) the compiled .mo matches the .po ---------------------------------------------------------------------------


def test_mo_matches_po(catalogue):
    """Read the .mo with the standard library: exactly the .po's messages, with the .po's translations."""
    assert MO_PATH.exists(), "django.mo is missing: run compilemessages and commit the .mo"
    with MO_PATH.open("rb") as fh:
        compiled = stdlib_gettext.GNUTranslations(fh)
    for e in messages(catalogue):
        context = e.msgctxt
        if e.msgid_plural is None:
            got = compiled.pgettext(context, e.msgid) if context is not None else compiled.gettext(e.msgid)
            assert got == e.msgstr[0], f"{e}: the .mo says {got!r}; run compilemessages"
        else:
            for n in (1, 2, 5):
                if context is not None:
                    got = compiled.npgettext(context, e.msgid, e.msgid_plural, n)
                else:
                    got = compiled.ngettext(e.msgid, e.msgid_plural, n)
                assert got == e.msgstr[0], f"{e}: the .mo says {got!r} for n={n}; run compilemessages"
    # Also nothing in the .mo that the .po no longer has (a stale .mo after entries were removed).
    po_ids = {e.msgid if e.msgctxt is None else f"{e.msgctxt}\x04{e.msgid}" for e in messages(catalogue)}
    mo_ids = {key[0] if isinstance(key, tuple) else key for key in compiled._catalog if key not in ("",)}
    mo_ids.discard("")
    assert mo_ids == po_ids, "the .mo and the .po hold different messages; run compilemessages"


def test_django_serves_the_catalogue(catalogue):
    """Through Django's own machinery (LOCALE_PATHS first): every singular message gives the .po's translation."""
    with translation.override("zh-hans"):
        for e in messages(catalogue):
            if e.msgid_plural is None and e.msgctxt is None:
                assert translation.gettext(e.msgid) == e.msgstr[0], e
            elif e.msgctxt is None:
                assert translation.ngettext(e.msgid, e.msgid_plural, 3) == e.msgstr[0], e
    with translation.override("en"):
        for e in messages(catalogue):
            if e.msgid_plural is None and e.msgctxt is None and e.msgid != e.msgstr[0]:
                # English is the source language: no English catalogue may turn a msgid into the Chinese text.
                assert translation.gettext(e.msgid) != e.msgstr[0], e


# ---- (c) the catalogue covers every string in the code --------------------------------------------------------------


def _project_dirs(base: Path) -> set[str]:
    """Top-level folders of the tree that hold translatable strings: the settings package, the catalogue, every
    installed app that lives in this project (core, orgs, and whatever apps are added later) and template folders."""
    names = {"edusec", "locale"}
    folders = [Path(config.path) for config in apps.get_app_configs()]
    folders += [Path(d) for engine in settings.TEMPLATES for d in engine.get("DIRS", [])]
    for folder in folders:
        folder = folder.resolve()
        if folder.is_relative_to(base) and folder != base:
            names.add(folder.relative_to(base).parts[0])
    return {name for name in names if (base / name).is_dir() and name not in {".venv", "var", "tests"}}


def test_catalogue_complete_for_the_code(catalogue, tmp_path):
    """makemessages on a copy of the tree finds no msgid that the committed catalogue lacks or leaves empty."""
    if shutil.which("xgettext") is None or shutil.which("msgmerge") is None:
        if os.environ.get("CI"):
            pytest.fail("GNU gettext (xgettext) is not installed: apt-get install gettext")
        pytest.skip("GNU gettext (xgettext) is not installed; apt-get install gettext")

    base = Path(settings.BASE_DIR)
    tree = tmp_path / "tree"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo")
    for name in sorted(_project_dirs(base)):
        shutil.copytree(base / name, tree / name, ignore=ignore)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    env = {**os.environ, "PYTHONPATH": str(tree), "EDUSEC_DATA_DIR": str(data_dir)}
    result = subprocess.run(
        [sys.executable, "-m", "django", *MAKEMESSAGES_ARGS],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"makemessages failed:\n{result.stdout}\n{result.stderr}"

    extracted = parse_po(tree / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po")
    found = {(e.msgctxt, e.msgid) for e in messages(extracted)}
    assert found, "makemessages found no string at all"
    translated = {
        (e.msgctxt, e.msgid)
        for e in messages(catalogue)
        if e.msgstr and all(e.msgstr.values()) and "fuzzy" not in e.flags
    }
    missing = sorted(msgid for _, msgid in found - translated)
    assert not missing, (
        f"{len(missing)} string(s) in the code are not translated in {PO_PATH.relative_to(base)} "
        f"(run makemessages, translate, compilemessages): {missing}"
    )


# ---- (d) language negotiation ---------------------------------------------------------------------------------------


def _translation(catalogue, msgid):
    return next(e.msgstr[0] for e in messages(catalogue) if e.msgid == msgid and e.msgid_plural is None)


@pytest.mark.django_db
def test_login_page_default_is_chinese(client, catalogue):
    chinese = _translation(catalogue, "Sign in to your account")
    response = client.get("/login/")
    assert response.status_code == 200
    body = response.content.decode()
    assert chinese in body
    assert "Sign in to your account" not in body
    assert '<html lang="zh-hans">' in body


@pytest.mark.django_db
def test_login_page_in_english(client, catalogue):
    chinese = _translation(catalogue, "Sign in to your account")
    response = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Sign in to your account" in body
    assert chinese not in body
    assert '<html lang="en">' in body


@pytest.mark.django_db
def test_login_page_follows_browser_chinese(client, catalogue):
    response = client.get("/login/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9,en;q=0.8")
    assert response.status_code == 200
    assert _translation(catalogue, "Sign in to your account") in response.content.decode()


def test_required_wording(catalogue):
    """Terms fixed with the education authorities (the browser tests also look for some of them)."""
    expected = {
        "Active": "正常",
        "School": "学校",
        "Primary": "小学",
        "name": "名称",
        "Parent unit": "上级单位",
        "unit type": "单位类型",
        "school identification code": "学校标识码",
        "school stages": "学段",
        "status": "状态",
        "Create": "创建",
        "Update": "修改",
        "Delete": "删除",
        "Import": "导入",
        "Export": "导出",
        "Login": "登录",
        "Logout": "登出",
        "Failed login": "登录失败",
        "unit": "单位",
        "unit code": "单位编码",
        "division code": "行政区划代码",
        "City bureau": "市级教育局",
        "District/county bureau": "区县教育局",
        "Directly-affiliated unit": "直属单位",
        "Head (一把手)": "一把手",
        "Leader in charge (分管领导)": "分管领导",
        "CIO (首席信息官)": "首席信息官（CIO）",
        "Security officer (网络安全管理员)": "网络安全管理员",
        "Network administrator (网管员)": "网管员",
        "Bureau administrator": "局系统管理员",
        "District administrator": "区县系统管理员",
        "Security officer": "安全管理员",
        "School CIO": "学校CIO",
        "School network administrator": "学校网管员",
        "Contractor": "运维/承建单位",
        "Auditor": "安全审计员",
        "Participant": "参与人员",
        "Audit log": "审计日志",
        "Units and people": "单位与人员",
        "units": "单位",
        "people": "人员",
        "People": "人员",
        "person": "人员",
        "accountable roles": "责任人",
        "users": "用户账号",
        "Kindergarten": "幼儿园",
        "Junior secondary": "初中",
        "Senior secondary": "高中",
        "Secondary vocational": "中职",
        "Special education": "特殊教育",
        "Higher education": "高等教育",
        "Provincial bureau": "省级教育厅",
        "Other": "其他",
        "Suspended": "暂停",
        "Closed or merged": "撤销/合并",
        "mobile phone": "手机号码",
        "Yes": "是",
        "No": "否",
    }
    by_id = {e.msgid: e.msgstr.get(0) for e in messages(catalogue) if e.msgctxt is None and e.msgid_plural is None}
    wrong = {k: (by_id[k], v) for k, v in expected.items() if k in by_id and by_id[k] != v}
    assert not wrong, f"(actual, expected): {wrong}"
    with translation.override("zh-hans"):
        # Strings the code no longer uses may be gone from the catalogue; those still in it must be served as above.
        served = {k: translation.gettext(k) for k in expected if k in by_id}
    assert served == {k: v for k, v in expected.items() if k in by_id}
