"""Patient-reported outcomes: the patient's single-use questionnaire links of the treatment course

``patient_links`` keeps each link's course, scale, validity and use; of its token only the SHA-256. The schedule of
questionnaires is computed from the course's scores and needs no table.

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'patient_links',
        sa.Column('link_id', sa.String(length=64), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('course_id', sa.String(length=64), nullable=False),
        sa.Column('patient_id', sa.String(length=64), nullable=False),
        sa.Column('scale', sa.String(length=20), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.String(length=300), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('link_id'),
        sa.UniqueConstraint('token_hash'),
    )
    op.create_index('ix_patient_links_course_id', 'patient_links', ['course_id'])


def downgrade() -> None:
    op.drop_index('ix_patient_links_course_id', table_name='patient_links')
    op.drop_table('patient_links')
