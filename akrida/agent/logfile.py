"""A log file with a size cap, so thousands of chatty agents cannot fill the disk."""

from __future__ import annotations

import os
from pathlib import Path


class BoundedLog:
    """Keeps at most `max_bytes` in two halves: `name.log` (newest) and `name.log.1` (older).

    Keeping the newest half is deliberate: when an agent dies, its last lines say why.
    With `path=None` lines are discarded (the stream is still drained by the caller).
    """

    def __init__(self, path: Path | None, max_bytes: int):
        self.path = path
        self.half = max(1024, max_bytes // 2)
        self._file = None
        self._size = 0
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(path, "ab")  # noqa: SIM115 - closed in close()
            self._size = self._file.tell()

    def write(self, data: bytes) -> None:
        if self._file is None:
            return
        if self._size + len(data) > self.half:
            self._rotate()
        data = data[: self.half]
        self._file.write(data)
        self._file.flush()
        self._size += len(data)

    def _rotate(self) -> None:
        assert self._file is not None and self.path is not None
        self._file.close()
        os.replace(self.path, self.path.with_name(self.path.name + ".1"))
        self._file = open(self.path, "ab")  # noqa: SIM115
        self._size = 0

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
