"""Writing results: atomic file writes (a crash never leaves a half-written result behind)
and strict JSON (no NaN)."""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Any


def write_atomic(path: str | os.PathLike[str], data: str | bytes) -> Path:
    """Writes `data` (text as UTF-8) to `path` through a temporary file in the same folder
    and a rename, creating the folder if needed.

    Readers see the old file or the whole new one, never a part; on any error the temporary
    file is removed and the old file is left as it was. The file gets mode 0o644.

    Returns:
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def nan_to_none(value: Any) -> Any:
    """`value` with every float NaN inside dicts, lists and tuples replaced by None, so that
    `json.dumps(..., allow_nan=False)` writes null where a statistic is undefined."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [nan_to_none(v) for v in value]
    return value
