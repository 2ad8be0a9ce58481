"""the trends index also holds what the money and time-to-failure spreads read (start date, money lost,
currency) and the target markets (a key column in SQLite, INCLUDEd in PostgreSQL), and case_cause gets an index
that gives a case's primary cause without reading the row: the spreads read every case in scope (at 100,000
cases in SQLite, 0.6 to 0.2 s of SQL)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 15:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

COUNTED = ['status', 'visibility', sa.text('coalesce(ended_on, published_at)'), 'sector', 'region', 'stage_reached',
           'park_id', 'author_id', 'ended_on', 'published_at']


def upgrade():
    op.drop_index('ix_failure_case_trends', table_name='failure_case')
    spreads = ['started_on', 'money_lost', 'currency']
    if op.get_bind().dialect.name == 'postgresql':  # JSON has no btree order: a column the index carries
        op.create_index('ix_failure_case_trends', 'failure_case', [*COUNTED, *spreads], unique=False,
                        postgresql_include=['target_markets'])
    else:
        op.create_index('ix_failure_case_trends', 'failure_case', [*COUNTED, *spreads, 'target_markets'],
                        unique=False)
    op.create_index('ix_case_cause_trends', 'case_cause', ['case_id', 'is_primary', 'cause_id'], unique=False)


def downgrade():
    op.drop_index('ix_case_cause_trends', table_name='case_cause')
    op.drop_index('ix_failure_case_trends', table_name='failure_case')
    op.create_index('ix_failure_case_trends', 'failure_case', COUNTED, unique=False)
