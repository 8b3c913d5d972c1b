"""The access matrix: who may use every route of the app, for every persona.

``TABLE`` declares, for each route (path and method) and each persona, the expected answer:

    ok   allowed: 2xx, or the route's own redirect (for a POST: anything but a refusal, e.g. a 422
         for the empty form, or a 409 because of the object's state)
    in   the sign-in redirect (``/login?next=...``)
    403  refused
    404  not found (an id that does not belong where the URL puts it)

The URLs are filled with the ids of things that belong to one student, Sam (see access_scenario):
everyone else is defined by how they stand to Sam. Every route of ``app.url_map`` must be in the
table, with each of its methods: a new route fails ``test_every_route_is_in_the_table`` until it
declares who may use it. POSTs carry a valid CSRF token of the persona's own session; a refused POST
must leave every table of the database as it was. Pages a persona may see must not show what the
persona may not see (``SECRETS``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from flask import request_started

from projectflow import create_app
from projectflow.core import clock
from projectflow.extensions import db
from tests.conftest import _empty_all_tables, _fresh_g
from tests.conftest import test_config as app_config
from tests.web.access_scenario import NOW, PERSONAS, build, fingerprint, sign_in_everyone

pytestmark = pytest.mark.csrf

#        an  st  pe  ou  su  co  ma  sf  cd  oc  ad      (the columns, in PERSONAS order)
# anonymous, student (Sam), peer (another student of Sam's cohort), outsider (a student of another
# cohort), supervisor (Sam's), co_supervisor (of Sam's project), second_marker (Sam's), staff (of the
# cohort, unrelated to Sam), coordinator (of Sam's cohort), other_coordinator (of another cohort), admin


@dataclass(frozen=True)
class Entry:
    route: str                      # "METHOD /path/{id_name}" with ids from Scenario.ids
    expected: str                   # one answer per persona, in PERSONAS order
    data: dict = field(default_factory=dict)   # a POST's body besides the CSRF token
    echo: bool = True               # False: the page is meant for whoever holds the URL's secret

    @property
    def method(self) -> str:
        return self.route.split(" ", 1)[0]

    def url(self, ids: dict) -> str:
        return self.route.split(" ", 1)[1].format(**ids)

    def answers(self) -> dict[str, str]:
        codes = self.expected.split()
        assert len(codes) == len(PERSONAS), f"{self.route}: {len(codes)} answers for {len(PERSONAS)} personas"
        return dict(zip(PERSONAS, codes))


E = Entry
ADMIN_ONLY = "in  403 403 403 403 403 403 403 403 403 ok"
MANAGE = "in  403 403 403 403 403 403 403 ok  403 ok"   # this cohort's coordinators and admins
TOO_LONG = {"comment": "x" * 5001}   # a body the form refuses: the permission must be asked first
CROSSED = "in  403 403 403 403 403 403 403 403 404 404"  # the other cohort's id with an object of Sam's

TABLE = [
    #                                                                  an  st  pe  ou  su  co  ma  sf  cd  oc  ad
    E("GET /",                                                        "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok"),
    E("GET /student",                                                 "in  ok  ok  ok  403 403 403 403 403 403 403"),
    E("GET /staff",                                                   "in  403 403 403 ok  ok  ok  ok  ok  ok  403"),
    E("GET /coordinator",                                             "in  403 403 403 403 403 403 403 ok  ok  403"),
    E("GET /admin",                                                   ADMIN_ONLY),
    E("GET /notifications",                                           "in  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok"),
    E("POST /notifications/read",                                     "in  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok"),
    E("GET /account/messages",                                        "in  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok"),
    E("POST /account/messages",                                       "in  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
      data={"notice": "in_app"}),
    E("POST /switch-role",                                            "in  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok"),
    E("POST /switch-cohort",                                          "in  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok"),
    E("GET /static/css/app.css",                                      "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok"),
    # --- accounts
    E("GET /login",                                                   "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok"),
    E("POST /login",                                                  "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok"),
    E("POST /logout",                                                 "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok"),
    E("GET /password/forgot",                                         "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok"),
    E("POST /password/forgot",                                        "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok"),
    E("GET /password/reset/{reset_token}",                            "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
      echo=False),
    E("POST /password/reset/{reset_token}",                           "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok"),
    E("GET /admin/users",                                             ADMIN_ONLY),
    E("GET /admin/users/new",                                         ADMIN_ONLY),
    E("POST /admin/users/new",                                        ADMIN_ONLY),
    E("GET /admin/users/{user_id}",                                   ADMIN_ONLY),
    E("POST /admin/users/{user_id}",                                  ADMIN_ONLY),
    E("POST /admin/users/{user_id}/active",                           ADMIN_ONLY, data={"active": "y"}),
    E("POST /admin/users/{user_id}/invitation",                       ADMIN_ONLY),
    E("GET /audit/",                                                  "in  403 403 403 403 403 403 403 ok  ok  ok"),
    E("GET /audit/{event_id}",                                        MANAGE),
    # --- calendar feed (the token is the key: whoever holds it gets Sam's deadlines)
    E("GET /calendar",                                                "in  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok"),
    E("POST /calendar",                                               "in  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok"),
    E("GET /calendar/{feed_token}.ics",                               "ok  ok  ok  ok  ok  ok  ok  ok  ok  ok  ok",
      echo=False),
    E("GET /calendar/no-such-token.ics",                              "404 404 404 404 404 404 404 404 404 404 404"),
    # --- cohorts
    E("GET /cohorts/",                                                "in  403 403 403 403 403 403 403 ok  ok  ok"),
    E("GET /cohorts/new",                                             "in  403 403 403 403 403 403 403 ok  ok  403"),
    E("POST /cohorts/new",                                            "in  403 403 403 403 403 403 403 ok  ok  403"),
    E("GET /cohorts/{cohort_id}",                                     "in  ok  ok  403 ok  ok  ok  ok  ok  403 ok"),
    E("GET /cohorts/{cohort_id}/edit",                                MANAGE),
    E("POST /cohorts/{cohort_id}/edit",                               MANAGE),
    E("GET /cohorts/{cohort_id}/import",                              MANAGE),
    E("POST /cohorts/{cohort_id}/import",                             MANAGE),
    # Sam has set a password: the coordinator and the admin are told no invitation was sent (a redirect).
    E("POST /cohorts/{cohort_id}/people/{user_id}/invitation",        MANAGE),
    E("GET /cohorts/{cohort_id}/imports/{people_import_id}",          MANAGE),
    E("GET /cohorts/{other_cohort_id}/imports/{people_import_id}",    CROSSED),
    E("POST /cohorts/{cohort_id}/imports/{people_import_id}/confirm", MANAGE),
    E("POST /cohorts/{cohort_id}/imports/{people_import_id}/abandon", MANAGE),
    # --- proposals, catalogue, preferences
    E("GET /cohorts/{cohort_id}/my-projects",                         "in  403 403 403 ok  ok  ok  ok  ok  403 403"),
    E("GET /cohorts/{cohort_id}/projects/new",                        "in  403 403 403 ok  ok  ok  ok  ok  403 403"),
    E("POST /cohorts/{cohort_id}/projects/new",                       "in  403 403 403 ok  ok  ok  ok  ok  403 403"),
    E("GET /cohorts/{cohort_id}/proposal/new",                        "in  ok  ok  403 403 403 403 403 403 403 403"),
    E("POST /cohorts/{cohort_id}/proposal/new",                       "in  ok  ok  403 403 403 403 403 403 403 403"),
    E("GET /cohorts/{cohort_id}/proposals",                           MANAGE),
    E("GET /cohorts/{cohort_id}/proposal-settings",                   MANAGE),
    E("POST /cohorts/{cohort_id}/proposal-settings",                  MANAGE),
    E("GET /cohorts/{cohort_id}/supervisors",                         MANAGE),
    E("POST /cohorts/{cohort_id}/supervisors",                        MANAGE, data={"user_id": "{staff_id}"}),
    E("GET /cohorts/{cohort_id}/catalogue",                           "in  ok  ok  403 ok  ok  ok  ok  ok  403 ok"),
    E("GET /cohorts/{cohort_id}/preferences",                         "in  ok  ok  403 403 403 403 403 403 403 403"),
    E("POST /cohorts/{cohort_id}/preferences",                        "in  ok  ok  403 403 403 403 403 403 403 403"),
    E("GET /cohorts/{cohort_id}/preferences/{student_id}",            MANAGE),
    E("POST /cohorts/{cohort_id}/preferences/{student_id}",           MANAGE),
    E("GET /cohorts/{other_cohort_id}/preferences/{student_id}",      "in  403 403 403 403 403 403 403 403 403 403"),
    E("GET /cohorts/{cohort_id}/preferences/overview",                MANAGE),
    E("GET /projects/{project_id}",                                   "in  ok  ok  403 ok  ok  ok  ok  ok  403 ok"),
    E("GET /projects/{proposal_id}",                                  "in  ok  403 403 ok  403 403 403 ok  403 ok"),
    E("GET /projects/{project_id}/edit",                              "in  403 403 403 ok  403 403 403 403 403 403"),
    E("POST /projects/{project_id}/edit",                             "in  403 403 403 ok  403 403 403 403 403 403"),
    E("GET /projects/{proposal_id}/edit",                             "in  ok  403 403 403 403 403 403 403 403 403"),
    E("POST /projects/{proposal_id}/edit",                            "in  ok  403 403 403 403 403 403 403 403 403"),
    E("POST /projects/{project_id}/submit",                           "in  403 403 403 ok  403 403 403 403 403 403"),
    E("POST /projects/{rejected_id}/submit",                          "in  ok  403 403 403 403 403 403 403 403 403"),
    E("POST /projects/{project_id}/bookmark",                         "in  ok  ok  403 403 403 403 403 403 403 403"),
    E("POST /projects/{proposal_id}/bookmark",                        "in  403 403 403 403 403 403 403 403 403 403"),
    E("POST /projects/{project_id}/approve",                          MANAGE, data=TOO_LONG),
    E("POST /projects/{project_id}/request-changes",                  MANAGE, data=TOO_LONG),
    E("POST /projects/{project_id}/reject",                           MANAGE, data=TOO_LONG),
    E("POST /projects/{project_id}/accept",                           "in  403 403 403 403 403 403 403 403 403 403", data=TOO_LONG),
    E("POST /projects/{project_id}/decline",                          "in  403 403 403 403 403 403 403 403 403 403", data=TOO_LONG),
    E("POST /projects/{project_id}/withdraw",                         "in  403 403 403 ok  403 403 403 ok  403 ok", data=TOO_LONG),
    E("POST /projects/{proposal_id}/approve",                         MANAGE, data=TOO_LONG),
    E("POST /projects/{proposal_id}/request-changes",                 MANAGE, data=TOO_LONG),
    E("POST /projects/{proposal_id}/reject",                          MANAGE, data=TOO_LONG),
    E("POST /projects/{proposal_id}/accept",                          "in  403 403 403 ok  403 403 403 403 403 403", data=TOO_LONG),
    E("POST /projects/{proposal_id}/decline",                         "in  403 403 403 ok  403 403 403 403 403 403", data=TOO_LONG),
    E("POST /projects/{proposal_id}/withdraw",                        "in  403 403 403 403 403 403 403 403 403 403", data=TOO_LONG),
    # --- allocation and second markers
    E("GET /cohorts/{cohort_id}/allocation/",                         MANAGE),
    E("POST /cohorts/{cohort_id}/allocation/",                        MANAGE),
    E("GET /cohorts/{cohort_id}/allocation/mine",                     "in  ok  ok  403 403 403 403 403 403 403 403"),
    E("GET /cohorts/{cohort_id}/allocation/my-students",              "in  403 403 403 ok  ok  ok  ok  ok  403 ok"),
    E("GET /cohorts/{cohort_id}/allocation/runs/{run_id}",            MANAGE),
    E("GET /cohorts/{other_cohort_id}/allocation/runs/{run_id}",      CROSSED),
    E("GET /cohorts/{cohort_id}/allocation/runs/{run_id}/progress",   MANAGE),
    E("GET /cohorts/{cohort_id}/allocation/runs/{run_id}/problem.json", MANAGE),
    E("GET /cohorts/{cohort_id}/allocation/runs/{run_id}/result.json", MANAGE),
    E("GET /cohorts/{other_cohort_id}/allocation/runs/{run_id}/result.json", CROSSED),
    E("GET /cohorts/{cohort_id}/allocation/runs/{run_id}/check?student={student_id}&project={project_id}",
      "in  403 403 403 403 403 403 403 409 403 409"),   # a published run takes no more moves
    E("GET /cohorts/{cohort_id}/allocation/runs/{review_run_id}",     MANAGE),
    E("GET /cohorts/{cohort_id}/allocation/runs/{review_run_id}/check?student={student_id}&project={project_id}",
      MANAGE),
    # Ids from another cohort are not found here, rather than named in the answer.
    E("GET /cohorts/{cohort_id}/allocation/runs/{review_run_id}/check?student={outsider_id}&project={project_id}",
      "in  403 403 403 403 403 403 403 404 403 404"),
    E("GET /cohorts/{cohort_id}/allocation/runs/{review_run_id}/check?student={student_id}&project={other_draft_id}",
      "in  403 403 403 403 403 403 403 404 403 404"),
    E("POST /cohorts/{cohort_id}/allocation/runs/{review_run_id}/move", MANAGE),
    E("GET /cohorts/{other_cohort_id}/allocation/runs/{run_id}/check?student={student_id}&project={project_id}",
      CROSSED),
    E("POST /cohorts/{cohort_id}/allocation/runs/{run_id}/move",      MANAGE),
    E("POST /cohorts/{cohort_id}/allocation/runs/{run_id}/publish",   MANAGE),
    E("GET /cohorts/{cohort_id}/allocation/allocation.csv",           MANAGE),
    E("GET /cohorts/{cohort_id}/allocation/allocation.xlsx",          MANAGE),
    E("GET /cohorts/{cohort_id}/allocation/markers",                  MANAGE),
    E("POST /cohorts/{cohort_id}/allocation/markers/assign",          MANAGE),
    E("POST /cohorts/{cohort_id}/allocation/markers/conflicts",       MANAGE),
    E("POST /cohorts/{cohort_id}/allocation/markers/publish",         MANAGE),
    E("GET /cohorts/{cohort_id}/allocation/markers/{allocation_id}",  MANAGE),
    E("GET /cohorts/{other_cohort_id}/allocation/markers/{allocation_id}", CROSSED),
    E("POST /cohorts/{cohort_id}/allocation/markers/{allocation_id}", MANAGE),
    E("POST /cohorts/{other_cohort_id}/allocation/markers/{allocation_id}", CROSSED),
    # --- timeline, progress, extensions
    E("GET /cohorts/{cohort_id}/timeline",                            MANAGE),
    E("POST /cohorts/{cohort_id}/timeline/closures",                  MANAGE),
    E("POST /cohorts/{cohort_id}/timeline/from-template",             MANAGE),
    E("GET /cohorts/{cohort_id}/timeline/new",                        MANAGE),
    E("POST /cohorts/{cohort_id}/timeline/new",                       MANAGE),
    E("GET /milestones/{milestone_id}/edit",                          MANAGE),
    E("POST /milestones/{milestone_id}/edit",                         MANAGE),
    E("POST /milestones/{milestone_id}/delete",                       MANAGE),
    E("GET /cohorts/{cohort_id}/my-timeline",                         "in  ok  ok  403 403 403 403 403 403 403 403"),
    E("GET /cohorts/{cohort_id}/progress",                            "in  403 403 403 ok  ok  ok  ok  ok  403 ok"),
    E("GET /cohorts/{cohort_id}/progress.csv",                        "in  403 403 403 ok  ok  ok  ok  ok  403 ok"),
    E("GET /cohorts/{cohort_id}/progress.xlsx",                       "in  403 403 403 ok  ok  ok  ok  ok  403 ok"),
    E("GET /cohorts/{cohort_id}/extensions",                          MANAGE),
    E("POST /cohorts/{cohort_id}/extensions/direct",                  MANAGE),
    E("POST /extensions/{extension_id}/decide",                       MANAGE),
    E("GET /extensions/{extension_id}/evidence",                      "in  ok  403 403 403 403 403 403 ok  403 ok"),
    # --- submissions
    E("GET /milestones/{milestone_id}",                               "in  ok  ok  403 403 403 403 403 403 403 403"),
    E("POST /milestones/{milestone_id}/submit",                       "in  ok  ok  403 403 403 403 403 403 403 403"),
    E("POST /milestones/{milestone_id}/extension",                    "in  ok  ok  403 403 403 403 403 403 403 403"),
    E("GET /submissions/{submission_id}/receipt",                     "in  ok  403 403 ok  ok  ok  403 ok  403 ok"),
    E("GET /submissions/{submission_id}/download",                    "in  ok  403 403 ok  ok  ok  403 ok  403 ok"),
    E("GET /milestones/{milestone_id}/archive.zip",                   MANAGE),
    # --- supervision log
    E("GET /cohorts/{cohort_id}/meetings",                            "in  ok  ok  403 403 403 403 403 403 403 403"),
    E("POST /cohorts/{cohort_id}/meetings",                           "in  ok  ok  403 403 403 403 403 403 403 403"),
    E("GET /cohorts/{cohort_id}/meetings/supervision",                "in  403 403 403 ok  ok  ok  ok  ok  403 ok"),
    E("GET /cohorts/{cohort_id}/meetings/overdue",                    MANAGE),
    # Marking: a marker's own sheets only, blind to the other marker's until both are submitted.
    E("GET /marking",                                                 "in  403 403 403 ok  ok  ok  ok  ok  ok  403"),
    E("GET /marking/sheets/{sheet_id}",                               "in  403 403 403 ok  403 403 403 ok  403 ok"),
    E("POST /marking/sheets/{sheet_id}",                              "in  403 403 403 ok  403 403 403 403 403 403"),
    E("GET /marking/sheets/{sheet_id}/work",                          "in  403 403 403 404 403 403 403 404 403 404"),
    E("POST /marking/sheets/{sheet_id}/reopen",                       MANAGE),
    E("POST /marking/sheets/{sheet_id}/reassign",                     MANAGE),
    E("GET /cohorts/{cohort_id}/marking",                             MANAGE),
    E("POST /cohorts/{cohort_id}/marking/set-up",                     MANAGE),
    E("POST /cohorts/{cohort_id}/marking/components/{component_id}/open", MANAGE),
    # Setting marking up: the rules page (with the components and copying), each component's rubric.
    E("GET /cohorts/{cohort_id}/marking/rules",                       MANAGE),
    E("POST /cohorts/{cohort_id}/marking/rules",                      MANAGE),
    E("POST /cohorts/{cohort_id}/marking/components",                 MANAGE),
    E("POST /cohorts/{cohort_id}/marking/copy",                       MANAGE),
    E("GET /cohorts/{cohort_id}/marking/components/{component_id}/rubric", MANAGE),
    E("POST /cohorts/{cohort_id}/marking/components/{component_id}/rubric", MANAGE),
    E("GET /cohorts/{other_cohort_id}/marking/components/{component_id}/rubric", CROSSED),
    E("POST /cohorts/{other_cohort_id}/marking/components/{component_id}/rubric", CROSSED),
    # Agreeing a mark: the markers only once both sheets are in (here they are not: all refused).
    E("GET /marking/agreements/{agreement_id}",                       MANAGE),
    E("POST /marking/agreements/{agreement_id}/messages",             "in  403 403 403 403 403 403 403 403 403 403"),
    E("POST /marking/agreements/{agreement_id}/propose",              "in  403 403 403 403 403 403 403 403 403 403"),
    E("POST /marking/agreements/{agreement_id}/confirm",              "in  403 403 403 403 403 403 403 403 403 403"),
    E("POST /marking/agreements/{agreement_id}/cannot-agree",         "in  403 403 403 403 403 403 403 403 403 403"),
    E("POST /marking/agreements/{agreement_id}/third-marker",         MANAGE),
    # Results, moderation and release: the coordinators (and named moderators: none here). Sam has no
    # final mark yet: moderating Sam is refused (409/422), releasing too, for want of an exam-board date.
    E("GET /cohorts/{cohort_id}/results",                             MANAGE),
    E("GET /cohorts/{cohort_id}/results.csv",                         MANAGE),
    E("GET /cohorts/{cohort_id}/results.xlsx",                        MANAGE),
    E("GET /cohorts/{cohort_id}/results/charts",                      MANAGE),
    E("POST /cohorts/{cohort_id}/results/release",                    MANAGE),
    E("POST /cohorts/{cohort_id}/results/{student_id}/release",       MANAGE),
    E("GET /cohorts/{cohort_id}/moderation",                          MANAGE),
    E("POST /cohorts/{cohort_id}/moderation/sample",                  MANAGE),
    E("POST /cohorts/{cohort_id}/moderation/moderators",              MANAGE),
    E("GET /cohorts/{cohort_id}/moderation/{student_id}",             MANAGE),
    E("POST /cohorts/{cohort_id}/moderation/{student_id}",            MANAGE),
    E("GET /cohorts/{other_cohort_id}/moderation/{student_id}",       CROSSED),
    # Feedback forms in batches (a finished batch of Sam's cohort): its coordinators and admins.
    E("GET /cohorts/{cohort_id}/feedback",                            MANAGE),
    E("POST /cohorts/{cohort_id}/feedback",                           MANAGE),
    E("GET /cohorts/{cohort_id}/feedback/batches/{batch_id}",         MANAGE),
    E("GET /cohorts/{cohort_id}/feedback/batches/{batch_id}.zip",     MANAGE),
    E("GET /cohorts/{other_cohort_id}/feedback/batches/{batch_id}",   CROSSED),
    E("GET /cohorts/{other_cohort_id}/feedback/batches/{batch_id}.zip", CROSSED),
    # A student reads their own results only (not released: nothing yet).
    E("GET /cohorts/{cohort_id}/my-results",                          "in  ok  ok  403 403 403 403 403 403 403 403"),
    # Feedback forms: Sam's after release only (not yet), the markers a preview of their component,
    # the coordinators every form; a student of another cohort is not there.
    E("GET /cohorts/{cohort_id}/students/{student_id}/feedback.pdf",   "in  403 403 403 403 403 403 403 ok  403 ok"),
    E("GET /cohorts/{cohort_id}/students/{student_id}/feedback/{component_id}.pdf",
                                                                      "in  403 403 403 ok  403 ok  403 ok  403 ok"),
    E("GET /cohorts/{other_cohort_id}/students/{student_id}/feedback.pdf", "in  404 404 404 404 404 404 404 404 404 404"),
    # The exam board's mark sheet: the coordinators and the moderators they named (none here).
    E("GET /cohorts/{cohort_id}/mark-sheet.pdf",                      MANAGE),
    E("GET /cohorts/{cohort_id}/mark-sheet.csv",                      MANAGE),
    E("GET /cohorts/{cohort_id}/mark-sheet.xlsx",                     MANAGE),
    # Poster sessions (one in September, the window open, Sam's declaration waiting): the coordinators
    # set them up and decide; each student and member of staff of the cohort gives their own availability.
    E("GET /cohorts/{cohort_id}/posters",                             MANAGE),
    E("POST /cohorts/{cohort_id}/posters/settings",                   MANAGE),
    E("POST /cohorts/{cohort_id}/posters/sessions",                   MANAGE),
    E("POST /cohorts/{cohort_id}/posters/window",                     MANAGE),
    E("GET /cohorts/{cohort_id}/posters/sessions/{poster_session_id}", MANAGE),
    E("POST /cohorts/{cohort_id}/posters/sessions/{poster_session_id}", MANAGE),
    E("POST /cohorts/{cohort_id}/posters/sessions/{poster_session_id}/remove", MANAGE),
    E("GET /cohorts/{other_cohort_id}/posters/sessions/{poster_session_id}", CROSSED),
    E("POST /cohorts/{other_cohort_id}/posters/sessions/{poster_session_id}/remove", CROSSED),
    E("GET /cohorts/{cohort_id}/posters/declarations",                MANAGE),
    E("POST /cohorts/{cohort_id}/posters/declarations/{poster_declaration_id}", MANAGE),
    E("POST /cohorts/{other_cohort_id}/posters/declarations/{poster_declaration_id}", CROSSED),
    # Panels: Sam's co-supervisor is on Sam's poster panel. Removed by the coordinator, the same button
    # pressed by an admin finds nothing left to remove (a redirect, not a 404).
    E("GET /cohorts/{cohort_id}/posters/panels",                      MANAGE),
    E("GET /cohorts/{cohort_id}/posters/panels?q=Sam&page=2",         MANAGE),
    E("POST /cohorts/{cohort_id}/posters/panels",                     MANAGE),
    E("POST /cohorts/{cohort_id}/posters/panels/{panel_member_id}/remove", MANAGE),
    E("POST /cohorts/{other_cohort_id}/posters/panels/{panel_member_id}/remove", CROSSED),
    # The outbox: a reminder to Sam that failed. Resent by the coordinator, the same button pressed by an
    # admin finds it queued (a redirect, nothing changed); from another cohort's address it is not there.
    E("GET /cohorts/{cohort_id}/outbox",                              MANAGE),
    E("GET /cohorts/{cohort_id}/outbox?state=failed&page=2",          MANAGE),
    E("POST /cohorts/{cohort_id}/outbox/{outbox_message_id}/resend",  MANAGE),
    E("POST /cohorts/{other_cohort_id}/outbox/{outbox_message_id}/resend", CROSSED),
    E("GET /admin/outbox",                                            ADMIN_ONLY),
    E("GET /admin/outbox?state=failed&page=2",                        ADMIN_ONLY),
    E("POST /admin/outbox/{outbox_message_id}/resend",                ADMIN_ONLY),
    E("GET /cohorts/{cohort_id}/posters/availability",                "in  ok  ok  403 ok  ok  ok  ok  ok  403 403"),
    E("POST /cohorts/{cohort_id}/posters/availability",               "in  ok  ok  403 ok  ok  ok  ok  ok  403 403"),
    # Each person's own slots: Sam's co-supervisor and the coordinator assess no poster, so have no .ics to fetch.
    E("GET /cohorts/{cohort_id}/posters/mine",                        "in  ok  ok  403 ok  ok  ok  ok  ok  403 403"),
    E("GET /cohorts/{cohort_id}/posters/mine.ics",                    "in  ok  ok  403 ok  404 ok  ok  404 403 403"),
    E("GET /cohorts/{cohort_id}/posters/programme.pdf",               "in  ok  ok  403 ok  ok  ok  ok  ok  403 ok"),
    E("GET /cohorts/{cohort_id}/posters/schedules/{poster_schedule_id}/programme.pdf", MANAGE),
    E("GET /cohorts/{other_cohort_id}/posters/schedules/{poster_schedule_id}/programme.pdf", CROSSED),
    # The coordinator's schedules: made in the job runner, reviewed, changed by hand, published.
    E("GET /cohorts/{cohort_id}/posters/schedules",                   MANAGE),
    E("POST /cohorts/{cohort_id}/posters/schedules",                  MANAGE),
    E("GET /cohorts/{cohort_id}/posters/schedules/{poster_schedule_id}", MANAGE),
    E("GET /cohorts/{cohort_id}/posters/schedules/{poster_schedule_id}/progress", MANAGE),
    E("GET /cohorts/{cohort_id}/posters/schedules/{poster_schedule_id}/check?student={student_id}&action=move"
      "&target={poster_room_id}-0", MANAGE),
    E("POST /cohorts/{cohort_id}/posters/schedules/{poster_schedule_id}/change", MANAGE),
    E("POST /cohorts/{cohort_id}/posters/schedules/{poster_schedule_id}/publish", MANAGE),
    E("GET /cohorts/{cohort_id}/posters/schedules/{poster_schedule_id}/assessors", MANAGE),
    E("GET /cohorts/{cohort_id}/posters/schedules/{poster_schedule_id}/problem.json", MANAGE),
    E("GET /cohorts/{cohort_id}/posters/schedules/{poster_schedule_id}/schedule.json", MANAGE),
    E("GET /cohorts/{other_cohort_id}/posters/schedules/{poster_schedule_id}", CROSSED),
    E("POST /cohorts/{other_cohort_id}/posters/schedules/{poster_schedule_id}/change", CROSSED),
    E("POST /cohorts/{other_cohort_id}/posters/schedules/{poster_schedule_id}/publish", CROSSED),
    E("POST /meetings/{meeting_id}/confirm",                          "in  403 403 403 ok  ok  403 403 403 403 403"),
    E("POST /meetings/{meeting_id}/dispute",                          "in  403 403 403 ok  ok  403 403 403 403 403",
      data=TOO_LONG),
]

# What a persona must never read on a page it may see: text of Sam's -> the personas who may see it.
SECRETS = {
    "Quiet draft on lidar": {"student", "supervisor", "coordinator", "admin"},       # Sam's draft proposal
    "Turned down on sonar": {"student", "supervisor", "coordinator", "admin"},       # Sam's rejected one
    "Fever in January": {"student", "coordinator", "admin"},                         # Sam's extension reason
    "cousin marries in Lisbon": {"student", "coordinator", "admin"},                 # Sam's poster declaration
    "Planned the lidar rig": {"student", "supervisor", "co_supervisor", "coordinator", "admin"},  # meeting
    "Supervisor&#39;s view of Sam": {"supervisor", "coordinator", "admin"},  # the first marker's draft sheet
    "Seeing in the dark": set(PERSONAS) - {"anonymous", "outsider", "other_coordinator"},  # Sam's project
    # Sam's cohort marks anonymously (the default): Sam's second marker knows Sam by candidate number.
    "Sam Student": set(PERSONAS) - {"anonymous", "outsider", "other_coordinator", "second_marker"},
    "Oscar Outsider": {"outsider", "other_coordinator", "admin"},
    "Draft of the other cohort": {"other_coordinator", "admin"},
}


@pytest.fixture(scope="module")
def world(request, database_url, _schema, tmp_path_factory):
    """The scenario on its own app (CSRF on, as this module is marked), every persona signed in."""
    config = app_config(database_url, tmp_path_factory.mktemp("access-instance"))
    config["WTF_CSRF_ENABLED"] = request.node.get_closest_marker("csrf") is not None
    config["RATELIMIT_ENABLED"] = False   # eleven people sign in and ask for resets from one address
    config["MAIL_BACKEND"] = "file"       # allowed POSTs tell people (into the instance folder)
    app = create_app(config)
    request_started.connect(_fresh_g, app)
    with app.app_context(), clock.frozen(NOW):
        scenario = build()
        sign_in_everyone(app, scenario)
        yield app, scenario
        _empty_all_tables()
        db.engine.dispose()


def _answer(response, method: str) -> str:
    """The response as one of the table's answers (or its status when it is none of them)."""
    status = response.status_code
    if 300 <= status < 400:
        target = urlsplit(response.headers["Location"])
        return "in" if target.path == "/login" and "next=" in target.query else "ok"
    if status in (403, 404) or status >= 500:
        return str(status)
    if status == 400 and "security token" in response.get_data(as_text=True):
        return "csrf-refused"   # the walk itself is broken: every POST carries a valid token
    if 200 <= status < 300 or method == "POST":
        return "ok"
    return str(status)


def _order(entry: Entry) -> tuple:
    # GETs first (POSTs may change what they show); signing out last, as it ends the persona's session.
    return (entry.method != "GET", entry.route == "POST /logout")


# Every route as every persona, with a fingerprint of every table around each refused POST: about two
# minutes on PostgreSQL, beyond the suite's default limit per test.
@pytest.mark.timeout(600)
def test_every_route_answers_every_persona_as_the_table_says(world):
    app, scenario = world
    ids = scenario.ids
    wrong = []
    for entry in sorted(TABLE, key=_order):
        url = entry.url(ids)
        for persona, expected in entry.answers().items():
            client = scenario.clients[persona]
            if entry.method == "GET":
                response = client.get(url)
            else:
                before = fingerprint() if expected != "ok" else None
                body = {k: v.format(**ids) for k, v in entry.data.items()}
                response = client.post(url, data={"csrf_token": scenario.tokens[persona], **body})
                after = fingerprint() if before is not None else None
                if after != before:
                    changed = ", ".join(name for name in before if after[name] != before[name])
                    wrong.append(f"{entry.route} as {persona}: the database changed ({changed}), though this "
                                 "persona is refused")
            got = _answer(response, entry.method)
            if got != expected:
                wrong.append(f"{entry.route} as {persona}: expected {expected}, got {got} "
                             f"({response.status_code} {response.headers.get('Location', '')})".rstrip())
            if entry.echo and response.mimetype in ("text/html", "application/json") and 200 <= response.status_code < 500:
                page = response.get_data(as_text=True)
                wrong += [f"{entry.route} as {persona}: the page shows “{text}”"
                          for text, readers in SECRETS.items() if persona not in readers and text in page]
    assert not wrong, f"{len(wrong)} answers differ from the access matrix:\n" + "\n".join(wrong)


def test_every_route_is_in_the_table(world):
    """Each method of each rule of app.url_map has an entry: a new route must say who may use it."""
    app, scenario = world
    ids = scenario.ids
    adapter = app.url_map.bind("localhost")
    covered = set()
    for entry in TABLE:
        path = urlsplit(entry.url(ids)).path
        rule, _args = adapter.match(path, method=entry.method, return_rule=True)
        covered.add((rule.rule, entry.method))
    routes = {(rule.rule, method) for rule in app.url_map.iter_rules()
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    missing = sorted(routes - covered)
    assert not missing, ("routes without an entry in the access matrix (add them to TABLE in "
                         f"{__name__}): " + ", ".join(f"{m} {r}" for r, m in missing))


def test_the_walk_runs_with_csrf_protection_on(world):
    """The tokens the walk sends matter: without one, the same POST is refused before any view."""
    app, scenario = world
    response = scenario.clients["student"].post("/notifications/read")
    assert response.status_code == 400 and "security token" in response.get_data(as_text=True)
