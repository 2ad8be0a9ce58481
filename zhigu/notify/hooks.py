"""Tell case subscribers of edits and retractions: the archive records each as a CaseRevision, and this
hook turns a new revision into notifications in the same flush, so the archive needs no import of notify.

The editor of a case whose organization is anonymized is never named (their name could give the
organization away): such notifications say only that the case was edited or retracted."""
from sqlalchemy import event

from zhigu.archive.models import CaseRevision
from zhigu.extensions import db
from zhigu.i18n import N_
from zhigu.notify.inbox import notify_case_subscribers
from zhigu.notify.messages import EDITED, case_ref, term
from zhigu.notify.models import NotificationKind

#: What each CaseRevision action tells case subscribers: the kind of notification and its message.
MESSAGES = {"edit": (NotificationKind.case_edit, N_("“{title}” was edited by {actor}.")),
            "retract": (NotificationKind.case_retract, N_("“{title}” was retracted by {actor}."))}


@event.listens_for(db.session, "before_flush")
def notify_revisions(session, flush_context, instances):
    for obj in list(session.new):
        if isinstance(obj, CaseRevision) and obj.action in MESSAGES and obj.case is not None:
            kind, message = MESSAGES[obj.action]
            params = {"title": case_ref(obj.case)}
            if obj.case.anonymize:
                message = EDITED[message]
            else:
                params["actor"] = obj.editor.display_name if obj.editor else term(N_("Someone"))
            notify_case_subscribers(obj.case, kind, message, params=params, exclude=obj.editor)
