"""operations: held records, the audit of operations actions, the trace context of outbox events, EHR deliveries

``held_records`` keeps inbound records that kept failing (and the same key's later records behind them) so other
patients' records move on; ``ops_actions`` audits every operations action; ``outbox.trace_context`` carries the
W3C trace context of the request that enqueued an event on to its Kafka headers; ``ehr_deliveries`` keeps what the
EHR did with each message sent to it (intake's earlier delivery records are copied into it).

Revision ID: 0003
Revises: 0002
"""
import json

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
    op.create_table(
        'ehr_deliveries',
        sa.Column('message_id', sa.String(length=64), nullable=False),
        sa.Column('event_code', sa.String(length=100), nullable=False),
        sa.Column('record_kind', sa.String(length=50), nullable=False),
        sa.Column('record_id', sa.String(length=64), nullable=False),
        sa.Column('patient_id', sa.String(length=64), nullable=False),
        sa.Column('queued_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('reasons', sa.Text(), nullable=True),
        sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('message_id'),
    )
    op.create_index('ix_ehr_deliveries_status', 'ehr_deliveries', ['status'])
    op.create_index('ix_ehr_deliveries_record', 'ehr_deliveries', ['record_kind', 'record_id'])
    _copy_intake_deliveries()


INTAKE_STATUS = {None: 'sent', 'ok': 'applied', 'fatal-error': 'refused', 'transient-error': 'retrying'}


def _copy_intake_deliveries() -> None:
    """Intake kept its deliveries as records of kind ``intake-ehr-delivery``: the same facts, now in the table (the
    old records stay, unread, so a downgrade loses nothing)."""
    from datetime import datetime

    conn = op.get_bind()
    records = sa.table('records', sa.column('kind'), sa.column('patient_id'), sa.column('body'))
    deliveries = sa.table('ehr_deliveries', *(sa.column(name) for name in (
        'message_id', 'event_code', 'record_kind', 'record_id', 'patient_id', 'queued_at', 'status', 'reasons',
        'answered_at')))
    for row in conn.execute(sa.select(records.c.patient_id, records.c.body)
                            .where(records.c.kind == 'intake-ehr-delivery')).all():
        body = json.loads(row.body)
        response = body.get('ehr_response') or {}
        conn.execute(deliveries.insert().values(
            message_id=body['message_id'], event_code=body['event_code'], record_kind='intake',
            record_id=body['intake_id'], patient_id=row.patient_id,
            queued_at=datetime.fromisoformat(body['queued_at'].replace('Z', '+00:00')),
            status=INTAKE_STATUS.get(response.get('code'), 'sent'), reasons=json.dumps(response.get('issues', [])),
            answered_at=(datetime.fromisoformat(response['received_at'].replace('Z', '+00:00'))
                         if response.get('received_at') else None)))


def downgrade() -> None:
    op.drop_index('ix_ehr_deliveries_record', table_name='ehr_deliveries')
    op.drop_index('ix_ehr_deliveries_status', table_name='ehr_deliveries')
    op.drop_table('ehr_deliveries')
    op.drop_table('ops_actions')
    op.drop_index('ix_held_records_message_key', table_name='held_records')
    op.drop_table('held_records')
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('trace_context')
