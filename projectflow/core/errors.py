"""Domain errors: a human sentence and the HTTP status a view answers with.

Services raise these; the app turns them into a flash message (or an error page) with the status, so
a refused action is never a 500.
"""


class DomainError(Exception):
    status_code = 400

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        # The form field the message belongs next to, when it is about one (see core.forms.show_error).
        self.field = field


class NotAllowed(DomainError):
    """The person may not do this (to this object)."""

    status_code = 403


class InvalidState(DomainError):
    """The object is not in a state that allows this (e.g. a project already approved)."""

    status_code = 409


class ValidationFailed(DomainError):
    """The values given break a rule (e.g. an e-mail address already taken)."""

    status_code = 422
