"""The demo's proposal round: staff projects in every state, student proposals, bookmarks and ranked
preferences drawn so that some projects are over-subscribed. Built through the real services."""

from __future__ import annotations

import random
from datetime import date, datetime, time

from sqlalchemy import select, update

from ..cohorts.models import Cohort
from ..core import clock
from ..core.notifications import Notification
from ..extensions import db
from ..people.models import User
from ..proposals import preferences, services
from ..proposals.models import Bookmark, Project

# Per area: (what is built or studied, where it is applied). Titles combine one of each.
TOPICS = {
    "robotics": (["Sim-to-real reinforcement learning", "Learning dexterous grasping", "Imitation learning",
                  "Safe exploration", "Tactile sensing with graph networks"],
                 ["for a low-cost robot arm", "for quadruped locomotion", "for warehouse picking",
                  "for assistive feeding robots", "on a mobile manipulator"]),
    "communications": (["Deep learning channel estimation", "Semantic communication", "Federated learning",
                        "Neural decoding of LDPC codes", "Learned beam management"],
                       ["for 6G massive MIMO", "over noisy wireless links", "for satellite downlinks",
                        "in vehicular networks", "for low-power IoT sensors"]),
    "speech": (["Self-supervised speech representations", "Speaker verification", "Speech enhancement",
                "Keyword spotting", "Accent-robust speech recognition"],
               ["for low-resource languages", "on hearing-aid hardware", "in reverberant rooms",
                "for clinical voice assessment", "on a microcontroller"]),
    "vision": (["Neural radiance fields", "Open-vocabulary object detection", "Event-camera optical flow",
                "Self-supervised depth estimation", "Few-shot image segmentation"],
               ["for autonomous driving scenes", "for surgical video", "from drone imagery",
                "for crop monitoring", "for cultural-heritage scans"]),
    "signal processing": (["Learned compressed sensing", "Graph signal processing", "Sensor fusion with transformers",
                           "Denoising diffusion models", "Sparse source separation"],
                          ["for radar gesture recognition", "of wearable ECG signals", "for structural health monitoring",
                           "of seismic data", "for smart-grid measurements"]),
    "neuroscience": (["Spiking neural networks", "Decoding motor intent", "Models of grid cells",
                      "Neuromorphic keyword spotting", "Predictive coding networks"],
                     ["from intracortical recordings", "with EEG brain-computer interfaces",
                      "on neuromorphic hardware", "for closed-loop stimulation", "of visual cortex data"]),
    "optimisation": (["Bayesian optimisation", "Learning to optimise", "Differentiable convex layers",
                      "Model predictive control with learned dynamics", "Multi-objective hyper-parameter search"],
                     ["for analogue circuit design", "for battery charging", "for chip floor-planning",
                      "of power converters", "for building energy management"]),
    "machine learning": (["Uncertainty-aware deep learning", "Explainable graph neural networks",
                          "Efficient transformers", "Continual learning", "Generative models"],
                         ["for medical time series", "on edge accelerators", "for fault diagnosis",
                          "for materials discovery", "under distribution shift"]),
}
COMPANIES = [("Thames Robotics Ltd", "Dr Priya Natarajan"), ("Northlight Telecom", "Mark Ellison"),
             ("Helix Medical Imaging", "Dr Sofia Lindqvist"), ("GridWise Energy", "Tom Okonjo")]
KEYWORDS = sorted(["robotics", "reinforcement learning", "communications", "federated learning", "speech",
                   "vision", "signal processing", "neuroscience", "optimisation", "deep learning",
                   "generative models", "graph neural networks", "explainable ai", "embedded ml", "healthcare",
                   "energy", "machine learning"])

DESCRIPTION = """{opening}

**Aims.** Build and evaluate a system that {aim}, and compare it with a well-chosen baseline.

**What you will do**

- review recent work on {topic_lower};
- implement a first version in PyTorch within the part-time phase;
- design the evaluation (data, metrics, ablations) and run it during the full-time phase;
- write up what worked, what did not and why.

Suits a student who enjoyed the {area} elective and is comfortable with Python.
"""


def _title_for(rng: random.Random, area: str, used: set[str]) -> str:
    """A title not used yet, from the area's topics (or, once those run out, any area's)."""
    for candidate_area in [area] + sorted(TOPICS):
        subjects, settings = TOPICS[candidate_area]
        free = [f"{s} {t}" for s in subjects for t in settings if f"{s} {t}" not in used]
        if free:
            title = rng.choice(free)
            used.add(title)
            return title
    raise ValueError("the demo ran out of project titles")


def _values(rng: random.Random, area: str, title: str, expertise: list[str]) -> dict:
    keywords = [area] + [k for k in expertise if k != area][:2]
    return {
        "title": title,
        "description": DESCRIPTION.format(
            opening=f"{title} is an open problem with practical impact; this project explores it with "
                    "modern machine learning.",
            aim=title[0].lower() + title[1:], topic_lower=title.lower(), area=area),
        "keywords": keywords, "prerequisites": "Python and PyTorch; the Deep Learning module.",
        "capacity": rng.choice([1, 1, 1, 2, 2, 3]), "is_external": False,
        "external_organisation": None, "external_contact": None, "has_nda": False,
    }


def _area_of(member: User) -> str:
    expertise = member.staff_profile.expertise if member.staff_profile else []
    return next((k for k in expertise if k in TOPICS), "machine learning")


def add_proposal_round(cohort: Cohort, coordinator: User, rng: random.Random, *,
                       open_round: bool = True) -> dict[str, int]:
    """Projects (about 1.5 per student), proposals in each state, bookmarks and preferences.

    ``open_round=False`` (last year's round, long over): the proposal sent to the demo staff login was
    answered then, so nothing of last year waits for anybody."""
    zone = cohort.zone
    # DESIGN.md: preferences are due early in December, at 14:00.
    cohort.preferences_deadline_at = datetime.combine(date(cohort.academic_year, 12, 4), time(14, 0), zone)
    cohort.project_keywords = KEYWORDS
    staff = sorted((s.member for s in cohort.staff if s.member.staff_profile is not None),
                   key=lambda u: u.id)
    students = sorted((e.student for e in cohort.enrolments), key=lambda u: u.id)
    used_titles: set[str] = set()
    projects: list[Project] = []
    target = round(1.5 * len(students))
    # Staff projects: most approved; a few in every other state so each screen has something.
    for i in range(target):
        owner = staff[i % len(staff)]
        area = _area_of(owner)
        values = _values(rng, area, _title_for(rng, area, used_titles), owner.staff_profile.expertise)
        if i < len(COMPANIES):
            company, contact = COMPANIES[i]
            values.update(is_external=True, external_organisation=company, external_contact=contact,
                          has_nda=i % 2 == 0)
        co = [staff[(i + 7) % len(staff)].id] if i % 9 == 0 else []
        project = services.create_project(cohort, owner=owner, values=values, co_supervisor_ids=co, by=owner)
        projects.append(project)
    fates = ["approved"] * len(projects)
    for i, fate in [(5, "draft"), (11, "submitted"), (17, "submitted"), (23, "submitted"),
                    (29, "changes_requested"), (35, "rejected"), (41, "withdrawn")]:
        if i < len(fates):
            fates[i] = fate
    for project, fate in zip(projects, fates):
        if fate == "draft":
            continue
        services.submit_project(project, by=project.owner)
        if fate == "approved" or fate == "withdrawn":
            services.approve_project(project, by=coordinator)
        elif fate == "changes_requested":
            services.request_changes(project, by=coordinator, comment="Please say which data set you will use "
                                     "and narrow the aims to what fits in the full-time phase.")
        elif fate == "rejected":
            services.reject_project(project, by=coordinator, comment="This overlaps too much with a PhD "
                                    "project in the group; offer a different angle.")
    # Students' own proposals, one in each state of their path.
    proposers = students[-8:]
    proposal_fates = ["draft", "with_supervisor", "declined", "submitted", "changes_requested",
                      "approved", "approved", "rejected"]
    demo_supervisor = next(u for u in staff if u.email.startswith("staff@"))
    for student, fate in zip(proposers, proposal_fates):
        # The demo staff login has a proposal waiting for its answer.
        supervisor = demo_supervisor if fate == "with_supervisor" else rng.choice(staff)
        area = _area_of(supervisor)
        title = _title_for(rng, area, used_titles)
        proposal = services.propose_project(cohort, student=student, supervisor_id=supervisor.id, values={
            "title": title, "keywords": [area],
            "aims": f"To find out whether {title.lower()} can match the state of the art at a fraction of the cost.",
            "method": "Reproduce a published baseline, then adapt it; evaluate on public benchmarks.",
            "data_needed": "Public data sets only; no personal data, so no ethics approval is needed.",
            "suitability": "I did a related final-year project and took the matching elective.",
        })
        if fate == "draft":
            continue
        services.send_to_supervisor(proposal, by=student)
        if fate == "with_supervisor" and not open_round:
            services.respond_as_supervisor(proposal, accept=False, by=supervisor,
                                           comment="I could not take another student that year.")
        if fate == "with_supervisor":
            continue
        if fate == "declined":
            services.respond_as_supervisor(proposal, accept=False, by=supervisor,
                                           comment="My load is full this year; try a colleague in the same area.")
            continue
        services.respond_as_supervisor(proposal, accept=True, by=supervisor, comment="Happy to supervise.")
        if fate == "changes_requested":
            services.request_changes(proposal, by=coordinator, comment="Add a fallback plan if the data is late.")
        elif fate == "approved":
            services.approve_project(proposal, by=coordinator)
        elif fate == "rejected":
            services.reject_project(proposal, by=coordinator, comment="Too close to the student's own employer's "
                                    "product; propose an academic question instead.")
    db.session.flush()

    # Preferences: popularity follows a Zipf-like law so the first few projects are over-subscribed.
    rankable = [p for p in projects if p.state == "approved"]
    rng.shuffle(rankable)
    weights = [1 / (k + 1) ** 0.9 for k in range(len(rankable))]
    fixed = set(db.session.scalars(select(Project.proposed_by_id).where(
        Project.cohort_id == cohort.id, Project.state == "approved", Project.proposed_by_id.is_not(None))))
    ranking_students = [s for s in students if s.id not in fixed]
    n_lists = 0
    for k, student in enumerate(ranking_students):
        for project in rng.sample(rankable, 3):
            db.session.add(Bookmark(student_id=student.id, project_id=project.id, created_at=cohort.created_at))
        if k % 9 == 4:  # about one in nine has not submitted yet
            continue
        wanted = rng.randint(cohort.min_preferences, cohort.max_preferences)
        chosen: list[Project] = []
        per_owner: dict[int, int] = {}
        while len(chosen) < wanted:
            project = rng.choices(rankable, weights)[0]
            if project in chosen or per_owner.get(project.owner_id, 0) >= cohort.max_choices_per_supervisor:
                continue
            chosen.append(project)
            per_owner[project.owner_id] = per_owner.get(project.owner_id, 0) + 1
        # After the deadline only a coordinator can enter a list (as when the demo is loaded late).
        by = student if cohort.preferences_open(clock.now()) else coordinator
        preferences.save_preferences(cohort, student, [p.id for p in chosen], expected_version=None, by=by)
        n_lists += 1
    # What happened while the round was built has been read; what follows is news to the people told.
    db.session.execute(update(Notification).values(read_at=clock.now()))
    # One approved project is withdrawn after students ranked it, so the warning shows.
    withdrawn = next(p for p, fate in zip(projects, fates) if fate == "withdrawn")
    services.withdraw_project(withdrawn, by=withdrawn.owner,
                              reason="The equipment it needs will not arrive before the summer.")
    return {"projects": len(projects), "proposals": len(proposers), "preference_lists": n_lists}
