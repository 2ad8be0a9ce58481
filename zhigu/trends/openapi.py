"""OpenAPI entries of the trends endpoint (called from zhigu.api.openapi.build_spec)."""
from zhigu.trends.schemas import DIMENSIONS, SCOPES

COUNTS = {"type": "array", "items": {"type": "object", "properties": {
    "value": {"type": "string"}, "count": {"type": "integer"}}}}
SPREAD = {"n": {"type": "integer"}, **{k: {"type": "number", "nullable": True}
                                       for k in ("median", "p25", "p75", "low", "high")}}


def document(spec, op) -> None:
    parameters = [
        {"name": "scope", "in": "query", "schema": {"type": "string", "enum": list(SCOPES), "default": "all"},
         "description": "park: the caller's park; region: the `region` parameter; all: every case the caller "
                        "may open. Only published cases the caller may open ever count."},
        {"name": "region", "in": "query", "schema": {"type": "string"},
         "description": "Province or Province/City; required with scope=region"},
        {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}},
        {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"}},
        {"name": "by", "in": "query", "schema": {"type": "string", "enum": list(DIMENSIONS), "default": "cause"},
         "description": "Dimension of the timeline"},
    ]
    response = {"type": "object", "properties": {
        "total": {"type": "integer"}, "granularity": {"type": "string", "enum": ["quarter", "year"]},
        "periods": {"type": "array", "items": {"type": "string"}},
        "timeline": {"type": "array", "items": {"type": "object", "properties": {
            "value": {"type": "string"}, "counts": {"type": "array", "items": {"type": "integer"}},
            "total": {"type": "integer"}}}},
        "counts": {"type": "object", "properties": {d: COUNTS for d in DIMENSIONS}},
        "money_lost": {"type": "array", "items": {"type": "object", "properties": {
            "cause": {"type": "string"}, "currency": {"type": "string"}, **SPREAD}}},
        "time_to_failure_days": {"type": "array", "items": {"type": "object", "properties": {
            "cause": {"type": "string"}, **SPREAD}}},
        "top_causes": {"type": "array", "items": {"type": "object"}},
        "recurrences": {"type": "array", "items": {"type": "object"}},
    }}
    spec.path("/api/v1/trends", operations={"get": dict(op(
        "Failure trends over the cases the caller may open: counts by cause, family, sector, region, market and "
        "stage, over time; money lost and time to failure by cause; top causes against the previous period; "
        "recurrences", response=response, errors=("401", "422")), parameters=parameters)})
