"""The one exception type for user mistakes, and the one formatter of pydantic errors as one line."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError


class ArcloopError(ValueError):
    """A user-facing error: bad input, bad configuration, unknown name.

    The message is one line that names the field and says how to fix it; the CLI prints it
    without a traceback and exits with status 2.
    """


def format_validation_error(
    error: ValidationError, prefix: str = "", valid: Sequence[str] | None = None
) -> str:
    """The first problem of a pydantic error as one line: ``prefix.field.path: message (got value)``.

    With ``valid`` (the parameter names of a plugin, see :mod:`arcloop.params`), an unknown key reads
    ``prefix: unknown parameter 'x'; valid parameters: a, b`` and a missing one
    ``prefix.x: required parameter is missing``.
    """
    first = error.errors()[0]
    parts = [str(part) for part in first["loc"] if not str(part).startswith("function-")]
    location = ".".join([prefix, *parts] if prefix else parts) or "config"
    more = error.error_count() - 1
    suffix = f"; and {more} more problem(s)" if more else ""
    if valid is not None and first["type"] == "extra_forbidden":
        names = ", ".join(valid) or "(none)"
        return f"{prefix}: unknown parameter {'.'.join(parts)!r}; valid parameters: {names}{suffix}"
    if valid is not None and first["type"] == "missing":
        return f"{location}: required parameter is missing{suffix}"
    message = first["msg"].removeprefix("Value error, ")
    got = first.get("input")
    shown = "" if isinstance(got, dict | list) or got is None else f" (got {shortened(repr(got))})"
    return f"{location}: {message}{shown}{suffix}"


def shortened(text: str, limit: int = 80) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis: a long bad value in a one-line error."""
    return text if len(text) <= limit else f"{text[: limit - 1]}…"
