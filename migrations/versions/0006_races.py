"""Races: one-submission form tokens, one open proposal per student, one unfinished allocation run per cohort

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

OPEN_PROPOSAL = "proposed_by_id IS NOT NULL AND state NOT IN ('rejected', 'withdrawn')"
UNFINISHED = "state IN ('queued', 'running')"


def upgrade():
    op.create_table('form_tokens',
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('object_type', sa.String(length=40), nullable=True),
    sa.Column('object_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_form_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token', name=op.f('pk_form_tokens'))
    )
    with op.batch_alter_table('form_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_form_tokens_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.create_index('uq_projects_one_open_proposal', ['cohort_id', 'proposed_by_id'], unique=True,
                              sqlite_where=sa.text(OPEN_PROPOSAL), postgresql_where=sa.text(OPEN_PROPOSAL))

    with op.batch_alter_table('allocation_runs', schema=None) as batch_op:
        batch_op.create_index('uq_allocation_runs_one_unfinished', ['cohort_id'], unique=True,
                              sqlite_where=sa.text(UNFINISHED), postgresql_where=sa.text(UNFINISHED))


def downgrade():
    with op.batch_alter_table('allocation_runs', schema=None) as batch_op:
        batch_op.drop_index('uq_allocation_runs_one_unfinished', sqlite_where=sa.text(UNFINISHED),
                            postgresql_where=sa.text(UNFINISHED))

    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_index('uq_projects_one_open_proposal', sqlite_where=sa.text(OPEN_PROPOSAL),
                            postgresql_where=sa.text(OPEN_PROPOSAL))

    with op.batch_alter_table('form_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_form_tokens_user_id'))

    op.drop_table('form_tokens')
