"""Poster sessions (DESIGN.md section 1.6): sessions and rooms, availability, the schedule and the
day's programme."""
