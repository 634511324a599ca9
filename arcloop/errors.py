"""The one exception type for user mistakes: the CLI prints its message as one line."""


class ArcloopError(ValueError):
    """A user-facing error: bad input, bad configuration, unknown name.

    The message is one line that names the field and says how to fix it; the CLI
    prints it without a traceback and exits with status 2.
    """
