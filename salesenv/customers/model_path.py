"""Checks a model location before a heavy library tries to load it.

transformers and vLLM answer a mistyped local path with a long traceback whose useful line
is the last. The local backends and the hf intent scorer call `check_model_path` first, so
that a path that is not there fails at once with a message that names it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from salesenv.customers.base import CustomerBackendError

#: A hub repository id: "name" or "org/name", letters, digits, ".", "_" and "-".
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(?:/[A-Za-z0-9][\w.-]*)?")


class ModelNotFoundError(CustomerBackendError, FileNotFoundError):
    """A model path that does not exist or is not a model; the message says what to pass.

    A `CustomerBackendError` (the customer backends' error) and a `FileNotFoundError`, so
    either kind of handler catches it.
    """


def is_hub_id(model: str) -> bool:
    """Whether `model` reads as a hub id ("org/name" or "name") rather than a local path.

    Paths that start with "/", "~" or ".", have two or more "/", or end in ".gguf" are
    local paths.
    """
    return (
        _HUB_ID.fullmatch(model) is not None
        and ".." not in model
        and not model.lower().endswith(".gguf")
    )


def check_model_path(
    model: str | os.PathLike[str], what: str, expected: str, gguf: bool = False
) -> None:
    """Raises unless `model` is an existing model folder, an existing GGUF file (when
    `gguf`), or a hub id that is not a local path (passed through: a hub cache may hold it).

    Args:
        model: The model location as the user gave it.
        what: Who loads it, for the message (e.g. "transformers backend").
        expected: What the folder should hold, for the message (e.g. "config.json and
            weights").
        gguf: Whether a `.gguf` file is accepted in place of a folder.

    Raises:
        ModelNotFoundError: If `model` is neither; the message names the path and what to
            pass instead.
    """
    text = os.fspath(model)
    path = Path(text).expanduser()
    if path.is_dir() or (gguf and path.is_file() and path.suffix.lower() == ".gguf"):
        return
    accepted = f"a local folder with {expected}" + (" or a .gguf file" if gguf else "")
    hub = "a hub id such as 'org/name' works only where a model hub or its cache is reachable"
    if path.exists():
        raise ModelNotFoundError(
            f"{what}: cannot load model {text!r}: it is a file, not a model; pass {accepted}"
        )
    if not is_hub_id(text):
        raise ModelNotFoundError(
            f"{what}: cannot load model {text!r}: no such file or folder; pass {accepted} ({hub})"
        )
