"""allocation runs, allocations, second markers, marking conflicts, jobs

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('cohort_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("(state IN ('done', 'failed')) = (finished_at IS NOT NULL)", name=op.f('ck_jobs_finished_when_ended')),
    sa.CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name=op.f('ck_jobs_state_known')),
    sa.CheckConstraint('progress >= 0 AND progress <= 100', name=op.f('ck_jobs_progress_percent')),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_jobs_cohort_id_cohorts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_jobs_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs'))
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_jobs_cohort_id'), ['cohort_id'], unique=False)
        batch_op.create_index('ix_jobs_state_id', ['state', 'id'], unique=False)

    op.create_table('marking_conflicts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('declared_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_marking_conflicts_cohort_id_cohorts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['declared_by_id'], ['users.id'], name=op.f('fk_marking_conflicts_declared_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['staff_id'], ['users.id'], name=op.f('fk_marking_conflicts_staff_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['student_id'], ['users.id'], name=op.f('fk_marking_conflicts_student_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_marking_conflicts')),
    sa.UniqueConstraint('cohort_id', 'staff_id', 'student_id', name='uq_marking_conflicts_pair')
    )
    with op.batch_alter_table('marking_conflicts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_marking_conflicts_cohort_id'), ['cohort_id'], unique=False)

    op.create_table('allocation_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('objective', sa.String(length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('problem', sa.JSON(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('assigned_count', sa.Integer(), nullable=False),
    sa.Column('unassigned_count', sa.Integer(), nullable=False),
    sa.Column('profile', sa.JSON(), nullable=False),
    sa.Column('worst_rank', sa.Integer(), nullable=True),
    sa.Column('rank_cost', sa.Integer(), nullable=False),
    sa.Column('moves', sa.Integer(), nullable=False),
    sa.Column('is_valid', sa.Boolean(), nullable=True),
    sa.Column('validation_problems', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('solved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("(state IN ('published', 'superseded')) = (published_at IS NOT NULL)", name=op.f('ck_allocation_runs_published_at_when_published')),
    sa.CheckConstraint("objective IN ('min-cost', 'greedy', 'generous', 'stable')", name=op.f('ck_allocation_runs_objective_known')),
    sa.CheckConstraint("state IN ('queued', 'running', 'solved', 'failed', 'published', 'superseded')", name=op.f('ck_allocation_runs_state_known')),
    sa.CheckConstraint("state NOT IN ('solved', 'published', 'superseded') OR result IS NOT NULL", name=op.f('ck_allocation_runs_result_when_solved')),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_allocation_runs_cohort_id_cohorts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_allocation_runs_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_allocation_runs_job_id_jobs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['published_by_id'], ['users.id'], name=op.f('fk_allocation_runs_published_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allocation_runs')),
    sa.UniqueConstraint('cohort_id', 'number', name='uq_allocation_runs_cohort_number')
    )
    with op.batch_alter_table('allocation_runs', schema=None) as batch_op:
        batch_op.create_index('uq_allocation_runs_one_published', ['cohort_id'], unique=True, sqlite_where=sa.text("state = 'published'"), postgresql_where=sa.text("state = 'published'"))

    op.create_table('allocations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('supervisor_id', sa.Integer(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=True),
    sa.Column('is_fixed', sa.Boolean(), nullable=False),
    sa.Column('is_moved', sa.Boolean(), nullable=False),
    sa.CheckConstraint('rank IS NULL OR rank >= 1', name=op.f('ck_allocations_rank_positive')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_allocations_project_id_projects'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['run_id'], ['allocation_runs.id'], name=op.f('fk_allocations_run_id_allocation_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['student_id'], ['users.id'], name=op.f('fk_allocations_student_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['supervisor_id'], ['users.id'], name=op.f('fk_allocations_supervisor_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allocations')),
    sa.UniqueConstraint('run_id', 'student_id', name='uq_allocations_run_student')
    )
    with op.batch_alter_table('allocations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_allocations_project_id'), ['project_id'], unique=False)
        batch_op.create_index('ix_allocations_run_id_project_id', ['run_id', 'project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_allocations_student_id'), ['student_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_allocations_supervisor_id'), ['supervisor_id'], unique=False)

    op.create_table('marker_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('allocation_id', sa.Integer(), nullable=False),
    sa.Column('marker_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('overlap', sa.Integer(), nullable=False),
    sa.Column('is_moved', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('second')", name=op.f('ck_marker_assignments_role_known')),
    sa.CheckConstraint('overlap >= 0', name=op.f('ck_marker_assignments_overlap_not_negative')),
    sa.ForeignKeyConstraint(['allocation_id'], ['allocations.id'], name=op.f('fk_marker_assignments_allocation_id_allocations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['marker_id'], ['users.id'], name=op.f('fk_marker_assignments_marker_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_marker_assignments')),
    sa.UniqueConstraint('allocation_id', 'role', name='uq_marker_assignments_allocation_role')
    )
    with op.batch_alter_table('marker_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_marker_assignments_marker_id'), ['marker_id'], unique=False)

    with op.batch_alter_table('cohorts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('allocation_published_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('second_markers_published_at', sa.DateTime(timezone=True), nullable=True))



def downgrade():
    with op.batch_alter_table('cohorts', schema=None) as batch_op:
        batch_op.drop_column('second_markers_published_at')
        batch_op.drop_column('allocation_published_at')

    with op.batch_alter_table('marker_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_marker_assignments_marker_id'))

    op.drop_table('marker_assignments')
    with op.batch_alter_table('allocations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_allocations_supervisor_id'))
        batch_op.drop_index(batch_op.f('ix_allocations_student_id'))
        batch_op.drop_index('ix_allocations_run_id_project_id')
        batch_op.drop_index(batch_op.f('ix_allocations_project_id'))

    op.drop_table('allocations')
    with op.batch_alter_table('allocation_runs', schema=None) as batch_op:
        batch_op.drop_index('uq_allocation_runs_one_published', sqlite_where=sa.text("state = 'published'"), postgresql_where=sa.text("state = 'published'"))

    op.drop_table('allocation_runs')
    with op.batch_alter_table('marking_conflicts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_marking_conflicts_cohort_id'))

    op.drop_table('marking_conflicts')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_state_id')
        batch_op.drop_index(batch_op.f('ix_jobs_cohort_id'))

    op.drop_table('jobs')
