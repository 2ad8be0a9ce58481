"""An audit trail of destructive or moderating actions (deletes, hides, merges): who, when, what, why."""
