"""Unit tests of the content analysers: each rule's minimal positive case and its benign twin."""

import json

import pytest

from monitoring.analysis import KeywordLibrary, analyse_page, compare, compare_variants, make_baseline
from monitoring.analysis.page import decode_html
from monitoring.analysis.personal_info import id_check_character, is_valid_id, mask_id, mask_mobile, mask_text
from monitoring.analysis.registration import find_registration
from monitoring.vocabulary import (
    CLOAKING,
    DEFACEMENT,
    HARMFUL_KEYWORDS,
    HIDDEN_LINKS,
    MALICIOUS_SCRIPT,
    MISSING_REGISTRATION,
    PERSONAL_INFO,
    STALE_SITE,
)

URL = "https://www.school.example/index.html"
FOOTER = "<p>浙ICP备12345678号-1 浙公网安备 33010602000001号</p>"
VALID_ID = "11010519491231002X"  # the textbook example of GB 11643
SPAM = '<a href="http://www.bet365-vip.example/">官方网站</a><a href="http://amxpj888.test/">最新地址</a>'
SAME_SITE = '<a href="/news/1.html">学校新闻</a><a href="https://jw.school.example/">教务系统</a>'


def page(body: str, head: str = "", title: str = "某某市第一中学") -> str:
    return f"<html><head><meta charset='utf-8'><title>{title}</title>{head}</head><body>{body}{FOOTER}</body></html>"


def analyse(html: str, **kwargs):
    return analyse_page(html, url=URL, site_domains=["school.example"], **kwargs)


def detection(html: str, kind: str, **kwargs):
    return analyse(html, **kwargs).get(kind)


def make_id(first17: str) -> str:
    return first17 + id_check_character(first17)


# --- Personal information ---------------------------------------------------------------------------------------


def test_id_checksum():
    assert is_valid_id(VALID_ID)
    assert is_valid_id(VALID_ID.lower())
    assert not is_valid_id("110105194912310021")  # wrong check character
    assert not is_valid_id(make_id("11010519490230002"))  # 30 February, correct check character
    assert not is_valid_id(make_id("11010521990101002"))  # born in the future
    assert not is_valid_id(make_id("91010520100101002"))  # no region starts with 9
    assert is_valid_id(make_id("32010220100101123"))


def test_masking():
    assert mask_id("320102201001011234") == "3201**********1234"
    assert mask_mobile("13812345678") == "138****5678"
    assert mask_mobile("138-1234-5678") == "138****5678"
    masked = mask_text(f"身份证{VALID_ID}，手机13812345678，座机0571-88881234")
    assert VALID_ID not in masked and "13812345678" not in masked
    assert "0571-88881234" in masked


def test_personal_info_thresholds():
    one = page("<p>联系人：王老师 13812345678</p>")
    assert detection(one, PERSONAL_INFO) is None
    three = page("".join(f"<p>老师{i}：1381234567{i}</p>" for i in range(3)))
    assert detection(three, PERSONAL_INFO).severity == "low"
    many = page("".join(f"<p>家长{i}：139{i:08d}</p>" for i in range(10)))
    assert detection(many, PERSONAL_INFO).severity == "medium"
    single_id = detection(page(f"<p>张三 {VALID_ID}</p>"), PERSONAL_INFO)
    assert single_id.severity == "high" and single_id.evidence["id_numbers"] == ["1101**********002X"]
    ids = "".join(f"<p>{make_id(f'32010220100101{i:03d}')}</p>" for i in range(10))
    assert detection(page(ids), PERSONAL_INFO).severity == "critical"


def test_personal_info_rejects_look_alikes():
    html = page("<p>订单号 110105194912310021，证书 320102202313450012，座机 0571-88881234，编号 213812345678</p>")
    assert detection(html, PERSONAL_INFO) is None


def test_student_list_and_staff_directory():
    rows = "".join(f"<tr><td>学生{i}</td><td>G32010220100{i:05d}</td><td>家长{i}</td></tr>" for i in range(5))
    students = page(f"<table><tr><th>姓名</th><th>学籍号</th><th>家长姓名</th></tr>{rows}</table>")
    found = detection(students, PERSONAL_INFO)
    assert found.severity == "high" and found.evidence["tables"][0]["rows"] == 5
    staff_rows = "".join(f"<tr><td>老师{i}</td><td>主任</td><td>0571-8888123{i}</td></tr>" for i in range(5))
    staff = page(f"<table><tr><th>姓名</th><th>职务</th><th>办公电话</th></tr>{staff_rows}</table>")
    assert detection(staff, PERSONAL_INFO) is None
    masked_rows = "".join(f"<tr><td>张*</td><td>3201**********123{i}</td></tr>" for i in range(5))
    assert (
        detection(page(f"<table><tr><th>姓名</th><th>身份证号</th></tr>{masked_rows}</table>"), PERSONAL_INFO) is None
    )


def test_raw_numbers_never_in_evidence():
    mobile = "13912345678"
    body = (
        f'<div style="display:none">{SPAM}<span>{VALID_ID} 百家乐 {mobile}</span></div>'
        f"<p>澳门新葡京 联系 {mobile} 身份证 {VALID_ID}</p>"
        "".join(f"<p>家长：1370000000{i}</p>" for i in range(3))
    )
    analysis = analyse(page(body, title=f"百家乐 {mobile}"))
    assert {HIDDEN_LINKS, HARMFUL_KEYWORDS, PERSONAL_INFO, DEFACEMENT} <= analysis.kinds
    serialised = json.dumps([d.as_dict() for d in analysis.detections], ensure_ascii=False)
    assert VALID_ID not in serialised and VALID_ID[:14] not in serialised
    assert mobile not in serialised and "1370000000" not in serialised


# --- Keywords -----------------------------------------------------------------------------------------------------


def test_keyword_whitelist_covers_contained_words():
    library = KeywordLibrary.from_entries([("drugs_weapons", "毒"), ("fraud", "诈骗")], whitelist=["禁毒", "反诈骗"])
    assert [m.word for m in library.scan("禁毒宣传月 反诈骗讲座")] == []
    assert [(m.word, m.start) for m in library.scan("禁毒 有毒 反诈骗 诈骗")] == [("毒", 4), ("诈骗", 10)]


def test_keyword_longest_match_and_ascii_boundaries():
    library = KeywordLibrary.from_entries([("gambling", "赌场"), ("gambling", "澳门赌场"), ("pornography", "a片")])
    assert [m.word for m in library.scan("澳门赌场")] == ["澳门赌场"]
    assert [m.word for m in library.scan("java片段")] == []
    assert [m.word for m in library.scan("看Ａ片")] == ["a片"]  # full-width letters are folded
    assert KeywordLibrary.from_entries([("unknown", "词")]).words == {"词": "other"}


def test_default_library_education_articles_are_quiet():
    library = KeywordLibrary.default()
    text = "6·26国际禁毒日，民警介绍了冰毒、海洛因的危害；反诈骗讲座讲解了刷单返利诈骗；打击跨境赌博，远离网赌。"
    assert library.scan(text) == []
    assert {m.category for m in library.scan("澳门新葡京 传奇私服 出售枪支 代办信用卡")} == {
        "gambling",
        "private_server",
        "drugs_weapons",
        "fraud",
    }


def test_keyword_detection_offsets_point_at_source():
    html = page("<p>欢迎光临</p><p>最新百家乐平台</p>", head='<meta name="keywords" content="学校,六合彩">')
    found = detection(html, HARMFUL_KEYWORDS)
    assert found.severity == "high"
    for entry in found.evidence["keywords"]:
        assert html[entry["offset"] : entry["offset"] + entry["length"]] == entry["word"]
    assert {entry["field"] for entry in found.evidence["keywords"]} == {"text", "meta"}


# --- Hidden links -------------------------------------------------------------------------------------------------

# technique: (hidden wrapper around the links, extra head markup); {links} is replaced by the links.
HIDING = {
    "css_display_none": ('<div style="display:none">{links}</div>', ""),
    "css_visibility_hidden": ('<div class="v">{links}</div>', "<style>.v{visibility:hidden}</style>"),
    "css_opacity_zero": ('<div style="opacity:0">{links}</div>', ""),
    "css_zero_size": ('<div style="height:0;overflow:hidden">{links}</div>', ""),
    "css_font_size_zero": ('<p id="f">{links}</p>', "<style>#f{font-size:0}</style>"),
    "css_same_colour": ('<div style="background:#000"><span style="color:#010101">{links}</span></div>', ""),
    "css_text_indent": ('<div style="text-indent:-9999px">{links}</div>', ""),
    "css_clip": ('<div style="position:absolute;clip:rect(1px,1px,1px,1px)">{links}</div>', ""),
    "offscreen_position": ('<div style="position:absolute;top:-2000px">{links}</div>', ""),
    "negative_margin": ('<div style="margin:0 0 0 -3000px">{links}</div>', ""),
    "marquee_tiny": ('<marquee width="3" height="3">{links}</marquee>', ""),
    "js_write_hidden": ("<script>document.write('<div style=\"display:none\">{links}</div>')</script>", ""),
    "js_hide_after_load": (
        "<div id='x'>{links}</div><script>document.getElementById('x').style.display='none'</script>",
        "",
    ),
    "noscript_links": ("<noscript>{links}</noscript>", ""),
    "comment_links": ("<!-- {links} -->", ""),
    "data_attribute_links": ("<div data-html='{links}'></div>", ""),
    "zero_size_iframe": ('<iframe src="{first}" width="0" height="0"></iframe>', ""),
}


def hidden_page(technique: str, links: str) -> str:
    wrapper, head = HIDING[technique]
    first = links.split('"')[1]
    return page("<p>正文</p>" + wrapper.replace("{links}", links).replace("{first}", first), head=head)


@pytest.mark.parametrize("technique", sorted(HIDING))
def test_hidden_link_technique_positive(technique):
    found = detection(hidden_page(technique, SPAM), HIDDEN_LINKS)
    assert found is not None, technique
    assert technique in found.evidence["techniques"]
    assert found.severity == "high"  # spam host names


@pytest.mark.parametrize("technique", sorted(HIDING))
def test_hidden_link_technique_benign_twin(technique):
    same_site = SAME_SITE.replace("/news/1.html", "https://www.school.example/news/1.html")
    assert detection(hidden_page(technique, same_site), HIDDEN_LINKS) is None


def test_hidden_links_payload_rules():
    one_plain = '<div style="display:none"><a href="https://partner.example/">合作单位</a></div>'
    assert detection(page(one_plain), HIDDEN_LINKS) is None
    two_plain = '<div style="display:none"><a href="https://a.example/">甲</a><a href="https://b.test/">乙</a></div>'
    assert detection(page(two_plain), HIDDEN_LINKS).severity == "medium"
    one_spam_word = '<div style="display:none"><a href="https://partner.example/">百家乐</a></div>'
    assert detection(page(one_spam_word), HIDDEN_LINKS).severity == "high"
    trusted = '<div style="display:none"><a href="http://www.moe.gov.cn/">教育部</a><a href="https://www.xuexi.cn/">学习强国</a></div>'
    assert detection(page(trusted), HIDDEN_LINKS) is None
    hidden_attribute = f"<section hidden>{SPAM}</section>"
    assert "css_display_none" in detection(page(hidden_attribute), HIDDEN_LINKS).evidence["techniques"]
    spam_text_only = '<div style="display:none">澳门新葡京 百家乐 真人荷官</div>'
    assert detection(page(spam_text_only), HIDDEN_LINKS) is not None


def test_hidden_links_mobile_media_query_and_hover_menu():
    head = (
        "<style>@media (max-width:768px){.pc{display:none}}"
        " .menu ul{display:none} .menu li:hover ul{display:block}</style>"
    )
    body = f'<div class="pc">{SPAM}</div><ul class="menu"><li>栏目<ul>{SAME_SITE}</ul></li></ul>'
    assert detection(page(body, head=head), HIDDEN_LINKS) is None


def test_bare_domains():
    spam = page("<p>澳门新葡京 www.amxpj888.example 百家乐</p>")
    assert detection(spam, HIDDEN_LINKS).technique == "bare_domain_text"
    many = page("<p>www.a-shop.example b-shop.test c-shop.example</p>")
    assert detection(many, HIDDEN_LINKS).technique == "bare_domain_text"
    benign = page(
        "<p>网址 www.school.example 邮箱 office@other.example 技术支持 www.soft.example 推荐 www.moe.gov.cn</p>"
    )
    assert detection(benign, HIDDEN_LINKS) is None


def test_js_write_open_wrapper_around_plain_links():
    opening = "<script>document.write('<div style=\"display:none\">');</script>"
    body = f"{opening}{SPAM}<script>document.write('</div>');</script>"
    found = detection(page(body), HIDDEN_LINKS)
    assert found.technique == "js_write_hidden"


def test_hidden_link_offsets_point_at_hrefs():
    html = hidden_page("css_display_none", SPAM)
    found = detection(html, HIDDEN_LINKS)
    hrefs = {html[m["offset"] : m["offset"] + m["length"]] for m in found.evidence["matches"]}
    assert hrefs == {"http://www.bet365-vip.example/", "http://amxpj888.test/"}
    assert "display:none" in found.evidence["blocks"][0]["excerpt"]


# --- Malicious scripts --------------------------------------------------------------------------------------------


def test_known_scripts_are_quiet():
    head = (
        '<script src="https://cdn.bootcdn.net/ajax/libs/jquery/3.6.0/jquery.min.js"></script>'
        '<script src="/js/site.js"></script><script src="https://static.school.example/a.js"></script>'
        '<script>var _hmt=_hmt||[];(function(){var hm=document.createElement("script");'
        'hm.src="https://hm.baidu.com/hm.js?abc";document.head.appendChild(hm);})();</script>'
        '<script>document.write(unescape("%3Cscript src=\'" + p + '
        '"s4.cnzz.com/stat.php%3Fid%3D1\' %3E%3C/script%3E"));</script>'
    )
    assert detection(page("<p>正文</p>", head=head), MALICIOUS_SCRIPT) is None
    other = page("<p>正文</p>", head='<script src="https://cdn.partner.example/x.js"></script>')
    assert detection(other, MALICIOUS_SCRIPT, known_script_domains=["partner.example"]) is None


@pytest.mark.parametrize(
    ("script", "reason", "severity"),
    [
        ('<script src="http://evil.example/x.js"></script>', "unknown_external", "medium"),
        (
            "<script>eval(function(p,a,c,k,e,d){return p}('',0,0,''.split('|'),0,{}))</script>",
            "obfuscated_loader",
            "high",
        ),
        ("<script>eval(unescape('%61%6c%65%72%74'))</script>", "obfuscated_loader", "high"),
        ("<script>eval(atob('YWxlcnQoMSk='))</script>", "obfuscated_loader", "high"),
        (
            "<script>var f=document.createElement('iframe');f.src='http://x.example/';</script>",
            "injected_iframe",
            "high",
        ),
        (
            "<script>document.write('<scr'+'ipt src=\"http://x.test/a.js\"></scr'+'ipt>')</script>",
            "injected_script",
            "high",
        ),
        ("<script>window.location.href='http://spam.example/';</script>", "redirect", "high"),
        ('<meta http-equiv="refresh" content="0;url=http://spam.example/">', "redirect", "high"),
    ],
)
def test_malicious_script_forms(script, reason, severity):
    found = detection(page("<p>正文</p>", head=script), MALICIOUS_SCRIPT)
    assert reason in found.evidence["reasons"]
    assert found.severity == severity


def test_redirect_to_own_site_is_quiet():
    head = "<script>window.location.href='https://m.school.example/';</script>"
    assert detection(page("<p>正文</p>", head=head), MALICIOUS_SCRIPT) is None


# --- Registration, stale ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("京ICP备12345678号-1", {"icp": "京ICP备12345678号-1"}),
        ("备案号：浙 ICP 备 05001234 号", {"icp": "浙ICP备05001234号"}),
        ("京ICP证030173号", {"icp": "京ICP证030173号"}),
        ("京公网安备 11010502000001号", {"public_security": "京公网安备11010502000001号"}),
        (
            "粤公网安备44010602001234号 苏icp备2021012345号-3",
            {"public_security": "粤公网安备44010602001234号", "icp": "苏icp备2021012345号-3"},
        ),
        ("ICP备12345678号", {}),  # no province
        ("电话 010-12345678", {}),
    ],
)
def test_registration_regexes(text, expected):
    assert find_registration(text) == expected


def test_missing_registration():
    html = "<html><head><title>学校</title></head><body><p>浙ICP备12345678号</p></body></html>"
    found = analyse(html).get(MISSING_REGISTRATION)
    assert found.evidence["missing"] == ["public_security"] and found.severity == "low"
    assert analyse(page("<p>正文</p>")).get(MISSING_REGISTRATION) is None
    alt = '<html><body><p>浙ICP备12345678号</p><img src="ga.png" alt="浙公网安备 33010602000001号"></body></html>'
    assert analyse(alt).get(MISSING_REGISTRATION) is None


def test_stale_banners():
    html = page(
        "<p>正文</p>",
        head='<meta name="generator" content="DedeCMS V5.3"><script src="/js/jquery-1.8.3.min.js"></script>',
    )
    found = detection(html, STALE_SITE, headers={"X-Powered-By": "PHP/5.2.17", "Server": "Apache/2.4.57"})
    products = {item["product"]: item["version"] for item in found.evidence["software"]}
    assert products == {"php": "5.2.17", "dedecms": "5.3", "jquery": "1.8.3"}
    modern = page(
        "<p>正文</p>", head='<script src="https://cdn.bootcdn.net/ajax/libs/jquery/3.7.1/jquery.min.js"></script>'
    )
    assert detection(modern, STALE_SITE, headers={"Server": "nginx/1.24.0", "X-Powered-By": "PHP/8.2.1"}) is None


# --- Defacement ---------------------------------------------------------------------------------------------------


def school_page(news_start: int, *, title: str = "某某市第一中学", counter: int = 100, date: str = "2024-05-01") -> str:
    news = "".join(
        f'<li><a href="/n/{i}.html">第{i}期教研活动在实验楼举行，{"一二三四五六七八九十"[i % 10]}年级参加</a></li>'
        for i in range(news_start, news_start + 8)
    )
    intro = "学校创建于一九五六年，是省一级重点中学，现有教学班四十个，在校学生两千余人，教职工两百余人。"
    return page(
        f'<div class="head"><h1>某某市第一中学</h1><span class="today">{date}</span></div>'
        f'<div class="nav"><a href="/">首页</a><a href="/gk.html">学校概况</a><a href="/xw.html">新闻中心</a></div>'
        f'<div class="intro"><p>{intro}</p><p>办学理念：厚德博学，求实创新。校训：勤奋、严谨、团结、进取。</p></div>'
        f'<div class="news"><ul>{news}</ul></div><div class="count">访问量：{counter}</div>',
        title=title,
    )


def test_defacement_tolerates_dynamic_content():
    baseline = make_baseline([school_page(0)], url=URL)
    json.dumps(baseline)
    changed = analyse(school_page(30, counter=98765, date="2025-01-09"), baseline=baseline)
    assert changed.get(DEFACEMENT) is None
    assert analyse(school_page(0, title="某某市第一中学-首页"), baseline=baseline).get(DEFACEMENT) is None


def test_defacement_detects_replaced_body():
    baseline = make_baseline([school_page(0), school_page(3)], url=URL)
    hacked = (
        "<html><head><title>某某市第一中学</title></head><body><h1>Hacked by Nobody</h1>"
        "<p>security is an illusion, greetings to all friends</p></body></html>"
    )
    found = analyse(hacked, baseline=baseline).get(DEFACEMENT)
    assert found.severity == "critical" and "content_replaced" in found.evidence["reasons"]
    assert found.evidence["text_retained"] < 0.35


def test_defacement_detects_injected_gambling_half():
    baseline = make_baseline([school_page(0)], url=URL)
    ads = "".join(
        f"<p>澳门新葡京娱乐城第{i}号厅 百家乐 真人荷官在线发牌 注册送彩金 首存优惠 北京赛车 时时彩</p>"
        for i in range(8)
    )
    html = school_page(0).replace('<div class="news">', f'<div class="ads">{ads}</div><div class="news">')
    found = analyse(html, baseline=baseline).get(DEFACEMENT)
    assert "spam_content" in found.evidence["reasons"]


def test_defacement_title_change():
    baseline = make_baseline([school_page(0)], url=URL)
    changed = analyse(school_page(0, title="欢迎光临开心商城"), baseline=baseline).get(DEFACEMENT)
    assert changed.evidence["reasons"] == ["title_changed"]
    foreign = analyse(school_page(0, title="Cheap Watches Online Store"), baseline=baseline).get(DEFACEMENT)
    assert {"title_changed", "foreign_title"} <= set(foreign.evidence["reasons"])
    assert compare(baseline, analyse(school_page(0))) is None


def test_spam_title_without_baseline():
    found = analyse(page("<p>正文</p>", title="澳门新葡京_百家乐")).get(DEFACEMENT)
    assert found.evidence["reasons"] == ["spam_title"]


# --- Cloaking -----------------------------------------------------------------------------------------------------


def test_compare_variants():
    browser = school_page(0)
    spider = browser.replace("</body>", f"<div>{SPAM}</div></body>")
    found = compare_variants({"browser": browser, "spider": spider, "mobile": browser}, url=URL)
    assert found.technique == "cloaking_spider" and found.evidence["techniques"] == ["cloaking_spider"]
    assert "spam_links" in found.evidence["variants"]["spider"]["reasons"]
    referer = '<html><head><meta http-equiv="refresh" content="0;url=http://bet.example/"></head></html>'
    assert compare_variants({"browser": browser, "referer": referer}, url=URL).technique == "cloaking_referer"
    dynamic = {"browser": browser, "spider": school_page(1, date="2025-02-02"), "mobile": school_page(2)}
    assert compare_variants(dynamic, url=URL) is None
    assert compare_variants({"spider": spider}, url=URL) is None


def test_a_variant_sent_to_another_site_by_the_server_is_cloaked_without_a_page():
    browser = school_page(0)
    sent = {"browser": browser}  # the referer variant was redirected, and the target gave no page
    found = compare_variants(sent, url=URL, redirected_to={"referer": "http://www.bet-888.example/?from=school"})
    assert found.technique == "cloaking_referer"
    assert found.evidence["variants"]["referer"]["reasons"] == ["redirect"]
    assert found.evidence["variants"]["referer"]["redirects"] == ["http://www.bet-888.example/?from=school"]
    # Redirects within the site (to its mobile host, to the same page over HTTPS) are no cloaking.
    own = {"mobile": "https://m.school.example/", "spider": URL}
    assert compare_variants({"browser": browser, "mobile": browser}, url=URL, redirected_to=own) is None
    # The site on its platform: the page is judged where the browser was sent, so the platform is the site's own.
    platform = "https://zq.platform.example/site/12/"
    moved = compare_variants(sent, url=platform, site_domains=("www.school.example",),
                             redirected_to={"mobile": "https://zq.platform.example/m/site/12/"})  # fmt: skip
    assert moved is None
    assert analyse(browser, variant_redirects={"spider": "http://www.bet-888.example/"}).get(CLOAKING) is not None


def test_compare_variants_gross_difference():
    browser = school_page(0)
    other = page(
        "<p>" + "这是一个完全不同的页面内容，用于欺骗搜索引擎的抓取程序，并不会展示给普通访问者。" * 5 + "</p>"
    )
    found = compare_variants({"browser": browser, "mobile": other}, url=URL)
    assert found.evidence["variants"]["mobile"]["reasons"] == ["different_content"]


def test_script_cloaking_in_page():
    code = "<script>if(/baidu|sogou/i.test(document.referrer)){location.href='http://bet.example/';}</script>"
    analysis = analyse(page("<p>正文</p>", head=code))
    assert analysis.get(CLOAKING).technique == "cloaking_referer"
    assert analysis.get(MALICIOUS_SCRIPT) is None
    own = "<script>if(/iPhone|Android/i.test(navigator.userAgent)){location.href='https://m.school.example/';}</script>"
    assert analyse(page("<p>正文</p>", head=own)).get(CLOAKING) is None


# --- API ----------------------------------------------------------------------------------------------------------


def test_page_analysis_shape():
    analysis = analyse(page(f'<div style="display:none">{SPAM}</div><p>{VALID_ID}</p>', title="学校首页"))
    assert analysis.title == "学校首页"
    assert [d.severity for d in analysis.detections] == sorted(
        (d.severity for d in analysis.detections), key=["critical", "high", "medium", "low", "info"].index
    )
    data = json.loads(json.dumps(analysis.as_dict(), ensure_ascii=False))
    assert set(data) == {"url", "title", "fingerprint", "detections"}
    assert set(data["detections"][0]) == {"kind", "severity", "summary", "technique", "evidence"}
    assert set(data["fingerprint"]) == {"v", "title", "regions", "structure"}


# --- page encodings ---------------------------------------------------------------------------------------------------

GBK_PAGE = "<html><head>{meta}<title>某某中学</title></head><body><p>欢迎访问，京ICP备12345678号</p></body></html>"


@pytest.mark.parametrize(
    "meta, content_type",
    [
        ('<meta charset="gb2312">', ""),  # declared in the page
        ('<meta http-equiv="Content-Type" content="text/html; charset=GBK">', "text/html"),  # the older form
        ("", "text/html; charset=gb2312"),  # declared by the server only
        ("", ""),  # declared nowhere: what browsers in China assume
        ('<meta charset="utf-8">', "text/html; charset=GB18030"),  # the header wins over the page
    ],
)
def test_a_page_in_gbk_is_read_as_its_reader_sees_it(meta, content_type):
    body = GBK_PAGE.format(meta=meta).encode("gb18030")
    html = decode_html(body, content_type)
    assert "某某中学" in html and "京ICP备12345678号" in html
    assert find_registration(html)["icp"] == "京ICP备12345678号"


def test_utf8_pages_stay_utf8_with_a_stray_byte_a_cut_character_or_a_byte_order_mark():
    text = GBK_PAGE.format(meta="") * 20
    body = text.encode("utf-8")
    assert decode_html(body) == text
    stray = body.replace(b"<p>", b"<p>\xff", 1)  # one byte that is not UTF-8 among hundreds of characters
    assert decode_html(stray) == text.replace("<p>", "<p>\ufffd", 1)
    cut = body[: body.rindex("号".encode()) + 2]  # inside the last character, as a body cut at the size limit is
    assert decode_html(cut) == text[: text.rindex("号")] + "\ufffd"
    assert decode_html(b"\xef\xbb\xbf" + body, "text/html; charset=gbk") == text  # the byte-order mark wins
    assert decode_html("café".encode("latin-1"), "text/html; charset=ISO-8859-1") == "café"  # windows-1252


def test_the_site_of_a_url():
    from monitoring.analysis.domains import site_of

    assert site_of("https://www.hzyz.edu.cn/index.html") == "hzyz.edu.cn"
    assert site_of("https://zq.platform.example/site/12/") == "platform.example"
    assert site_of("http://10.12.0.8:8080/") == "10.12.0.8"  # an address is its own site, not "0.8"
    assert site_of("http://[2001:db8::1]/") == "2001:db8::1"
    assert site_of("/relative") == ""


def test_a_baseline_knows_the_site_it_was_served_from():
    html = page("<p>学校简介：学校创办于1952年，现有教学班36个。</p>")
    baseline = make_baseline([html], url="https://zq.platform.example/site/12/index.html")
    assert baseline["site"] == "platform.example"
    same = analyse_page(html, url="https://www2.platform.example/site/12/", baseline=baseline)
    assert DEFACEMENT not in {d.kind for d in same.detections}
    elsewhere = analyse_page(html, url="https://www.other.example/", baseline=baseline)
    assert [d.evidence["reasons"] for d in elsewhere.detections if d.kind == DEFACEMENT] == [["other_site"]]
    older = {key: value for key, value in baseline.items() if key != "site"}  # made before baselines kept it
    assert DEFACEMENT not in {d.kind for d in analyse_page(html, url="https://x.example/", baseline=older).detections}
