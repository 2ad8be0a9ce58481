"""An audit trail of destructive or moderating actions (deletes, hides, merges): who, when, what, why."""

from zhigu.audit import api  # noqa: E402,F401  (GET /api/v1/cases/<id>/audit)
