"""The interface in English and Simplified Chinese: catalogue completeness, the language choice, formats."""
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from helpers import page
from zhigu.templating import region
from zhigu.i18n import CATALOGUES, compile_catalogs, extract_messages, untranslated

ROOT = Path(__file__).resolve().parents[2]


def test_every_marked_string_has_a_chinese_translation():
    """Fails when a template or view gained a string that `zhigu i18n update` and a translator have not seen."""
    assert len(extract_messages(ROOT)) > 300
    problems = untranslated(ROOT)
    assert set(problems) == {"zh"}
    assert problems["zh"] == [], "run `zhigu i18n update` and translate: " + ", ".join(problems["zh"][:20])


def test_translations_keep_their_placeholders():
    with (CATALOGUES / "zh" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="zh")
    errors = [(message.id, [str(e) for e in found]) for message, found in catalog.check()]
    assert errors == []


def test_catalogues_compile_when_missing_or_stale(tmp_path):
    source = tmp_path / "translations"
    po = source / "zh" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    po.write_bytes((CATALOGUES / "zh" / "LC_MESSAGES" / "messages.po").read_bytes())
    assert compile_catalogs(source) == source
    mo = po.with_suffix(".mo")
    assert mo.stat().st_size > 1000
    first = mo.stat().st_mtime_ns
    compile_catalogs(source)
    assert mo.stat().st_mtime_ns == first  # fresh: left alone


def test_pages_are_english_by_default(client):
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Learn from the attempts that failed" in html
    assert "从失败的尝试中学习" not in html


def test_accept_language_zh_cn_gives_chinese(client):
    html = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}).get_data(as_text=True)
    assert '<html lang="zh-Hans">' in html
    assert "从失败的尝试中学习" in html and "检索案例库" in html
    assert "Learn from the attempts that failed" not in html


def test_the_switch_wins_over_the_browser_and_vocabulary_follows(client, make_case, cast):
    make_case(cast.author, title="Solar farm training centre")
    response = client.post("/language", data={"language": "zh", "return_to": "/search?sort=newest"})
    assert response.status_code == 302 and response.headers["Location"] == "/search?sort=newest"

    html = client.get("/search?sort=newest", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "案例库" in html and "排序" in html and "最新优先" in html
    assert "Sort by" not in html
    assert "市场与需求" in html or "商业模式" in html or "团队" in html or "资金" in html  # cause family labels

    client.post("/language", data={"language": "en", "return_to": "/"})
    html = client.get("/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "Learn from the attempts that failed" in html


def test_the_switch_only_returns_to_this_site(client):
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example", ""):
        response = client.post("/language", data={"language": "zh", "return_to": target})
        assert response.headers["Location"] == "/"
    client.post("/language", data={"language": "xx"})  # unknown: the earlier choice stays
    assert "从失败的尝试中学习" in client.get("/").get_data(as_text=True)


def test_the_header_offers_both_languages(client):
    html = client.get("/").get_data(as_text=True)
    assert 'id="language-switch"' in html
    assert 'name="language" value="zh"' in html and 'name="language" value="en"' in html


def test_case_page_formats_dates_and_money_for_the_language(client, make_case, cast):
    case = make_case(cast.author, money_lost="1200000", currency="CNY", team_size=1200,
                     started_on="2019-01-01", ended_on="2020-06-30")
    english = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "CN¥1,200,000" in english and "1,200,000.00" not in english and "Jan 1, 2019 – Jun 30, 2020" in english and "1,200" in english

    chinese = client.get(f"/cases/{case.id}", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "¥1,200,000" in chinese and "1,200,000.00" not in chinese and "CN¥" not in chinese
    assert "2019年1月1日 – 2020年6月30日" in chinese
    assert "失败原因" in chinese and "损失金额" in chinese


def test_flash_messages_and_errors_are_translated(client):
    client.post("/language", data={"language": "zh"})
    html = client.get("/no-such-page").get_data(as_text=True)
    assert "页面不存在" in html and "返回首页" in html

    response = client.post("/signup", data={"email": "new@example.org", "display_name": "新用户",
                                            "password": "correct horse", "password_confirm": "correct horse"},
                           follow_redirects=True)
    assert "欢迎来到智谷" in response.get_data(as_text=True)


def test_validation_messages_are_translated_on_pages_only(app, client):
    from zhigu.i18n import translate_message

    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert translate_message("Give a title of 3 to 200 characters.") == "标题须为 3 到 200 个字符。"
        assert translate_message("Missing data for required field.") == "此项为必填项。"
        assert translate_message("Length must be between 1 and 5.") == "长度须在 1 到 5 之间。"
        assert translate_message("Something nobody marked.") == "Something nobody marked."
    with app.test_request_context():
        assert translate_message("Missing data for required field.") == "Missing data for required field."

    html = client.post("/signup", data={"email": "a@example.org", "display_name": "李雷", "password": "correct horse",
                                        "password_confirm": "other horse"},
                       headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "两次输入的密码不一致。" in html and "有些字段需要修改。" in html


def test_digest_mail_is_in_chinese_and_english(app, make_user):
    from zhigu.notify.digests import _digest_message

    user = make_user("member", display_name="王芳")
    with app.test_request_context():
        message = _digest_message(user, [], "weekly")
    assert message["Subject"] == "Zhigu weekly digest: 0 updates / 智谷每周摘要：0 条更新"
    body = message.get_content()
    assert "王芳，你好：" in body and "Hello 王芳," in body
    assert body.index("王芳，你好") < body.index("Hello 王芳")


@pytest.mark.parametrize("amount, english, chinese", [
    ("1200000", "CN¥1,200,000", "¥1,200,000"), ("1200000.00", "CN¥1,200,000", "¥1,200,000"),
    ("1234.5", "CN¥1,234.50", "¥1,234.50"), ("0.99", "CN¥0.99", "¥0.99")])
def test_money_writes_whole_amounts_without_decimals(app, amount, english, chinese):
    from zhigu.i18n import money

    for language, expected in (("en", english), ("zh", chinese)):
        with app.test_request_context(headers={"Accept-Language": language}):
            assert money(amount, "CNY") == expected


def test_regions_read_in_chinese_on_the_chinese_pages(client, cast, make_case):
    make_case(cast.author, region="Zhejiang/Hangzhou", title="Hangzhou kettles")
    make_case(cast.author, region="Xinjiang/Khorgos", title="Khorgos cold chain")

    chinese = page(client.get("/search", headers={"Accept-Language": "zh"})).get_text(" ")
    english = page(client.get("/search", headers={"Accept-Language": "en"})).get_text(" ")

    assert "浙江/杭州" in chinese and "新疆/霍尔果斯" in chinese and "Zhejiang" not in chinese
    assert "Zhejiang/Hangzhou" in english and "浙江" not in english


def test_regions_name_cities_and_countries_in_chinese(app):
    with app.test_request_context(headers={"Accept-Language": "zh"}):
        assert region("Zhejiang/Jinhua") == "浙江/金华" and region("Jiangsu/Changzhou") == "江苏/常州"
        assert region("Kazakhstan/Kostanay") == "哈萨克斯坦/科斯塔奈" and region("Pakistan/Lahore") == "巴基斯坦/拉合尔"
        assert region("Zhejiang/Nowhereville") == "浙江/Nowhereville"  # unknown parts stay as written
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert region("Kazakhstan/Kostanay") == "Kazakhstan/Kostanay"


def _english_interface_strings() -> set[str]:
    """English msgids whose Chinese differs: on a Chinese page, any of them is a string left untranslated.
    Only whole sentences or labels of some length, without placeholders, so case text cannot match by chance."""
    with (CATALOGUES / "zh" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="zh")
    return {m.id for m in catalog if isinstance(m.id, str) and m.string and m.string != m.id and len(m.id) >= 14
            and "%(" not in m.id and "{" not in m.id and " " in m.id}


def test_chinese_pages_show_no_english_interface_strings(app, client, auth, cast, make_case):
    """Walk the main pages in Chinese, as each role sees them: no English interface string is left."""
    from zhigu.reviews import services as reviews
    from helpers import in_app, reload
    case = make_case(cast.author, title="太阳能售电亭", region="Zhejiang/Jinhua", summary="村民不愿为电付费，售电亭闲置。")
    other = make_case(cast.author, title="太阳能售电亭第二次尝试", summary="村民仍不愿为电付费。")
    draft = make_case(cast.author, status="draft", title="太阳能售电亭（重复）", summary="村民不愿为电付费，售电亭闲置。")
    with in_app(app):
        reviews.submit_case(reload(cast.author), reload(draft))
    english = _english_interface_strings()
    zh = {"Accept-Language": "zh-CN,zh;q=0.9"}
    pages = {
        None: ["/", "/search", "/search?q=太阳能", f"/cases/{case.id}", "/trends", "/lists", "/similar", "/login"],
        cast.curator_a: ["/cases/new", f"/cases/{case.id}/links",
                         f"/cases/{case.id}/links?q=太阳能", "/notifications", "/profile", "/my/cases"],
        cast.manager_a: ["/reviews", f"/cases/{draft.id}/review", f"/cases/{draft.id}/merge",
                         f"/cases/{draft.id}/merge?q=太阳能", f"/cases/{other.id}", f"/cases/{case.id}/edit"],
        cast.admin: ["/admin/users", "/admin/parks", "/admin/causes", "/admin/guilds", "/admin/organizations",
                     "/initiatives/new", "/my/initiatives"],
    }
    left, texts = {}, {}
    for user, urls in pages.items():
        if user is not None:
            auth.login(user)
        for url in urls:
            response = client.get(url, headers=zh)
            assert response.status_code == 200, url
            text = texts[url] = page(response).get_text(" ")
            found = sorted(s for s in english if s in text)
            if found:
                left[url] = found
        if user is not None:
            auth.logout()
    assert left == {}
    # Chinese punctuation around interface words: filed by …，发布于; cause（主要）
    assert "，发布于" in texts[f"/cases/{case.id}"] and "（主要）" in texts[f"/cases/{draft.id}/review"]
    assert any(s in page(client.get("/login")).get_text(" ") for s in english)  # the check sees English when shown


def test_a_template_follows_a_locale_forced_in_the_middle_of_a_chinese_request(app):
    """The templates' translations are kept per request (page_translations), not past a forced locale."""
    from flask import render_template_string
    from flask_babel import force_locale

    template = "{{ _('The case was published.') }} {{ ngettext('%(num)d case', '%(num)d cases', 2) }}"
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        before = render_template_string(template)
        with force_locale("en"):
            forced = render_template_string(template)
        after = render_template_string(template)
    with app.test_request_context():
        english = render_template_string(template)

    assert before == after and before.startswith("案例已发布。")
    assert forced == english and forced.startswith("The case was published. 2 cases")
