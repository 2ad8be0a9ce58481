"""OpenAPI entries of the outcome and post-mortem endpoints (called from zhigu.api.openapi.build_spec)."""
from zhigu.attempts.schemas import InitiativeOutcomeSchema


def document(spec, op) -> None:
    spec.components.schema("InitiativeOutcome", schema=InitiativeOutcomeSchema)
    initiative_id = [{"name": "initiative_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
    initiative_ref = {"$ref": "#/components/schemas/Initiative"}
    spec.path("/api/v1/initiatives/{initiative_id}", parameters=initiative_id, operations={"patch": op(
        "Record the initiative's outcome (planned, launched, succeeded, failed, abandoned) on a day, and/or the "
        "earlier failures it re-attempts (second_attempt_of)",
        body={"$ref": "#/components/schemas/InitiativeOutcome"}, response=initiative_ref)})
    post_mortem = op(
        "Turn a failed or abandoned initiative into a draft post-mortem, pre-filled from it and linked "
        "second_attempt_of what it re-attempted; any case field in the body overrides the pre-filled one",
        body={"type": "object", "properties": {"second_attempt_of": {"type": "array", "items": {"type": "integer"}}},
              "additionalProperties": True},
        response={"$ref": "#/components/schemas/FailureCase"}, status="201")
    post_mortem["responses"]["409"] = {"description": "The initiative has not failed, or already has a post-mortem"}
    spec.path("/api/v1/initiatives/{initiative_id}/post-mortem", parameters=initiative_id,
              operations={"post": post_mortem})
