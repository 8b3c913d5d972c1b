"""Assessment: each cohort's marking rules, components and versioned rubrics, the markers' sheets and
criterion marks, the agreement of each component's mark (with the reconcilers' discussion), and each
student's result. Marks are kept as whole hundredths (67.83 is 6783).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('marking_rules',
    sa.Column('cohort_id', sa.Integer(), nullable=False),
    sa.Column('agree_within', sa.Integer(), nullable=False),
    sa.Column('third_marker_above', sa.Integer(), nullable=False),
    sa.Column('discretion_below', sa.Integer(), nullable=False),
    sa.Column('moderation_near_below', sa.Integer(), nullable=False),
    sa.Column('moderation_sample_percent', sa.Integer(), nullable=False),
    sa.Column('moderation_sample_min', sa.Integer(), nullable=False),
    sa.Column('penalty_preset', sa.String(length=10), nullable=False),
    sa.Column('penalty_points', sa.Integer(), nullable=False),
    sa.Column('penalty_days', sa.Integer(), nullable=False),
    sa.Column('interim_feedback_working_days', sa.Integer(), nullable=False),
    sa.Column('final_feedback_working_days', sa.Integer(), nullable=False),
    sa.Column('exam_board_on', sa.Date(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("penalty_preset IN ('per-day', 'ucl', 'cap', 'none')", name=op.f('ck_marking_rules_penalty_preset_known')),
    sa.CheckConstraint('agree_within >= 0 AND third_marker_above >= agree_within', name=op.f('ck_marking_rules_gaps_ordered')),
    sa.CheckConstraint('interim_feedback_working_days > 0 AND final_feedback_working_days > 0', name=op.f('ck_marking_rules_feedback_days_positive')),
    sa.CheckConstraint('moderation_sample_percent BETWEEN 0 AND 100 AND moderation_sample_min >= 0', name=op.f('ck_marking_rules_sample_sensible')),
    sa.CheckConstraint('penalty_points >= 0 AND penalty_days >= 0', name=op.f('ck_marking_rules_penalty_not_negative')),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_marking_rules_cohort_id_cohorts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('cohort_id', name=op.f('pk_marking_rules'))
    )
    op.create_table('results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('final', sa.Integer(), nullable=True),
    sa.Column('classification', sa.String(length=40), nullable=True),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('in_sample', sa.Boolean(), nullable=False),
    sa.Column('moderated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('moderated_by_id', sa.Integer(), nullable=True),
    sa.Column('moderation_note', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('released_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("(state = 'released') = (released_at IS NOT NULL)", name=op.f('ck_results_released_when')),
    sa.CheckConstraint("state != 'released' OR final IS NOT NULL", name=op.f('ck_results_released_with_final')),
    sa.CheckConstraint("state IN ('provisional', 'released')", name=op.f('ck_results_state_known')),
    sa.CheckConstraint('(moderated_at IS NULL) = (moderated_by_id IS NULL)', name=op.f('ck_results_moderated_by_whom')),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_results_cohort_id_cohorts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['moderated_by_id'], ['users.id'], name=op.f('fk_results_moderated_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['released_by_id'], ['users.id'], name=op.f('fk_results_released_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['student_id'], ['users.id'], name=op.f('fk_results_student_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_results')),
    sa.UniqueConstraint('cohort_id', 'student_id', name='uq_results_cohort_student')
    )
    with op.batch_alter_table('results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_results_student_id'), ['student_id'], unique=False)

    op.create_table('assessment_components',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('weight', sa.Integer(), nullable=False),
    sa.Column('marked_by', sa.String(length=10), nullable=False),
    sa.Column('milestone_id', sa.Integer(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("marked_by IN ('double', 'supervisor')", name=op.f('ck_assessment_components_marked_by_known')),
    sa.CheckConstraint('length(title) > 0', name=op.f('ck_assessment_components_title_not_empty')),
    sa.CheckConstraint('weight > 0 AND weight <= 100', name=op.f('ck_assessment_components_weight_in_range')),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_assessment_components_cohort_id_cohorts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['milestone_id'], ['milestones.id'], name=op.f('fk_assessment_components_milestone_id_milestones'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_components')),
    sa.UniqueConstraint('cohort_id', 'key', name='uq_assessment_components_cohort_key')
    )
    op.create_table('agreements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('component_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('route', sa.String(length=20), nullable=True),
    sa.Column('agreed_mark', sa.Integer(), nullable=True),
    sa.Column('penalty', sa.Integer(), nullable=False),
    sa.Column('mark', sa.Integer(), nullable=True),
    sa.Column('reconciled_mark', sa.Integer(), nullable=True),
    sa.Column('justification', sa.Text(), nullable=False),
    sa.Column('proposed_by_id', sa.Integer(), nullable=True),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('confirmed_by_id', sa.Integer(), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cannot_agree_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("(state = 'agreed') = (agreed_mark IS NOT NULL)", name=op.f('ck_agreements_agreed_mark_when_agreed')),
    sa.CheckConstraint("(state = 'agreed') = (mark IS NOT NULL)", name=op.f('ck_agreements_mark_when_agreed')),
    sa.CheckConstraint("(state = 'agreed') = (route IS NOT NULL)", name=op.f('ck_agreements_route_when_agreed')),
    sa.CheckConstraint("route IS NULL OR route IN ('single', 'automatic', 'reconciled', 'third_marker')", name=op.f('ck_agreements_route_known')),
    sa.CheckConstraint("state IN ('awaiting_marks', 'in_reconciliation', 'third_marking', 'agreed')", name=op.f('ck_agreements_state_known')),
    sa.ForeignKeyConstraint(['component_id'], ['assessment_components.id'], name=op.f('fk_agreements_component_id_assessment_components'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['confirmed_by_id'], ['users.id'], name=op.f('fk_agreements_confirmed_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['users.id'], name=op.f('fk_agreements_proposed_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['student_id'], ['users.id'], name=op.f('fk_agreements_student_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agreements')),
    sa.UniqueConstraint('component_id', 'student_id', name='uq_agreements_component_student')
    )
    with op.batch_alter_table('agreements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agreements_student_id'), ['student_id'], unique=False)

    op.create_table('rubrics',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('component_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('frozen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('version >= 1', name=op.f('ck_rubrics_version_positive')),
    sa.ForeignKeyConstraint(['component_id'], ['assessment_components.id'], name=op.f('fk_rubrics_component_id_assessment_components'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_rubrics_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rubrics')),
    sa.UniqueConstraint('component_id', 'version', name='uq_rubrics_component_version')
    )
    op.create_table('criteria',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rubric_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('weight', sa.Integer(), nullable=False),
    sa.Column('marked_by', sa.JSON(), nullable=False),
    sa.Column('descriptors', sa.JSON(), nullable=False),
    sa.CheckConstraint('length(title) > 0', name=op.f('ck_criteria_title_not_empty')),
    sa.CheckConstraint('weight > 0 AND weight <= 100', name=op.f('ck_criteria_weight_in_range')),
    sa.ForeignKeyConstraint(['rubric_id'], ['rubrics.id'], name=op.f('fk_criteria_rubric_id_rubrics'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_criteria')),
    sa.UniqueConstraint('rubric_id', 'position', name='uq_criteria_rubric_position')
    )
    op.create_table('mark_sheets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('component_id', sa.Integer(), nullable=False),
    sa.Column('rubric_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('marker_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('mark', sa.Integer(), nullable=True),
    sa.Column('overall_comment', sa.Text(), nullable=False),
    sa.Column('private_note', sa.Text(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('replaced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("(state = 'submitted') = (submitted_at IS NOT NULL)", name=op.f('ck_mark_sheets_submitted_when')),
    sa.CheckConstraint("role IN ('first', 'second', 'third')", name=op.f('ck_mark_sheets_role_known')),
    sa.CheckConstraint("state != 'submitted' OR mark IS NOT NULL", name=op.f('ck_mark_sheets_submitted_with_mark')),
    sa.CheckConstraint("state IN ('not_started', 'draft', 'submitted')", name=op.f('ck_mark_sheets_state_known')),
    sa.CheckConstraint('mark IS NULL OR (mark >= 0 AND mark <= 10000)', name=op.f('ck_mark_sheets_mark_in_range')),
    sa.ForeignKeyConstraint(['component_id'], ['assessment_components.id'], name=op.f('fk_mark_sheets_component_id_assessment_components'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['marker_id'], ['users.id'], name=op.f('fk_mark_sheets_marker_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['rubric_id'], ['rubrics.id'], name=op.f('fk_mark_sheets_rubric_id_rubrics'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['student_id'], ['users.id'], name=op.f('fk_mark_sheets_student_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mark_sheets'))
    )
    with op.batch_alter_table('mark_sheets', schema=None) as batch_op:
        batch_op.create_index('ix_mark_sheets_marker_id_state', ['marker_id', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_mark_sheets_student_id'), ['student_id'], unique=False)
        batch_op.create_index('uq_mark_sheets_one_live', ['component_id', 'student_id', 'role'], unique=True, sqlite_where=sa.text('replaced_at IS NULL'), postgresql_where=sa.text('replaced_at IS NULL'))

    op.create_table('reconciliation_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'], name=op.f('fk_reconciliation_messages_agreement_id_agreements'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_reconciliation_messages_author_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reconciliation_messages'))
    )
    with op.batch_alter_table('reconciliation_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reconciliation_messages_agreement_id'), ['agreement_id'], unique=False)

    op.create_table('criterion_marks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sheet_id', sa.Integer(), nullable=False),
    sa.Column('criterion_id', sa.Integer(), nullable=False),
    sa.Column('band', sa.Integer(), nullable=True),
    sa.Column('mark', sa.Integer(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.CheckConstraint('band IS NULL OR (band >= 0 AND band < 7)', name=op.f('ck_criterion_marks_band_known')),
    sa.CheckConstraint('mark IS NULL OR (mark >= 0 AND mark <= 10000)', name=op.f('ck_criterion_marks_mark_in_range')),
    sa.ForeignKeyConstraint(['criterion_id'], ['criteria.id'], name=op.f('fk_criterion_marks_criterion_id_criteria'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['sheet_id'], ['mark_sheets.id'], name=op.f('fk_criterion_marks_sheet_id_mark_sheets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_criterion_marks')),
    sa.UniqueConstraint('sheet_id', 'criterion_id', name='uq_criterion_marks_sheet_criterion')
    )


def downgrade():
    op.drop_table('criterion_marks')
    with op.batch_alter_table('reconciliation_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reconciliation_messages_agreement_id'))

    op.drop_table('reconciliation_messages')
    with op.batch_alter_table('mark_sheets', schema=None) as batch_op:
        batch_op.drop_index('uq_mark_sheets_one_live', sqlite_where=sa.text('replaced_at IS NULL'), postgresql_where=sa.text('replaced_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_mark_sheets_student_id'))
        batch_op.drop_index('ix_mark_sheets_marker_id_state')

    op.drop_table('mark_sheets')
    op.drop_table('criteria')
    op.drop_table('rubrics')
    with op.batch_alter_table('agreements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agreements_student_id'))

    op.drop_table('agreements')
    op.drop_table('assessment_components')
    with op.batch_alter_table('results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_results_student_id'))

    op.drop_table('results')
    op.drop_table('marking_rules')
