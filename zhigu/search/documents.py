"""The Whoosh schema and the mapping from a case row to its index document.

Only published cases are indexed: drafts and retracted cases never reach search or similar lists. Who may
see a document is indexed with it (`allowed`, see zhigu.archive.permissions.visibility_tokens), so result
counts and facets are computed over what the searcher may open, not filtered after the fact.
"""
import re
from typing import Iterator

from whoosh.fields import DATETIME, ID, KEYWORD, TEXT, Schema

from zhigu.archive.models import CaseStatus, FailureCase
from zhigu.archive.permissions import visibility_tokens
from zhigu.comments.models import searchable_comment_texts
from zhigu.search.analysis import MultilingualAnalyzer, SpellingAnalyzer, TermCounts

#: Han characters match the spelling tokenizer's word pattern; they have no place in English suggestions.
SPELL_SCRIPT = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
#: Facet fields: keyword fields that can hold several values are marked True.
FACETS = {"cause": True, "family": True, "sector": False, "region": False, "market": True,
          "stage": False, "year": False, "language": False}


def text_field(analyzer, vector: bool = False) -> TEXT:
    """A TEXT field without positions whose postings (and term vector) TermCounts counts."""
    field = TEXT(analyzer=analyzer, phrase=False)
    field.format = TermCounts(field.format.field_boost)
    field.vector = field.format if vector else None
    return field


def build_schema() -> Schema:
    analyzer = MultilingualAnalyzer()
    return Schema(
        id=ID(stored=True, unique=True),
        #: Updated-at stamp of the row this document was built from, for `zhigu search check`.
        stamp=ID(stored=True),
        #: Title and summary keep term vectors: "find similar" re-ranks by their cosine without re-analysing.
        title=text_field(analyzer, vector=True),
        summary=text_field(analyzer, vector=True),
        body=text_field(analyzer),
        #: Visible comments: found by search (never by "find similar"); a schema change needs `search rebuild`.
        comments=text_field(analyzer),
        causes_text=text_field(analyzer),
        #: Unstemmed Latin-script words of the text, each once: the vocabulary of "did you mean" suggestions.
        spell=text_field(SpellingAnalyzer()),
        cause=KEYWORD(commas=True, scorable=True, stored=True),
        primary_cause=ID(stored=True),
        family=KEYWORD(commas=True),
        sector=ID(stored=True),
        region=ID(),
        market=KEYWORD(commas=True, scorable=True, stored=True),
        stage=ID(),
        year=ID(),
        language=ID(),
        allowed=KEYWORD(commas=True),
        published=DATETIME(sortable=True),
    )


def stamp(case: FailureCase) -> str:
    return f"{case.updated_at.isoformat()}|{case.status}|{case.visibility}"


def should_index(case: FailureCase) -> bool:
    return case.status == CaseStatus.published


def province(region: str | None) -> str | None:
    """Facet regions by province: "Zhejiang/Hangzhou" counts under "Zhejiang"."""
    return region.split("/")[0].strip() or None if region else None


def case_documents(session, cases: list[FailureCase]) -> Iterator[dict]:
    """The index documents of a batch of published cases, the comments of the whole batch read in one query."""
    comments = searchable_comment_texts(session, [case.id for case in cases])
    for case in cases:
        yield case_document(case, comments.get(case.id, ""))


def case_document(case: FailureCase, comments: str = "") -> dict:
    """Build the index document of a published case, with the text of its visible `comments`. An anonymized
    organization's name is not indexed."""
    causes = case.causes
    primary = case.primary_cause
    year = case.ended_on or case.published_at
    body = "\n".join(filter(None, [case.narrative, case.warning_signs, case.lessons, " ".join(case.tags or []),
                                   None if case.anonymize else case.org_name]))
    document = {
        "id": str(case.id),
        "stamp": stamp(case),
        "title": case.title,
        "summary": case.summary,
        "body": body,
        "spell": SPELL_SCRIPT.sub(" ", f"{case.title}\n{case.summary}\n{body}"),
        "causes_text": " ".join(f"{c.label_en} {c.label_zh}" for c in causes),
        "cause": ",".join(c.code for c in causes),
        "family": ",".join(sorted({c.family for c in causes})),
        "market": ",".join(case.target_markets or []),
        "allowed": ",".join(visibility_tokens(case)),
        "language": case.language or "",
    }
    if comments:
        document["comments"] = comments
    optional = {
        "primary_cause": primary.code if primary else None,
        "sector": case.sector,
        "region": province(case.region),
        "stage": case.stage_reached,
        "year": str(year.year) if year else None,
        "published": case.published_at.replace(tzinfo=None) if case.published_at else None,
    }
    document.update({key: value for key, value in optional.items() if value})
    return document
