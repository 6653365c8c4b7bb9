"""CDS Hooks: the cards each hook call returned, so feedback is attributed to the prescriber and patient

``cds_cards`` keeps each returned card's uuid with its service, the calling EHR's ``iss``, the hook's
``context.userId`` and ``context.patientId`` and the ``hookInstance`` (ids only), for a bounded time;
``cds_feedback`` gains the patient and hook instance of the card the feedback is about.

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'cds_cards',
        sa.Column('card_uuid', sa.String(length=100), nullable=False),
        sa.Column('service_id', sa.String(length=100), nullable=False),
        sa.Column('iss', sa.String(length=300), nullable=False),
        sa.Column('user_id', sa.String(length=200), nullable=False),
        sa.Column('patient_id', sa.String(length=64), nullable=False),
        sa.Column('hook_instance', sa.String(length=36), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('card_uuid'),
    )
    op.create_index('ix_cds_cards_expires_at', 'cds_cards', ['expires_at'])
    op.add_column('cds_feedback', sa.Column('patient_id', sa.String(length=64), nullable=True))
    op.add_column('cds_feedback', sa.Column('hook_instance', sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('cds_feedback') as batch:
        batch.drop_column('hook_instance')
        batch.drop_column('patient_id')
    op.drop_index('ix_cds_cards_expires_at', table_name='cds_cards')
    op.drop_table('cds_cards')
