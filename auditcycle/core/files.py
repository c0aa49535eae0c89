"""Files written whole or not at all: a reader never sees half a report or half a case note."""
import os
import tempfile
from pathlib import Path


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
