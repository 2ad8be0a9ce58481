"""Founders' verdicts export as an evaluation set (`zhigu search export-judgments`)."""
import json

from test_initiatives_api import INITIATIVE


def test_verdicts_are_written_as_queries_and_graded_qrels(tmp_path, runner, api_as, cast, make_case):
    kept = make_case(cast.author, title="Cold-chain warehouse at a border park", sector="logistics",
                     summary="A refrigerated warehouse for fruit exporters stood empty at the Khorgos border.")
    rejected = make_case(cast.author, title="Fruit warehouse lease in Almaty", sector="logistics",
                         summary="A warehouse for fruit exporters was leased but never fitted out.")
    api = api_as(cast.member_a)
    initiative = api.post("/api/v1/initiatives", json=INITIATIVE).get_json()
    api.post(f"/api/v1/initiatives/{initiative['id']}/feedback",
             json={"case_id": kept.id, "verdict": "relevant", "note": "We will sign exporters first."})
    api.post(f"/api/v1/initiatives/{initiative['id']}/feedback",
             json={"case_id": rejected.id, "verdict": "not_relevant"})
    api.post("/api/v1/initiatives", json={**INITIATIVE, "title": "An initiative nobody judged"})

    result = runner.invoke(args=["search", "export-judgments", str(tmp_path / "judged")])

    assert result.exit_code == 0, result.output
    queries = [json.loads(line) for line in (tmp_path / "judged" / "queries.jsonl").read_text().splitlines()]
    assert [q["query_id"] for q in queries] == [f"initiative-{initiative['id']}"]
    assert queries[0]["description"] == INITIATIVE["description"]
    qrels = sorted((tmp_path / "judged" / "qrels.tsv").read_text().splitlines())
    assert qrels == sorted([f"initiative-{initiative['id']}\t0\t{kept.id}\t2",
                            f"initiative-{initiative['id']}\t0\t{rejected.id}\t0"])
