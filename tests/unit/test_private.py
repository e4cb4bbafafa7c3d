"""Secret files are never readable by others, not even for a moment."""

from __future__ import annotations

import contextlib
import os
import threading

from akrida.private import write_private


def test_a_secret_file_is_private_from_its_first_byte(tmp_path):
    path = tmp_path / "state.json"
    seen_modes: set[int] = set()
    stop = threading.Event()

    def watch() -> None:  # every file that appears in the folder, as early as it can be seen
        while not stop.is_set():
            for entry in os.scandir(tmp_path):
                with contextlib.suppress(FileNotFoundError):  # replaced while looking
                    seen_modes.add(entry.stat().st_mode & 0o777)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for _ in range(200):
            write_private(path, '{"admin_api_key": "planted"}')
    finally:
        stop.set()
        watcher.join()
    assert path.stat().st_mode & 0o777 == 0o600
    assert seen_modes == {0o600}, f"modes seen while writing: {sorted(map(oct, seen_modes))}"
    assert path.read_text() == '{"admin_api_key": "planted"}'
    assert [entry.name for entry in os.scandir(tmp_path)] == ["state.json"]


def test_a_public_key_keeps_its_wider_mode(tmp_path):
    write_private(tmp_path / "id.pub", "ssh-ed25519 AAAA test\n", mode=0o644)
    assert (tmp_path / "id.pub").stat().st_mode & 0o777 == 0o644
