"""Nothing of the user's is overwritten unasked: where a command may write, and one writer at a
time per run directory."""

from __future__ import annotations

import errno
import fcntl
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from synthgate.errors import SynthgateError
from synthgate.io.rundir import DERIVED, RUN_FILES

LOCK_FILE = ".synthgate.lock"
_TEMP = re.compile(r"^\..+\.[A-Za-z0-9_]+\.tmp$")  # what write_atomic names its temporary files


def check_run_dir(out: str | Path, *, force: bool, inputs: Iterable[str | Path | None]) -> Path:
    """The run directory `out`, if a run may be written there: it does not exist or is empty;
    or, with `force`, it holds an earlier synthgate run (its run.json, or only files a run
    writes) and none of `inputs` lies inside it. Anything else is refused."""
    path = _named(out, "--out")
    if path.exists() and not path.is_dir():
        raise SynthgateError(f"{path}: --out exists and is not a directory")
    entries = sorted(p.name for p in path.iterdir()) if path.is_dir() else []
    entries = [e for e in entries if e != LOCK_FILE]
    inside = [p for p in _paths(inputs) if _within(p, path)]
    if inside:
        raise SynthgateError(f"{inside[0]}: is an input of this run and lies inside --out {path}")
    if not entries:
        return path
    ours = {*RUN_FILES, *DERIVED}
    is_run = "run.json" in entries or all(e in ours or _TEMP.match(e) for e in entries)
    if not is_run:
        raise SynthgateError(
            f"{path}: --out holds files that are not a synthgate run ({entries[0]}, ...); "
            "choose another folder"
        )
    if not force:
        raise SynthgateError(
            f"{path}: --out already holds a synthgate run; pass --force to replace it"
        )
    return path


def check_file(out: str | Path, *, force: bool, inputs: Iterable[str | Path | None] = ()) -> Path:
    """A file a command writes: refused if it is one of `inputs` or one of the run files of an
    input run directory, or if it exists and `force` is not given."""
    path = _named(out, "--out")
    for given in _paths(inputs):
        run_file = given.is_dir() and _within(path, given) and path.name in RUN_FILES
        if run_file or _real(path) == _real(given):
            raise SynthgateError(f"{path}: is an input of this command; choose another file")
    if path.is_dir():
        raise SynthgateError(f"{path}: is a directory; give a file name")
    if path.exists() and not force:
        raise SynthgateError(f"{path}: exists; pass --force to replace it")
    return path


def check_files(
    folder: str | Path, names: Iterable[str], *, force: bool, inputs: Iterable[str | Path | None]
) -> Path:
    """`folder`, if the files `names` may be written into it (see `check_file`)."""
    path = _named(folder, "--out")
    if path.exists() and not path.is_dir():
        raise SynthgateError(f"{path}: --out exists and is not a directory")
    for name in names:
        check_file(path / name, force=force, inputs=inputs)
    return path


@contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold `folder`'s lock file while writing it: a second writer gets one clear line. The
    kernel drops a dead process's lock (flock), so a stale lock file is simply taken over."""
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SynthgateError(f"{folder}: cannot create directory ({exc.strerror})") from exc
    fd = _acquire(folder / LOCK_FILE)
    try:
        yield
    finally:
        os.unlink(folder / LOCK_FILE)  # while held: a waiter then finds the file gone, retries
        os.close(fd)
        if created and not any(folder.iterdir()):
            folder.rmdir()  # a run that failed before writing leaves no empty folder behind


def _acquire(lock: Path) -> int:
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            owner = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise SynthgateError(
                    f"{lock.parent}: another synthgate process (pid {owner}) is writing this "
                    "run directory; wait for it or choose another --out"
                ) from exc
            raise
        try:
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:  # not a file its last holder unlinked after we opened it
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            return fd
        os.close(fd)


def remove_temps(folder: Path) -> None:
    """Delete temporary files a killed run left in `folder` (write_atomic's `.NAME.*.tmp`)."""
    if folder.is_dir():
        for entry in folder.iterdir():
            if _TEMP.match(entry.name) and entry.is_file():
                entry.unlink(missing_ok=True)


def _named(value: str | Path, flag: str) -> Path:
    if str(value).strip() == "":
        raise SynthgateError(f"{flag}: empty path; name a folder or file")
    return Path(value)


def _paths(values: Iterable[str | Path | None]) -> list[Path]:
    return [Path(v) for v in values if v is not None and str(v) != ""]


def _within(path: Path, folder: Path) -> bool:
    return _real(path).is_relative_to(_real(folder))


def _real(path: Path) -> Path:
    """`path` with symbolic links resolved as far as they go (a loop raises nothing here: the
    reader names it)."""
    return Path(os.path.realpath(path))
