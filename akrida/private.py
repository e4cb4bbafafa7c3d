"""Files that hold secrets (keys, passwords, the embedded target's admin key): created private.

Writing first and narrowing the mode after leaves a moment in which anyone on the machine may read
the file; here the file never exists with a wider mode. The content goes to a new file that
replaces the old one whole, so a reader never sees half of it.
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE = 0o600


def write_private(path: Path, content: str | bytes, mode: int = PRIVATE) -> None:
    data = content.encode() if isinstance(content, str) else content
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    os.chmod(temporary, mode)  # the umask may have narrowed a public key's 0o644
    temporary.replace(path)
