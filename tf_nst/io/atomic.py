"""Writing atomically: a file or a directory is written under a temporary name beside its target and then
renamed over it, so the target is the old one or the complete new one, never a partial one (a killed process
leaves at most a ``TEMPORARY_PREFIX`` temporary behind).

``write_file`` writes bytes on the local file system, or on any other through a ``FileSystem`` (Beam's
filesystems, for example); ``staged_directory`` builds a directory. Both raise ``OSError``; callers turn it
into their tf_nst error with ``cannot_write``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

TEMPORARY_PREFIX = ".tf_nst-"  # temporaries are f"{TEMPORARY_PREFIX}{random hex}-{name}.tmp" beside their target


def _write_local(path: str, data: bytes) -> None:
    with open(path, "xb") as f:  # created with the umask's permissions, as any new file
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


@dataclass(frozen=True)
class FileSystem:
    """The operations ``write_file`` needs, on paths of one file system."""

    split: Callable[[str], tuple[str, str]]  # path -> (directory, name)
    join: Callable[[str, str], str]
    write: Callable[[str, bytes], None]  # a new file with these bytes
    rename: Callable[[str, str], None]  # replaces an existing target
    delete: Callable[[str], None]


LOCAL = FileSystem(os.path.split, os.path.join, _write_local, os.replace, os.unlink)


def write_file(path: str, data: bytes, filesystem: FileSystem = LOCAL) -> None:
    """Write ``data`` to ``path`` atomically: to a temporary file in the same directory, then renamed over it."""
    directory, name = filesystem.split(path)
    temporary = filesystem.join(directory, f"{TEMPORARY_PREFIX}{uuid.uuid4().hex[:12]}-{name}.tmp")
    try:
        filesystem.write(temporary, data)
        filesystem.rename(temporary, path)
    except BaseException:
        with contextlib.suppress(Exception):
            filesystem.delete(temporary)
        raise


@contextlib.contextmanager
def staged_directory(target: str, replace: bool = False) -> Iterator[str]:
    """A new empty directory beside ``target`` to fill in the block; at its end it becomes ``target``.

    A new ``target`` appears in one rename. An existing one is FileExistsError unless ``replace``; then it is
    renamed aside and deleted after the new one is in place (so for a moment there is none). If the block
    raises, the staged directory is deleted and ``target`` is left as it was.
    """
    parent = os.path.dirname(os.path.abspath(target))
    staged = tempfile.mkdtemp(prefix=f"{TEMPORARY_PREFIX}{os.path.basename(target)}-", dir=parent)
    old = None
    try:
        os.chmod(staged, 0o755)
        yield staged
        if os.path.lexists(target) and not replace:
            raise FileExistsError(errno.EEXIST, "exists", target)
        if os.path.lexists(target):
            old = tempfile.mkdtemp(prefix=f"{TEMPORARY_PREFIX}{os.path.basename(target)}-old-", dir=parent)
            os.replace(target, old)  # over the empty directory just made: a name nothing else takes
        os.rename(staged, target)
    except BaseException:
        if old is not None and not os.path.lexists(target):
            os.replace(old, target)  # put the old one back
            old = None
        shutil.rmtree(staged, ignore_errors=True)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def cannot_write(path: str, err: OSError) -> str:
    """The one-line message for ``err`` while writing ``path``: ``path: cannot write (reason)``."""
    return f"{path}: cannot write ({err.strerror or err})"
