"""What the `salesenv` commands share: the usage error, config composition with the
command line's error handling, suite and env-id lookup, warnings as stderr lines."""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import salesenv

DEFAULT_SUITE = "salesllm-1805"
#: Episodes per env when `--suite` names an env id (scenarios are then sampled).
DEFAULT_SAMPLED_EPISODES = 200


class UsageError(Exception):
    """A mistake on the command line; the message says what to do instead."""


def compose_config(overrides: Sequence[str], config_name: str = "evaluate") -> Any:
    """`salesenv.build.compose_config`, with its errors as usage errors (exit status 2).

    Raises:
        UsageError: If an override names an unknown option or key, or a value is invalid.
    """
    from salesenv.build import ConfigError
    from salesenv.build import compose_config as compose

    try:
        return compose(overrides, config_name)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def load_suite_or_none(spec: str, language: str | None = None) -> Any:
    """The suite `spec` names (built-in name or file), or None if it names neither.

    Args:
        spec: A built-in suite name or a file path.
        language: Read every public SalesLLM script of the file in this language
            (`load_suite(path, language=...)`).

    Raises:
        UsageError: If the file exists but cannot be read as a suite.
    """
    from salesenv.scenarios.suites import SUITE_SIZES

    if spec in SUITE_SIZES or Path(spec).is_file():
        with warnings_to_stderr():
            try:
                return salesenv.load_suite(spec, language=language)
            except (OSError, UnicodeDecodeError, EOFError) as exc:
                raise UsageError(
                    f"cannot read the suite file {spec}: {exc}. Give a JSONL file (plain or "
                    ".gz), one scenario per line"
                ) from None
    return None


def env_id_or_none(spec: str) -> str | None:
    """The short env id `spec` stands for, or None if it is no env id.

    Raises:
        UsageError: If `spec` looks like a file path that does not exist.
    """
    from salesenv.ids import EnvId, UnknownIdError

    try:
        return EnvId.parse(spec).short
    except UnknownIdError:
        if "/" in spec or spec.endswith((".jsonl", ".gz", ".json")):
            raise UsageError(f"no such suite file: {spec}") from None
        return None


@contextlib.contextmanager
def warnings_to_stderr() -> Iterator[None]:
    """Shows every warning (e.g. a skipped suite or records line) as one stderr line."""

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        print(f"warning: {message}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = show
        yield


def difficulty_option(text: str) -> str:
    """`--difficulty` as a profile name; any spelling `salesenv.ids.parse_difficulty` takes."""
    from salesenv.ids import UnknownIdError, parse_difficulty

    try:
        return parse_difficulty(text)
    except UnknownIdError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def count_option(text: str) -> int:
    """A count option (`--limit`, `--episodes`, `-n`): an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value
