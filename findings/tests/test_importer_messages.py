"""Import errors tell the user what is wrong and where, in Simplified Chinese (the default) and in English.

``ImportFormatError.render(language)`` renders the lazy message and its location in one language; ``str(error)`` in
the active one. The English assertions hold with any catalogue; the Chinese ones need the importer messages in
locale/zh_Hans (their translations are listed in /tmp/i18n/importers.tsv when written, and compiled by the lead).
"""

import io

import orjson
import pytest
from django.utils import translation

from findings.importers import nessus, nmap, nuclei, openvas, testssl
from findings.importers.base import ImportFormatError, at_line, at_record


def error_of(module, data: bytes) -> ImportFormatError:
    with pytest.raises(ImportFormatError) as info:
        list(module.parse(io.BytesIO(data)))
    return info.value


NUCLEI_LINE = orjson.dumps({"template-id": "x", "info": {"name": "n", "severity": "low"}, "host": "a.example.cn"})
TESTSSL_HEADER = '"id","fqdn/ip","port","severity","finding","cve","cwe"\n'


def malformed_xml() -> ImportFormatError:
    data = b'<?xml version="1.0"?>\n<nmaprun scanner="nmap">\n<host>\n<ports>\n</host>\n</nmaprun>\n'
    return error_of(nmap, data)


def xxe() -> ImportFormatError:
    data = (
        b'<?xml version="1.0"?>\n<!DOCTYPE NessusClientData_v2 [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
        b'<NessusClientData_v2><Report name="r"><ReportHost name="&x;"/></Report></NessusClientData_v2>'
    )
    return error_of(nessus, data)


def bad_nuclei_line() -> ImportFormatError:
    return error_of(nuclei, NUCLEI_LINE + b"\n\n" + b'{"template-id": "x", "info": {\n' + NUCLEI_LINE + b"\n")


def short_testssl_row() -> ImportFormatError:
    data = TESTSSL_HEADER + '"SSLv3","h/10.0.0.1","443","HIGH","offered","",""\n"broken","h/10.0.0.1","443"\n'
    return error_of(testssl, data.encode())


def nmap_port_not_a_number() -> ImportFormatError:
    data = b'<nmaprun>\n<host><status state="up"/><ports>\n<port protocol="tcp" portid="http">\n<state state="open"/>'
    return error_of(nmap, data + b"</port></ports></host></nmaprun>")


def bad_testssl_port() -> ImportFormatError:
    data = TESTSSL_HEADER + '"SSLv3","h/10.0.0.1","https","HIGH","offered","",""\n'
    return error_of(testssl, data.encode())


def openvas_cvss_after_multiline_cell() -> ImportFormatError:
    data = (
        "IP,Port,Port Protocol,CVSS,NVT Name,Specific Result,NVT OID\n"
        '10.0.0.1,80,tcp,5.0,a,"line one\nline two",1.1\n'
        "10.0.0.1,80,tcp,high,b,r,1.2\n"
    )
    return error_of(openvas, data.encode())


# ------------------------------------------------------------------------------------------------------ English


def test_malformed_xml_in_english():
    error = malformed_xml()
    assert (error.where, error.message.split(" (")[0]) == ("line 5", "malformed XML")
    assert error.render("en").startswith("line 5: malformed XML (")
    assert "export it again" in error.render("en")


def test_xxe_refusal_in_english():
    error = xxe()
    assert error.render("en").startswith("DOCTYPE: refused: the file declares XML entities (<!ENTITY …> in a DOCTYPE)")
    assert "(XXE)" in error.render("en")


def test_bad_nuclei_line_in_english():
    error = bad_nuclei_line()
    assert error.where == "line 3"
    assert error.render("en").startswith("line 3: not valid JSON: ")


def test_testssl_column_count_in_english():
    assert short_testssl_row().render("en") == (
        "line 3: the row has 3 columns, expected 7 (id, fqdn/ip, port, severity, finding, cve, cwe)"
    )


def test_non_numeric_port_in_english():
    assert nmap_port_not_a_number().render("en") == "<port> at line 3: the port number is not a number: “http”"
    assert bad_testssl_port().render("en") == "line 2: the port number is not a number: “https”"


def test_row_and_line_in_english():
    error = openvas_cvss_after_multiline_cell()
    assert error.render("en") == "row 3 (line 4): CVSS is not a number: “high”"


def test_str_renders_in_the_active_language():
    error = short_testssl_row()
    with translation.override("en"):
        assert str(error) == error.render("en")
    with translation.override("zh-hans"):
        assert str(error) == error.render("zh-hans")
    assert error.message == "the row has 3 columns, expected 7 (id, fqdn/ip, port, severity, finding, cve, cwe)"
    assert error.where == "line 3"


def test_locations_in_english():
    with translation.override("zh-hans"):  # .where is English whatever the active language
        assert ImportFormatError("x", at_line(7)).where == "line 7"
        assert ImportFormatError("x", at_record(3, 9)).where == "row 3 (line 9)"
        assert ImportFormatError("x", at_record(4, 4)).where == "line 4"


# ------------------------------------------------------------------------------------------------------ Chinese
# These need the importer translations compiled into locale/zh_Hans (see the module docstring).


def assert_chinese(text: str, *english_words: str) -> None:
    assert any("\u4e00" <= char <= "\u9fff" for char in text), text
    for word in english_words:
        assert word not in text, (word, text)


def test_malformed_xml_in_chinese():
    text = malformed_xml().render("zh-hans")
    assert text.startswith("第 5 行：XML 格式错误（"), text
    assert_chinese(text, "malformed", "export")  # the detail in the brackets is libxml2's own English


def test_xxe_refusal_in_chinese():
    text = xxe().render("zh-hans")
    assert text.startswith("DOCTYPE：拒绝导入：文件声明了 XML 实体"), text
    assert "XXE" in text
    assert_chinese(text, "refused", "declares")


def test_bad_nuclei_line_in_chinese():
    text = bad_nuclei_line().render("zh-hans")
    assert text.startswith("第 3 行：不是有效的 JSON（第 "), text
    assert_chinese(text, "line", "not valid")


def test_testssl_column_count_in_chinese():
    text = short_testssl_row().render("zh-hans")
    assert text == "第 3 行：该行有 3 列，应为 7 列（id, fqdn/ip, port, severity, finding, cve, cwe）"


def test_non_numeric_port_in_chinese():
    assert nmap_port_not_a_number().render("zh-hans") == "第 3 行的 <port> 元素：端口号不是数字：“http”"
    assert bad_testssl_port().render("zh-hans") == "第 2 行：端口号不是数字：“https”"


def test_row_and_line_in_chinese():
    assert openvas_cvss_after_multiline_cell().render("zh-hans") == "第 3 行（文本第 4 行）：CVSS 不是数字：“high”"
