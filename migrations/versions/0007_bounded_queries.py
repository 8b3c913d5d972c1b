"""Bounded queries: a run keeps the fingerprint of the problem it solved; the audit log's filters by
action and by kind of object within a coordinator's cohorts are indexed

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    # Runs solved before this keep None: the run page then compares their whole problem, as before.
    with op.batch_alter_table('allocation_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('inputs_hash', sa.String(length=64), nullable=True))
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_events_cohort_id_action', ['cohort_id', 'action'], unique=False)
        batch_op.create_index('ix_audit_events_cohort_id_object_type', ['cohort_id', 'object_type'], unique=False)


def downgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_cohort_id_object_type')
        batch_op.drop_index('ix_audit_events_cohort_id_action')
    with op.batch_alter_table('allocation_runs', schema=None) as batch_op:
        batch_op.drop_column('inputs_hash')
