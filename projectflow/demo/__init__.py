"""The demo: a deterministic, believable cohort of the MSc in Applied Machine Learning (I460).

It goes through the same services a coordinator uses (create the cohort, import people from CSV), so
the demo also shows the audit trail those leave. The same seed always gives the same people.
Later areas extend ``load_demo`` so that ``make demo`` shows every feature.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timezone

from sqlalchemy import func, select

from ..cohorts import importing, services as cohort_services
from ..cohorts.models import Cohort, CohortStaff, Enrolment
from ..core import clock, mail
from ..core.passwords import hash_password
from ..extensions import db
from ..people import services as people_services
from ..people.models import ADMIN, COORDINATOR, STAFF, User
from .accounts import add_account_states
from .projects import add_proposal_round

DEMO_PASSWORD = "projectflow-demo"
DOMAIN = "example.ac.uk"
COORDINATOR_EMAIL = f"coordinator@{DOMAIN}"
ADMIN_EMAIL = f"admin@{DOMAIN}"
N_STUDENTS = 120
N_STAFF = 40
PREVIOUS_STUDENTS = 80  # last year's cohort, already allocated

# An international MSc cohort: given names and family names from the places such a programme recruits.
GIVEN_NAMES = [
    "Aarav", "Aisha", "Alejandro", "Amara", "Ananya", "Andrei", "Arjun", "Beatriz", "Chen", "Chiara",
    "Chloe", "Daniel", "Dimitra", "Elif", "Emeka", "Emily", "Fatima", "Felix", "Gabriel", "Hana",
    "Haruto", "Ines", "Isabella", "Ivan", "Jakub", "James", "Jia", "Jin", "Kavya", "Kwame",
    "Laila", "Leon", "Lucas", "Maya", "Mei", "Mohammed", "Nadia", "Nikhil", "Noah", "Oliver",
    "Omar", "Priya", "Rahul", "Rosa", "Ruairi", "Sakura", "Samuel", "Sara", "Shreya", "Siddharth",
    "Sofia", "Tariq", "Thomas", "Tomasz", "Valentina", "Wei", "Xin", "Yara", "Yusuf", "Zara",
]
FAMILY_NAMES = [
    "Adeyemi", "Ahmed", "Alvarez", "Bianchi", "Brown", "Chatterjee", "Chen", "Costa", "Da Silva", "Dubois",
    "Evans", "Fernandes", "Fischer", "Gao", "Georgiou", "Gupta", "Hassan", "Hughes", "Ivanova", "Iyer",
    "Jones", "Kaur", "Khan", "Kim", "Kowalski", "Kumar", "Li", "Liu", "Lopez", "Mensah",
    "Moreau", "Müller", "Nakamura", "Nguyen", "Novak", "O'Brien", "Okafor", "Papadopoulos", "Patel", "Petrov",
    "Popescu", "Rahman", "Rossi", "Sato", "Schmidt", "Shah", "Singh", "Smith", "Suzuki", "Tanaka",
    "Taylor", "Wang", "Williams", "Wong", "Wu", "Yamamoto", "Yilmaz", "Zhang", "Zhao", "Zhou",
]
# The programme's application areas (robotics, communication, speech, vision) and its broadening
# electives (AI, neuroscience, signal processing), each with the topics a member of staff would list.
AREAS = {
    "robotics": ["robot learning", "reinforcement learning", "motion planning", "manipulation", "slam"],
    "communications": ["wireless communications", "channel estimation", "semantic communication",
                       "federated learning", "6g networks"],
    "speech": ["speech recognition", "speaker verification", "speech enhancement", "spoken language understanding"],
    "vision": ["computer vision", "3d reconstruction", "object detection", "image segmentation",
               "visual slam"],
    "signal processing": ["signal processing", "compressed sensing", "audio signal processing",
                          "graph signal processing", "sensor fusion"],
    "neuroscience": ["computational neuroscience", "brain-computer interfaces", "spiking neural networks",
                     "neuromorphic hardware"],
    "optimisation": ["convex optimisation", "bayesian optimisation", "optimisation", "control theory"],
    "machine learning": ["deep learning", "probabilistic machine learning", "generative models",
                         "graph neural networks", "explainable ai", "efficient ml hardware"],
}
TITLES = ["Dr", "Dr", "Dr", "Prof", "Dr"]


def current_academic_year(today: datetime) -> int:
    """An academic year starts in September: November 2026 belongs to 2026-27."""
    return today.year if today.month >= 9 else today.year - 1


def has_demo_data() -> bool:
    return db.session.scalar(select(func.count()).select_from(User).where(User.email == COORDINATOR_EMAIL)) > 0


def demo_logins() -> list[tuple[str, str]]:
    """One login per role, for the README and ``make demo``."""
    from .allocation import demo_student_with_explanation

    current = db.session.scalar(select(Cohort.id).order_by(Cohort.academic_year.desc()).limit(1))
    student = db.session.scalar(select(User.email).join(Enrolment, Enrolment.user_id == User.id)
                                .where(User.email.like(f"%@{DOMAIN}"), Enrolment.cohort_id == current)
                                .order_by(User.id).limit(1))
    allocated = demo_student_with_explanation()
    return [
        ("student", student or f"(no student yet)@{DOMAIN}"),
        ("student (last year, allocated)", allocated or f"(no allocation yet)@{DOMAIN}"),
        ("staff", f"staff@{DOMAIN}"),
        ("coordinator", COORDINATOR_EMAIL),
        ("admin", ADMIN_EMAIL),
    ]


def _unique_names(rng: random.Random, n: int, taken: set[str]) -> list[tuple[str, str]]:
    names = []
    while len(names) < n:
        given, family = rng.choice(GIVEN_NAMES), rng.choice(FAMILY_NAMES)
        if (given, family) not in taken:
            taken.add((given, family))
            names.append((given, family))
    return names


def _slug(text: str) -> str:
    return "".join(ch for ch in text.lower().replace("ü", "u") if ch.isalnum())


def people_csv(seed: int, academic_year: int, n_students: int = N_STUDENTS, student_seed: int | None = None) -> str:
    """The cohort's people as the CSV a coordinator would import: the same staff for a given seed;
    ``student_seed`` gives another year's students."""
    rng = random.Random(seed)
    taken: set[tuple[str, str]] = set()
    lines = ["email,name,role,expertise,max_load"]
    area_names = sorted(AREAS)
    for i, (given, family) in enumerate(_unique_names(rng, N_STAFF, taken)):
        main, other = rng.sample(area_names, 2)
        keywords = [main] + rng.sample(AREAS[main], 2) + rng.sample(AREAS[other], 1)
        email = f"staff@{DOMAIN}" if i == 0 else f"{_slug(given)}.{_slug(family)}@{DOMAIN}"
        name = f"{rng.choice(TITLES)} {given} {family}"
        lines.append(f'{email},"{name}",staff,{";".join(keywords)},{rng.choice([3, 4, 4, 5, 5, 6])}')
    suffix = str(academic_year)[-2:]
    if student_seed is not None:
        rng = random.Random(student_seed)
    for given, family in _unique_names(rng, n_students, taken):
        email = f"{_slug(given)}.{_slug(family)}{suffix}@{DOMAIN}"
        lines.append(f'{email},"{given} {family}",student,,')
    return "\n".join(lines) + "\n"


def load_demo(seed: int = 2026, progress: Callable[[int], None] = lambda step: None) -> str:
    """Build the demo installation: last year's cohort, allocated and published, and this year's,
    in its preference round with a trial allocation run. Commits as it goes (the allocation runs are
    solved by the job runner, which commits); the caller commits the rest. Nobody is mailed about the
    history it makes (people are told in the app, as the services do)."""
    with mail.suppressed():
        return _load_demo(seed, progress)


def _load_demo(seed: int, progress: Callable[[int], None]) -> str:
    from .allocation import allocate_previous_year, solve_runs
    from .marking import add_marking
    from .results import add_results
    from .milestones import add_current_timeline, add_timeline_history
    from .posters import add_past_poster_days, add_poster_days
    from .outbox import add_outbox

    now = clock.now()
    year = current_academic_year(now)
    with clock.frozen(datetime(year - 1, 9, 15, 9, tzinfo=timezone.utc)):
        admin = people_services.create_user(email=ADMIN_EMAIL, name="Alex Morgan", roles=[ADMIN], by=None)
        coordinator = people_services.create_user(
            email=COORDINATOR_EMAIL, name="Prof Helen Carter", roles=[STAFF, COORDINATOR], by=admin,
            expertise=["computer vision", "deep learning", "robot learning"], max_load=3)
    progress(5)
    # Last year's cohort went through the same steps a year earlier: built with the clock moved back.
    with clock.frozen(datetime(year - 1, 10, 6, 9, tzinfo=timezone.utc)):
        previous = _cohort_with_people(year - 1, coordinator, seed, n_students=PREVIOUS_STUDENTS,
                                       student_seed=seed + year - 1)
    with clock.frozen(datetime(year - 1, 11, 3, 9, tzinfo=timezone.utc)):
        add_proposal_round(previous, coordinator, random.Random(seed + 2), open_round=False)
    db.session.commit()
    allocate_previous_year(previous, coordinator, datetime(year - 1, 12, 15, 10, tzinfo=timezone.utc))
    history = add_timeline_history(previous, coordinator, random.Random(seed + 3))
    past_posters = add_past_poster_days(previous, coordinator, random.Random(seed + 7))
    marked = add_marking(previous, coordinator, random.Random(seed + 4))
    released = add_results(previous, coordinator, random.Random(seed + 5))
    progress(25)

    cohort = _cohort_with_people(year, coordinator, seed)
    progress(40)
    round_stats = add_proposal_round(cohort, coordinator, random.Random(seed + 1))
    add_current_timeline(cohort, coordinator)
    posters = add_poster_days(cohort, coordinator, random.Random(seed + 6))
    _set_demo_password(admin)
    add_account_states(cohort, previous, coordinator)
    add_outbox(cohort)
    db.session.commit()
    progress(20)
    solve_runs(cohort, coordinator, [("min-cost", "Trial run before the deadline")])
    progress(10)
    db.session.refresh(cohort)
    return (f"cohort {cohort.title}: {len(cohort.enrolments)} students, "
            f"{len(cohort.staff)} staff (including the coordinator), {round_stats['projects']} staff projects, "
            f"{round_stats['proposals']} student proposals, {round_stats['preference_lists']} preference lists, "
            f"a trial allocation run, {posters['sessions']} poster sessions with availability open; "
            f"cohort {previous.title}: {len(previous.enrolments)} students, "
            f"allocation published, {past_posters['placed']} posters scheduled and published "
            f"({past_posters['moved']} moved by hand), {history['submissions']} submissions ({history['late']} late, "
            f"{history['missing']} missing, {history['extensions']} extensions), {history['meetings']} meetings, "
            f"{marked['submitted']} mark sheets submitted and {marked['draft']} in draft, "
            f"{released['moderated']} results moderated ({released['adjusted']} adjusted), {released['released']} "
            f"released and {released['provisional']} provisional")


def _cohort_with_people(year: int, coordinator: User, seed: int, n_students: int = N_STUDENTS,
                        student_seed: int | None = None) -> Cohort:
    cohort = cohort_services.create_cohort({
        "programme_name": "Applied Machine Learning", "programme_code": "I460",
        "academic_year": year, "timezone": "Europe/London",
        **cohort_services.default_phase_dates(year),
    }, by=coordinator)
    importing.import_people(cohort, people_csv(seed, year, n_students, student_seed).encode(), by=coordinator,
                            filename=f"i460-{year}-people.csv", rng=random.Random(seed + year))
    return cohort


def _set_demo_password(admin: User) -> None:
    # Everyone signs in with the one demo password: hashing it once keeps `make demo` quick. Only
    # the demo's own accounts: real accounts of an installation keep their passwords.
    shared_hash = hash_password(DEMO_PASSWORD)
    in_demo = (User.id.in_(select(Enrolment.user_id)) | User.id.in_(select(CohortStaff.user_id))) \
        & User.email.like(f"%@{DOMAIN}")
    for user in db.session.scalars(select(User).where(in_demo | (User.id == admin.id))):
        user.password_hash = shared_hash
    db.session.flush()
