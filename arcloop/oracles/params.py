"""Parameters of oracles and wrappers, read from their signatures and checked with pydantic.

One mechanism serves built-ins and plugins alike: the keyword parameters of a class's
``__init__`` (or of a factory function), with their type hints (``Annotated`` bounds included)
and defaults, become a pydantic model. Errors become one-line :class:`ArcloopError` messages
that name the field.
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from arcloop.errors import ArcloopError

# Names that are wiring, not parameters: the wrapped oracle of a wrapper.
_SKIPPED = frozenset({"self", "inner"})


def _callable_of(factory: Callable[..., Any]) -> Callable[..., Any]:
    target = factory.__init__ if isinstance(factory, type) else factory
    return inspect.unwrap(target)


def _parameters(factory: Callable[..., Any]) -> list[inspect.Parameter]:
    signature = inspect.signature(_callable_of(factory))
    return [
        p
        for p in signature.parameters.values()
        if p.name not in _SKIPPED and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


def _hints(factory: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(_callable_of(factory), include_extras=True)
    except Exception:  # a plugin with unresolvable annotations still works, untyped
        return {}


@functools.lru_cache(maxsize=256)
def params_model(factory: Callable[..., Any]) -> type[BaseModel]:
    """The pydantic model of a factory's keyword parameters (extra keys forbidden)."""
    hints = _hints(factory)
    fields: dict[str, Any] = {}
    for p in _parameters(factory):
        default = ... if p.default is inspect.Parameter.empty else p.default
        fields[p.name] = (hints.get(p.name, Any), default)
    name = getattr(factory, "__name__", "oracle") + "Params"
    return create_model(name, __config__=ConfigDict(extra="forbid", arbitrary_types_allowed=True), **fields)


def _one_line(error: ValidationError, what: str, valid: list[str]) -> str:
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"])
    if first["type"] == "extra_forbidden":
        message = f"{what}: unknown parameter {field!r}; valid parameters: {', '.join(valid) or '(none)'}"
    elif first["type"] == "missing":
        message = f"{what}.{field}: required parameter is missing"
    else:
        got = first.get("input")
        message = f"{what}.{field}: {first['msg']} (got {got!r})"
    more = error.error_count() - 1
    return message + (f" (and {more} more error{'s' if more > 1 else ''})" if more else "")


def validate_params(factory: Callable[..., Any], params: dict[str, Any], what: str) -> dict[str, Any]:
    """Check and coerce ``params`` for ``factory``; all parameters, defaults filled in.

    Raises :class:`ArcloopError` with one line such as
    ``noisy.flip_prob: Input should be less than or equal to 1 (got 2.0)``.
    """
    if not isinstance(params, dict):
        raise ArcloopError(
            f"{what}: parameters must be a mapping of name to value, got {type(params).__name__}"
        )
    model = params_model(factory)
    try:
        checked = model.model_validate(params)
    except ValidationError as error:
        raise ArcloopError(_one_line(error, what, list(model.model_fields))) from None
    return {name: getattr(checked, name) for name in model.model_fields}


def validated_init(init: Callable[..., None]) -> Callable[..., None]:
    """Decorate ``__init__`` so direct construction is checked like :func:`arcloop.oracles.get`.

    The validated keyword parameters (defaults included) are stored as ``self.params``.
    """
    signature = inspect.signature(init)

    @functools.wraps(init)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> None:
        try:
            bound = signature.bind(self, *args, **kwargs)
        except TypeError as error:
            raise ArcloopError(f"{getattr(self, 'name', type(self).__name__)}: {error}") from None
        arguments = dict(bound.arguments)
        arguments.pop("self")
        positional = [arguments.pop(name) for name in ("inner",) if name in arguments]
        values = validate_params(init, arguments, getattr(self, "name", type(self).__name__))
        init(self, *positional, **values)
        # Set last, so that a decorated subclass's parameters win over its base's.
        self.params = values

    return wrapper


def _type_name(hint: Any) -> str:
    if hint is Any:
        return "any"
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        return _type_name(typing.get_args(hint)[0])
    if origin is typing.Literal:
        return " | ".join(repr(arg) for arg in typing.get_args(hint))
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(arg) for arg in typing.get_args(hint))
    if origin is not None:
        args = ", ".join("..." if arg is Ellipsis else _type_name(arg) for arg in typing.get_args(hint))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    if hint is type(None):
        return "None"
    return getattr(hint, "__name__", str(hint))


def _bounds(hint: Any) -> str:
    if typing.get_origin(hint) is not typing.Annotated:
        return ""
    parts = []
    for meta in typing.get_args(hint)[1:]:
        for attribute, symbol in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
            value = getattr(meta, attribute, None)
            if value is not None:
                # `g`: typing caches Annotated by equality, so Ge(0) may stand for Ge(0.0).
                parts.append(f"{symbol} {value:g}" if isinstance(value, int | float) else f"{symbol} {value}")
    return ", ".join(parts)


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)


def describe_params(factory: Callable[..., Any]) -> dict[str, dict[str, Any]]:
    """Each parameter's ``type``, ``default`` (JSON-able), ``required`` and ``bounds``."""
    hints = _hints(factory)
    described: dict[str, dict[str, Any]] = {}
    for p in _parameters(factory):
        hint = hints.get(p.name, Any)
        required = p.default is inspect.Parameter.empty
        described[p.name] = {
            "type": _type_name(hint),
            "default": None if required else _jsonable(p.default),
            "required": required,
            "bounds": _bounds(hint),
        }
    return described


def summary_line(factory: Callable[..., Any]) -> str:
    """First line of the factory's docstring."""
    doc = inspect.getdoc(factory) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""
