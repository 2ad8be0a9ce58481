"""End-to-end: duplicates caught while a case is written, reviewed and merged, and the initiative's outcome
panel (issue 14), on a desktop (1280 px) and a phone (390 px), in English and Chinese (see conftest.py).

Elements are found by name, id or URL, not by English text, so the same tests run in both languages.
"""
import re
import uuid

import pytest

from e2e_config import DESKTOP, screenshot

PHONE = {"width": 390, "height": 844}
LOCALES = pytest.mark.parametrize("locale", ["en-GB", "zh-CN"], ids=["en", "zh"])
VIEWPORTS = pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
#: A near copy of the demo case "Our e-scooter brand in Indonesia was damaged by a partner's substitute battery
#: packs", of the park the e2e curator and manager belong to (so the manager may merge into it).
SCOOTER_TITLE = "E-scooter brand in Indonesia hurt by a distributor's cheaper battery packs"
SCOOTER_SUMMARY = ("A Zhejiang e-scooter brand sold in Indonesia through a Jakarta distributor that also assembled "
                   "the scooters and switched to cheaper battery packs. Swelling batteries and two fires went viral "
                   "under our brand name, sales fell by 80% in a quarter, and we left the market.")
COLD_CHAIN = ("Cold-chain warehouses and refrigerated logistics for fruit and vegetable exports to Kazakhstan "
              "through the Khorgos border crossing, with a local partner for customs and distribution.")


def _in_viewport(page, locator) -> bool:
    box = locator.bounding_box()
    size = page.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= size["height"] and box["x"] >= 0 \
        and box["x"] + box["width"] <= size["width"]


def _no_sideways_scroll(page, viewport):
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]


def file_near_copy(browse) -> int:
    """A curator files a near copy of a published demo case and submits it for review: its id."""
    page = browse().log_in("curator")
    page.goto("/cases/new")
    page.locator("#f-title").fill(f"{SCOOTER_TITLE} {uuid.uuid4().hex[:6]}")
    page.locator("#f-summary").fill(SCOOTER_SUMMARY)
    page.locator("#f-sector").select_option("mobility")
    page.locator("input[id='cause-partners.unreliable_partner']").check()
    page.locator("button[name=action][value=draft]").click()
    page.wait_for_load_state()
    case_id = int(re.search(r"/cases/(\d+)", page.url).group(1))
    page.locator(f"form[action='/cases/{case_id}/submit'] button").click()
    page.wait_for_load_state()
    return case_id


# -- 1. similar cases while the post-mortem is written -----------------------------------------------------------

@LOCALES
@VIEWPORTS
def test_case_form_lists_similar_cases_while_typing(browse, viewport, locale):
    page = browse(viewport=viewport, locale=locale).log_in("curator")
    page.goto("/cases/new")
    page.locator("#f-title").fill(SCOOTER_TITLE)
    summary = page.locator("#f-summary")
    summary.click()
    summary.press_sequentially(SCOOTER_SUMMARY[:40], delay=5)
    summary.fill(SCOOTER_SUMMARY)
    first = page.locator("[data-similar-list] li a").first
    first.wait_for(state="attached")
    assert page.evaluate("document.activeElement.id") == "f-summary"  # still typing
    titles = page.locator("[data-similar-list] [data-slot=title]").all_inner_texts()
    assert any(title.startswith("Our e-scooter brand in Indonesia") for title in titles), titles
    item = page.locator("[data-similar-list] li").first
    why = item.locator("[data-slot=why]")
    if why.inner_text().strip():  # the "why suggested" line is not cut by the item's fixed height
        assert why.bounding_box()["y"] + why.bounding_box()["height"] <= item.bounding_box()["y"] + item.bounding_box()["height"]
    whys = " ".join(page.locator("[data-similar-list] [data-slot=why]").all_inner_texts())
    assert whys.strip()  # the shared words or the sector are named
    if locale == "zh-CN":  # Chinese punctuation between the words and the parts, as the server's pages have it
        assert ", " not in whys and " · " not in whys and ("、" in whys or "；" in whys), whys
    badge = page.locator("a.similar-badge")
    if viewport is PHONE:
        page.locator("a.similar-badge", has_text=re.compile(r"\d")).wait_for()
        assert _in_viewport(page, badge), badge.bounding_box()
        assert int(re.search(r"\d+", badge.inner_text()).group()) == len(titles)
        # further down, in the narrative, the count is still in sight, above the sticky Save buttons
        page.locator("#f-narrative").click()
        assert _in_viewport(page, badge)
        actions = page.locator(".form-actions--sticky").bounding_box()
        assert badge.bounding_box()["y"] + badge.bounding_box()["height"] <= actions["y"] + 1
        badge.click()
        assert _in_viewport(page, page.locator("#live-heading"))
    else:
        assert badge.is_hidden()  # the list itself sits beside the form
        assert _in_viewport(page, first)
        page.locator("#f-narrative").click()
        page.locator("#f-narrative").fill("The partner shipped lower grades and stopped deliveries.")
        assert _in_viewport(page, page.locator("[data-similar-list] li a").first)  # it follows the form
    _no_sideways_scroll(page, viewport)


def test_case_form_leaves_out_the_case_being_edited(browse):
    page = browse().log_in("admin")
    page.goto("/search?q=" + "Our e-scooter brand in Indonesia")
    href = page.locator(".results .case-card a[href^='/cases/']").first.get_attribute("href")
    page.goto(href + "/edit")
    page.locator("#f-summary").press("End")
    page.locator("#f-summary").type(" ")
    page.locator("[data-similar-list] li a").first.wait_for(state="attached")
    hrefs = [link.get_attribute("href") for link in page.locator("[data-similar-list] li a").all()]
    assert hrefs and href not in hrefs


# -- 2. the review page: the text beside its likely duplicates ----------------------------------------------------

@LOCALES
@VIEWPORTS
def test_review_page_shows_the_text_beside_its_likely_duplicates(browse, viewport, locale):
    case_id = file_near_copy(browse)
    page = browse(viewport=viewport, locale=locale).log_in("manager")
    page.goto(f"/cases/{case_id}/review")
    text = page.locator(".review-layout__case")
    duplicates = page.locator("#duplicates")
    items = duplicates.locator("ol.duplicate-list > li")
    assert items.count() > 0
    assert any(title.startswith("Our e-scooter brand in Indonesia")
               for title in duplicates.locator(".case-card__title").all_inner_texts())
    assert SCOOTER_SUMMARY[:30] in text.inner_text()
    text_box, duplicates_box = text.bounding_box(), duplicates.bounding_box()
    if viewport is DESKTOP:
        assert duplicates_box["x"] >= text_box["x"] + text_box["width"]  # two columns
        assert abs(duplicates_box["y"] - text_box["y"]) < 40
        assert _in_viewport(page, duplicates.locator(".case-card__title").first)
    else:
        assert duplicates_box["y"] >= text_box["y"] + text_box["height"]  # stacked
        jump = page.locator(".review-jump a")
        assert _in_viewport(page, jump)  # reachable without scrolling past the text
        assert int(re.search(r"\d+", jump.inner_text()).group()) == items.count()
        jump.click()
        assert _in_viewport(page, page.locator("#duplicates-heading"))
    _no_sideways_scroll(page, viewport)
    # a suggestion leads to the merge page with that case chosen
    merge_link = items.first.locator("a[href*='/merge?kept_id=']")
    kept_id = merge_link.get_attribute("href").split("kept_id=")[1]
    merge_link.click()
    page.wait_for_load_state()
    assert page.locator(f"#kept-{kept_id}").is_checked()


# -- 3. merging picks the case to keep, never by its number ---------------------------------------------------------

@LOCALES
@VIEWPORTS
def test_merge_picks_the_kept_case_from_suggestions_or_a_search(browse, viewport, locale):
    case_id = file_near_copy(browse)
    page = browse(viewport=viewport, locale=locale).log_in("manager")
    page.goto(f"/cases/{case_id}/merge")
    assert page.locator("input[name=kept_id]:not([type=radio])").count() == 0  # no number to type
    assert page.locator("#merge-suggested input[type=radio]").count() > 0
    page.locator("main form.form button[type=submit]:not([form])").click()  # nothing chosen: said next to the choices
    page.wait_for_load_state()
    assert page.locator("#f-kept_id-errors").is_visible()
    page.locator("#merge-q").fill("battery")
    page.locator("#merge-q").press("Enter")
    page.wait_for_load_state()
    assert "q=battery" in page.url
    found = page.locator("#merge-found input[type=radio]")
    assert found.count() > 0
    choice = found.first
    kept_id = choice.get_attribute("value")
    choice.check()
    page.locator("#f-reason").fill("The same story twice.")
    page.locator("main form.form button[type=submit]:not([form])").click()
    page.wait_for_load_state()
    if page.locator("#f-confirm_visibility-errors").count():  # the kept case reaches more readers
        page.locator("#f-confirm_visibility").check()
        page.locator("main form.form button[type=submit]:not([form])").click()
        page.wait_for_load_state()
    assert page.url.endswith(f"/cases/{kept_id}")
    _no_sideways_scroll(page, viewport)


@pytest.mark.parametrize("viewport, locale", [(DESKTOP, "en-GB"), (PHONE, "zh-CN")], ids=["desktop-en", "phone-zh"])
def test_merge_search_lists_cases_while_typing(browse, viewport, locale):
    case_id = file_near_copy(browse)
    page = browse(viewport=viewport, locale=locale).log_in("manager")
    page.goto(f"/cases/{case_id}/merge")
    url = page.url
    page.locator("#merge-q").press_sequentially("battery", delay=20)
    found = page.locator("#merge-found input[type=radio]")
    found.first.wait_for()
    assert page.url == url  # no page load
    found.first.check()
    chosen = found.first.get_attribute("id")
    page.locator("#merge-q").press_sequentially(" packs", delay=20)
    page.wait_for_function("q => document.querySelector('#merge-results') && "
                           "!document.querySelector('#merge-results').classList.contains('is-loading')", arg=None)
    page.wait_for_timeout(800)
    again = page.locator(f"#{chosen}")
    assert again.count() == 0 or again.is_checked()  # a chosen result stays chosen when it is found again


def test_merge_works_without_javascript(browse):
    case_id = file_near_copy(browse)
    page = browse(viewport=PHONE, javascript=False).log_in("manager")
    page.goto(f"/cases/{case_id}/merge")
    page.locator("#merge-q").fill("battery")
    page.locator("button[form=merge-search]").click()
    page.wait_for_load_state()
    assert page.locator("#merge-found input[type=radio]").count() > 0
    assert page.locator("#merge-q").input_value() == "battery"


# -- 3b. the link form picks the other case the same way ----------------------------------------------------------

@LOCALES
@VIEWPORTS
def test_link_form_picks_the_other_case_from_similar_cases_or_a_search(browse, viewport, locale):
    case_id = file_near_copy(browse)
    page = browse(viewport=viewport, locale=locale).log_in("curator")
    page.goto(f"/cases/{case_id}/links")
    assert page.locator("input[name=target_id]:not([type=radio])").count() == 0  # no number to type
    suggested = page.locator("#link-suggested input[type=radio]")
    assert suggested.count() > 0
    assert page.locator(f"input[name=target_id][value='{case_id}']").count() == 0  # never the case itself
    submit = page.locator("main form.form button[type=submit]:not([form])")
    submit.click()  # nothing chosen: said next to the choices
    page.wait_for_load_state()
    assert page.locator("#f-target_id-errors").is_visible()
    url = page.url
    page.locator("#link-q").press_sequentially("battery", delay=20)  # live results, no page load
    found = page.locator("#link-found input[type=radio]")
    found.first.wait_for()
    assert page.url == url
    target_id = found.first.get_attribute("value")
    found.first.check()
    page.locator("#f-type").select_option("duplicate_of")
    page.locator("#f-note").fill("The same story, filed twice.")
    _no_sideways_scroll(page, viewport)
    submit.click()
    page.wait_for_load_state()
    assert re.search(rf"/cases/{case_id}(#links-heading)?$", page.url), page.url
    assert page.locator(f"#links-heading ~ ul.link-list a[href='/cases/{target_id}']").count() == 1


def test_link_form_works_without_javascript(browse):
    case_id = file_near_copy(browse)
    page = browse(viewport=PHONE, locale="zh-CN", javascript=False).log_in("curator")
    page.goto(f"/cases/{case_id}/links")
    page.locator("#link-q").fill("battery")
    page.locator("button[form=link-search]").click()
    page.wait_for_load_state()
    assert "q=battery" in page.url and page.locator("#link-q").input_value() == "battery"
    found = page.locator("#link-found input[type=radio]")
    target_id = found.first.get_attribute("value")
    found.first.check()
    page.locator("main form.form button[type=submit]:not([form])").click()
    page.wait_for_load_state()
    assert page.locator(f"ul.link-list a[href='/cases/{target_id}']").count() == 1


def test_phone_tables_scroll_inside_their_frame(browse):
    """Wide tables (review queue, admin lists) scroll in their frame; the page itself never scrolls sideways,
    also with their visually hidden labels in the last column (Chinese walk-through)."""
    page = browse(viewport=PHONE, locale="zh-CN").log_in("admin")
    for url in ("/reviews", "/admin/users", "/admin/parks", "/admin/causes"):
        page.goto(url)
        _no_sideways_scroll(page, PHONE)
        frame = page.locator(".table-wrap").first
        assert frame.evaluate("w => w.scrollWidth > w.clientWidth"), url  # the table does scroll
    page.goto("/lists")  # the guild lists' rows read as cards: the reason is not crushed into a narrow column
    _no_sideways_scroll(page, PHONE)
    reason = page.locator(".table--stack td[data-label]").nth(1)
    assert reason.bounding_box()["width"] > 300


# -- 4. the initiative's "What became of it" ------------------------------------------------------------------------

@LOCALES
@VIEWPORTS
def test_outcome_panel_is_one_form_with_one_primary_action(browse, viewport, locale):
    page = browse(viewport=viewport, locale=locale).log_in("member")
    page.goto("/initiatives/new")
    page.locator("#f-title").fill("Cold-chain export hub")
    page.locator("#f-description").fill(COLD_CHAIN)
    page.locator("#initiative-form button[type=submit]").first.click()
    page.wait_for_load_state()
    panel = page.locator("#outcome")
    assert panel.locator("form").count() == 1
    assert panel.locator("form button[type=submit]").count() == 1
    select, note = panel.locator("#f-outcome"), panel.locator("#f-outcome-note")
    assert select.bounding_box()["width"] <= 300
    assert note.evaluate("n => n.tagName") == "TEXTAREA" and note.bounding_box()["height"] >= 60
    boxes = panel.locator(".check-list li")
    assert boxes.count() >= 2
    tops = [box.bounding_box()["y"] for box in boxes.all()]
    assert all(b - a >= 20 for a, b in zip(tops, tops[1:]))  # one per line
    _no_sideways_scroll(page, viewport)

    panel.locator("form button[type=submit]").click()  # nothing chosen, nothing ticked: links cleared, no error
    page.wait_for_load_state()
    select = page.locator("#f-outcome")
    select.select_option("launched")
    page.locator("#f-outcome-note").fill("Two warehouses open in Almaty.")
    first_box = page.locator("#outcome .check-list input[type=checkbox]").first
    first_box.check()
    page.locator("#outcome form button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#outcome .outcome-history .outcome--launched").count() == 1
    assert "Two warehouses open in Almaty." in page.locator("#outcome .outcome-history").inner_text()
    assert page.locator("#outcome .check-list input[type=checkbox]").first.is_checked()


# -- screenshots ------------------------------------------------------------------------------------------------------

@LOCALES
@VIEWPORTS
def test_screenshots_of_the_duplicate_pages(browse, screenshot_dir, viewport, locale):
    """`make screenshots` keeps these in docs/screenshots: the case form while typing, the review page, the merge
    page, the link form and the initiative's outcome panel (Chinese ones end in -zh-desktop / -zh-phone)."""
    width = "desktop" if viewport is DESKTOP else "phone"
    suffix = width if locale == "en-GB" else f"zh-{width}"
    case_id = file_near_copy(browse)

    def shot(page, name):
        screenshot(page, screenshot_dir / f"friction-{name}-{suffix}.png")

    curator = browse(viewport=viewport, locale=locale).log_in("curator")
    curator.goto("/cases/new")
    curator.locator("#f-title").fill(SCOOTER_TITLE)
    curator.locator("#f-summary").click()
    curator.locator("#f-summary").fill(SCOOTER_SUMMARY)
    curator.locator("[data-similar-list] li").first.wait_for()
    curator.locator("#f-summary").evaluate("t => t.scrollIntoView({block: 'center'})")
    shot(curator, "case-form-typing")

    curator.goto(f"/cases/{case_id}/links?q=battery")
    shot(curator, "link")

    manager = browse(viewport=viewport, locale=locale).log_in("manager")
    manager.goto(f"/cases/{case_id}/review")
    shot(manager, "review")
    if viewport is PHONE:
        manager.locator(".review-jump a").click()
        shot(manager, "review-duplicates")
    manager.goto(f"/cases/{case_id}/merge?q=battery")
    shot(manager, "merge")
    manager.locator("#merge-q").evaluate("q => q.scrollIntoView({block: 'start'})")
    shot(manager, "merge-search")

    member = browse(viewport=viewport, locale=locale).log_in("member")
    member.goto("/initiatives/new")
    member.locator("#f-title").fill("Cold-chain export hub")
    member.locator("#f-description").fill(COLD_CHAIN)
    member.locator("#initiative-form button[type=submit]").first.click()
    member.wait_for_load_state()
    member.locator("#outcome").evaluate("s => s.scrollIntoView({block: 'start'})")
    shot(member, "outcome")
