"""Score "find similar" on the founders' own verdicts in a Zhigu database.

Every initiative with verdicts is a query (its title and description, sector and markets, searched as its
founder, who may see only what they may open); cases marked relevant are grade 2, not relevant grade 0.
Prints Recall@10 and nDCG@10 over the judged initiatives, so a ranking change can be checked against what
founders actually found useful. Runs on the instance's configured database and index (ZHIGU_* variables or
instance/config.py):

    .venv/bin/python bench/verdicts.py
"""
import math

from zhigu import create_app
from zhigu.initiatives.services import verdict_judgments
from zhigu.search.similar import similar_cases


def score(judgments) -> dict:
    recalls, ndcgs = [], []
    for initiative, grades in judgments:
        ranked = [r.case.id for r in similar_cases(initiative.founder, initiative.description,
                                                   title=initiative.title, sector=initiative.sector,
                                                   markets=initiative.target_markets, limit=10)]
        relevant = [case_id for case_id, grade in grades.items() if grade >= 2]
        if relevant:
            recalls.append(sum(1 for case_id in ranked if case_id in relevant) / min(len(relevant), 10))
        ideal = sorted(grades.values(), reverse=True)[:10]
        idcg = sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
        dcg = sum((2 ** grades.get(case_id, 0) - 1) / math.log2(i + 2) for i, case_id in enumerate(ranked))
        if idcg:
            ndcgs.append(dcg / idcg)
    mean = lambda values: round(sum(values) / len(values), 4) if values else None  # noqa: E731
    return {"initiatives": len(judgments), "with_relevant": len(recalls), "recall@10": mean(recalls),
            "ndcg@10": mean(ndcgs)}


def main():
    app = create_app()
    with app.test_request_context():
        print(score(verdict_judgments()))


if __name__ == "__main__":
    main()
