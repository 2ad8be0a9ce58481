"""stored nearest cases: neighbour_list marks the cases whose list is computed, case_neighbour holds it;
an index on failure_case.published_at (trends reads a window's newest cases: 78 to 0.2 ms at 10,000 cases)

Both start empty: lists are computed when cases change, when read, by `zhigu worker` and by
`zhigu search rebuild` (zhigu.search.neighbours).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 16:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('neighbour_list',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('computed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['failure_case.id'], name=op.f('fk_neighbour_list_case_id_failure_case'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_neighbour_list'))
    )
    op.create_table('case_neighbour',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('neighbour_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Double(), nullable=False),
    sa.Column('shared_terms', sa.Integer(), nullable=False),
    sa.Column('why', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['neighbour_list.case_id'],
                            name=op.f('fk_case_neighbour_case_id_neighbour_list'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['neighbour_id'], ['failure_case.id'],
                            name=op.f('fk_case_neighbour_neighbour_id_failure_case'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', 'rank', name=op.f('pk_case_neighbour'))
    )
    with op.batch_alter_table('case_neighbour', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_neighbour_neighbour_id'), ['neighbour_id'], unique=False)
    with op.batch_alter_table('failure_case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_failure_case_published_at'), ['published_at'], unique=False)


def downgrade():
    with op.batch_alter_table('failure_case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_failure_case_published_at'))
    with op.batch_alter_table('case_neighbour', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_neighbour_neighbour_id'))
    op.drop_table('case_neighbour')
    op.drop_table('neighbour_list')
