"""Messages in the reader's language: the trends page, service errors on pages and in the API (by Accept-Language),
notifications rendered when shown (old rows stay readable), and {placeholders} kept by every translation."""
import csv
import io
import re

from babel.messages.pofile import read_po

from helpers import in_app
from zhigu.extensions import db
from zhigu.i18n import CATALOGUES
from zhigu.notify.models import Notification

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
YEAR = "from=2024-01-01&to=2024-12-31"


def test_brace_placeholders_survive_translation():
    """Service and notification msgids are filled with str.format: a lost {name} would raise at display."""
    with (CATALOGUES / "zh" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="zh")
    lost = []
    for message in catalog:
        if not message.id or not isinstance(message.id, str) or not message.string:
            continue
        wanted = set(re.findall(r"\{(\w+)\}", message.id))
        if wanted and set(re.findall(r"\{(\w+)\}", message.string)) != wanted:
            lost.append(message.id)
    assert lost == []


def test_trends_page_in_chinese_keeps_csv_headers_stable(client, auth, cast, make_case):
    make_case(cast.author, causes=["market.no_demand"], ended_on="2024-02-10", money_lost="100", currency="CNY")
    auth.login(cast.manager_a)
    html = client.get(f"/trends?{YEAR}", headers=ZH).get_data(as_text=True)
    for chinese in ("失败案例随时间的变化", "按主要原因", "按原因类别", "下载 CSV", "<th scope=\"col\">主要原因</th>",
                    "<th scope=\"col\">数量</th>", "按季度", "范围", "显示", "首次尝试"):
        assert chinese in html, chinese
    for english in ("Failures over time", "By primary cause", "Download CSV", ">count<", ">primary cause<",
                    "The numbers", "No case to count here", "First attempts", "by quarter"):
        assert english not in html, english
    english_page = client.get(f"/trends?{YEAR}").get_data(as_text=True)
    assert "Failures over time" in english_page and "<th scope=\"col\">Primary cause</th>" in english_page

    body = client.get(f"/trends/cause.csv?{YEAR}", headers=ZH).get_data(as_text=True)
    assert next(csv.reader(io.StringIO(body))) == ["primary cause", "count"]


def test_api_answers_in_the_language_of_accept_language_only(client, api_as, cast, make_case):
    draft = make_case(cast.author, status="draft")
    api = api_as(cast.author)
    english = api.post(f"/api/v1/cases/{draft.id}/retract", json={"reason": "wrong"})
    chinese = api.post(f"/api/v1/cases/{draft.id}/retract", json={"reason": "wrong"}, headers=ZH)
    assert english.status_code == chinese.status_code == 409
    assert english.get_json() == {"error": "Only a published case can be retracted."}
    assert chinese.get_json() == {"error": "只有已发布的案例才能撤回。"}

    bad = {"title": "Solar farm", "summary": "Too few buyers.", "causes": ["no.such"]}
    english = api.post("/api/v1/cases", json=bad).get_json()
    chinese = api.post("/api/v1/cases", json=bad, headers=ZH).get_json()
    assert english["errors"]["causes"] == ["Unknown cause code: no.such"]
    assert chinese["errors"]["causes"] == ["未知的失败原因代码：no.such"]
    assert set(chinese["errors"]) == set(english["errors"])  # the field names are the machine-readable part

    api.post("/api/v1/cases", data="not json", headers={**ZH, "Content-Type": "text/plain"})
    assert api.post("/api/v1/cases", data="x", headers=ZH).get_json()["error"].startswith("请发送 JSON 对象")

    stock = client.get("/api/v1/no-such-thing", headers=ZH).get_json()  # werkzeug's own 404 text, translated
    assert stock == {"code": 404, "error": "此地址没有对应的页面，可能已被移走，或链接有误。"}
    assert client.get("/api/v1/no-such-thing").get_json()["error"].startswith("The requested URL was not found")

    # a language chosen with the header switch of a browser session does not change what the API says
    client.post("/language", data={"language": "zh"})
    assert client.get("/api/v1/cases/999999").get_json()["error"] == "No such case."


def test_service_errors_on_pages_follow_the_page_language(client, auth, cast):
    html = client.get("/search?q=" + "x" * 1001, headers=ZH).get_data(as_text=True)
    assert "检索内容过长，最多 1000 个字符。" in html and "The search is too long" not in html
    auth.login(cast.member_a)
    html = client.get("/cases/999999", headers=ZH).get_data(as_text=True)
    assert "没有这个案例。" in html


def test_notifications_are_rendered_in_the_readers_language(app, client, auth, api_as, cast, make_case):
    case = make_case(cast.author, title="Smart lighting pilot")
    api_as(cast.member_b).post("/api/v1/subscriptions", json={"kind": "case", "target": str(case.id)})
    assert api_as(cast.member_a).post(f"/api/v1/cases/{case.id}/comments", json={"body": "I was there."}
                                      ).status_code == 201
    with in_app(app):
        note = db.session.query(Notification).filter_by(user_id=cast.member_b.id).one()
        assert note.message_key == "{actor} commented on “{title}”."
        assert note.message == f"{cast.member_a.display_name} commented on “Smart lighting pilot”."
        # a row stored before message keys existed: its English text, translated when it matches a msgid
        db.session.add(Notification(user_id=cast.member_b.id, kind="comment", case_id=case.id,
                                    message="Li Lei commented on “Old pilot”."))
        db.session.add(Notification(user_id=cast.member_b.id, kind="comment", case_id=case.id,
                                    message="Something from an older release."))
        db.session.commit()

    api = api_as(cast.member_b)
    english = [n["message"] for n in api.get("/api/v1/notifications").get_json()["results"]]
    chinese = [n["message"] for n in api.get("/api/v1/notifications", headers=ZH).get_json()["results"]]
    assert english == ["Something from an older release.", "Li Lei commented on “Old pilot”.",
                       f"{cast.member_a.display_name} commented on “Smart lighting pilot”."]
    assert chinese == ["Something from an older release.", "Li Lei 评论了“Old pilot”。",
                       f"{cast.member_a.display_name} 评论了“Smart lighting pilot”。"]

    from zhigu.notify.digests import _digest_message
    with app.test_request_context():
        note = db.session.query(Notification).filter_by(user_id=cast.member_b.id, message_key=None).first()
        keyed = db.session.query(Notification).filter(Notification.user_id == cast.member_b.id,
                                                      Notification.message_key.is_not(None)).one()
        body = _digest_message(keyed.user, [keyed, note], "daily").get_content()
    assert f"- {cast.member_a.display_name} 评论了“Smart lighting pilot”。" in body  # each language of the digest
    assert f"- {cast.member_a.display_name} commented on “Smart lighting pilot”." in body

    auth.login(cast.member_b)
    client.post("/language", data={"language": "zh"})
    html = client.get("/notifications").get_data(as_text=True)
    assert f"{cast.member_a.display_name} 评论了“Smart lighting pilot”。" in html


def test_terms_inside_notifications_are_translated(app, cast, make_case):
    from flask_babel import force_locale

    from zhigu.i18n import N_
    from zhigu.notify.messages import render, term

    with app.test_request_context():
        params = {"org": "Acme", "list": term("black"), "verb": term(N_("upheld after the appeal"))}
        with force_locale("zh"):
            assert render("{org}'s {list} listing was {verb}.", params, "stored") == "Acme 的黑名单条目已在申诉后维持。"
        assert render("{org}'s {list} listing was {verb}.", params, "stored") == \
            "Acme's black listing was upheld after the appeal."
        assert render("{missing} placeholder", {}, "stored text") == "stored text"
