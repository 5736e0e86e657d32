"""elevator risk scores

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa
import infra.db


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('elevator_risk',
    sa.Column('elevator_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('factors', sa.JSON(), nullable=False),
    sa.Column('model_version', sa.String(length=40), nullable=False),
    sa.Column('scored_at', infra.db.UTCDateTime(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['elevator_id'], ['elevators.id'], name=op.f('fk_elevator_risk_elevator_id_elevators')),
    sa.PrimaryKeyConstraint('elevator_id', name=op.f('pk_elevator_risk'))
    )
    op.create_index(op.f('ix_elevator_risk_level'), 'elevator_risk', ['level'], unique=False)
    op.create_index(op.f('ix_elevator_risk_scored_at'), 'elevator_risk', ['scored_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_elevator_risk_scored_at'), table_name='elevator_risk')
    op.drop_index(op.f('ix_elevator_risk_level'), table_name='elevator_risk')
    op.drop_table('elevator_risk')
