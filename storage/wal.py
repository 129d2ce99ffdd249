"""A SQLite write-ahead log checked before the database is opened: corruption is reported.

SQLite ignores a WAL whose header is damaged, and every frame from the first damaged one on:
the transactions they held vanish without a word. This reads the WAL as the file format says
(https://www.sqlite.org/fileformat.html#the_write_ahead_log) and tells a torn last frame
(normal after a crash: that transaction never committed) from damage (a bad header, or a bad
frame followed by more frames of the same generation).
"""

from __future__ import annotations

import struct
from pathlib import Path

WAL_MAGIC = (0x377F0682, 0x377F0683)  # little-endian, big-endian checksums
WAL_VERSION = 3007000
HEADER = struct.Struct(">IIIIIIII")
FRAME_HEADER = struct.Struct(">IIIIII")


class CorruptWal(ValueError):
    """The database's write-ahead log is damaged: committed transactions would be lost."""


def checksum(data: bytes, big_endian: bool, s0: int = 0, s1: int = 0) -> tuple[int, int]:
    """SQLite's WAL checksum of DATA (a multiple of 8 bytes), continuing from (s0, s1)."""
    words = struct.unpack(f"{'>' if big_endian else '<'}{len(data) // 4}I", data)
    for index in range(0, len(words), 2):
        s0 = (s0 + words[index] + s1) & 0xFFFFFFFF
        s1 = (s1 + words[index + 1] + s0) & 0xFFFFFFFF
    return s0, s1


def check_wal(database: Path) -> None:
    """Raise CorruptWal when DATABASE's -wal file is damaged; nothing when absent or sound.

    Damage is confirmed by a second reading (a writer may have been appending a frame).
    """
    wal = database.with_name(database.name + "-wal")
    try:
        _scan(wal)
    except CorruptWal:
        _scan(wal)


def _scan(wal: Path) -> None:
    """Read a WAL file through; CorruptWal at the first sign of damage."""
    try:
        handle = wal.open("rb")
    except FileNotFoundError:
        return
    with handle:
        header = handle.read(HEADER.size)
        if not header:
            return
        fields = HEADER.unpack(header) if len(header) == HEADER.size else None
        if fields is None or fields[0] not in WAL_MAGIC or fields[1] != WAL_VERSION:
            raise CorruptWal(f"{wal}: not a SQLite write-ahead log (damaged header)")
        big_endian = bool(fields[0] & 1)
        page_size, salts = fields[2], fields[4:6]
        if checksum(header[:24], big_endian) != fields[6:8]:
            raise CorruptWal(f"{wal}: damaged header checksum")
        sums, bad_frame, frame = fields[6:8], None, 0
        while len(chunk := handle.read(FRAME_HEADER.size + page_size)) == (
                FRAME_HEADER.size + page_size):
            frame += 1
            head = FRAME_HEADER.unpack(chunk[:FRAME_HEADER.size])
            if head[2:4] != salts:
                break  # left over from an earlier generation of the log: not in use
            # A frame with a database size is a transaction's commit frame; frames after a
            # damaged one without a commit belong to a transaction that never committed (a
            # write that failed on a full disk): SQLite drops them, and loses nothing.
            if bad_frame is not None and head[1]:
                raise CorruptWal(f"{wal}: frame {bad_frame} is damaged and frames after it "
                                 "hold transactions SQLite would drop")
            if bad_frame is not None:
                continue
            sums = checksum(chunk[:8] + chunk[FRAME_HEADER.size:], big_endian, *sums)
            if sums != head[4:6]:
                bad_frame = frame
