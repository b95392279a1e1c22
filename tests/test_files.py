"""salesenv.files.write_atomic: whole files or nothing."""

from __future__ import annotations

import stat

import pytest

from salesenv.files import write_atomic


def test_write_atomic_writes_text_and_bytes_with_readable_mode(tmp_path):
    path = write_atomic(tmp_path / "sub" / "a.json", "价格 {}")
    assert path.read_text(encoding="utf-8") == "价格 {}"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    write_atomic(path, b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"
    assert [p.name for p in path.parent.iterdir()] == ["a.json"]


def test_write_atomic_keeps_the_old_file_when_the_data_is_bad(tmp_path):
    path = write_atomic(tmp_path / "a.txt", "old")
    with pytest.raises(TypeError):
        write_atomic(path, 123)  # type: ignore[arg-type]
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]
