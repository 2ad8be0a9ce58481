"""The case form, the case page, "my cases", the archive listing and the admin page for causes."""
from helpers import field, field_error_text, in_app, links, main_text, page, text
from zhigu.archive.models import Cause, FailureCase
from zhigu.extensions import db


def case_form(**overrides) -> dict:
    """What the case form posts for a complete case."""
    data = {
        "title": "Cold-chain hub for Uzbek fruit",
        "summary": "A park-funded cold-chain warehouse in Tashkent never filled up.",
        "narrative": "The warehouse opened in 2019. Exporters kept using their own trucks.",
        "warning_signs": "No exporter signed a letter of intent.",
        "lessons": "Sign anchor customers before building.",
        "causes": ["market.no_demand", "partners.unreliable_partner"],
        "primary_cause": "partners.unreliable_partner",
        "sector": "logistics",
        "region": "Xinjiang/Urumqi",
        "target_markets": ["UZ", "KZ"],
        "stage_reached": "launched",
        "started_on": "2019-03-01",
        "ended_on": "2021-06-30",
        "money_lost": "2500000",
        "currency": "CNY",
        "team_size": "12",
        "org_name": "Urumqi Cold Chain Co.",
        "org_type": "private",
        "tags": "cold chain, 冷链",
        "source_url": "https://example.org/report",
        "language": "",
        "visibility": "public",
        "action": "draft",
    }
    data.update(overrides)
    return data


def test_case_form_offers_the_vocabularies_and_causes_by_family(auth, cast):
    tree = page(auth.login(cast.author).get("/cases/new"))

    assert text(tree.select_one("select[name=sector]").select_one("option[value=energy]")) == "Energy and new energy"
    assert tree.select_one("select[name=target_markets]").attrs.get("multiple") is not None
    assert text(tree.select_one("select[name=target_markets]").select_one("option[value=KZ]")) == "Kazakhstan"
    picker = tree.select_one("#f-causes-field")
    assert picker.name == "fieldset"
    families = [text(h) for h in picker.select("h3")]
    assert families[:2] == ["Market and demand", "Product and technology"]
    assert picker.select_one('input[type=checkbox][value="market.no_demand"][name=causes]') is not None
    assert picker.select_one('input[type=radio][value="market.no_demand"][name=primary_cause]') is not None
    assert {b.attrs["value"] for b in tree.select("button[name=action]")} == {"draft", "publish"}
    assert {r.attrs["value"] for r in tree.select("input[name=visibility]")} == {"public", "park", "private"}


def test_case_form_saves_a_draft_then_publishes_it(app, auth, cast, public_case):
    client = auth.login(cast.author)

    response = client.post("/cases/new", data=case_form())
    assert response.status_code == 302
    case_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with in_app(app):
        case = db.session.get(FailureCase, case_id)
        assert case.status == "draft"
        assert case.tags == ["cold chain", "冷链"]
        assert case.target_markets == ["UZ", "KZ"]
        assert case.primary_cause.code == "partners.unreliable_partner"
        assert case.org_name == "Urumqi Cold Chain Co."

    tree = page(client.get(f"/cases/{case_id}"))
    assert "Draft" in text(tree.select_one(".badges"))
    assert tree.select_one(f'form[action="/cases/{case_id}/publish"]') is not None
    assert "Retract" not in text(tree.select_one(".actions"))
    assert "Cold-chain hub" not in text(page(client.get("/search?q=warehouse")).select_one(".results"))

    response = client.post(f"/cases/{case_id}/publish", follow_redirects=True)
    tree = page(response)
    assert "The case was published." in text(tree.select_one(".flashes"))
    assert tree.select_one(".badges") is None
    assert tree.select_one(f'form[action="/cases/{case_id}/publish"]') is None
    assert f"/cases/{case_id}/retract" in links(tree)
    results = page(client.get("/search?q=warehouse")).select_one(".results")
    assert "Cold-chain hub for Uzbek fruit" in text(results)


def test_case_form_publishes_at_once(app, auth, cast):
    response = auth.login(cast.author).post("/cases/new", data=case_form(action="publish"), follow_redirects=True)

    assert "The case was published." in main_text(response)
    with in_app(app):
        assert db.session.scalar(db.select(FailureCase.status)) == "published"


def test_case_form_shows_errors_next_to_fields_and_keeps_every_value(app, auth, cast):
    client = auth.login(cast.author)
    response = client.post("/cases/new", data=case_form(title="ab", source_url="ftp://example.org/x"))

    assert response.status_code == 422
    tree = page(response)
    assert tree.select_one(".error-summary") is not None
    assert "3" in field_error_text(tree, "title")
    assert field_error_text(tree, "source_url")
    assert field_error_text(tree, "summary") == ""
    # What was typed is all still there.
    assert field(tree, "title").select_one("input").attrs["value"] == "ab"
    assert text(field(tree, "summary").select_one("textarea")) == case_form()["summary"]
    assert field(tree, "tags").select_one("input").attrs["value"] == "cold chain, 冷链"
    assert field(tree, "money_lost").select_one("input").attrs["value"] == "2500000"
    assert field(tree, "sector").select_one("option[value=logistics]").attrs.get("selected") is not None
    chosen = {o.attrs["value"] for o in field(tree, "target_markets").select("option") if "selected" in o.attrs}
    assert chosen == {"UZ", "KZ"}
    picker = tree.select_one("#f-causes-field")
    ticked = {box.attrs["value"] for box in picker.select("input[type=checkbox]") if "checked" in box.attrs}
    assert ticked == {"market.no_demand", "partners.unreliable_partner"}
    assert "checked" in picker.select_one('input[type=radio][value="partners.unreliable_partner"]').attrs
    assert "checked" in tree.select_one("input[name=visibility][value=public]").attrs

    # Rules across fields are checked once every field is valid on its own.
    response = client.post("/cases/new", data=case_form(currency="", ended_on="2018-01-01"))
    assert response.status_code == 422
    tree = page(response)
    assert "currency" in field_error_text(tree, "currency")
    assert "before the start" in field_error_text(tree, "ended_on")
    assert field(tree, "ended_on").select_one("input").attrs["value"] == "2018-01-01"
    with in_app(app):
        assert db.session.scalar(db.select(db.func.count(FailureCase.id))) == 0


def test_wrong_primary_cause_is_shown_at_the_cause_picker(auth, cast):
    response = auth.login(cast.author).post("/cases/new", data=case_form(primary_cause="team.skills_gap"))

    assert response.status_code == 422
    assert "one of the chosen causes" in text(page(response).select_one("#f-causes-field"))


def test_edit_form_is_filled_from_the_case(auth, cast, public_case):
    tree = page(auth.login(cast.author).get(f"/cases/{public_case.id}/edit"))

    assert field(tree, "title").select_one("input").attrs["value"] == public_case.title
    assert field(tree, "sector").select_one("option[value=energy]").attrs.get("selected") is not None
    picker = tree.select_one("#f-causes-field")
    ticked = {box.attrs["value"] for box in picker.select("input[type=checkbox]") if "checked" in box.attrs}
    assert ticked == {"market.no_demand", "money.cash_out"}
    assert "checked" in picker.select_one('input[type=radio][value="money.cash_out"]').attrs
    chosen = {o.attrs["value"] for o in field(tree, "target_markets").select("option") if "selected" in o.attrs}
    assert chosen == {"KZ"}
    # A published case is saved, not re-published.
    assert [b.attrs["value"] for b in tree.select("button[name=action]")] == ["save"]


def test_editing_a_published_case_shows_the_revision(app, auth, cast, public_case):
    client = auth.login(cast.author)
    tree = page(client.get(f"/cases/{public_case.id}/edit"))
    form = {}
    for control in tree.select_one("form.case-form").select("[name]"):
        name = control.attrs.get("name")
        if not name or control.name == "button" or name == "csrf_token":
            continue
        if control.name == "textarea":
            form[name] = text(control)
        elif control.name == "select":
            picked = [o.attrs["value"] for o in control.select("option") if "selected" in o.attrs]
            form.setdefault(name, []).extend(picked)
        elif control.attrs.get("type") in ("checkbox", "radio"):
            if "checked" in control.attrs:
                form.setdefault(name, []).append(control.attrs["value"])
        else:
            form.setdefault(name, []).append(control.attrs.get("value", ""))
    form["title"] = "Solar kiosks for villages in Kazakhstan and Kyrgyzstan"
    form["target_markets"] = ["KZ", "KG"]
    form["action"] = "save"

    response = client.post(f"/cases/{public_case.id}/edit", data=form, follow_redirects=True)

    tree = page(response)
    assert text(tree.select_one("#case-title")) == "Solar kiosks for villages in Kazakhstan and Kyrgyzstan"
    history = text(tree.select_one("section.revisions"))
    assert "edited by Author A" in history
    assert "title" in history and "target markets" in history
    assert "summary" not in history, "an untouched field is not listed as changed"
    with in_app(app):
        case = db.session.get(FailureCase, public_case.id)
        assert case.target_markets == ["KZ", "KG"]
        assert [c.code for c in case.causes] == ["money.cash_out", "market.no_demand"]


def test_edit_can_clear_markets_and_causes(app, auth, cast, make_case):
    draft = make_case(cast.author, status="draft")
    data = case_form(action="draft")
    data.update(target_markets="", causes="", primary_cause="")

    response = auth.login(cast.author).post(f"/cases/{draft.id}/edit", data=data)

    assert response.status_code == 302
    with in_app(app):
        case = db.session.get(FailureCase, draft.id)
        assert case.target_markets == [] and case.causes == []


def test_emptying_an_input_of_the_edit_form_clears_the_value(app, auth, cast, make_case):
    case = make_case(cast.author, region="Zhejiang/Hangzhou", money_lost="5000", currency="USD",
                     source_url="https://example.org/a", started_on="2020-01-01", org_name="Acme",
                     primary_cause="market.no_demand")
    data = case_form(action="save", title=case.title, summary=case.summary)
    data.update(region="", money_lost="", currency="", source_url="", started_on="", ended_on="", org_name="",
                team_size="", sector="", stage_reached="", org_type="")

    response = auth.login(cast.author).post(f"/cases/{case.id}/edit", data=data)

    assert response.status_code == 302
    with in_app(app):
        case = db.session.get(FailureCase, case.id)
        assert (case.region, case.money_lost, case.currency, case.source_url, case.started_on, case.org_name,
                case.team_size, case.sector, case.stage_reached) == (None,) * 9


def test_emptying_the_narrative_clears_it(app, auth, cast, make_case):
    case = make_case(cast.author, narrative="Something to remove.")

    auth.login(cast.author).post(f"/cases/{case.id}/edit", data=case_form(action="save", narrative=""))

    with in_app(app):
        assert db.session.get(FailureCase, case.id).narrative == ""


def test_edit_errors_keep_the_typed_values_not_the_stored_ones(auth, cast, public_case):
    response = auth.login(cast.author).post(f"/cases/{public_case.id}/edit",
                                            data=case_form(title="x", summary="Changed summary text.", action="save"))

    assert response.status_code == 422
    tree = page(response)
    assert field(tree, "title").select_one("input").attrs["value"] == "x"
    assert text(field(tree, "summary").select_one("textarea")) == "Changed summary text."


def test_retired_causes_of_a_case_stay_on_its_edit_form(app, auth, cast, public_case):
    with in_app(app):
        db.session.scalar(db.select(Cause).where(Cause.code == "money.cash_out")).retired = True
        db.session.commit()

    tree = page(auth.login(cast.author).get(f"/cases/{public_case.id}/edit"))
    box = tree.select_one('input[type=checkbox][value="money.cash_out"]')
    assert box is not None and "checked" in box.attrs
    assert page(auth.login(cast.curator_a).get("/cases/new")).select_one('input[value="money.cash_out"]') is None


def test_case_page_reads_in_post_mortem_order(client, make_case, cast):
    case = make_case(cast.author, title="Cross-border e-commerce training centre",
                     narrative="## Timeline\n\n- 2019: opened\n- 2020: closed", warning_signs="Few sign-ups.",
                     lessons="Ask the buyers first.", money_lost="1200000", currency="CNY", team_size=8,
                     started_on="2019-01-01", ended_on="2020-06-30", region="Zhejiang/Yiwu",
                     target_markets=["ID", "VN"], tags=["training", "跨境电商"],
                     source_url="https://example.org/story", org_type="private")

    tree = page(client.get(f"/cases/{case.id}"))

    article = text(tree.select_one("article.case"))
    order = [article.index(s) for s in ["Cross-border e-commerce", "Why it failed", "Target markets", "What happened",
                                     "Warning signs", "Lessons", "Tags"]]
    assert order == sorted(order)
    facts = text(tree.select_one("table.facts-table"))
    assert "Indonesia, Vietnam" in facts
    assert "CN¥1,200,000" in facts and "1,200,000.00" not in facts
    assert "Jan 1, 2019 – Jun 30, 2020" in facts
    assert "Pilot" in facts and "Zhejiang/Yiwu" in facts and "Private enterprise" in facts
    assert text(tree.select_one("#narrative-heading").parent.select_one("div.prose").select_one("h2")) == "Timeline"
    assert "https://example.org/story" in links(tree)
    primary = tree.select_one("li.cause-list__primary")
    assert "Primary cause" in text(primary)


def test_markdown_in_a_case_is_sanitized(client, make_case, cast):
    case = make_case(cast.author, narrative="Before <script>alert('x')</script> after\n\n"
                                            "[click](javascript:alert(1)) <img src=x onerror=alert(2)>",
                     lessons="**Bold** lesson <iframe src='https://evil.example'></iframe>")

    body = client.get(f"/cases/{case.id}").get_data(as_text=True)
    tree = page(client.get(f"/cases/{case.id}"))

    assert "<script>alert" not in body
    assert tree.select_one("article.case").select("img") == []
    assert "<iframe" not in body
    assert not any(href.startswith("javascript:") for href in links(tree))
    assert text(tree.select_one("strong")) == "Bold"
    assert all(node.attrs.get("src", "").startswith("/static/") for node in tree.select("script"))


def test_members_see_no_action_they_cannot_take(auth, cast, public_case):
    for who in ("member_a", "curator_b", "manager_b"):
        tree = page(auth.login(getattr(cast, who)).get(f"/cases/{public_case.id}"))
        assert tree.select_one(".actions") is None, who
        assert f"/cases/{public_case.id}/edit" not in links(tree)
    tree = page(auth.login(None).get(f"/cases/{public_case.id}"))
    assert tree.select_one(".actions") is None

    for who in ("author", "manager_a", "admin"):
        tree = page(auth.login(getattr(cast, who)).get(f"/cases/{public_case.id}"))
        actions = links(tree.select_one(".actions"))
        assert f"/cases/{public_case.id}/edit" in actions and f"/cases/{public_case.id}/retract" in actions, who


def test_anonymized_organization_is_hidden_from_other_readers(auth, make_case, cast):
    case = make_case(cast.author, org_name="Secret Partner Ltd", anonymize=True)

    for who in ("member_a", "curator_b"):
        body = auth.login(getattr(cast, who)).get(f"/cases/{case.id}").get_data(as_text=True)
        assert "Secret Partner Ltd" not in body
        assert "Anonymized" in body
        assert "Author A" not in body, "the filer's name would point at the organization"
    for who in ("author", "manager_a", "admin"):
        assert "Secret Partner Ltd" in auth.login(getattr(cast, who)).get(f"/cases/{case.id}").get_data(as_text=True)


def test_retracting_asks_for_a_reason_and_the_page_shows_it(auth, cast, public_case):
    client = auth.login(cast.author)

    response = client.post(f"/cases/{public_case.id}/retract", data={"reason": "no"})
    assert response.status_code == 422
    assert field_error_text(page(response), "reason")
    assert text(field(page(response), "reason").select_one("textarea")) == "no"

    response = client.post(f"/cases/{public_case.id}/retract",
                           data={"reason": "The company disputed the figures."}, follow_redirects=True)
    tree = page(response)
    assert "Retracted" in text(tree.select_one(".badges"))
    assert "The company disputed the figures." in text(tree.select_one(".retraction"))
    assert f"/cases/{public_case.id}/retract" not in links(tree)
    assert "retracted by Author A" in text(tree.select_one("section.revisions"))
    # A visitor can still follow an old link and learn why.
    assert "The company disputed the figures." in main_text(auth.login(None).get(f"/cases/{public_case.id}"))


def test_case_page_lists_similar_cases_with_why(client, make_case, cast, public_case):
    other = make_case(cast.author, title="Solar water pumps for villages in Kazakhstan",
                      summary="Solar pumps were given to villages, then nobody maintained them.",
                      sector="energy", target_markets=["KZ"], causes=["money.cash_out"])

    similar = page(client.get(f"/cases/{public_case.id}")).select_one("section.similar")

    card = similar.select_one(f'a[href="/cases/{other.id}"]').parent.parent
    why = text(card.select_one("p.why"))
    assert "shared terms" in why and "same sector (Energy and new energy)" in why
    assert "same market (Kazakhstan)" in why and "shared cause (Ran out of cash)" in why
    chinese = page(client.get(f"/cases/{public_case.id}", headers={"Accept-Language": "zh"})).select_one("section.similar")
    why = text(chinese.select_one(f'a[href="/cases/{other.id}"]').parent.parent.select_one("p.why"))
    assert "；同一行业（能源与新能源）" in why and "（哈萨克斯坦）" in why and "(" not in why and ";" not in why


def test_my_cases_lists_drafts_and_published(auth, make_case, cast):
    make_case(cast.author, status="draft", title="A draft about drones")
    make_case(cast.author, title="A published case about drones")
    make_case(cast.curator_a, title="Someone else's case")

    table = page(auth.login(cast.author).get("/my/cases")).select_one("table")

    assert "A draft about drones" in text(table) and "Draft" in text(table)
    assert "A published case about drones" in text(table)
    assert "Someone else's case" not in text(table)


def test_archive_link_lists_newest_first(client, make_case, cast):
    make_case(cast.author, title="First filed case")
    make_case(cast.author, title="Second filed case")

    response = client.get("/cases", follow_redirects=True)

    tree = page(response)
    titles = [text(h) for h in tree.select_one(".results").select("h3")]
    assert titles == ["Second filed case", "First filed case"]
    assert text(tree.select_one("h1")) == "Archive"


def test_admin_adds_and_retires_causes(app, auth, cast):
    client = auth.login(cast.admin)

    response = client.post("/admin/causes", data={"family": "market", "code": "Bad Code",
                                                  "label_en": "Tariffs", "label_zh": "关税"})
    assert response.status_code == 422
    tree = page(response)
    assert "lowercase" in field_error_text(tree, "code")
    assert field(tree, "label_zh").select_one("input").attrs["value"] == "关税"

    response = client.post("/admin/causes", data={"family": "market", "code": "market.tariffs",
                                                  "label_en": "Tariffs", "label_zh": "关税"}, follow_redirects=True)
    assert "market.tariffs" in text(page(response).select_one("main"))
    with in_app(app):
        cause_id = db.session.scalar(db.select(Cause.id).where(Cause.code == "market.tariffs"))

    tree = page(client.get(f"/admin/causes/{cause_id}"))
    assert field(tree, "label_en").select_one("input").attrs["value"] == "Tariffs"
    response = client.post(f"/admin/causes/{cause_id}", data={"label_en": "Tariffs and duties", "label_zh": "关税",
                                                               "retired": "y"}, follow_redirects=True)
    row = next(tr for tr in page(response).select("tr") if "market.tariffs" in text(tr))
    assert "Tariffs and duties" in text(row) and "Retired" in text(row)
    assert page(auth.login(cast.author).get("/cases/new")).select_one('input[value="market.tariffs"]') is None


def test_the_case_form_offers_preview_and_cause_filter_only_through_the_script(auth, cast):
    tree = page(auth.login(cast.author).get("/cases/new"))
    form = tree.select_one("form.case-form")
    assert form.attrs["data-preview-url"] == "/preview"
    assert {node.attrs["name"] for node in form.select("textarea")
            if "field--markdown" in node.parent.attrs.get("class", "")} == {"narrative", "warning_signs", "lessons"}
    assert not [b for b in form.select("button") if "Preview" in text(b)]  # no dead button without the script
    assert tree.select_one("fieldset.cause-picker").attrs["data-filter-label"]


def test_history_says_a_case_was_imported_as_published_not_that_its_status_changed(app, client):
    import json

    from helpers import case_data
    from zhigu.archive.transfer import import_cases

    with in_app(app):
        import_cases([json.dumps(case_data(external_id="khorgos-001", title="Khorgos cold chain"))])
        case_id = db.session.scalar(db.select(FailureCase.id).where(FailureCase.external_id == "khorgos-001"))

    history = text(page(client.get(f"/cases/{case_id}")).select_one("ol.revision-list"))
    chinese = text(page(client.get(f"/cases/{case_id}", headers={"Accept-Language": "zh"})).select_one("ol.revision-list"))

    assert "imported as published" in history and "status" not in history
    assert "以已发布状态导入" in chinese


def test_case_form_lists_likely_duplicates_while_typing(client, auth, cast, make_case):
    """The case form carries the initiative form's live similar list (zhigu.js fills it); editing leaves the
    case itself out, and the words are the page's language."""
    case = make_case(cast.author, title="Night market food court in Almaty")
    auth.login(cast.author)
    new = client.get("/cases/new").get_data(as_text=True)
    assert 'id="case-form"' in new and 'data-similar-form="case-form"' in new
    assert 'data-similar-url="/api/v1/similar"' in new and "data-similar-badge" in new
    assert 'data-similar-text="summary narrative warning_signs lessons"' in new
    assert "Possible duplicates" in new and "data-similar-exclude" not in new
    edit = client.get(f"/cases/{case.id}/edit").get_data(as_text=True)
    assert f'data-similar-exclude="{case.id}"' in edit
    chinese = client.get("/cases/new", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "可能重复的案例" in chinese and "Possible duplicates" not in chinese
