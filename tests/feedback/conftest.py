"""Feedback documents are made from a marked cohort: the assessment tests' fixtures."""

from tests.assessment.conftest import as_, marking, signed_in  # noqa: F401 (fixtures)
from tests.milestones.conftest import timeline  # noqa: F401 (fixture)
