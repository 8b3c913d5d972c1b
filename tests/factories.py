"""Factories: each test makes the people and cohorts it needs, through the real services."""

from __future__ import annotations

import itertools

from projectflow.cohorts import services as cohort_services
from projectflow.cohorts.models import Cohort, CohortStaff, Enrolment
from projectflow.core import clock
from projectflow.extensions import db
from projectflow.people import services as people_services
from projectflow.people.models import ADMIN, COORDINATOR, STAFF, STUDENT, User

_counter = itertools.count(1)


class Factories:
    PASSWORD = "correct horse battery"

    def user(self, *roles: str, email: str | None = None, name: str | None = None,
             password: str | None = PASSWORD, active: bool = True, **profile) -> User:
        n = next(_counter)
        user = people_services.create_user(
            email=email or f"person{n}@example.ac.uk", name=name or f"Person {n}",
            roles=roles or [STUDENT], by=None, password=password, **profile)
        user.is_active = active
        db.session.commit()
        return user

    def student(self, cohort: Cohort | None = None, **kw) -> User:
        user = self.user(STUDENT, **kw)
        if cohort is not None:
            number = cohort_services.new_candidate_numbers(cohort, 1)[0]
            db.session.add(Enrolment(cohort_id=cohort.id, user_id=user.id, candidate_number=number,
                                     created_at=clock.now()))
            db.session.commit()
        return user

    def staff(self, cohort: Cohort | None = None, expertise=("machine learning",), max_load: int = 4,
              **kw) -> User:
        user = self.user(STAFF, expertise=list(expertise), max_load=max_load, **kw)
        if cohort is not None:
            db.session.add(CohortStaff(cohort_id=cohort.id, user_id=user.id))
            db.session.commit()
        return user

    def coordinator(self, **kw) -> User:
        return self.user(STAFF, COORDINATOR, **kw)

    def admin(self, **kw) -> User:
        return self.user(ADMIN, **kw)

    def cohort(self, coordinator: User | None = None, code: str | None = None, year: int = 2026,
               **values) -> Cohort:
        coordinator = coordinator or self.coordinator()
        fields = {
            "programme_name": "Applied Machine Learning",
            "programme_code": code or f"I{next(_counter):03d}",
            "academic_year": year,
            "timezone": "Europe/London",
            **cohort_services.default_phase_dates(year),
            **values,
        }
        cohort = cohort_services.create_cohort(fields, by=coordinator)
        db.session.commit()
        return cohort


