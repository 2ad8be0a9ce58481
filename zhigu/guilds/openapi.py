"""OpenAPI paths of organizations and the guild-reviewed red and black lists."""
from zhigu.guilds.models import LISTING_STATUSES, LISTS
from zhigu.guilds.schemas import AppealSchema, ListingSchema, RenewalSchema, ReplySchema, WithdrawSchema

LISTING_ID = [{"name": "listing_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
ORGANIZATION = {"type": "object", "properties": {
    "id": {"type": "integer"}, "name": {"type": "string"}, "type": {"type": "string"},
    "region": {"type": "string", "nullable": True}, "has_representative": {"type": "boolean"}}}
LISTING = {"type": "object", "properties": {
    "id": {"type": "integer"}, "list": {"type": "string", "enum": list(LISTS)},
    "status": {"type": "string", "enum": list(LISTING_STATUSES)},
    "organization": ORGANIZATION, "guild": {"type": "object"}, "justification": {"type": "string"},
    "evidence": {"type": "array", "items": {"type": "object"}}, "reply": {"type": "string", "nullable": True},
    "appeal_reason": {"type": "string", "nullable": True},
    "expires_on": {"type": "string", "format": "date", "nullable": True},
    "audit": {"type": "array", "items": {"type": "object"},
              "description": "Every step; only for the guild's reviewers and admins."}}}


def document(spec, op) -> None:
    """Add the organization and listing paths to `spec`; `op` builds one operation."""
    for name, schema in (("Listing", ListingSchema), ("Renewal", RenewalSchema), ("ListingReply", ReplySchema),
                         ("Appeal", AppealSchema), ("Withdrawal", WithdrawSchema)):
        spec.components.schema(name, schema=schema)
    spec.path("/api/v1/organizations", operations={
        "get": op("Organization profiles", response={"type": "array", "items": ORGANIZATION}, errors=())})
    spec.path("/api/v1/listings", operations={
        "get": dict(op("The current (published, unexpired) red and black lists",
                       response={"type": "array", "items": LISTING}, errors=("400",)),
                    parameters=[{"name": "list", "in": "query",
                                 "schema": {"type": "string", "enum": list(LISTS)}}]),
        "post": op("Propose a listing (a guild's reviewer); published once a second reviewer confirms",
                   body={"$ref": "#/components/schemas/Listing"}, response=LISTING, status="201")})
    spec.path("/api/v1/listings/{listing_id}", parameters=LISTING_ID, operations={
        "get": op("Read a listing (proposals: the guild's reviewers and admins)", response=LISTING,
                  errors=("401", "404"))})
    for step, summary, schema in (
            ("confirm", "Confirm a proposal, or uphold an appealed listing (another reviewer of the guild)", None),
            ("reply", "Post the organization's reply (its representative)", "ListingReply"),
            ("appeal", "Appeal a published listing (its representative); review re-opens", "Appeal"),
            ("renew", "Renew a published listing with fresh evidence (the guild's reviewers)", "Renewal"),
            ("withdraw", "Withdraw a listing (the guild's reviewers, admins)", "Withdrawal")):
        body = {"$ref": f"#/components/schemas/{schema}"} if schema else None
        operation = op(summary, body=body, response=LISTING, errors=("401", "403", "404", "422"))
        operation["responses"]["409"] = {"description": "The listing is not in a state that allows this step"}
        spec.path(f"/api/v1/listings/{{listing_id}}/{step}", parameters=LISTING_ID, operations={"post": operation})
