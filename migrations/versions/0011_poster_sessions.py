"""Poster sessions: settings, sessions and rooms, availability, panel members, schedules and slots

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('poster_panel_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_poster_panel_members_cohort_id_cohorts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_poster_panel_members_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['student_id'], ['users.id'], name=op.f('fk_poster_panel_members_student_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_poster_panel_members_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_poster_panel_members')),
    sa.UniqueConstraint('cohort_id', 'student_id', 'user_id', name='uq_poster_panel_members_cohort_student_user')
    )
    with op.batch_alter_table('poster_panel_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_poster_panel_members_student_id'), ['student_id'], unique=False)

    op.create_table('poster_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_poster_sessions_ends_after_start')),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_poster_sessions_cohort_id_cohorts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_poster_sessions'))
    )
    with op.batch_alter_table('poster_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_poster_sessions_cohort_id_starts_at', ['cohort_id', 'starts_at'], unique=False)

    op.create_table('poster_settings',
    sa.Column('cohort_id', sa.Integer(), nullable=False),
    sa.Column('slot_minutes', sa.Integer(), nullable=False),
    sa.Column('max_per_assessor_per_session', sa.Integer(), nullable=False),
    sa.Column('availability_opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('availability_closes_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('max_per_assessor_per_session >= 1', name=op.f('ck_poster_settings_max_per_assessor_positive')),
    sa.CheckConstraint('slot_minutes >= 5 AND slot_minutes <= 240', name=op.f('ck_poster_settings_slot_minutes_sensible')),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_poster_settings_cohort_id_cohorts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('cohort_id', name=op.f('pk_poster_settings'))
    )
    op.create_table('poster_availability',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(state = 'declared') = (decided_at IS NULL)", name=op.f('ck_poster_availability_decided_when')),
    sa.CheckConstraint("kind IN ('unavailable', 'if_needed')", name=op.f('ck_poster_availability_kind_known')),
    sa.CheckConstraint("state IN ('declared', 'accepted', 'refused')", name=op.f('ck_poster_availability_state_known')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_poster_availability_decided_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['session_id'], ['poster_sessions.id'], name=op.f('fk_poster_availability_session_id_poster_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_poster_availability_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_poster_availability')),
    sa.UniqueConstraint('session_id', 'user_id', name='uq_poster_availability_session_user')
    )
    with op.batch_alter_table('poster_availability', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_poster_availability_user_id'), ['user_id'], unique=False)

    op.create_table('poster_rooms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('boards', sa.Integer(), nullable=False),
    sa.CheckConstraint('boards >= 1', name=op.f('ck_poster_rooms_boards_positive')),
    sa.CheckConstraint('length(name) > 0', name=op.f('ck_poster_rooms_name_not_empty')),
    sa.ForeignKeyConstraint(['session_id'], ['poster_sessions.id'], name=op.f('fk_poster_rooms_session_id_poster_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_poster_rooms')),
    sa.UniqueConstraint('session_id', 'name', name='uq_poster_rooms_session_name')
    )
    op.create_table('poster_schedules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('problem', sa.JSON(), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.Column('assessor_days', sa.Integer(), nullable=True),
    sa.Column('lower_bound', sa.Integer(), nullable=True),
    sa.Column('if_needed_used', sa.Integer(), nullable=True),
    sa.Column('solve_seconds', sa.Double(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("(state IN ('published', 'superseded')) = (published_at IS NOT NULL)", name=op.f('ck_poster_schedules_published_when')),
    sa.CheckConstraint("state IN ('queued', 'running', 'solved', 'failed', 'published', 'superseded')", name=op.f('ck_poster_schedules_state_known')),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_poster_schedules_cohort_id_cohorts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_poster_schedules_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_poster_schedules_job_id_jobs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['published_by_id'], ['users.id'], name=op.f('fk_poster_schedules_published_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_poster_schedules')),
    sa.UniqueConstraint('cohort_id', 'number', name='uq_poster_schedules_cohort_number')
    )
    with op.batch_alter_table('poster_schedules', schema=None) as batch_op:
        batch_op.create_index('uq_poster_schedules_one_published', ['cohort_id'], unique=True, sqlite_where=sa.text("state = 'published'"), postgresql_where=sa.text("state = 'published'"))

    op.create_table('poster_slots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('schedule_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('room_id', sa.Integer(), nullable=False),
    sa.Column('board', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('is_moved', sa.Boolean(), nullable=False),
    sa.CheckConstraint('board >= 1', name=op.f('ck_poster_slots_board_positive')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_poster_slots_ends_after_start')),
    sa.ForeignKeyConstraint(['room_id'], ['poster_rooms.id'], name=op.f('fk_poster_slots_room_id_poster_rooms'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['schedule_id'], ['poster_schedules.id'], name=op.f('fk_poster_slots_schedule_id_poster_schedules'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['poster_sessions.id'], name=op.f('fk_poster_slots_session_id_poster_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['student_id'], ['users.id'], name=op.f('fk_poster_slots_student_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_poster_slots')),
    sa.UniqueConstraint('schedule_id', 'room_id', 'board', name='uq_poster_slots_schedule_room_board'),
    sa.UniqueConstraint('schedule_id', 'student_id', name='uq_poster_slots_schedule_student')
    )
    with op.batch_alter_table('poster_slots', schema=None) as batch_op:
        batch_op.create_index('ix_poster_slots_schedule_id_session_id', ['schedule_id', 'session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_poster_slots_student_id'), ['student_id'], unique=False)



def downgrade():
    with op.batch_alter_table('poster_slots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_poster_slots_student_id'))
        batch_op.drop_index('ix_poster_slots_schedule_id_session_id')

    op.drop_table('poster_slots')
    with op.batch_alter_table('poster_schedules', schema=None) as batch_op:
        batch_op.drop_index('uq_poster_schedules_one_published', sqlite_where=sa.text("state = 'published'"), postgresql_where=sa.text("state = 'published'"))

    op.drop_table('poster_schedules')
    op.drop_table('poster_rooms')
    with op.batch_alter_table('poster_availability', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_poster_availability_user_id'))

    op.drop_table('poster_availability')
    op.drop_table('poster_settings')
    with op.batch_alter_table('poster_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_poster_sessions_cohort_id_starts_at')

    op.drop_table('poster_sessions')
    with op.batch_alter_table('poster_panel_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_poster_panel_members_student_id'))

    op.drop_table('poster_panel_members')
