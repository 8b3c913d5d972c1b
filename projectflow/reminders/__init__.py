"""Reminders and digests (DESIGN.md lifecycle step 9): what is due to whom, found by scanning the
database, each message put in the outbox (``core.outbox``) once, under a key naming its person, kind,
object and instant."""
