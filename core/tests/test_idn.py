"""Internationalised host names: stored as punycode, shown in their own script."""

from core.idn import ascii_host, unicode_host, unicode_url


def test_a_host_goes_to_punycode_and_back():
    assert ascii_host(" 北京市第一中学.公益. ") == "xn--4gq1d1q29l7pmp1dht1e.xn--55qw42g"
    assert unicode_host("xn--4gq1d1q29l7pmp1dht1e.xn--55qw42g") == "北京市第一中学.公益"
    assert unicode_host("www.xn--55qw42g") == "www.公益"  # only the punycode labels change
    assert ascii_host("WWW.School.Example") == unicode_host("www.school.example") == "www.school.example"


def test_a_label_that_is_not_valid_punycode_is_shown_as_it_is():
    assert unicode_host("xn--zz-.school.example") == "xn--zz-.school.example"


def test_a_url_keeps_everything_but_its_host():
    assert unicode_url("https://xn--55qw42g:8443/news?id=1#top") == "https://公益:8443/news?id=1#top"
    assert unicode_url("http://user@www.xn--55qw42g/") == "http://user@www.公益/"
    assert unicode_url("http://[::1]:8080/xn--path") == "http://[::1]:8080/xn--path"
    assert unicode_url("https://www.school.example/") == "https://www.school.example/"
