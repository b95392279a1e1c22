"""The README's quickstart runs as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_quickstart_runs(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert blocks, "README has a python quickstart"
    namespace: dict = {}
    exec(compile(blocks[0], "README quickstart", "exec"), namespace)
    assert namespace["done"] is True
    assert 0.0 <= namespace["reward"] <= 10.0
    assert namespace["info"]["decision"] in ("buy", "maybe", "no", "brush_off", "hostile")
    assert namespace["vec"].num_envs == 8
    assert len(blocks[0].strip().splitlines()) <= 20
