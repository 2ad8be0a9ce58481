"""The search outbox (the database's ordered log of cases whose index documents must be rewritten), the
stored neighbours of each case (zhigu.search.neighbours) and the cases' sentence vectors (zhigu.search.dense)."""
from datetime import datetime

from sqlalchemy import (JSON, BigInteger, ForeignKey, ForeignKeyConstraint, Index, Integer, LargeBinary,
                        PrimaryKeyConstraint, String, UniqueConstraint, false, text)
from sqlalchemy.orm import Mapped, mapped_column

from zhigu.db import now_utc
from zhigu.extensions import db


class IndexChange(db.Model):
    """One case to re-read and re-index; written in the transaction that changed the case.

    Ids grow in commit order (see zhigu.search.outbox), so an index directory follows the log by remembering
    the last id it applied.
    """

    __tablename__ = "search_outbox"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    case_id: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    #: Only the case's comments changed: its document must be rewritten (search finds comments), but nothing
    #: "find similar" reads did, so its stored nearest cases stay (zhigu.search.neighbours).
    comments_only: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: Only what the case's own "find similar" reads and nobody else's does changed (its narrative, warning signs,
    #: lessons...: zhigu.search.hooks.OWN_TEXT): its stored nearest cases are computed again, but it finds and
    #: is found by the others as before, so their lists stay.
    own_text_only: Mapped[bool] = mapped_column(default=False, server_default=false())


class NeighbourList(db.Model):
    """A case whose nearest cases are stored in `case_neighbour` for one audience (none, when nothing is like it).

    A case without a row for an audience (or with a `pending` one) has not been computed for it since it or one
    of its neighbours changed: readers then ask the index (zhigu.search.neighbours).
    """

    __tablename__ = "neighbour_list"
    #: `zhigu worker` asks for the pending lists on every poll (SQLite's planner uses a partial index only
    #: for the condition as SQLAlchemy writes it).
    __table_args__ = (Index("ix_neighbour_list_pending", "audience", sqlite_where=text("pending = 1"),
                            postgresql_where=text("pending")),)

    case_id: Mapped[int] = mapped_column(ForeignKey("failure_case.id", ondelete="CASCADE"), primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(default=now_utc)
    #: Whose view the list ranks: "public" (what a visitor may open), "park:<id>" (the public cases and that
    #: park's park cases: what its members may open), and, stored when trends first reads them, "manager:<id>"
    #: (the public cases and all that park's: its managers) and "all" (admins). Lists of two audiences never mix.
    audience: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: A list stored when trends read it ("manager:<id>", "all"), of one of its audience's newest cases, that a
    #: change made wrong: its rows are gone and readers compute it again, as if it had none, but `zhigu worker`
    #: computes it again first (zhigu.search.neighbours.REFILLED_NEWEST).
    pending: Mapped[bool] = mapped_column(default=False, server_default=false())


class CaseNeighbour(db.Model):
    """One of a case's nearest cases, as "find similar" ranked it for the list's audience when it was computed."""

    __tablename__ = "case_neighbour"
    __table_args__ = (PrimaryKeyConstraint("case_id", "audience", "rank"),
                      ForeignKeyConstraint(["case_id", "audience"],
                                           ["neighbour_list.case_id", "neighbour_list.audience"], ondelete="CASCADE"))

    case_id: Mapped[int]
    #: 0 for the nearest.
    rank: Mapped[int]
    neighbour_id: Mapped[int] = mapped_column(ForeignKey("failure_case.id", ondelete="CASCADE"), index=True)
    score: Mapped[float]
    #: Distinctive words the pair shares (len(why["terms"])): trends' recurrences filter on it in SQL.
    shared_terms: Mapped[int]
    #: The result's `why`, as the live query gives it to a viewer of the audience.
    why: Mapped[dict] = mapped_column(JSON)
    #: The list's audience (NeighbourList.audience).
    audience: Mapped[str] = mapped_column(String(32))


class CaseEmbedding(db.Model):
    """A sentence vector of a case's text (the multilingual extra, zhigu.search.dense).

    Keyed by the model and a digest of the text it was computed from, not by case: an edited case gets a new
    row, a case whose text is unchanged after a rebuild, an import or a restore finds its row again, and
    nothing is embedded twice. Rows no case's text points to any more are removed by `prune_embeddings`.
    """

    __tablename__ = "case_embedding"
    __table_args__ = (UniqueConstraint("model", "digest", name="uq_case_embedding_model_digest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Name and version of the model (zhigu.search.dense.MODEL_NAME): another model's vectors never mix.
    model: Mapped[str] = mapped_column(String(80))
    #: SHA-256 (hex) of the exact text embedded (zhigu.search.dense.case_text).
    digest: Mapped[str] = mapped_column(String(64))
    #: Unit-length float32 vector, little-endian bytes.
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
