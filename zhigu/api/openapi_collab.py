"""OpenAPI paths of working together: reviews, comments, links, subscriptions and notifications."""
from zhigu.comments.schemas import CommentSchema, HideSchema
from zhigu.links.schemas import CaseLinkSchema, MergeSchema
from zhigu.notify.schemas import ReadSchema, SubscriptionSchema
from zhigu.reviews.schemas import ReviewDecisionSchema

CASE_ID = [{"name": "case_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
CASE_REF = {"$ref": "#/components/schemas/FailureCase"}
COMMENT_ID = [{"name": "comment_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
REVIEW_EVENT = {"type": "object", "properties": {
    "id": {"type": "integer"}, "action": {"type": "string"}, "comment": {"type": "string", "nullable": True},
    "actor": {"type": "string", "nullable": True}, "created_at": {"type": "string"}}}


def document(spec, op) -> None:
    """Add the collaboration paths to `spec`; `op` builds one operation (see zhigu.api.openapi._op)."""
    spec.components.schema("ReviewDecision", schema=ReviewDecisionSchema)
    spec.path("/api/v1/cases/{case_id}/submit", parameters=CASE_ID, operations={
        "post": op("Submit a draft (or a case sent back for changes) for review", response=CASE_REF)})
    spec.path("/api/v1/cases/{case_id}/claim", parameters=CASE_ID, operations={
        "post": op("Claim a case in review", response=CASE_REF)})
    spec.path("/api/v1/cases/{case_id}/review", parameters=CASE_ID, operations={
        "post": op("Approve (publish), request changes or reject; a comment is needed unless approving",
                   body={"$ref": "#/components/schemas/ReviewDecision"}, response=CASE_REF)})
    spec.path("/api/v1/cases/{case_id}/reviews", parameters=CASE_ID, operations={
        "get": op("A case's review trail (author, park managers, admins)",
                  response={"type": "array", "items": REVIEW_EVENT}, errors=("401", "404"))})
    spec.path("/api/v1/reviews", operations={"get": dict(op(
        "The review queue: cases in review the caller may decide on, longest waiting first",
        response={"type": "object", "properties": {"results": {"type": "array", "items": {"type": "object"}}}},
        errors=("401", "403", "422")), parameters=[
            {"name": "claimed", "in": "query", "schema": {"type": "string", "enum": ["all", "me", "unclaimed", "others"]}},
            {"name": "park", "in": "query", "schema": {"type": "string"}},
            {"name": "q", "in": "query", "schema": {"type": "string"}}])})
    spec.components.schema("Comment", schema=CommentSchema)
    spec.components.schema("Hide", schema=HideSchema)
    comment_ref = {"$ref": "#/components/schemas/Comment"}
    spec.path("/api/v1/cases/{case_id}/comments", parameters=CASE_ID, operations={
        "get": op("A case's comments, oldest first, each with its replies; deleted and hidden ones keep their "
                  "place without their text", response={"type": "array", "items": comment_ref}, errors=("401", "404")),
        "post": op("Comment on a case, or reply to a top-level comment (parent_id)", body=comment_ref,
                   response=comment_ref, status="201")})
    spec.path("/api/v1/comments/{comment_id}", parameters=COMMENT_ID, operations={
        "patch": op("Edit your comment", body={"type": "object", "properties": {"body": {"type": "string"}}},
                    response=comment_ref),
        "delete": op("Delete your comment (a marker stays in the thread)", response=comment_ref,
                     errors=("401", "403", "404"))})
    spec.path("/api/v1/comments/{comment_id}/hide", parameters=COMMENT_ID, operations={
        "post": op("Hide a comment with a reason (managers of the park, admins)",
                   body={"$ref": "#/components/schemas/Hide"}, response=comment_ref)})
    spec.path("/api/v1/comments/{comment_id}/unhide", parameters=COMMENT_ID, operations={
        "post": op("Show a hidden comment again (managers of the park, admins); recorded", response=comment_ref,
                   errors=("401", "403", "404"))})
    spec.components.schema("CaseLink", schema=CaseLinkSchema)
    spec.components.schema("Merge", schema=MergeSchema)
    link = {"type": "object", "properties": {
        "id": {"type": "integer"}, "type": {"type": "string"}, "direction": {"type": "string"},
        "label": {"type": "string", "description": "The link in words that read right from this case."},
        "case": {"type": "object"}, "note": {"type": "string"}, "author": {"type": "string", "nullable": True}}}
    spec.path("/api/v1/cases/{case_id}/links", parameters=CASE_ID, operations={
        "get": op("A case's typed links to cases the caller may see", response={"type": "array", "items": link},
                  errors=("401", "404")),
        "post": op("Link the case to another (same_root_cause, second_attempt_of, duplicate_of, contradicts, "
                   "related)", body={"$ref": "#/components/schemas/CaseLink"}, response=link, status="201")})
    spec.path("/api/v1/links/{link_id}", parameters=[
        {"name": "link_id", "in": "path", "required": True, "schema": {"type": "integer"}}], operations={
        "delete": op("Remove a link (its author, the park's managers, admins); recorded", status="204",
                     errors=("401", "403", "404"))})
    spec.path("/api/v1/cases/{case_id}/merge-into/{kept_id}", parameters=CASE_ID + [
        {"name": "kept_id", "in": "path", "required": True, "schema": {"type": "integer"}}], operations={
        "post": op("Merge a duplicate into the kept case (the caller must be allowed to edit both): comments, links "
                   "and subscriptions move, the duplicate redirects; optional body {\"reason\", "
                   "\"confirm_visibility\"}, the latter needed (else 422) when more people may open the kept case",
                   response=CASE_REF)})
    spec.components.schema("Subscription", schema=SubscriptionSchema)
    spec.components.schema("Read", schema=ReadSchema)
    sub_ref = {"$ref": "#/components/schemas/Subscription"}
    spec.path("/api/v1/subscriptions", operations={
        "get": op("What the caller follows", response={"type": "array", "items": sub_ref}, errors=("401",)),
        "post": op("Follow a case, cause, sector, market (country code), search (query) or your initiative",
                   body=sub_ref, response=sub_ref, status="201")})
    spec.path("/api/v1/subscriptions/{subscription_id}", parameters=[
        {"name": "subscription_id", "in": "path", "required": True, "schema": {"type": "integer"}}], operations={
        "delete": op("Unfollow", status="204", errors=("401", "404"))})
    notification = {"type": "object", "properties": {
        "id": {"type": "integer"}, "kind": {"type": "string"}, "message": {"type": "string"},
        "case_id": {"type": "integer", "nullable": True}, "url": {"type": "string", "nullable": True},
        "created_at": {"type": "string"}, "read": {"type": "boolean"}}}
    spec.path("/api/v1/notifications", operations={"get": dict(op(
        "The caller's notifications, newest first (about cases they may still see)",
        response={"type": "object", "properties": {"results": {"type": "array", "items": notification},
                                                   "unread": {"type": "integer"}}}, errors=("401",)),
        parameters=[{"name": "unread", "in": "query", "schema": {"type": "string", "enum": ["1", "0"]}}])})
    spec.path("/api/v1/notifications/read", operations={"post": op(
        "Mark notifications as read: the given ids, or all when the body is empty or has no ids",
        body={"$ref": "#/components/schemas/Read"},
        response={"type": "object", "properties": {"marked": {"type": "integer"}, "unread": {"type": "integer"}}},
        errors=("400", "401", "422"))})
    spec.path("/api/v1/cases/{case_id}/audit", parameters=CASE_ID, operations={"get": op(
        "The moderation record: deletes, hides, link removals and merges (park managers, admins)",
        response={"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "integer"}, "action": {"type": "string"}, "reason": {"type": "string", "nullable": True},
            "details": {"type": "object"}, "actor": {"type": "string", "nullable": True},
            "created_at": {"type": "string"}, "redacted": {"type": "boolean", "description": (
                "It names a case the caller may not open: that case's id, title, link notes and the reason are "
                "left out")}}}}, errors=("401", "403", "404"))})
