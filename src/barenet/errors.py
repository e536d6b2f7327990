"""The one exception type barenet raises for problems a user can fix."""


class BarenetError(Exception):
    """A problem with the user's input, file, config or environment.

    The message is one line: what is wrong and what to do about it. The command
    line prints it without a traceback and exits with status :data:`EXIT_USER_ERROR`.
    """


#: The exit status of a command that met a :class:`BarenetError` (bad input), as
#: argparse's for a bad flag; ``predict`` also ends with it when any picture failed.
EXIT_USER_ERROR = 2
