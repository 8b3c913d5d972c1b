"""The supervision log: students record their meetings, supervisors confirm them, coordinators see
who has gone too long without one."""
