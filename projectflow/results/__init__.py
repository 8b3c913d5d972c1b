"""Results: the pure rules that agree markers' marks, take late penalties, and give the final mark,
classification and flags (``engine``), and the JSON file interface of ``projectflow results``
(``files``). No Flask, no ORM: the app and the command share them."""

from .engine import (AGREED, AWAITING_MARKS, FLAGS, IN_RECONCILIATION, PRESETS, ROUTES, STATES, THIRD_MARKING,
                     ClassBand, ComponentMarks, ComponentOutcome, ComponentRule, Penalty, ResultsError, Rules,
                     StudentMarks, StudentResult, agree_component, apply_penalty, band_of, check_rules,
                     check_student, classify, compute, default_rules, final_mark, flags_for, result_for,
                     round_mark)

__all__ = ["AGREED", "AWAITING_MARKS", "FLAGS", "IN_RECONCILIATION", "PRESETS", "ROUTES", "STATES", "THIRD_MARKING",
           "ClassBand", "ComponentMarks", "ComponentOutcome", "ComponentRule", "Penalty", "ResultsError", "Rules",
           "StudentMarks", "StudentResult", "agree_component", "apply_penalty", "band_of", "check_rules",
           "check_student", "classify", "compute", "default_rules", "final_mark", "flags_for", "result_for",
           "round_mark"]
