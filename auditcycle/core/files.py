"""Files written whole or not at all: a reader never sees half a report or half a case note."""
import errno
import os
import tempfile
from pathlib import Path

from auditcycle.core.errors import UserError, shown


def write_atomically(path: Path, payload: bytes | str, *, mode: int = 0o600) -> Path:
    """Write bytes (or UTF-8 text) through a temporary file in the same folder and a rename; return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = payload.encode("utf-8") if isinstance(payload, str) else payload
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(temporary, mode)
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            # Flush to disk before the rename, or a power cut could leave the new name on an empty file.
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


# A path is shown whole in an error (a folder deep in a share is still a path a person can read), but
# not without bound: this is the most of one an error repeats.
PATH_SHOWN = 500


def writable_folder(value: str, *, option: str = "--out") -> Path:
    """Return the folder an option names, or refuse, naming the option and path, one that cannot be written to.

    The folder may not exist yet (it is made when the first file is written); then its nearest existing
    parent must be a folder that can be written to. Nothing is created or left behind by the check.
    """
    if not value.strip():
        raise UserError(f"{option} is empty: give the folder to write into")
    path = Path(value).expanduser()
    if path.exists() and not path.is_dir():
        raise UserError(f"{option} {shown(value, PATH_SHOWN)}: is a file, not a folder; give a folder to write into")
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    if existing is None or not existing.is_dir():
        raise UserError(f"{option} {shown(value, PATH_SHOWN)}: {existing} is a file, so no folder can be made under it; "
                        "give a folder to write into")
    try:
        # Tried rather than asked of os.access, which says yes to root even on a read-only disk.
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        why = f" ({exc.strerror})" if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS) else ""
        raise UserError(f"{option} {shown(value, PATH_SHOWN)}: cannot write in {existing}{why}; "
                        "give a folder you may write to") from None
    return path
