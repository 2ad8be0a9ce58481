"""The OpenAPI document describes every route of the JSON API, from the same schemas."""
import re

import pytest


@pytest.fixture
def document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def test_openapi_document_lists_the_paths(document):
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"]
    paths = document["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/cases"])
    assert {"get", "patch"} <= set(paths["/api/v1/cases/{case_id}"])
    assert "post" in paths["/api/v1/cases/{case_id}/publish"]
    assert "post" in paths["/api/v1/cases/{case_id}/retract"]
    assert "get" in paths["/api/v1/causes"]
    assert "post" in paths["/api/v1/similar"]
    assert "post" in paths["/api/v1/initiatives"]
    assert "get" in paths["/api/v1/initiatives/{initiative_id}"]
    assert "post" in paths["/api/v1/initiatives/{initiative_id}/feedback"]


def test_every_api_route_is_documented(app, document):
    undocumented = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint in ("api.openapi", "api.index"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if method.lower() not in document["paths"].get(path, {}):
                undocumented.append(f"{method} {path}")
    assert undocumented == []


def test_schemas_come_from_the_marshmallow_schemas(document):
    schemas = document["components"]["schemas"]
    case = schemas["FailureCase"]
    assert {"title", "summary", "causes", "primary_cause", "target_markets", "visibility"} <= set(case["properties"])
    assert {"title", "summary"} <= set(case["required"])
    assert case["properties"]["id"]["readOnly"] is True
    assert schemas["SimilarRequest"]["properties"]["limit"]["maximum"] == 50
    assert schemas["Feedback"]["properties"]["verdict"]["enum"] == ["relevant", "not_relevant"]
    assert "reason" in schemas["Retract"]["required"]


def test_errors_and_auth_are_documented(document):
    post = document["paths"]["/api/v1/cases"]["post"]
    assert {"201", "400", "401", "403", "422"} <= set(post["responses"])
    assert "errors" in post["responses"]["422"]["content"]["application/json"]["schema"]["properties"]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_api_index_points_at_the_document(client):
    body = client.get("/api/v1/").get_json()

    assert body["openapi"] == "/api/v1/openapi.json"


def test_answers_are_described_by_the_output_schemas(document):
    schemas = document["components"]["schemas"]
    read = document["paths"]["/api/v1/cases/{case_id}"]["get"]["responses"]["200"]
    assert read["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/CaseOut"}
    case = schemas["CaseOut"]["properties"]
    assert case["causes"]["items"]["type"] == "string"
    assert case["org_name"]["nullable"] is True and case["author"]["nullable"] is True  # hidden organizations
    comments = document["paths"]["/api/v1/cases/{case_id}/comments"]["get"]["responses"]["200"]
    assert comments["content"]["application/json"]["schema"]["items"] == {"$ref": "#/components/schemas/CommentOut"}


def test_operations_take_their_summary_from_the_view_and_their_parameters_from_the_rule(document):
    operations = [op for item in document["paths"].values() for method, op in item.items() if method != "parameters"]
    assert all(op["summary"] for op in operations)
    assert document["paths"]["/api/v1/causes"]["get"]["summary"] == "The cause taxonomy."
    merge = document["paths"]["/api/v1/cases/{case_id}/merge-into/{kept_id}"]
    assert {(p["name"], p["schema"]["type"]) for p in merge["parameters"]} == {("case_id", "integer"),
                                                                               ("kept_id", "integer")}


def test_output_schemas_only_dump():
    from zhigu.archive.schemas import CaseOutSchema

    with pytest.raises(TypeError):
        CaseOutSchema().load({"title": "A title", "summary": "A summary long enough"})
