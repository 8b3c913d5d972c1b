"""Moderation and third markers: a moderator's adjusted final mark beside the engine's; members of
staff nominated to moderate; the third marker proposed for an agreement before the coordinator confirms

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('agreements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('third_marker_proposed_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_agreements_third_marker_proposed_id_users'), 'users', ['third_marker_proposed_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('cohort_staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_moderator', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('results', schema=None) as batch_op:
        batch_op.add_column(sa.Column('moderated_final', sa.Integer(), nullable=True))



def downgrade():
    with op.batch_alter_table('results', schema=None) as batch_op:
        batch_op.drop_column('moderated_final')

    with op.batch_alter_table('cohort_staff', schema=None) as batch_op:
        batch_op.drop_column('is_moderator')

    with op.batch_alter_table('agreements', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_agreements_third_marker_proposed_id_users'), type_='foreignkey')
        batch_op.drop_column('third_marker_proposed_id')

