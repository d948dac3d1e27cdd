"""A local plugin with a misspelt hook name: must be rejected at load."""

from gatekeeper import hookimpl


@hookimpl
def gatekeeper_checker():  # the hook is gatekeeper_checkers
    return []
