"""Parameters of everything pluggable, read from constructor signatures and checked with pydantic.

One mechanism serves every kind of :mod:`arcloop.registry`, built-ins and plugins alike: the keyword
parameters of a class's ``__init__`` (or of a factory function), with their type hints and defaults,
become a pydantic model. A parameter is declared once, in the signature:
``alpha: Annotated[float, Field(ge=0, allow_inf_nan=False, description="weight of U")] = 1.0`` gives
its type, bounds, doc string and default. Errors become one-line :class:`ArcloopError` messages that
name the field.
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from arcloop.errors import ArcloopError, format_validation_error

FiniteNonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
FinitePositive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
"""Bounds shared by many parameters; a parameter adds its doc string:
``Annotated[FinitePositive, Field(description="...")]``."""

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


def _admits_bool(hint: Any) -> bool:
    if hint is type(None):
        return False
    if hint is bool or hint is Any or hint is None:
        return True
    if typing.get_origin(hint) is typing.Literal:
        return any(isinstance(arg, bool) for arg in typing.get_args(hint))
    if typing.get_origin(hint) in (typing.Annotated, typing.Union, types.UnionType):
        args = typing.get_args(hint)
        return any(
            _admits_bool(arg) for arg in (args[:1] if typing.get_origin(hint) is typing.Annotated else args)
        )
    return not (isinstance(hint, type) and issubclass(hint, int | float | str))


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
    for name, value in params.items():
        # pydantic's lax mode reads True as 1; in a config, a boolean for a number is a mistake.
        field = model.model_fields.get(name)
        if isinstance(value, bool) and field is not None and not _admits_bool(field.annotation):
            raise ArcloopError(f"{what}.{name}: Input should be a number, not a boolean (got {value!r})")
    try:
        checked = model.model_validate(params)
    except ValidationError as error:
        raise ArcloopError(format_validation_error(error, what, list(model.model_fields))) from None
    return {name: getattr(checked, name) for name in model.model_fields}


def validated_init(init: Callable[..., None]) -> Callable[..., None]:
    """Decorate ``__init__`` so direct construction is checked like :func:`arcloop.registry.get`.

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


def _annotations(hint: Any) -> list[Any]:
    """The ``Annotated`` metadata of a hint, also inside ``X | None``; a FieldInfo's own metadata too."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return [meta for arg in typing.get_args(hint) for meta in _annotations(arg)]
    if typing.get_origin(hint) is not typing.Annotated:
        return []
    found = []
    for meta in typing.get_args(hint)[1:]:
        found.append(meta)
        found.extend(getattr(meta, "metadata", []) or [])
    return found


def _doc(hint: Any) -> str:
    for meta in _annotations(hint):
        description = getattr(meta, "description", None)
        if isinstance(description, str):
            return description
    return ""


def _bounds(hint: Any) -> str:
    parts = []
    for meta in _annotations(hint):
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
    """Each parameter's ``type``, ``default`` (JSON-able), ``required``, ``bounds`` and ``doc``."""
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
            "doc": _doc(hint),
        }
    return described


def summary_line(factory: Callable[..., Any]) -> str:
    """The factory's ``summary`` attribute if it has one, else the first line of its docstring."""
    summary = getattr(factory, "summary", None)
    if isinstance(summary, str) and summary:
        return summary
    doc = inspect.getdoc(factory) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def params_repr(obj: Any) -> str:
    """``ClassName(p=v, ...)``: each parameter :func:`validated_init` checked, with the value the object
    holds under that name (a builder's ``radius=None`` shows the radius it resolved to)."""
    shown = ", ".join(
        f"{key}={getattr(obj, key, value)!r}" for key, value in getattr(obj, "params", {}).items()
    )
    return f"{type(obj).__name__}({shown})"
