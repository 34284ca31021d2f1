"""One refresh at a time, and a one-line reason whenever the database cannot be opened for writing.

A refresh (`echo-bench refresh`, the Prefect flow) holds an exclusive flock on `<db>.refresh.lock` next to
the database for its whole run; the file names the holder (PID, command, start time), so a second refresh,
or any other command that finds the database locked, can say who holds it. `wait=True` queues behind it.
The kernel drops the flock when its process dies, so a crashed refresh never leaves a stale lock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

# DuckDB's text for a database another process holds: '... Conflicting lock is held in /usr/bin/python3 (PID 42)'
_DUCKDB_HOLDER = re.compile(r"Conflicting lock is held in (?P<exe>.*?) \(PID (?P<pid>\d+)\)")
_NOT_WRITABLE = ("Permission denied", "Read-only file system")


class DatabaseUnavailable(RuntimeError):
    """The database cannot be opened; the message is one line for the command line."""


class DatabaseBusy(DatabaseUnavailable):
    def __init__(self, db: Path, holder: Holder, advice: str):
        super().__init__(f"{db} is busy: {holder.describe()}; {advice}")
        self.holder = holder


class DatabaseUnwritable(DatabaseUnavailable):
    pass


@dataclass(frozen=True)
class Holder:
    pid: int | None  # None: the holder has not written its name yet
    command: str | None = None
    started_at: str | None = None  # ISO 8601, UTC
    refresh: bool = False  # holds the refresh lock (not only the database)

    def describe(self) -> str:
        who = "a refresh is running" if self.refresh else "another process has it open for writing"
        details = [f"PID {self.pid}"] if self.pid else []
        if self.command:
            details.append(repr(self.command))
        if self.started_at:
            details.append(f"started {self.started_at}")
        return f"{who} ({', '.join(details)})" if details else who


def lock_path(db: str | os.PathLike) -> Path:
    db = Path(db)
    return db.with_name(db.name + ".refresh.lock")


def _process(pid: int) -> tuple[str | None, str | None]:
    """(command line, start time) of a live process, from /proc; (None, None) where that is not readable."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        # field 22 of /proc/PID/stat: start time in clock ticks after boot (fields after the command name)
        ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
    except (OSError, ValueError, IndexError, StopIteration):
        return None, None
    started = dt.datetime.fromtimestamp(boot + ticks / os.sysconf("SC_CLK_TCK"), dt.UTC)
    return command or None, _iso(started)


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S UTC")


def _is_locked(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _parse_holder(raw: bytes | str) -> Holder:
    try:
        info = json.loads(raw or "{}")
        return Holder(int(info["pid"]), info.get("command"), info.get("started_at"), refresh=True)
    except (ValueError, KeyError, TypeError):  # the holder has not written its name yet
        return Holder(None, refresh=True)


def refresh_holder(db: str | os.PathLike) -> Holder | None:
    """Who runs the refresh on this database now, or None when no refresh holds the lock."""
    path = lock_path(db)
    if not _is_locked(path):
        return None  # whatever the file says is left from a finished run
    try:
        return _parse_holder(path.read_bytes())
    except OSError:
        return Holder(None, refresh=True)


class RefreshLock:
    """The exclusive refresh lock of one database: `with RefreshLock(db): ...`."""

    def __init__(self, db: str | os.PathLike, *, command: str | None = None, wait: bool = False,
                 on_wait: Callable[[Holder], None] | None = None):
        self.db = Path(db)
        self.path = lock_path(db)
        self.command = command or " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])
        self.wait = wait
        self.on_wait = on_wait
        self._fd: int | None = None

    def acquire(self) -> None:
        check_writable(self.db)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _parse_holder(os.pread(fd, 65536, 0))
                if not self.wait:
                    raise DatabaseBusy(self.db, holder, "pass --wait to queue behind it") from None
                if self.on_wait:
                    self.on_wait(holder)
                fcntl.flock(fd, fcntl.LOCK_EX)
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps({"pid": os.getpid(), "command": self.command,
                                      "started_at": _iso(dt.datetime.now(dt.UTC))}).encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)  # no stale name for the next reader
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RefreshLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


@contextlib.contextmanager
def refresh_lock(db: str | os.PathLike, **kw) -> Iterator[RefreshLock]:
    with RefreshLock(db, **kw) as lock:
        yield lock


def check_writable(db: str | os.PathLike) -> None:
    """Refuse a database whose folder (or file) cannot be written: DuckDB would open it and fail at the
    first commit, when it writes its .wal next to it."""
    db = Path(db)
    folder = db.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # created on open: its nearest existing ancestor must be writable
    if not folder.is_dir():
        raise DatabaseUnwritable(f"cannot create the database folder {db.parent}: {folder} is not a folder")
    for target in ([db] if db.exists() else []) + [folder]:
        if not os.access(target, os.W_OK | (os.X_OK if target.is_dir() else 0)):
            raise DatabaseUnwritable(_unwritable(db, target))


def _unwritable(db: Path, target: Path) -> str:
    try:
        read_only_fs = bool(os.statvfs(target).f_flag & os.ST_RDONLY)
    except OSError:
        read_only_fs = False
    why = "on a read-only file system" if read_only_fs else "not writable by this user"
    what = "database folder" if target.is_dir() else "database file"
    return (f"the {what} {target} is {why}, so {db.name} cannot be written; point [paths] db "
            "(or ECHO_PATHS_DB) at a writable folder, or use a read-only command (echo-bench sql)")


def open_error(db: str | os.PathLike, error: Exception, *, read_only: bool = False) -> DatabaseUnavailable:
    """The one-line error for a DuckDB IOException on opening `db`."""
    db = Path(db)
    text = str(error)
    m = _DUCKDB_HOLDER.search(text)
    if m:
        pid = int(m["pid"])
        holder = refresh_holder(db)
        if holder is None or holder.pid != pid:
            command, started = _process(pid)
            holder = Holder(pid, command or m["exe"], started)
        advice = ("analysts query the snapshot instead: echo-bench sql \"...\"" if read_only
                  else "run this again when it has finished")
        return DatabaseBusy(db, holder, advice)
    if not read_only and any(t in text for t in _NOT_WRITABLE):
        return DatabaseUnwritable(_unwritable(db, db if db.exists() else db.parent))
    return DatabaseUnavailable(f"cannot open {db}: {text}")
