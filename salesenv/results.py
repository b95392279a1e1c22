"""An evaluation's output folder: its manifest, one JSONL record per episode, its summary.

    DIR/run.json        what was evaluated (suite, agents, customer, scoring): a rerun with
                        the same DIR must match it, so that results are never mixed
    DIR/episodes.jsonl  one record per finished (or errored) episode, appended as it ends
    DIR/summary.json    the scores, written when the run stops
    DIR/.lock           held while an eval writes to DIR, removed when it ends

Each record is appended with a single `write` of one whole line to a file opened for
appending, so a killed run leaves complete lines behind, at worst followed by one torn
line that the reader drops (and a resumed run removes). Records carry `schema`, the
version of their layout; `upgrade_record` reads every earlier layout, so results written
by one version of salesenv are readable by the next. Records and manifests name their
conversation protocol (`salesenv.protocol`); those written before protocols existed
have no such field and read as "salesenv", the only protocol there was.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from salesenv.files import nan_to_none, write_atomic
from salesenv.ids import EnvId, UnknownIdError, parse_difficulty
from salesenv.protocol import protocol_of

#: The layout of records and manifests written by this version.
SCHEMA_VERSION = 1
RECORDS_FILE = "episodes.jsonl"
SUMMARY_FILE = "summary.json"
MANIFEST_FILE = "run.json"
LOCK_FILE = ".lock"
#: Manifest fields that may change between a run and its resumption.
RESUMABLE_FIELDS = frozenset({"schema", "created", "salesenv_version", "trials"})


class ResultsError(ValueError):
    """A results folder or record that cannot be used; the message says why and what to do."""


class NewerSchemaError(ResultsError):
    """Results written by a newer salesenv than this one."""


class RunDirInUseError(RuntimeError):
    """Another running eval holds the output folder."""


class RecordFormatWarning(UserWarning):
    """A line of a records file was skipped; the message names the file, line and reason."""


def episode_key(agent: str, env_id: str, index: int, trial: int) -> str:
    """The identity of one planned episode: a resumed run skips the keys it has."""
    return f"{agent}|{env_id}|{index}|{trial}"


def upgrade_record(record: dict[str, Any]) -> dict[str, Any]:
    """A record of any schema in the current layout.

    Schema 0 is what `examples/evaluate.py` wrote before the schema field existed (no
    `schema`, `key`, `env_id`, `index`, `trial`, `flags`, `versions`). A record without
    `protocol` (written before protocols existed) gets "salesenv".

    Raises:
        NewerSchemaError: If the record was written by a newer salesenv.
        ResultsError: If it is not a record.
    """
    if not isinstance(record, dict) or "scenario_id" not in record:
        raise ResultsError("not an episode record (no scenario_id)")
    schema = record.get("schema", 0)
    if not isinstance(schema, int) or schema > SCHEMA_VERSION:
        raise NewerSchemaError(
            f"record schema {schema!r} was written by a newer salesenv (this one reads up to "
            f"{SCHEMA_VERSION}): upgrade salesenv to read it"
        )
    if schema == 0:
        record = dict(record)
        try:
            env_id = EnvId(record["language"], parse_difficulty(record["difficulty"])).short
        except UnknownIdError as exc:
            raise ResultsError(f"not an episode record of a salesenv id: {exc}") from None
        record.update(
            schema=1,
            env_id=env_id,
            index=None,
            trial=0,
            flags={},
            versions={},
            seconds=None,
            key=episode_key(record["agent"], env_id, record["seed"] or 0, 0),
        )
    if "protocol" not in record:
        record = {**record, "protocol": protocol_of(record)}
    return record


def read_records(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every record of a records file, upgraded to the current schema, the last one per key.

    A torn last line (a run killed while writing) is dropped silently; any other line that
    is not a record is skipped with a `RecordFormatWarning` naming its line number.

    Raises:
        FileNotFoundError: If the file does not exist.
        NewerSchemaError: If a record was written by a newer salesenv.
    """
    path = Path(path)
    lines = path.read_bytes().split(b"\n")
    torn = lines[-1] != b""  # a complete file ends with a newline
    latest: dict[str, dict[str, Any]] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = upgrade_record(json.loads(line))
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as exc:
            if torn and number == len(lines):
                break
            warnings.warn(
                f"{path} line {number}: skipped: {exc}", RecordFormatWarning, stacklevel=2
            )
            continue
        except NewerSchemaError as exc:
            raise NewerSchemaError(f"{path} line {number}: {exc}") from None
        except ResultsError as exc:
            warnings.warn(
                f"{path} line {number}: skipped: {exc}", RecordFormatWarning, stacklevel=2
            )
            continue
        latest.pop(record["key"], None)  # keep file order of the latest records
        latest[record["key"]] = record
    return list(latest.values())


def load_results(directory: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The records of an eval folder (or a records file itself).

    Raises:
        ResultsError: If there are no records there.
    """
    path = Path(directory)
    records_path = path / RECORDS_FILE if path.is_dir() else path
    if not records_path.is_file():
        raise ResultsError(
            f"{path} holds no {RECORDS_FILE}: pass a folder written by `salesenv eval` "
            "(or by examples/evaluate.py)"
        )
    return read_records(records_path)


class RunDirectory:
    """The output folder of one `salesenv eval` run.

    Args:
        path: The folder; created when the run starts.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.records_path = self.path / RECORDS_FILE
        self.summary_path = self.path / SUMMARY_FILE
        self.manifest_path = self.path / MANIFEST_FILE

    @contextlib.contextmanager
    def lock(self) -> Iterator[RunDirectory]:
        """Holds the folder for one run and removes the lock file when the run ends (also
        on an exception or Ctrl-C). The operating system releases the lock when the process
        ends in any way (even `kill -9`, which leaves the file behind), so a stale lock file
        never blocks a rerun.

        Raises:
            RunDirInUseError: If another process holds it.
        """
        self.path.mkdir(parents=True, exist_ok=True)
        lock_path = self.path / LOCK_FILE
        handle = _hold(lock_path)
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}")
            handle.flush()
            yield self
        finally:
            lock_path.unlink(missing_ok=True)  # still held: no other run can be inside
            handle.close()

    def start(self, manifest: dict[str, Any]) -> None:
        """Writes the manifest of a new run, or checks that a resumed run matches it.

        Raises:
            ResultsError: If the folder holds results of a different run.
        """
        manifest = {"schema": SCHEMA_VERSION, **manifest}
        if self.manifest_path.is_file():
            old = json.loads(self.manifest_path.read_text(encoding="utf-8"))
            old.setdefault("protocol", protocol_of(old))  # written before protocols existed
            changed = sorted(
                key
                for key in set(old) | set(manifest)
                if key not in RESUMABLE_FIELDS and old.get(key) != manifest.get(key)
            )
            if changed:
                details = "; ".join(
                    f"{k}: {old.get(k)!r} then, {manifest.get(k)!r} now" for k in changed
                )
                raise ResultsError(
                    f"{self.path} holds results of a different run ({details}). Rerun with the "
                    "same settings to resume it, or pass another output folder."
                )
            manifest = {**old, **{k: manifest[k] for k in RESUMABLE_FIELDS if k in manifest}}
        elif self.records_path.exists():
            raise ResultsError(
                f"{self.path} has {RECORDS_FILE} but no {MANIFEST_FILE}: it was not written by "
                "`salesenv eval`; pass another output folder"
            )
        write_atomic(self.manifest_path, json.dumps(manifest, indent=2, ensure_ascii=False))

    def finished(self) -> dict[str, dict[str, Any]]:
        """The records already written, by key (errored episodes included), after removing a
        torn last line left by a killed run."""
        if not self.records_path.is_file():
            return {}
        data = self.records_path.read_bytes()
        if data and not data.endswith(b"\n"):
            write_atomic(self.records_path, data[: data.rfind(b"\n") + 1])
        return {r["key"]: r for r in read_records(self.records_path)}

    def append(self, records: Iterable[dict[str, Any]]) -> None:
        """Appends records, one `write` call per line, and syncs them to disk."""
        fd = os.open(self.records_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            for record in records:
                line = json.dumps({"schema": SCHEMA_VERSION, **record}, ensure_ascii=False)
                data = (line + "\n").encode("utf-8")
                while data:  # a regular file takes it whole; loop only for partial writes
                    data = data[os.write(fd, data) :]
            os.fsync(fd)
        finally:
            os.close(fd)

    def write_summary(self, summary: dict[str, Any]) -> None:
        """Writes `summary.json` atomically; NaN (an interval of one scenario) becomes null,
        so that any JSON reader can read it."""
        data = nan_to_none({"schema": SCHEMA_VERSION, **summary})
        write_atomic(
            self.summary_path, json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)
        )


def _hold(lock_path: Path) -> IO[str]:
    """The open lock file at `lock_path`, locked by this process.

    A run that ends removes its lock file; a run that opened that file just before may then
    lock the removed file, so the lock counts only if `lock_path` is still the locked file.

    Raises:
        RunDirInUseError: If another process holds it.
    """
    while True:
        handle = open(lock_path, "a+")  # noqa: SIM115 - held until the run ends
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise RunDirInUseError(
                f"{lock_path.parent} is in use by a running eval ({holder}); wait for it to "
                "finish or stop it, or pass another output folder"
            ) from None
        with contextlib.suppress(FileNotFoundError):
            if os.stat(lock_path).st_ino == os.fstat(handle.fileno()).st_ino:
                return handle
        handle.close()
