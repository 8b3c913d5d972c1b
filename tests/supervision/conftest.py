"""The timeline fixtures of the milestone tests: this area's pages hang off a cohort's timeline."""

from tests.milestones.conftest import february, timeline  # noqa: F401 (fixtures)
