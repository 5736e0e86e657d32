"""the outbound feed: the outbox written with each timeline entry and register change, the feed's
positioned log, subscriptions and their deliveries

Revision ID: 0015
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa
import infra.db


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'feed_outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=10), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=True),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_feed_outbox')),
    )
    op.create_table(
        'feed_events',
        sa.Column('position', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('event_id', sa.String(length=60), nullable=False),
        sa.Column('stream', sa.String(length=10), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('case_key', sa.Integer(), nullable=False),
        sa.Column('elevator_id', sa.Integer(), nullable=True),
        sa.Column('district_code', sa.String(length=12), nullable=True),
        sa.Column('at', infra.db.UTCDateTime(), nullable=False),
        sa.Column('body', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('position', name=op.f('pk_feed_events')),
        sa.UniqueConstraint('event_id', name=op.f('uq_feed_events_event_id')),
    )
    op.create_index(op.f('ix_feed_events_elevator_id'), 'feed_events', ['elevator_id'], unique=False)
    head = op.create_table(
        'feed_head',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_feed_head')),
    )
    op.bulk_insert(head, [{'id': 1, 'position': 0}])
    op.create_table(
        'feed_subscriptions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('url', sa.String(length=500), nullable=False),
        sa.Column('secret', sa.String(length=200), nullable=False),
        sa.Column('kinds', sa.JSON(), nullable=False),
        sa.Column('districts', sa.JSON(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('timeout_seconds', sa.Float(), nullable=False),
        sa.Column('created_at', infra.db.UTCDateTime(), nullable=False),
        sa.Column('lease_until', infra.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_feed_subscriptions')),
        sa.UniqueConstraint('name', name=op.f('uq_feed_subscriptions_name')),
    )
    op.create_table(
        'feed_deliveries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('subscription_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('case_key', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_at', infra.db.UTCDateTime(), nullable=False),
        sa.Column('delivered_at', infra.db.UTCDateTime(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['position'], ['feed_events.position'], name=op.f('fk_feed_deliveries_position_feed_events')),
        sa.ForeignKeyConstraint(
            ['subscription_id'], ['feed_subscriptions.id'],
            name=op.f('fk_feed_deliveries_subscription_id_feed_subscriptions'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_feed_deliveries')),
        sa.UniqueConstraint('subscription_id', 'position', name=op.f('uq_feed_deliveries_subscription_id')),
    )
    op.create_index(
        'ix_feed_deliveries_pending', 'feed_deliveries', ['subscription_id', 'status', 'case_key', 'position'], unique=False
    )


def downgrade() -> None:
    op.drop_index('ix_feed_deliveries_pending', table_name='feed_deliveries')
    op.drop_table('feed_deliveries')
    op.drop_table('feed_subscriptions')
    op.drop_table('feed_head')
    op.drop_index(op.f('ix_feed_events_elevator_id'), table_name='feed_events')
    op.drop_table('feed_events')
    op.drop_table('feed_outbox')
