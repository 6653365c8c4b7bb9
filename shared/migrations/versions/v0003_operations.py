"""operations: held records, the audit of operations actions, and the trace context of outbox events

``held_records`` keeps inbound records that kept failing (and the same key's later records behind them) so other
patients' records move on; ``ops_actions`` audits every operations action; ``outbox.trace_context`` carries the
W3C trace context of the request that enqueued an event on to its Kafka headers.

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('trace_context', sa.Text(), nullable=True))
    op.create_table(
        'held_records',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('consumer', sa.String(length=200), nullable=False),
        sa.Column('source_topic', sa.String(length=200), nullable=False),
        sa.Column('source_partition', sa.Integer(), nullable=False),
        sa.Column('source_offset', sa.Integer(), nullable=False),
        sa.Column('message_key', sa.String(length=200), nullable=True),
        sa.Column('value', sa.LargeBinary(), nullable=True),
        sa.Column('headers', sa.Text(), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('held_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('consumer', 'source_topic', 'source_partition', 'source_offset'),
    )
    op.create_index('ix_held_records_message_key', 'held_records', ['message_key'])
    op.create_table(
        'ops_actions',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('service', sa.String(length=50), nullable=False),
        sa.Column('action', sa.String(length=50), nullable=False),
        sa.Column('target', sa.String(length=300), nullable=False),
        sa.Column('actor', sa.String(length=300), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('outcome', sa.String(length=50), nullable=False),
        sa.Column('acted_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade() -> None:
    op.drop_table('ops_actions')
    op.drop_index('ix_held_records_message_key', table_name='held_records')
    op.drop_table('held_records')
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('trace_context')
