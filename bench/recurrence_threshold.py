"""Choose the recurrence threshold of the trends dashboard: how similar must a new case be to an earlier one?

For every query case of the AIID same-actor-same-failure dev qrels, runs `similar_to_case` (what the
dashboard's recurrence list runs) as an admin and keeps the top 10 (the query case excluded). Each returned
pair is labelled relevant (grade >= 2), judged non-relevant (graded 0/1 or unjudged) . For a sweep of
thresholds it prints precision (share of pairs at or above the threshold that are relevant) and how many
relevant pairs are kept, so the threshold can be chosen for high precision: a recurrence list is read as an
accusation ("this lesson was available and not used"), so a wrong pair costs more than a missed one.

    .venv/bin/python bench/recurrence_threshold.py          # AIID (no sector or causes on the cases)
    .venv/bin/python bench/recurrence_threshold.py --zh     # bench/zh_eval (cases carry sector and causes)

With --zh every case of bench/zh_eval is a query; a returned pair is relevant when some query of the set
judges both cases relevant (grade >= 2): the two failed the same way.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import quality  # noqa: E402


def main() -> None:
    from sqlalchemy import select

    from zhigu.archive.models import FailureCase
    from zhigu.auth.models import Role, User
    from zhigu.extensions import db
    from zhigu.search.similar import similar_to_case
    from zhigu.trends.services import RECURRENCE_MIN_TERMS

    zh = "--zh" in sys.argv
    app = quality.build_app(quality.ZH_CASES if zh else quality.AIID_CASES)
    qrels = quality.read_qrels(quality.AIID_QRELS["same_actor"])
    if zh:
        groups: dict[str, set[str]] = {}
        for judged in quality.read_qrels(quality.ZH_DIR / "qrels.tsv").values():
            members = {doc for doc, grade in judged.items() if grade >= quality.RELEVANT}
            for doc in members:
                groups.setdefault(doc, set()).update(members - {doc})
        qrels = {doc: dict.fromkeys(others, quality.RELEVANT) for doc, others in groups.items()}
    pairs = []  # (score, relevant)
    with app.app_context():
        admin = User(email="bench@example.org", display_name="bench", password_hash="x", role=Role.admin)
        db.session.add(admin)
        db.session.commit()
        by_external = {c.external_id: c for c in db.session.scalars(select(FailureCase))}
        if zh:  # every case is a query, also those no other case failed like
            qrels = {external_id: qrels.get(external_id, {}) for external_id in by_external}
        for qid, judged in qrels.items():
            case = by_external.get(qid)
            if case is None:
                continue
            for result in similar_to_case(admin, case, limit=10):
                if len(result.why.get("terms") or ()) < RECURRENCE_MIN_TERMS:
                    continue  # the dashboard's second condition (see zhigu.trends.services.is_recurrence)
                pairs.append((result.score, judged.get(result.case.external_id, 0) >= quality.RELEVANT))
    relevant_total = sum(rel for _, rel in pairs)  # relevant pairs in the top 10 that share enough words
    print(f"{len(qrels)} queries, {len(pairs)} returned pairs, {relevant_total} relevant")
    print("threshold  pairs>=t  precision  relevant kept")
    for t in [x / 20 for x in range(4, 31)]:
        kept = [rel for score, rel in pairs if score >= t]
        precision = sum(kept) / len(kept) if kept else float("nan")
        print(f"{t:9.2f}  {len(kept):8d}  {precision:9.2f}  {sum(kept):6d} ({sum(kept) / max(relevant_total, 1):.0%})")


if __name__ == "__main__":
    main()
