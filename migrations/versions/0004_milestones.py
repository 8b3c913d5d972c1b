"""milestones, extensions, meetings, submissions, cohort closures

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('calendar_feeds',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_calendar_feeds_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_calendar_feeds')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_calendar_feeds_token_hash'))
    )
    op.create_table('meetings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('supervisor_id', sa.Integer(), nullable=False),
    sa.Column('met_on', sa.Date(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('actions', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('confirmed_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('(confirmed_at IS NULL) = (confirmed_by_id IS NULL)', name=op.f('ck_meetings_confirmed_by_whom')),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_meetings_cohort_id_cohorts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['confirmed_by_id'], ['users.id'], name=op.f('fk_meetings_confirmed_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['student_id'], ['users.id'], name=op.f('fk_meetings_student_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['supervisor_id'], ['users.id'], name=op.f('fk_meetings_supervisor_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meetings'))
    )
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.create_index('ix_meetings_cohort_id_student_id_met_on', ['cohort_id', 'student_id', 'met_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_meetings_supervisor_id'), ['supervisor_id'], unique=False)

    op.create_table('milestones',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('phase', sa.String(length=10), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cutoff_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('needs_file', sa.Boolean(), nullable=False),
    sa.Column('is_assessed', sa.Boolean(), nullable=False),
    sa.Column('components', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind IN ('project_plan', 'ethics', 'interim_report', 'final_report', 'poster', 'custom')", name=op.f('ck_milestones_kind_known')),
    sa.CheckConstraint("phase IN ('part_time', 'full_time')", name=op.f('ck_milestones_phase_known')),
    sa.CheckConstraint('cutoff_at IS NULL OR cutoff_at >= due_at', name=op.f('ck_milestones_cutoff_not_before_due')),
    sa.CheckConstraint('length(title) > 0', name=op.f('ck_milestones_title_not_empty')),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_milestones_cohort_id_cohorts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_milestones')),
    sa.UniqueConstraint('cohort_id', 'title', name='uq_milestones_cohort_title')
    )
    with op.batch_alter_table('milestones', schema=None) as batch_op:
        batch_op.create_index('ix_milestones_cohort_id_due_at', ['cohort_id', 'due_at'], unique=False)

    op.create_table('extensions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('milestone_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('requested_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('evidence_key', sa.String(length=200), nullable=True),
    sa.Column('evidence_name', sa.String(length=255), nullable=True),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('new_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("(state = 'granted') = (new_due_at IS NOT NULL)", name=op.f('ck_extensions_new_due_when_granted')),
    sa.CheckConstraint("(state = 'requested') = (decided_at IS NULL)", name=op.f('ck_extensions_decided_unless_requested')),
    sa.CheckConstraint("state IN ('requested', 'granted', 'refused', 'referred')", name=op.f('ck_extensions_state_known')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_extensions_decided_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['milestone_id'], ['milestones.id'], name=op.f('fk_extensions_milestone_id_milestones'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_extensions_requested_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['student_id'], ['users.id'], name=op.f('fk_extensions_student_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_extensions'))
    )
    with op.batch_alter_table('extensions', schema=None) as batch_op:
        batch_op.create_index('ix_extensions_student_id_milestone_id', ['student_id', 'milestone_id'], unique=False)
        batch_op.create_index('uq_extensions_one_open_request', ['milestone_id', 'student_id'], unique=True, sqlite_where=sa.text("state = 'requested'"), postgresql_where=sa.text("state = 'requested'"))

    op.create_table('submissions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('milestone_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('storage_key', sa.String(length=200), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('page_count', sa.Integer(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_by_id', sa.Integer(), nullable=True),
    sa.Column('deadline_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('is_late', sa.Boolean(), nullable=False),
    sa.Column('late_seconds', sa.Integer(), nullable=False),
    sa.Column('late_working_days', sa.Integer(), nullable=False),
    sa.Column('declaration', sa.String(length=40), nullable=False),
    sa.Column('form_token', sa.String(length=64), nullable=False),
    sa.CheckConstraint('is_late = (late_seconds > 0)', name=op.f('ck_submissions_late_when_after_deadline')),
    sa.CheckConstraint('length(sha256) = 64', name=op.f('ck_submissions_sha256_hex')),
    sa.CheckConstraint('size > 0', name=op.f('ck_submissions_size_positive')),
    sa.CheckConstraint('version >= 1', name=op.f('ck_submissions_version_positive')),
    sa.ForeignKeyConstraint(['milestone_id'], ['milestones.id'], name=op.f('fk_submissions_milestone_id_milestones'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['student_id'], ['users.id'], name=op.f('fk_submissions_student_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_submissions_submitted_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_submissions')),
    sa.UniqueConstraint('milestone_id', 'student_id', 'version', name='uq_submissions_milestone_student_version'),
    sa.UniqueConstraint('storage_key', name=op.f('uq_submissions_storage_key')),
    sa.UniqueConstraint('student_id', 'form_token', name='uq_submissions_student_form_token')
    )
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.create_index('ix_submissions_milestone_id_student_id', ['milestone_id', 'student_id'], unique=False)

    with op.batch_alter_table('cohorts', schema=None) as batch_op:
        # Existing cohorts get DESIGN.md's defaults.
        batch_op.add_column(sa.Column('closures', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column('extension_max_working_days', sa.Integer(), nullable=False, server_default='10'))
        batch_op.add_column(sa.Column('meeting_gap_part_time_weeks', sa.Integer(), nullable=False, server_default='3'))
        batch_op.add_column(sa.Column('meeting_gap_full_time_weeks', sa.Integer(), nullable=False, server_default='2'))
        batch_op.create_check_constraint(
            'extension_limit_range', 'extension_max_working_days >= 1 AND extension_max_working_days <= 60')
        batch_op.create_check_constraint(
            'meeting_gaps_positive', 'meeting_gap_part_time_weeks >= 1 AND meeting_gap_full_time_weeks >= 1')



def downgrade():
    with op.batch_alter_table('cohorts', schema=None) as batch_op:
        batch_op.drop_constraint('meeting_gaps_positive', type_='check')
        batch_op.drop_constraint('extension_limit_range', type_='check')
        batch_op.drop_column('meeting_gap_full_time_weeks')
        batch_op.drop_column('meeting_gap_part_time_weeks')
        batch_op.drop_column('extension_max_working_days')
        batch_op.drop_column('closures')

    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_index('ix_submissions_milestone_id_student_id')

    op.drop_table('submissions')
    with op.batch_alter_table('extensions', schema=None) as batch_op:
        batch_op.drop_index('uq_extensions_one_open_request', sqlite_where=sa.text("state = 'requested'"), postgresql_where=sa.text("state = 'requested'"))
        batch_op.drop_index('ix_extensions_student_id_milestone_id')

    op.drop_table('extensions')
    with op.batch_alter_table('milestones', schema=None) as batch_op:
        batch_op.drop_index('ix_milestones_cohort_id_due_at')

    op.drop_table('milestones')
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meetings_supervisor_id'))
        batch_op.drop_index('ix_meetings_cohort_id_student_id_met_on')

    op.drop_table('meetings')
    op.drop_table('calendar_feeds')
