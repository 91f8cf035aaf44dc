"""The top bar in a real browser (Debian Chromium through Playwright) at laptop and desktop widths, in both languages:
every menu title on one line, nothing pushed off the screen, the user's menu (account, log out, language) reachable."""

import pytest
from django.conf import settings as django_settings

from core.testing import PASSWORD, build_test_tree, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The widths of common laptop and desktop screens; the bar folds its menus behind the toggler below 1200 px.
WIDTHS = (1200, 1280, 1366, 1440, 1600, 1920)
WIDE = 1800  # from here the user's name and unit and the language switch sit in the bar itself

TITLES_ON_ONE_LINE = """() => [...document.querySelectorAll('header.navbar .nav-link-title')]
    .filter(el => el.offsetParent !== null).every(el => el.getClientRects().length === 1)"""


def test_the_top_bar_fits_every_common_width_in_both_languages(live_server, page, settings):
    settings.EDUSEC_REQUIRE_2FA = False
    root, *_units = build_test_tree()
    user = make_user("layout_officer", root, ["security_officer"], full_name="欧阳晓明")
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form[action='/login/'] button[type=submit]").click()
    page.wait_for_url(f"{live_server.url}/")

    for language in ("zh-hans", "en"):
        page.context.add_cookies(
            [{"name": django_settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}]
        )
        for width in WIDTHS:
            where = f"{language} at {width} px"
            page.set_viewport_size({"width": width, "height": 800})
            page.goto(f"{live_server.url}/")
            assert page.evaluate("document.documentElement.scrollWidth") <= width, where
            assert page.evaluate(TITLES_ON_ONE_LINE), where
            toggle = page.locator("header.navbar [data-bs-toggle=dropdown][role=button][aria-label]").last
            box = toggle.bounding_box()
            assert box is not None and box["x"] + box["width"] <= width, where
            assert toggle.get_by_text(user.full_name).is_visible() == (width >= WIDE), where

            toggle.click()
            menu = page.locator("header.navbar .dropdown-menu-end")
            assert menu.locator("form[action='/logout/'] button").is_visible(), where
            assert menu.get_by_text(user.full_name).is_visible() == (width < WIDE), where
            assert menu.locator("select").is_visible() == (width < WIDE), where  # the language switch
            page.keyboard.press("Escape")
