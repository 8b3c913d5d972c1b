"""Pure solvers over frozen dataclasses: no Flask, no ORM, no I/O.

``allocate(problem, objective) -> Result`` assigns students to projects and supervisors;
``validate(problem, result) -> Verdict`` checks any result independently. ``problem_io`` reads and
writes the JSON file format of ``projectflow allocate``.
"""

from .allocation import allocate
from .explain import ChoiceReason, Explanation, explain_all, explain_student
from .markers import (MarkedProject, Marker, MarkerAssignment, MarkerPair, MarkerProblem, MarkerResult,
                      assign_markers, check_marker_problem, validate_markers)
from .problem import (OBJECTIVES, Assignment, Diagnosis, Pair, Problem, ProblemError, Project, Result,
                      Student, Supervisor, Verdict)
from .validate import blocking_pairs, validate

__all__ = ["OBJECTIVES", "Assignment", "Diagnosis", "Pair", "Problem", "ProblemError", "Project", "Result",
           "Student", "Supervisor", "Verdict", "allocate", "blocking_pairs", "validate",
           "ChoiceReason", "Explanation", "explain_all", "explain_student",
           "MarkedProject", "Marker", "MarkerAssignment", "MarkerPair", "MarkerProblem", "MarkerResult",
           "assign_markers", "check_marker_problem", "validate_markers"]
