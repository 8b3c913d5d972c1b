"""The built-in components and rubrics (DESIGN.md section 3), which every new cohort starts from.

Each criterion says what it looks for; its band descriptors say how well, in the words UK marking
schemes use for each band. Coordinators edit them on the rubric page; a cohort may instead copy an
earlier cohort's rubrics.
"""

from __future__ import annotations

from dataclasses import dataclass

from .models import DOUBLE, FIRST, SECOND, SUPERVISOR_ONLY


@dataclass(frozen=True)
class CriterionDefault:
    title: str
    weight: int
    looks_for: str  # completes "... shows ..." in each band's descriptor
    supervisor_only: bool = False


@dataclass(frozen=True)
class ComponentDefault:
    key: str
    title: str
    weight: int
    marked_by: str
    milestone_kind: str | None  # the milestone whose submission it assesses
    criteria: tuple[CriterionDefault, ...]


# How well, band by band (best first, as models.BANDS).
_QUALITY = (
    "Exceptional: {x} of a standard that could be published or used in practice, well beyond what an "
    "MSc asks.",
    "Outstanding: {x} that is thorough, insightful and almost faultless.",
    "Distinction: {x} that is excellent, with only minor weaknesses.",
    "Merit: {x} that is good and sound, with some weaknesses in depth or rigour.",
    "Pass: {x} that is adequate, meeting the basic expectations with clear weaknesses.",
    "Fail (marginal): {x} that falls short of the basic expectations in important respects.",
    "Clear fail: {x} that is missing or seriously deficient.",
)

COMPONENTS = (
    ComponentDefault("report", "Final report", 75, DOUBLE, "final_report", (
        CriterionDefault("Aims, context and literature", 20,
                         "a statement of aims and a review of the literature"),
        CriterionDefault("Technical contribution and originality", 35,
                         "a technical contribution and originality"),
        CriterionDefault("Results, evaluation and critical analysis", 25,
                         "results, their evaluation and a critical analysis"),
        CriterionDefault("Communication and report quality", 10,
                         "writing, structure and presentation"),
        CriterionDefault("Independence and project management", 10,
                         "independence and management of the project", supervisor_only=True),
    )),
    ComponentDefault("poster", "Poster and presentation", 15, DOUBLE, "poster", (
        CriterionDefault("Technical content", 30, "technical content"),
        CriterionDefault("Structure and visual design", 20, "structure and visual design"),
        CriterionDefault("Oral pitch", 20, "an oral pitch"),
        CriterionDefault("Understanding under questioning", 30, "understanding under questioning"),
    )),
    ComponentDefault("independence", "Independence and conduct", 10, SUPERVISOR_ONLY, None, (
        CriterionDefault("Independence and initiative", 60,
                         "independence, initiative and ownership of the work"),
        CriterionDefault("Engagement and professional conduct", 40,
                         "engagement with supervision and professional conduct"),
    )),
)


def descriptors(looks_for: str) -> list[str]:
    return [quality.format(x=looks_for[0].upper() + looks_for[1:]) for quality in _QUALITY]


def marked_by(criterion: CriterionDefault, component: ComponentDefault) -> list[str]:
    if criterion.supervisor_only or component.marked_by == SUPERVISOR_ONLY:
        return [FIRST]
    return [FIRST, SECOND]
