"""proposals, preferences, bookmarks, notifications, cohort preference settings

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('link', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_notifications_cohort_id_cohorts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_user_id_read_at', ['user_id', 'read_at'], unique=False)

    op.create_table('preference_lists',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('entered_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_preference_lists_cohort_id_cohorts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['entered_by_id'], ['users.id'], name=op.f('fk_preference_lists_entered_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['student_id'], ['users.id'], name=op.f('fk_preference_lists_student_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_preference_lists')),
    sa.UniqueConstraint('cohort_id', 'student_id', name='uq_preference_lists_cohort_student')
    )
    with op.batch_alter_table('preference_lists', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_preference_lists_student_id'), ['student_id'], unique=False)

    op.create_table('projects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('proposed_by_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('keywords', sa.JSON(), nullable=False),
    sa.Column('prerequisites', sa.Text(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('is_external', sa.Boolean(), nullable=False),
    sa.Column('external_organisation', sa.String(length=200), nullable=True),
    sa.Column('external_contact', sa.String(length=200), nullable=True),
    sa.Column('has_nda', sa.Boolean(), nullable=False),
    sa.Column('aims', sa.Text(), nullable=True),
    sa.Column('method', sa.Text(), nullable=True),
    sa.Column('data_needed', sa.Text(), nullable=True),
    sa.Column('suitability', sa.Text(), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("state IN ('draft', 'with_supervisor', 'declined', 'submitted', 'changes_requested', 'approved', 'rejected', 'withdrawn')", name=op.f('ck_projects_state_known')),
    sa.CheckConstraint('capacity >= 1 AND capacity <= 20', name=op.f('ck_projects_capacity_range')),
    sa.CheckConstraint('is_external OR external_organisation IS NULL', name=op.f('ck_projects_organisation_only_if_external')),
    sa.CheckConstraint('length(title) > 0', name=op.f('ck_projects_title_not_empty')),
    sa.CheckConstraint('proposed_by_id IS NULL OR capacity = 1', name=op.f('ck_projects_self_proposal_capacity_one')),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_projects_cohort_id_cohorts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_projects_owner_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['users.id'], name=op.f('fk_projects_proposed_by_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_projects'))
    )
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.create_index('ix_projects_cohort_id_state', ['cohort_id', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_projects_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_projects_proposed_by_id'), ['proposed_by_id'], unique=False)

    op.create_table('bookmarks',
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_bookmarks_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['student_id'], ['users.id'], name=op.f('fk_bookmarks_student_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('student_id', 'project_id', name=op.f('pk_bookmarks'))
    )
    op.create_table('preferences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.CheckConstraint('rank >= 1', name=op.f('ck_preferences_rank_positive')),
    sa.ForeignKeyConstraint(['list_id'], ['preference_lists.id'], name=op.f('fk_preferences_list_id_preference_lists'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_preferences_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_preferences')),
    sa.UniqueConstraint('list_id', 'project_id', name='uq_preferences_list_project'),
    sa.UniqueConstraint('list_id', 'rank', name='uq_preferences_list_rank')
    )
    with op.batch_alter_table('preferences', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_preferences_project_id'), ['project_id'], unique=False)

    op.create_table('project_co_supervisors',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_project_co_supervisors_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_project_co_supervisors_user_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('project_id', 'user_id', name=op.f('pk_project_co_supervisors'))
    )
    op.create_table('project_comments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_project_comments_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_project_comments_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_comments'))
    )
    with op.batch_alter_table('project_comments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_comments_project_id'), ['project_id'], unique=False)

    # Existing cohorts get the DESIGN.md defaults; the defaults then live in the application only.
    with op.batch_alter_table('cohorts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('preferences_deadline_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('min_preferences', sa.Integer(), nullable=False, server_default='5'))
        batch_op.add_column(sa.Column('max_preferences', sa.Integer(), nullable=False, server_default='10'))
        batch_op.add_column(sa.Column('max_choices_per_supervisor', sa.Integer(), nullable=False,
                                      server_default='3'))
        batch_op.add_column(sa.Column('project_keywords', sa.JSON(), nullable=False, server_default='[]'))
    with op.batch_alter_table('cohorts', schema=None) as batch_op:
        for column in ('min_preferences', 'max_preferences', 'max_choices_per_supervisor', 'project_keywords'):
            batch_op.alter_column(column, server_default=None)
        batch_op.create_check_constraint(
            'preference_counts',
            'min_preferences >= 1 AND min_preferences <= max_preferences AND max_preferences <= 30')
        batch_op.create_check_constraint('max_choices_per_supervisor_positive', 'max_choices_per_supervisor >= 1')



def downgrade():
    with op.batch_alter_table('cohorts', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_cohorts_max_choices_per_supervisor_positive'), type_='check')
        batch_op.drop_constraint(op.f('ck_cohorts_preference_counts'), type_='check')
        batch_op.drop_column('project_keywords')
        batch_op.drop_column('max_choices_per_supervisor')
        batch_op.drop_column('max_preferences')
        batch_op.drop_column('min_preferences')
        batch_op.drop_column('preferences_deadline_at')

    with op.batch_alter_table('project_comments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_comments_project_id'))

    op.drop_table('project_comments')
    op.drop_table('project_co_supervisors')
    with op.batch_alter_table('preferences', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_preferences_project_id'))

    op.drop_table('preferences')
    op.drop_table('bookmarks')
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_projects_proposed_by_id'))
        batch_op.drop_index(batch_op.f('ix_projects_owner_id'))
        batch_op.drop_index('ix_projects_cohort_id_state')

    op.drop_table('projects')
    with op.batch_alter_table('preference_lists', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_preference_lists_student_id'))

    op.drop_table('preference_lists')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_user_id_read_at')

    op.drop_table('notifications')
