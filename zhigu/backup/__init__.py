"""Backups: the database's own backup plus the portable case export, in one directory; and their restore.

`zhigu backup create DIR` writes, from one consistent view of the database:

- the database's own backup, which holds every row of every table (cases, revisions, comments, links,
  reviews, initiatives and verdicts, users, audit records...): on SQLite a copy made with SQLite's online
  backup API (safe while the app writes), on PostgreSQL `pg_dump --format=custom`, run on a snapshot
  exported by the transaction that also counts the rows and writes the case export;
- `cases.jsonl`, the `zhigu archive export` of the same moment (portable: imports into any database);
- `manifest.json`: the kind of database, the schema revision, the rows of each table, and checksums.

`zhigu backup restore DIR` checks the checksums first, replaces the database with the backup (SQLite's backup
API into the live file; `pg_restore --clean --single-transaction` on PostgreSQL), checks that every table
holds the rows the manifest lists, then brings the search indexes along: it queues every case, before and
after, in the search outbox with ids after any the old database had handed out, so each machine's
`zhigu worker` repairs its index, and it rebuilds this machine's index at once.
"""
