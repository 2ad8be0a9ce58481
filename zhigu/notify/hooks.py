"""Tell case subscribers of edits and retractions: the archive records each as a CaseRevision, and this
hook turns a new revision into notifications in the same flush, so the archive needs no import of notify."""
from sqlalchemy import event

from zhigu.archive.models import CaseRevision
from zhigu.extensions import db
from zhigu.i18n import N_

MESSAGES = {"edit": N_("“{title}” was edited by {actor}."), "retract": N_("“{title}” was retracted by {actor}.")}


@event.listens_for(db.session, "before_flush")
def notify_revisions(session, flush_context, instances):
    from zhigu.notify.messages import term
    from zhigu.notify.services import notify_case_subscribers

    for obj in list(session.new):
        if isinstance(obj, CaseRevision) and obj.action in MESSAGES and obj.case is not None:
            who = obj.editor.display_name if obj.editor else term(N_("Someone"))
            notify_case_subscribers(obj.case, f"case_{obj.action}", MESSAGES[obj.action],
                                    params={"title": obj.case.title, "actor": who}, exclude=obj.editor)
