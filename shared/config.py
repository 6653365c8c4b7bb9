"""Settings from the environment, validated once at start-up with a message that names the variable.

A settings class is a frozen dataclass whose fields carry their documented defaults; ``load_settings`` reads
``{PREFIX}{FIELD_NAME_UPPER}`` for each field, converts it by the field's type and runs the class's own
``validate()`` so a bad clinic setting stops the service at start, not in the middle of an infusion.
"""
from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the environment variable and what is wrong."""


def load_settings(cls: type[T], prefix: str, environ: Mapping[str, str] | None = None) -> T:
    """Build ``cls`` from ``environ`` (default ``os.environ``): each field from ``{prefix}{FIELD}`` or its default."""
    environ = os.environ if environ is None else environ
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        variable = f"{prefix}{field.name.upper()}"
        raw = environ.get(variable)
        if raw is None or raw == "":
            continue
        try:
            values[field.name] = parse_value(raw, hints[field.name])
        except ValueError as error:
            raise SettingsError(f"{variable}={raw!r}: {error}") from None
    try:
        settings = cls(**values)
    except (TypeError, ValueError) as error:
        raise SettingsError(f"{cls.__name__}: {error}") from None
    validate = getattr(settings, "validate", None)
    if callable(validate):
        try:
            validate()
        except ValueError as error:
            raise SettingsError(f"{cls.__name__} ({prefix}*): {error}") from None
    return settings


def parse_value(raw: str, annotation: Any) -> Any:
    """Convert one environment string to ``annotation`` (str, int, float, bool, Enum, tuples, Optional)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        if raw.lower() in ("none", "null"):
            return None
        return parse_value(raw, options[0])
    if origin is tuple:
        item_type = typing.get_args(annotation)[0]
        return tuple(parse_value(part.strip(), item_type) for part in raw.split(",") if part.strip())
    if annotation is bool:
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ValueError("expected true or false")
    if annotation is int:
        return int(raw)
    if annotation is float:
        return float(raw)
    if isinstance(annotation, type) and issubclass(annotation, __import__("enum").Enum):
        try:
            return annotation(raw.strip().lower())
        except ValueError:
            allowed = ", ".join(str(m.value) for m in annotation)  # type: ignore[attr-defined]
            raise ValueError(f"expected one of {allowed}") from None
    return raw


def install_app_settings(app: Any, cls: type[T], prefix: str, key: str, settings: T | None = None) -> T:
    """Load ``cls`` from the environment once, when the app is built, and keep it on ``app.extensions[key]``: a bad
    value stops the process at start-up with the variable's name, never at the first request that needs it."""
    if settings is None:
        try:
            settings = load_settings(cls, prefix)
        except SettingsError as error:
            raise SystemExit(f"configuration error: {error}") from None
    app.extensions[key] = settings
    return settings


def app_settings(key: str, fallback: typing.Callable[[], T]) -> T:
    """The settings ``install_app_settings`` kept on the current app, or ``fallback()`` outside an app built that
    way (a unit test calling a rule directly)."""
    from flask import current_app, has_app_context  # here: config is imported by code that runs without Flask

    if has_app_context() and key in current_app.extensions:
        return typing.cast(T, current_app.extensions[key])
    return fallback()
