"""neighbour_list.pending: a list stored when trends read it, made wrong by a change, is marked for the worker

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 01:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    # No batch mode: SQLite adds (and drops) a column in place, and copying neighbour_list reflects failure_case,
    # whose expression index (ix_failure_case_trends) SQLAlchemy cannot reflect.
    op.add_column('neighbour_list', sa.Column('pending', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_index('ix_neighbour_list_pending', 'neighbour_list', ['audience'], unique=False,
                    sqlite_where=sa.text('pending = 1'), postgresql_where=sa.text('pending'))


def downgrade():
    op.drop_index('ix_neighbour_list_pending', table_name='neighbour_list')
    op.drop_column('neighbour_list', 'pending')
