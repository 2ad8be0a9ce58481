"""stored nearest cases per audience: neighbour_list and case_neighbour gain `audience` ("public", or
"park:<id>" for a park's members), part of their keys; the lists stored before are the public ones

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 04:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

#: SQLite's batch mode copies each table; reflecting the tables its keys refer to (failure_case) would warn
#: about its expression index (ix_failure_case_trends), which the copy does not need.
NO_REFERRED_TABLES = {"resolve_fks": False}


def upgrade():
    with op.batch_alter_table('case_neighbour', schema=None, reflect_kwargs=NO_REFERRED_TABLES) as batch_op:
        batch_op.drop_constraint('fk_case_neighbour_case_id_neighbour_list', type_='foreignkey')
    with op.batch_alter_table('neighbour_list', schema=None, reflect_kwargs=NO_REFERRED_TABLES) as batch_op:
        batch_op.add_column(sa.Column('audience', sa.String(length=32), server_default='public', nullable=False))
    with op.batch_alter_table('neighbour_list', schema=None, reflect_kwargs=NO_REFERRED_TABLES) as batch_op:
        batch_op.alter_column('audience', server_default=None)
        batch_op.drop_constraint('pk_neighbour_list', type_='primary')
        batch_op.create_primary_key('pk_neighbour_list', ['case_id', 'audience'])
    with op.batch_alter_table('case_neighbour', schema=None, reflect_kwargs=NO_REFERRED_TABLES) as batch_op:
        batch_op.add_column(sa.Column('audience', sa.String(length=32), server_default='public', nullable=False))
    with op.batch_alter_table('case_neighbour', schema=None, reflect_kwargs=NO_REFERRED_TABLES) as batch_op:
        batch_op.alter_column('audience', server_default=None)
        batch_op.drop_constraint('pk_case_neighbour', type_='primary')
        batch_op.create_primary_key('pk_case_neighbour', ['case_id', 'audience', 'rank'])
        batch_op.create_foreign_key('fk_case_neighbour_case_id_neighbour_list', 'neighbour_list',
                                    ['case_id', 'audience'], ['case_id', 'audience'], ondelete='CASCADE')


def downgrade():
    op.execute("DELETE FROM case_neighbour WHERE audience <> 'public'")
    op.execute("DELETE FROM neighbour_list WHERE audience <> 'public'")
    with op.batch_alter_table('case_neighbour', schema=None, reflect_kwargs=NO_REFERRED_TABLES) as batch_op:
        batch_op.drop_constraint('fk_case_neighbour_case_id_neighbour_list', type_='foreignkey')
        batch_op.drop_constraint('pk_case_neighbour', type_='primary')
        batch_op.create_primary_key('pk_case_neighbour', ['case_id', 'rank'])
        batch_op.drop_column('audience')
    with op.batch_alter_table('neighbour_list', schema=None, reflect_kwargs=NO_REFERRED_TABLES) as batch_op:
        batch_op.drop_constraint('pk_neighbour_list', type_='primary')
        batch_op.create_primary_key('pk_neighbour_list', ['case_id'])
        batch_op.drop_column('audience')
    with op.batch_alter_table('case_neighbour', schema=None, reflect_kwargs=NO_REFERRED_TABLES) as batch_op:
        batch_op.create_foreign_key('fk_case_neighbour_case_id_neighbour_list', 'neighbour_list',
                                    ['case_id'], ['case_id'], ondelete='CASCADE')
