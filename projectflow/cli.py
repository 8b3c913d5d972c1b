"""The ``projectflow`` command: Flask's own commands (run, db, shell) plus ours."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from . import create_app


@click.group(cls=FlaskGroup, create_app=lambda: create_app())
def cli():
    """projectflow: the Individual Research Project of a taught MSc."""


@cli.command("init")
@with_appcontext
def init_command():
    """Create or upgrade the database schema to the latest migration."""
    from flask_migrate import upgrade

    upgrade()
    click.echo(f"Database ready: {current_app.config['SQLALCHEMY_DATABASE_URI']}")


@cli.command("demo")
@click.option("--reset", is_flag=True, help="Delete every table first and rebuild the demo from scratch.")
@click.option("--seed", default=2026, show_default=True, help="Seed of the deterministic generator.")
@with_appcontext
def demo_command(reset: bool, seed: int):
    """Load the demo cohort (kept if already loaded, unless --reset) and print the demo logins."""
    from flask_migrate import downgrade, upgrade

    from .demo import DEMO_PASSWORD, demo_logins, has_demo_data, load_demo
    from .extensions import db

    if reset:
        downgrade(revision="base")
    upgrade()
    if has_demo_data():
        click.echo("Demo data already loaded (use --reset, or `make demo RESET=1`, to start again).")
    else:
        with click.progressbar(length=100, label="Building the demo cohort") as bar:
            stats = load_demo(seed=seed, progress=lambda step: bar.update(step))
        db.session.commit()
        click.echo(f"Loaded: {stats}")
    click.echo("\nDemo logins (password for all: %s)" % DEMO_PASSWORD)
    for role, email in demo_logins():
        click.echo(f"  {role:<32} {email}")


@cli.command("import-people")
@click.argument("cohort_id", type=int)
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--invite/--no-invite", default=True, show_default=True,
              help="E-mail each new account an invitation to set its password, here and now (--no-invite: "
                   "invite them later from the cohort's page).")
@click.option("--add-roles", is_flag=True,
              help="Give existing accounts the role their row names when they do not hold it (without it, "
                   "such rows are listed and nothing is imported).")
@with_appcontext
def import_people_command(cohort_id: int, csv_file: Path, invite: bool, add_roles: bool):
    """Import students and staff from CSV_FILE into the cohort COHORT_ID (all rows or none)."""
    from .cohorts.importing import ImportRejected, RolesWouldChange, import_people
    from .cohorts.models import Cohort
    from .extensions import db
    from .people.invitations import invite_many

    cohort = db.session.get(Cohort, cohort_id)
    if cohort is None:
        raise click.ClickException(f"There is no cohort with id {cohort_id}.")
    try:
        report = import_people(cohort, csv_file.read_bytes(), by=None, filename=csv_file.name, add_roles=add_roles)
    except ImportRejected as exc:
        db.session.rollback()
        for p in exc.problems:
            click.echo(f"{csv_file.name}:{p.line}: {p.message}", err=True)
        click.echo(f"Nothing was imported ({len(exc.problems)} problem(s)).", err=True)
        sys.exit(1)
    except RolesWouldChange as exc:
        db.session.rollback()
        for c in exc.changes:
            click.echo(f"{csv_file.name}:{c.line}: {c.sentence()}", err=True)
        click.echo(f"Nothing was imported: {len(exc.changes)} row(s) would give an existing account a new role. "
                   "Run again with --add-roles to give them those roles, or remove the rows.", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"Imported {csv_file.name} into {cohort.title}: {report.summary()}.")
    if invite and report.new_user_ids:
        # Sent from here, batch by batch (each batch committed, then mailed): a terminal may wait.
        with click.progressbar(length=len(report.new_user_ids), label="Sending invitations") as bar:
            def after_batch(done, total):
                db.session.commit()
                bar.update(done - bar.pos)
            sent = invite_many(report.new_user_ids, by=None, base_url=current_app.config["BASE_URL"],
                               cohort=cohort, after_batch=after_batch)
        db.session.commit()
        click.echo(f"Invited {sent} new account(s) to set a password.")
    elif report.new_user_ids:
        click.echo("No invitations sent (--no-invite): send them from the cohort's page.")


@cli.command("scheduler")
@click.option("--once", is_flag=True, help="Run the jobs waiting now, then stop (instead of running for ever).")
@click.option("--interval", default=2.0, show_default=True, help="Seconds between looks for new jobs.")
@with_appcontext
def scheduler_command(once: bool, interval: float):
    """Run background jobs (allocation runs, ...) that the web app records. Keep one running beside
    the web server; several may run at once, each job runs exactly once."""
    from .core import jobs

    def report(job):
        click.echo(f"[job {job.id} {job.kind}] {job.state}: {job.error or job.message}")

    if once:
        click.echo(f"Ran {jobs.run_pending(on_job=report)} job(s).")
        return
    from apscheduler.schedulers.blocking import BlockingScheduler

    app = current_app._get_current_object()

    def tick():
        with app.app_context():
            jobs.run_pending(on_job=report)

    scheduler = BlockingScheduler(timezone="UTC")
    # One tick at a time (max_instances=1): a long job delays the next look instead of overlapping it.
    scheduler.add_job(tick, "interval", seconds=interval, max_instances=1, coalesce=True, id="jobs")

    def remind():
        from .reminders.rules import send_reminders

        with app.app_context():
            made, sent, failed = send_reminders()
            if made or sent or failed:
                click.echo(f"Reminders: {made} new, {sent} e-mail(s) sent, {failed} not sent (tried again later).")

    # What is due is found by scanning the database every minute, and the outbox is delivered then:
    # several schedulers at once, or one restarted, send each message once (core/outbox.py).
    scheduler.add_job(remind, "interval", seconds=60, max_instances=1, coalesce=True, id="reminders",
                      next_run_time=datetime.now(timezone.utc))

    def sweep():
        from datetime import timedelta

        from .core.once import forget_spent_tokens
        from .extensions import db
        from .submissions.services import sweep_uploads

        with app.app_context():
            removed = sweep_uploads(timedelta(hours=6))
            if removed:
                click.echo(f"Swept {len(removed)} orphaned upload file(s).")
            forget_spent_tokens(timedelta(seconds=app.config["WTF_CSRF_TIME_LIMIT"]))
            db.session.commit()

    # Files a crash left without their row (see core/storage.py), and spent form tokens, once an hour.
    scheduler.add_job(sweep, "interval", hours=1, max_instances=1, coalesce=True, id="sweep-uploads")
    click.echo(f"projectflow scheduler: looking for jobs every {interval:g} s (Ctrl-C stops it).")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        click.echo("Stopped.")


@cli.command("reminders")
@click.option("--preview", is_flag=True, required=True,
              help="List what would be put in the outbox, without sending or writing anything.")
@click.option("--at", "at", default=None, metavar="ISO-TIME",
              help="The moment to look at (e.g. 2027-03-01T09:00+00:00); now when not given.")
@with_appcontext
def reminders_command(preview: bool, at: str | None):
    """List the reminders, notices and digests due at a moment, each with who receives it and how.
    `projectflow scheduler` sends them (every minute); this only looks."""
    from .core import clock
    from .reminders.rules import preview as preview_at

    moment = clock.now()
    if at is not None:
        try:
            moment = datetime.fromisoformat(at)
        except ValueError:
            raise click.BadParameter(f"{at!r} is not an ISO time such as 2027-03-01T09:00+00:00", param_hint="--at")
        if moment.tzinfo is None:
            raise click.BadParameter("give the time with its offset, e.g. 2027-03-01T09:00+00:00", param_hint="--at")
    found = preview_at(moment)
    for due, channel in found:
        click.echo(f"{due.kind:<18} {channel:<7} {due.user.email:<40} {due.subject}")
    click.echo(f"{len(found)} message(s) due at {moment.isoformat()}; nothing was sent.")


@cli.command("sweep-uploads")
@click.option("--older-than-hours", default=6.0, show_default=True,
              help="Only files untouched for this long (an upload in progress is not yet in the database).")
@with_appcontext
def sweep_uploads_command(older_than_hours: float):
    """Remove uploaded files no submission or extension refers to (left by a crash), and abandoned
    temporary files. `projectflow scheduler` does this every hour."""
    from datetime import timedelta

    from .submissions.services import sweep_uploads

    removed = sweep_uploads(timedelta(hours=older_than_hours))
    for key in removed:
        click.echo(f"removed {key}")
    click.echo(f"Removed {len(removed)} file(s).")


@cli.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice(["student", "staff", "coordinator", "admin"]))
@click.password_option()
@with_appcontext
def create_user_command(email: str, name: str, roles: tuple[str, ...], password: str):
    """Create an account (e.g. the first admin of an installation)."""
    from .core.errors import DomainError
    from .extensions import db
    from .people.services import create_user

    try:
        user = create_user(email=email, name=name, roles=roles, by=None, password=password)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    db.session.commit()
    click.echo(f"Created {user.email} ({', '.join(user.ordered_roles())}).")


@cli.command("export-problem")
@click.argument("cohort_id", type=int)
@click.option("--output", "output_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="problem.json to write (the input of `projectflow allocate`).")
@with_appcontext
def export_problem_command(cohort_id: int, output_path: Path):
    """Write the allocation problem of cohort COHORT_ID: students (by candidate number) with their
    ranked approved projects, supervisors with their load limits, approved student proposals as
    fixed pairs."""
    import json

    from .cohorts.models import Cohort
    from .extensions import db
    from .matching.problem import cohort_problem
    from .solvers.problem_io import problem_to_dict

    cohort = db.session.get(Cohort, cohort_id)
    if cohort is None:
        raise click.ClickException(f"There is no cohort with id {cohort_id}.")
    problem = cohort_problem(cohort)
    output_path.write_text(json.dumps(problem_to_dict(problem), indent=1) + "\n", encoding="utf-8")
    ranked = sum(1 for s in problem.students if s.preferences)
    click.echo(f"Wrote {output_path}: {len(problem.students)} students ({ranked} with preferences, "
               f"{len(problem.fixed)} fixed pairs), {len(problem.projects)} projects, "
               f"{len(problem.supervisors)} supervisors.")


def _refuse_input(input_path: Path, exc, nothing_done: str) -> None:
    """Name each fault of a malformed input file (the first 50) on stderr, then exit 1."""
    for fault in exc.problems[:50]:
        click.echo(f"{input_path.name}: {fault}", err=True)
    if len(exc.problems) > 50:
        click.echo(f"{input_path.name}: ... and {len(exc.problems) - 50} more.", err=True)
    click.echo(f"{nothing_done} ({len(exc.problems)} problem(s) in the input).", err=True)
    sys.exit(1)


@cli.command("allocate", with_appcontext=False)
@click.option("--input", "input_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path), help="problem.json to read.")
@click.option("--output", "output_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="result.json to write.")
@click.option("--objective", default="min-cost", show_default=True,
              type=click.Choice(["min-cost", "greedy", "generous", "stable"]),
              help="min-cost: fewest unassigned, then least sum of rank squared, then even loads; "
                   "greedy: most 1st choices, then 2nd ...; generous: fewest at the worst rank, then the next "
                   "...; stable: the student-optimal stable matching (supervisors must rank students).")
def allocate_command(input_path: Path, output_path: Path, objective: str):
    """Allocate students to projects from a JSON file, without any database.

    Exits 0 when the allocation is optimal (or stable) and confirmed by the validator, 1 when the
    input is malformed (each fault is named), 2 when no allocation could be made (infeasible, error).
    """
    from .solvers import ProblemError, allocate
    from .solvers.problem_io import parse_problem, result_to_json

    try:
        problem = parse_problem(input_path.read_bytes(), objective)
    except ProblemError as exc:
        _refuse_input(input_path, exc, "Nothing was allocated")
    result = allocate(problem, objective)
    output_path.write_text(result_to_json(result), encoding="utf-8")
    placed = len(result.assignments)
    click.echo(f"{result.status}: {objective} allocation of {placed} of {len(problem.students)} students "
               f"in {result.solve_seconds:.2f} s; profile {list(result.profile)}, worst rank {result.worst_rank}; "
               f"validator: {'ok' if result.verdict and result.verdict.ok else 'REJECTED'}.")
    for d in result.diagnosis:
        click.echo(f"  {d.message}")
    if result.message:
        click.echo(result.message, err=True)
    click.echo(f"Written to {output_path}.")
    if result.status not in ("optimal", "stable"):
        sys.exit(2)


@cli.command("assign-markers", with_appcontext=False)
@click.option("--input", "input_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path), help="markers.json to read.")
@click.option("--output", "output_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="result.json to write.")
def assign_markers_command(input_path: Path, output_path: Path):
    """Choose a second marker for each project from a JSON file, without any database: never a
    supervisor or a declared conflict; as many projects marked as possible, then the most expertise
    overlap, then loads even above the fair share, within each person's maximum.

    Exits 0 when the assignment is optimal and confirmed by the validator, 1 when the input is
    malformed (each fault is named), 2 when no assignment could be made (infeasible, error).
    """
    from .solvers import ProblemError, assign_markers
    from .solvers.markers_io import marker_result_to_json, parse_marker_problem

    try:
        problem = parse_marker_problem(input_path.read_bytes())
    except ProblemError as exc:
        _refuse_input(input_path, exc, "No markers were assigned")
    result = assign_markers(problem)
    output_path.write_text(marker_result_to_json(result), encoding="utf-8")
    loads = [n for _, n in result.loads]
    click.echo(f"{result.status}: second markers for {len(result.assignments)} of {len(problem.projects)} "
               f"projects in {result.solve_seconds:.2f} s; overlap {result.overlap_total}, fair share "
               f"{result.fair_share}, largest load {max(loads, default=0)}, load cost {result.load_cost}; "
               f"validator: {'ok' if result.verdict and result.verdict.ok else 'REJECTED'}.")
    for d in result.diagnosis:
        click.echo(f"  {d.message}")
    if result.message:
        click.echo(result.message, err=True)
    click.echo(f"Written to {output_path}.")
    if result.status != "optimal":
        sys.exit(2)


@cli.command("schedule-posters", with_appcontext=False)
@click.option("--input", "input_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path), help="posters.json to read.")
@click.option("--output", "output_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="schedule.json to write.")
@click.option("--previous", "previous_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="An earlier schedule.json: its placements are kept wherever the rules still allow "
                   "(rescheduling after a change, e.g. an assessor who fell ill).")
@click.option("--time-limit", default=30.0, show_default=True, type=click.FloatRange(min=1.0),
              help="Seconds the solver may take (a little more when a repair round is needed).")
@click.option("--seed", default=1, show_default=True, help="Seed of the solver's random choices.")
def schedule_posters_command(input_path: Path, output_path: Path, previous_path: Path | None, time_limit: float,
                             seed: int):
    """Schedule poster assessment from a JSON file, without any database: each poster in a session,
    room, board and slot where all its assessors (and its student) are available, nobody in two places
    at once; then the fewest "if needed" sessions, the fewest days on campus for each assessor, their
    posters close together, rooms evenly filled.

    Exits 0 when every poster is placed and the validator confirms the schedule, 1 when the input is
    malformed (each fault is named, nothing is written), 2 when some posters cannot be placed (each
    is listed with the reason; the rest are scheduled) or the validator refuses the schedule.
    """
    from .solvers import ProblemError
    from .solvers.posters import precheck, schedule_posters
    from .solvers.posters_io import parse_placements, parse_poster_problem, schedule_to_json

    try:
        problem = parse_poster_problem(input_path.read_bytes())
    except ProblemError as exc:
        _refuse_input(input_path, exc, "Nothing was scheduled")
    previous = None
    if previous_path is not None:
        try:
            previous = parse_placements(previous_path.read_bytes())
        except ProblemError as exc:
            _refuse_input(previous_path, exc, "Nothing was scheduled")
    # The pre-check first, so that data to fix is seen at once rather than after the solve.
    check = precheck(problem)
    for u in check.impossible:
        click.echo(f"  {u.poster} cannot be placed: {u.reason}")
    for issue in check.capacity:
        click.echo(f"  {issue.message}")
    schedule = schedule_posters(problem, time_limit=time_limit, previous=previous, seed=seed)
    output_path.write_text(schedule_to_json(schedule), encoding="utf-8")
    moved = "" if schedule.moved is None else f", {schedule.moved} previous placement(s) changed"
    click.echo(f"{schedule.status}: {len(schedule.placements)} of {len(problem.posters)} posters placed in "
               f"{schedule.solve_seconds:.1f} s; {schedule.assessor_days} assessor-days (lower bound "
               f"{schedule.lower_bound}), {schedule.if_needed_used} \"if needed\" session(s) used{moved}; "
               f"validator: {'ok' if schedule.verdict and schedule.verdict.ok else 'REJECTED'}.")
    told = {u.poster for u in check.impossible}
    for u in schedule.unplaced:
        if u.poster not in told:
            click.echo(f"  {u.poster} is not placed: {u.reason}")
    if schedule.message:
        click.echo(schedule.message, err=True)
    click.echo(f"Written to {output_path}.")
    if schedule.status != "complete":
        sys.exit(2)


@cli.command("results", with_appcontext=False)
@click.option("--input", "input_path", required=True,
              type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path),
              help="marks.json to read (- for standard input).")
@click.option("--output", "output_path", required=True,
              type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
              help="results.json to write (- for standard output).")
def results_command(input_path: Path, output_path: Path):
    """Agree marks, take late penalties and give each student's final mark, classification and flags,
    from a JSON file, without any database: the rules the app uses, for exam boards and external
    examiners to reproduce every result.

    Exits 0 when computed, 1 when the input is malformed (every fault is named with its student and
    component on stderr, and nothing is written).
    """
    import os
    import tempfile

    from .results import ResultsError, compute
    from .results.files import parse_marks, results_to_json

    to_stdout = str(output_path) == "-"
    name = "stdin" if str(input_path) == "-" else input_path.name
    data = click.get_binary_stream("stdin").read() if str(input_path) == "-" else input_path.read_bytes()
    try:
        rules, students = parse_marks(data)
    except ResultsError as exc:
        # Every fault, not the first 50: an exam board wants the whole list in one go.
        for fault in exc.problems:
            click.echo(f"{name}: {fault}", err=True)
        click.echo(f"Nothing was computed ({len(exc.problems)} problem(s) in the input).", err=True)
        sys.exit(1)
    results = compute(rules, students)
    text = results_to_json(results)
    if to_stdout:
        click.get_text_stream("stdout").write(text)
    else:
        # Written beside the target and renamed over it: a reader never sees half a file.
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{output_path.name}.", dir=output_path.resolve().parent)
        except OSError as exc:
            raise click.ClickException(f"Cannot write {output_path}: {exc.strerror}.") from None
        try:
            umask = os.umask(0)
            os.umask(umask)
            os.fchmod(fd, 0o666 & ~umask)  # mkstemp's 0600 would hide the results from the exam board's group
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, output_path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    done = sum(1 for r in results if r.final is not None)
    click.echo(f"Results for {len(results)} student(s): {done} with a final mark, {len(results) - done} "
               f"awaiting agreement; {sum(1 for r in results if r.flags)} flagged."
               + ("" if to_stdout else f" Written to {output_path}."), err=to_stdout)


@cli.command("feedback-pdfs")
@click.option("--cohort", "cohort_id", required=True, type=int, help="The cohort's id (on its page's address).")
@click.option("--output", "output_path", required=True, type=click.Path(path_type=Path),
              help="FILE.zip to write, or a folder to write the PDFs into (made if missing).")
@click.option("--released", is_flag=True, help="Only students whose result is released.")
@click.option("--supervisor", "supervisor_email", metavar="EMAIL", help="Only this supervisor's students.")
@click.option("--milestone", "milestone_id", type=int, metavar="ID",
              help="The forms of the components marked on this milestone (default: each student's combined form).")
@click.option("--board-copies", is_flag=True,
              help="Copies for the exam board, with the reconciliation justifications and flags (default: the "
                   "student copies, as students read them).")
@with_appcontext
def feedback_pdfs_command(cohort_id: int, output_path: Path, released: bool, supervisor_email: str | None,
                          milestone_id: int | None, board_copies: bool):
    """Generate the feedback forms of a cohort as a zip or a folder of PDFs, with manifest.csv.

    Forms printed before from the same marks and comments are reused (from the instance folder's
    cache), so running it again after one mark changed prints one form. Exits 2, saying why, when
    the cohort, a filter or the output is not usable.
    """
    from sqlalchemy import func, select

    from .cohorts.models import Cohort
    from .core.errors import DomainError
    from .extensions import db
    from .feedback import batch
    from .feedback.feedback_form import STAFF, STUDENT
    from .people.models import User

    def refuse(sentence: str):
        click.echo(sentence, err=True)
        sys.exit(2)

    cohort = db.session.get(Cohort, cohort_id)
    if cohort is None:
        refuse(f"There is no cohort with id {cohort_id}.")
    supervisor_id = None
    if supervisor_email:
        supervisor_id = db.session.scalar(select(User.id).where(func.lower(User.email) == supervisor_email.strip().lower()))
        if supervisor_id is None:
            refuse(f"Nobody has the e-mail address {supervisor_email}.")
    if output_path.suffix.lower() == ".zip":
        if output_path.is_dir():
            refuse(f"{output_path} is a folder: give a file name ending in .zip, or the folder without .zip.")
        if not output_path.parent.is_dir():
            refuse(f"The folder {output_path.parent} does not exist: make it first.")
    elif output_path.exists() and not output_path.is_dir():
        refuse(f"{output_path} is a file, not a folder: give a folder, or a file name ending in .zip.")
    elif not output_path.exists() and not output_path.parent.is_dir():
        refuse(f"The folder {output_path.parent} does not exist: make it first.")
    try:
        filters = batch.check_filters(cohort, batch.Filters(released, supervisor_id, milestone_id))
    except DomainError as exc:
        refuse(f"{supervisor_email} is not on the staff of {cohort.title}." if exc.field == "supervisor" else exc.message)
    total = len(batch.plan(cohort, filters))
    if not total:
        refuse(f"No feedback form matches these options in {cohort.title} (no allocated student is left).")
    kind = STAFF if board_copies else STUDENT
    with click.progressbar(length=total, label=f"{batch.COPIES[kind]} of {cohort.title}") as bar:
        def progress(done: int, _total: int, _message: str) -> None:
            bar.update(done - bar.pos)
        try:
            counts = batch.generate(cohort, filters, batch.BoardReader(), kind, output_path, progress)
        except OSError as exc:
            refuse(f"Cannot write {output_path}: {exc.strerror or exc}.")
    db.session.rollback()
    click.echo(f"Wrote {counts.sentence()}, to {output_path}.")
