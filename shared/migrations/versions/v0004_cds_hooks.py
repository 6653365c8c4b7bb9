"""CDS Hooks: the JWT ids taken (replay protection) and the feedback on cards

``cds_jtis`` keeps each EHR's JWT ids until the token expires; ``cds_feedback`` keeps what the prescriber did with
each card (accepted, overridden with its reason, ignored) and who, once per card, outcome and outcome time.

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'cds_jtis',
        sa.Column('iss', sa.String(length=300), nullable=False),
        sa.Column('jti', sa.String(length=200), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('iss', 'jti'),
    )
    op.create_index('ix_cds_jtis_expires_at', 'cds_jtis', ['expires_at'])
    op.create_table(
        'cds_feedback',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('service_id', sa.String(length=100), nullable=False),
        sa.Column('card_uuid', sa.String(length=100), nullable=False),
        sa.Column('outcome', sa.String(length=20), nullable=False),
        sa.Column('outcome_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('override_reason', sa.Text(), nullable=True),
        sa.Column('accepted_suggestions', sa.Text(), nullable=True),
        sa.Column('actor', sa.String(length=300), nullable=False),
        sa.Column('iss', sa.String(length=300), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('service_id', 'card_uuid', 'outcome', 'outcome_at'),
    )


def downgrade() -> None:
    op.drop_table('cds_feedback')
    op.drop_index('ix_cds_jtis_expires_at', table_name='cds_jtis')
    op.drop_table('cds_jtis')
