"""The one exception type barenet raises for problems a user can fix."""


class BarenetError(Exception):
    """A problem with the user's input, file, config or environment.

    The message is one line: what is wrong and what to do about it. The command
    line prints it without a traceback and exits with status 2.
    """
