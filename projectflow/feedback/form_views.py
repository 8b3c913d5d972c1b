"""Feedback forms' routes: the student's download after release, the markers' preview, the
coordinator's copies and the batch of a cohort's forms."""

from __future__ import annotations
