"""Invitations (a set-your-password link is a password reset with the purpose 'invitation'); people
imports held for the coordinator to confirm role changes; a supervisor's dispute of a meeting record;
whether a cohort marks anonymously

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('password_resets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purpose', sa.String(length=20), server_default='reset', nullable=False))

    op.create_table('people_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('abandoned_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_people_imports_cohort_id_cohorts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_people_imports_uploaded_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_people_imports'))
    )
    with op.batch_alter_table('people_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_people_imports_cohort_id'), ['cohort_id'], unique=False)

    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disputed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('dispute_comment', sa.Text(), nullable=True))
        batch_op.create_check_constraint(op.f('ck_meetings_disputed_with_comment'), '(disputed_at IS NULL) = (dispute_comment IS NULL)')
        batch_op.create_check_constraint(op.f('ck_meetings_confirmed_or_disputed'), 'confirmed_at IS NULL OR disputed_at IS NULL')

    with op.batch_alter_table('cohorts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('marks_anonymously', sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade():
    with op.batch_alter_table('cohorts', schema=None) as batch_op:
        batch_op.drop_column('marks_anonymously')

    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_meetings_confirmed_or_disputed'), type_='check')
        batch_op.drop_constraint(op.f('ck_meetings_disputed_with_comment'), type_='check')
        batch_op.drop_column('dispute_comment')
        batch_op.drop_column('disputed_at')

    with op.batch_alter_table('people_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_people_imports_cohort_id'))

    op.drop_table('people_imports')
    with op.batch_alter_table('password_resets', schema=None) as batch_op:
        batch_op.drop_column('purpose')
