"""Factories: each test makes the people and cohorts it needs, through the real services."""

from __future__ import annotations

import itertools

from projectflow.cohorts import services as cohort_services
from projectflow.cohorts.models import Cohort, CohortStaff, Enrolment
from projectflow.core import clock, mail
from projectflow.extensions import db
from projectflow.people import services as people_services
from projectflow.people.models import ADMIN, COORDINATOR, STAFF, STUDENT, User
from projectflow.proposals import preferences as preference_services
from projectflow.proposals import services as proposal_services
from projectflow.proposals.models import PreferenceList, Project

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

    # --- proposals (issue 3) ------------------------------------------------------------------------
    # Projects are made through the real services, step by step, so each one has the history (audit
    # events, comments) its state implies. The notifications those steps queue are history too: they
    # are dropped rather than mailed, and the tests that are about telling people act themselves.

    def project(self, cohort: Cohort, owner: User | None = None, state: str = "approved", capacity: int = 1,
                title: str | None = None, description: str = "A project.", keywords=(),
                co_supervisors=(), organisation: str | None = None, **values) -> Project:
        """A staff project in ``state`` (draft, submitted, approved, changes_requested, rejected, withdrawn).

        ``owner`` defaults to a new member of staff of the cohort; ``organisation`` makes it external.
        """
        owner = owner or self.staff(cohort)
        coordinator = next(s.member for s in cohort.staff if s.is_coordinator)
        fields = {"title": title or f"Project {next(_counter)}", "description": description,
                  "keywords": list(keywords), "prerequisites": "", "capacity": capacity,
                  "is_external": organisation is not None, "external_organisation": organisation, **values}
        project = proposal_services.create_project(cohort, owner=owner, values=fields, by=owner,
                                                   co_supervisor_ids=[u.id for u in co_supervisors])
        if state != "draft":
            proposal_services.submit_project(project, by=owner)
        if state in ("approved", "withdrawn"):
            proposal_services.approve_project(project, by=coordinator)
        if state == "withdrawn":
            proposal_services.withdraw_project(project, by=owner, reason="No longer available.")
        elif state == "changes_requested":
            proposal_services.request_changes(project, by=coordinator, comment="Say more about the data.")
        elif state == "rejected":
            proposal_services.reject_project(project, by=coordinator, comment="Out of scope.")
        elif state not in ("draft", "submitted", "approved"):
            raise ValueError(f"make.project cannot make a project {state!r}")
        mail.discard_queued()
        db.session.commit()
        return project

    def proposal(self, cohort: Cohort, student: User | None = None, supervisor: User | None = None,
                 state: str = "draft", title: str | None = None, **values) -> Project:
        """A student's own proposal in ``state`` (draft, with_supervisor, declined, submitted, approved,
        changes_requested, rejected), with ``supervisor`` (default: new staff of the cohort) named."""
        student = student or self.student(cohort)
        supervisor = supervisor or self.staff(cohort)
        coordinator = next(s.member for s in cohort.staff if s.is_coordinator)
        fields = {"title": title or f"Proposal {next(_counter)}", "aims": "Find out.", "method": "Measure.",
                  "data_needed": "Public data.", "suitability": "I know the area.", "keywords": [], **values}
        project = proposal_services.propose_project(cohort, student=student, supervisor_id=supervisor.id,
                                                    values=fields)
        if state != "draft":
            proposal_services.send_to_supervisor(project, by=student)
        if state == "declined":
            proposal_services.respond_as_supervisor(project, accept=False, by=supervisor, comment="I am full.")
        elif state in ("submitted", "approved", "changes_requested", "rejected"):
            proposal_services.respond_as_supervisor(project, accept=True, by=supervisor)
        if state == "approved":
            proposal_services.approve_project(project, by=coordinator)
        elif state == "changes_requested":
            proposal_services.request_changes(project, by=coordinator, comment="Narrow the aims.")
        elif state == "rejected":
            proposal_services.reject_project(project, by=coordinator, comment="Not feasible.")
        elif state not in ("draft", "with_supervisor", "declined", "submitted"):
            raise ValueError(f"make.proposal cannot make a proposal {state!r}")
        mail.discard_queued()
        db.session.commit()
        return project

    def preferences(self, cohort: Cohort, student: User, projects, by: User | None = None) -> PreferenceList:
        """``student``'s saved ranked list of ``projects`` (best first), replacing any earlier one."""
        current = preference_services.preference_list(cohort, student)
        plist = preference_services.save_preferences(
            cohort, student, [p.id for p in projects], by=by or student,
            expected_version=current.version if current is not None else None)
        db.session.commit()
        return plist
