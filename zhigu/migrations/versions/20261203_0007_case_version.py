"""case version and one primary cause per case: edits name the version they started from

failure_case.version counts the row's updates (SQLAlchemy's version counter): an update made from an older
version fails instead of overwriting a newer one. A partial unique index lets a case have one primary cause
only; simultaneous saves could leave two, so where a case has several, the most recently added stays primary
and the others become ordinary causes of the case (none is removed).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

case_cause = sa.table('case_cause', sa.column('id', sa.Integer()), sa.column('case_id', sa.Integer()),
                      sa.column('is_primary', sa.Boolean()))


def upgrade():
    with op.batch_alter_table('failure_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))

    kept = case_cause.alias('kept')
    newest_primaries = sa.select(sa.func.max(kept.c.id)).where(kept.c.is_primary).group_by(kept.c.case_id)
    op.execute(case_cause.update().where(case_cause.c.is_primary, case_cause.c.id.not_in(newest_primaries))
               .values(is_primary=False))
    op.create_index('uq_case_cause_primary', 'case_cause', ['case_id'], unique=True,
                    sqlite_where=sa.text('is_primary'), postgresql_where=sa.text('is_primary'))


def downgrade():
    op.drop_index('uq_case_cause_primary', table_name='case_cause')
    with op.batch_alter_table('failure_case', schema=None) as batch_op:
        batch_op.drop_column('version')
