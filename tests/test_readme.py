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


def test_variant_examples_print_what_the_readme_says():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    examples = [b for b in blocks if "-longhorizon" in b or "-portfolio" in b]
    assert len(examples) == 2
    for block in examples:
        lines = block.strip().splitlines()
        *body, expression, comment = lines
        namespace: dict = {}
        exec(compile("\n".join(body), "README example", "exec"), namespace)
        assert comment.startswith("# ")
        assert repr(eval(expression, namespace)) == comment[2:]
