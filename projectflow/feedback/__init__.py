"""Feedback documents (DESIGN.md section 1.8): each student's PDF feedback form, merging every
marker's rubric marks and comments with the agreed mark; the exam board's mark sheet; and batch
generation of a cohort's forms."""
