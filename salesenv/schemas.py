"""Structured-config schemas derived from constructor signatures.

`schema_of("package.module.Class")` is the dataclass Hydra checks a config node against:
`_target_` names the class, and every constructor parameter becomes a field with the
constructor's default (mandatory parameters become `???`), typed where OmegaConf can check
the type. This is hydra-zen's `builds(..., populate_full_signature=True)` in small: the
defaults live once, in the constructors, and a mistyped key or value still fails when a
config is composed.
"""

from __future__ import annotations

import dataclasses
import inspect
import sys
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import field
from enum import Enum
from functools import cache
from typing import Any, Optional, Union

from hydra.utils import get_class, get_object
from omegaconf import MISSING

_SCALARS = (int, float, bool, str)


def schema_of(target: str, exclude: Sequence[str] = ()) -> type:
    """A structured-config dataclass for `target`'s constructor (hydra-zen's `builds` with
    `populate_full_signature=True`, in small).

    Args:
        target: Import path of a class ("salesenv.customers.vllm_backend.VLLMChat").
        exclude: Parameters to leave out (objects the entry point passes itself).

    Returns:
        A dataclass named after the class, with `_target_` and one field per parameter:
        typed when the annotation is a scalar, an Enum, a list, a dict, an optional of
        those or a dataclass (nested, with its own `_target_`), else `Any`. Parameters
        whose default is not a config value (a function, an object) are left out.
    """
    return _schema_of(target, tuple(exclude))


@cache
def _schema_of(target: str, exclude: tuple[str, ...]) -> type:
    cls = get_class(target)
    hints = _hints(cls)
    fields: list[tuple[str, Any, Any]] = [("_target_", str, field(default=target))]
    for name, param in inspect.signature(cls).parameters.items():
        if name in exclude or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        spec = _field(hints.get(name, Any), param.default)
        if spec is not None:
            fields.append((name, *spec))
    return dataclasses.make_dataclass(cls.__name__, fields)


def _field(annotation: Any, default: Any) -> tuple[Any, Any] | None:
    """(type, dataclasses.field) of one parameter, or None if a config cannot hold it."""
    nested = _dataclass_in(annotation)
    if nested is not None and (default is None or dataclasses.is_dataclass(default)):
        # None means "the defaults" for a settings dataclass (e.g. `sampling=None`): the
        # schema spells them out, so that `customer.sampling.temperature=...` works.
        schema = schema_of(f"{nested.__module__}.{nested.__qualname__}")
        values = {} if default is None else dataclasses.asdict(default)
        return schema, field(default_factory=lambda: schema(**values))
    kind = _config_type(annotation)
    if default is inspect.Parameter.empty:
        return kind, field(default=MISSING)
    if isinstance(default, tuple):
        default = list(default)
    if isinstance(default, list | dict):
        return kind, field(default_factory=lambda: typing.cast(Any, default).copy())
    if default is None or isinstance(default, (*_SCALARS, Enum)):
        return kind, field(default=default)
    return None


def _config_type(annotation: Any) -> Any:
    """The closest type OmegaConf can check, or Any."""
    if annotation in _SCALARS or (isinstance(annotation, type) and issubclass(annotation, Enum)):
        return annotation
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1 and (kind := _config_type(inner[0])) is not Any:
            return Optional[kind]  # noqa: UP045 - OmegaConf reads typing.Optional
        return Any
    if origin in (list, tuple, Sequence) and args and args[0] in _SCALARS:
        return list[args[0]]
    if origin in (dict, Mapping):
        return dict[str, Any]
    return Any


def _dataclass_in(annotation: Any) -> type | None:
    """The settings dataclass an annotation names, alone or as `X | None`, or None."""
    inner = [a for a in typing.get_args(annotation) if a is not type(None)] or [annotation]
    kind = inner[0] if len(inner) == 1 else None
    return kind if isinstance(kind, type) and dataclasses.is_dataclass(kind) else None


def _hints(cls: type) -> dict[str, Any]:
    """The constructor's resolved annotations; one that names an import made only for type
    checkers becomes Any."""
    init = cls if dataclasses.is_dataclass(cls) else cls.__init__
    namespace = vars(sys.modules[cls.__module__])
    annotations = typing.get_type_hints(init) if dataclasses.is_dataclass(cls) else {}
    for name, annotation in getattr(init, "__annotations__", {}).items():
        if name not in annotations:
            annotations[name] = _resolve(annotation, namespace)
    return annotations


def _resolve(annotation: Any, namespace: dict[str, Any]) -> Any:
    def probe() -> None: ...

    probe.__annotations__ = {"value": annotation}
    try:
        return typing.get_type_hints(probe, namespace)["value"]
    except (NameError, AttributeError, TypeError):
        return Any


def constructor_default(target: str, parameter: str) -> Any:
    """The default of one parameter of a class's constructor or of a function (to give
    hand-written schemas and command-line options the same default)."""
    return inspect.signature(get_object(target)).parameters[parameter].default
