"""Take a row for the rest of the transaction, so that use cases deciding on what they read take turns.

A use case that checks a state and then changes it (approve a case in review, delete a comment not yet
deleted, replace a case's causes) is only right if nothing changes the state between the check and the
commit. Such a use case calls `lock_row` first, before it changes anything, then reads the row afresh:

- PostgreSQL: ``SELECT ... FOR UPDATE`` waits for any other transaction holding the row, then returns it as
  committed; the later statements of this transaction (read committed) see that state too.
- SQLite has no row locks, but its first write takes the database's write lock, which the next writer waits
  for (the driver's busy timeout): an ``UPDATE`` that changes nothing does exactly that, and reads made
  afterwards see what the previous writer committed.

The second of two simultaneous use cases therefore sees the first one's result and refuses cleanly (409)
instead of both succeeding. Models with a version counter (FailureCase.version) also refuse, at flush, an
UPDATE made from an older version: a compare-and-set that catches any path that forgot the lock.
"""
from sqlalchemy import inspect, select


def lock_row(session, obj) -> bool:
    """Hold `obj`'s row until the transaction ends and expire what the session read; False if the row is gone.

    Call it before changing anything in the session: expired attributes are read again from the database,
    and changes not yet flushed would be lost.
    """
    state = inspect(obj)
    mapper = state.mapper
    (key,) = mapper.primary_key
    (ident,) = state.identity
    if session.get_bind().dialect.name == "postgresql":
        found = session.execute(select(key).where(key == ident).with_for_update()).first() is not None
    else:
        # every column with an `onupdate` (updated_at) set to itself too, so taking the lock changes nothing
        unchanged = {column.name: column for column in key.table.columns if column.onupdate is not None}
        found = session.execute(key.table.update().where(key == ident)
                                .values({key.name: key, **unchanged})).rowcount == 1
    session.expire_all()
    return found
