"""The search page: facets, snippets, odd queries, spelling, paging, and what each reader may find."""
import pytest

from helpers import links, page, text


def test_search_shows_facets_with_labels_and_keeps_filters_in_links(client, make_case, cast, public_case):
    make_case(cast.author, title="Solar farm financing in Indonesia", summary="A solar farm lost its loan.",
              sector="fintech", target_markets=["ID"], causes=["money.cash_out"])

    tree = page(client.get("/search?q=solar"))
    facets = tree.select_one("aside.facets")
    assert "Energy and new energy" in text(facets) and "Finance and fintech" in text(facets)
    assert "Kazakhstan" in text(facets) and "Indonesia" in text(facets)
    assert "Ran out of cash" in text(facets) and "Money" in text(facets)
    sector_link = facets.select_one('a[href="/search?q=solar&sector=energy"]')
    assert sector_link is not None and text(sector_link.select_one(".facet__count")) == "1"
    assert "2 cases" in text(tree.select_one("#results-heading"))

    tree = page(client.get("/search?q=solar&sector=energy"))
    assert "1 case" in text(tree.select_one("#results-heading"))
    chip = tree.select_one(".active-filters").select_one("a.chip")
    assert "Energy and new energy" in text(chip) and chip.attrs["href"] == "/search?q=solar"
    form = tree.select_one("form.search-form")
    assert form.select_one("input[type=hidden][name=sector]").attrs["value"] == "energy"
    assert form.select_one("input[name=q]").attrs["value"] == "solar"
    # Adding a second filter keeps the first one in the link.
    market = tree.select_one("aside.facets").select_one('a[href="/search?q=solar&sector=energy&market=KZ"]')
    assert market is not None


def test_search_snippets_are_highlighted_and_escaped(client, make_case, cast):
    make_case(cast.author, title="Kiosk rollout", summary="Our <b>solar</b> kiosks <img src=x onerror=alert(1)> failed.")

    tree = page(client.get("/search?q=solar"))
    snippet = tree.select_one("p.snippet")
    assert text(snippet.select_one("mark")) == "solar"
    assert snippet.select_one("img") is None and snippet.select_one("b") is None
    assert "<img src=x" in text(snippet)


@pytest.mark.parametrize("query", ["((((", "solar OR", "NOT", "title:", "sol*", "[a TO", "\"", "a:b:c"])
def test_search_survives_odd_syntax(client, public_case, query):
    response = client.get("/search", query_string={"q": query})

    assert response.status_code in (200, 400)
    assert page(response).select_one("form.search-form") is not None


def test_search_explains_a_query_it_cannot_run(client):
    response = client.get("/search", query_string={"q": "solar " * 200})

    assert response.status_code == 400
    tree = page(response)
    assert "too long" in text(tree.select_one(".error-summary"))
    assert tree.select_one("form.search-form").select_one("input[name=q]") is not None


def test_search_accepts_quoted_phrases(client, public_case):
    response = client.get("/search", query_string={"q": '"solar kiosks"'})

    assert response.status_code == 200
    assert public_case.title in text(page(response).select_one(".results"))


def test_search_offers_a_spelling_correction(client, public_case):
    tree = page(client.get("/search?q=kazakstan&sector=energy"))

    suggestion = tree.select_one("p.did-you-mean")
    assert suggestion is not None
    link = suggestion.select_one("a")
    assert "kazakhstan" in text(link).lower()
    assert "sector=energy" in link.attrs["href"], "the correction keeps the filters"


def test_visitors_never_see_private_or_park_cases_in_search(auth, make_case, cast):
    make_case(cast.author, title="Zeppelin logistics private", visibility="private")
    make_case(cast.author, title="Zeppelin logistics park", visibility="park")
    make_case(cast.author, title="Zeppelin logistics public")

    def titles(client):
        results = page(client.get("/search?q=zeppelin")).select_one(".results")
        return {text(a) for a in results.select("a") if a.attrs["href"].startswith("/cases/")}

    assert titles(auth.login(None)) == {"Zeppelin logistics public"}
    assert titles(auth.login(cast.member_b)) == {"Zeppelin logistics public"}
    assert titles(auth.login(cast.member_a)) == {"Zeppelin logistics public", "Zeppelin logistics park"}
    assert len(titles(auth.login(cast.admin))) == 3


def test_search_pages_through_results(client, make_case, cast):
    for n in range(23):
        make_case(cast.author, title=f"Drone delivery attempt {n}", summary=f"Drone delivery pilot number {n}.")

    tree = page(client.get("/search?q=drone"))
    pagination = tree.select_one("nav.pagination")
    assert "/search?q=drone&page=2" in links(pagination)
    second = page(client.get("/search?q=drone&page=2"))
    assert len(second.select_one(".results").select("article")) == 3
    assert text(second.select_one("nav.pagination").select_one("span[aria-current=page]")) == "2"


def test_a_snippet_starts_where_its_sentence_starts(client, make_case, cast):
    opening = "Networked streetlights were installed across the park in the first winter of the pilot project. "
    make_case(cast.author, summary=opening + "The municipality never paid for the kettles it had ordered in spring.")

    tree = page(client.get("/search?q=kettles"))

    assert text(tree.select_one("p.snippet")).startswith("The municipality never paid for the kettles")
