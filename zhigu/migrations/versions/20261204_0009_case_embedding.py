"""case_embedding: one sentence vector per (model, text digest), for the multilingual extra

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 17:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('case_embedding',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('model', sa.String(length=80), nullable=False),
                    sa.Column('digest', sa.String(length=64), nullable=False),
                    sa.Column('vector', sa.LargeBinary(), nullable=False),
                    sa.Column('created_at', sa.DateTime(), nullable=False),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('model', 'digest', name='uq_case_embedding_model_digest'))


def downgrade():
    op.drop_table('case_embedding')
