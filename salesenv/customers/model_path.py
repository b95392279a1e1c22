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


def check_subfolder(
    model: str | os.PathLike[str], subfolder: str, what: str, expected: str, option: str
) -> None:
    """Raises unless the local folder `model` has a subfolder `subfolder` holding a
    `config.json` (a repository with one model per subfolder, such as one per language).

    Hub ids pass through, as in `check_model_path` (call that first): what a hub holds is
    known only when transformers asks.

    Args:
        model: The repository folder as the user gave it.
        subfolder: The subfolder expected inside it (e.g. "zh").
        what: Who loads it, for the message (e.g. "hf intent scorer").
        expected: What the subfolder should hold, for the message.
        option: How to name another subfolder, for the message (e.g.
            "scorer.subfolders.zh=NAME").

    Raises:
        ModelNotFoundError: If the folder has no such subfolder, or the subfolder has no
            config.json; the message names the path, lists the subfolders the folder has
            and says what to pass.
    """
    path = Path(os.fspath(model)).expanduser()
    if not path.is_dir():
        return
    target = path / subfolder
    if (target / "config.json").is_file():
        return
    present = sorted(p.name for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    has = f"its subfolders: {', '.join(present)}" if present else "it has no subfolders"
    if target.is_dir():
        problem = f"{str(target)!r} has no config.json"
    else:
        problem = f"{str(path)!r} has no subfolder {subfolder!r}"
    raise ModelNotFoundError(
        f"{what}: cannot load model {str(path)!r} (subfolder {subfolder!r}): {problem} "
        f"({has}); pass {option} naming the subfolder with {expected}, or the model folder "
        "itself without a subfolder"
    )


def model_subfolders(path: str | os.PathLike[str]) -> list[str]:
    """The names of the subfolders of `path` that hold a `config.json`, sorted."""
    folder = Path(os.fspath(path)).expanduser()
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / "config.json").is_file())
