"""Parsing a large scan file in a child process, so that parsing and writing use two cores.

For a 100 MB Nessus file, parsing (lxml, then building records) is Python work of the same size as writing the rows.
Two threads cannot do both at once (the GIL), so ``records_in_child`` runs ``python -m findings.importers.child
FORMAT`` with the file as its standard input and reads the records back as pickled batches on a pipe while the parent
writes the previous batches. Only the parent touches the database; the child needs no settings and no database.

Protocol on the child's standard output: frames of one type byte, a 4-byte big-endian length and a pickle:
``R`` a list of record tuples (``Record`` fields in order), ``E`` an ``ImportFormatError`` (the malformed file's
message and location, raised in the parent as if parsed there), ``X`` the traceback of an unexpected error, ``D`` done.
"""

from __future__ import annotations

import gc
import os
import pickle
import struct
import subprocess
import sys
import traceback
from collections.abc import Iterator
from dataclasses import fields
from operator import attrgetter
from pathlib import Path
from typing import BinaryIO

from .base import ImportFormatError, Record

# Smaller files are parsed in the importing process: starting a child costs about a fifth of a second.
CHILD_MIN_BYTES = 16 * 1024 * 1024
# Formats whose importers stream (workbooks are read whole by openpyxl and are small).
CHILD_FORMATS = frozenset({"nmap", "nessus", "nessus_csv", "openvas", "openvas_csv", "zap", "nuclei", "testssl"})
BATCH = 2000
# The first batch is small, so that the writing process starts as soon as the child has read a little.
FIRST_BATCH = 200
# Record fields whose text repeats from one record to the next (see ``main``).
SHARED_TEXT = ("title", "description", "solution", "cvss_vector")
FIELD_NAMES = tuple(f.name for f in fields(Record))
HEADER = struct.Struct(">cI")
PROJECT_ROOT = Path(__file__).resolve().parents[2]


class ParserProcessError(RuntimeError):
    """The child parser died or failed unexpectedly (not a malformed file: that is an ``ImportFormatError``)."""


def can_parse_in_child(fmt: str, stream: BinaryIO) -> bool:
    """A streaming format in a real file (the child reads the same descriptor) of at least ``CHILD_MIN_BYTES``."""
    if fmt not in CHILD_FORMATS:
        return False
    try:
        descriptor = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return False  # in memory (small uploads, BytesIO)
    try:
        return os.fstat(descriptor).st_size >= CHILD_MIN_BYTES
    except OSError:
        return False


def records_in_child(fmt: str, stream: BinaryIO) -> Iterator[Record]:
    """The records of ``stream`` (a real file, see ``can_parse_in_child``), parsed by a child process."""
    stream.seek(0)  # the child shares the descriptor and starts where it points
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])))
    child = subprocess.Popen(
        [sys.executable, "-m", "findings.importers.child", fmt], stdin=stream.fileno(), stdout=subprocess.PIPE, env=env
    )
    finished = False
    try:
        pipe = child.stdout
        while True:
            header = pipe.read(HEADER.size)
            if len(header) < HEADER.size:
                raise ParserProcessError(f"the parser process for {fmt} ended without finishing (exit {child.wait()})")
            kind, length = HEADER.unpack(header)
            payload = pickle.loads(pipe.read(length)) if length else None
            if kind == b"R":
                for values in payload:
                    yield Record(*values)
            elif kind == b"E":
                raise payload
            elif kind == b"X":
                raise ParserProcessError(f"the parser process for {fmt} failed:\n{payload}")
            else:
                finished = True
                return
    finally:
        if not finished and child.poll() is None:
            child.kill()  # the parent stopped early (its own error, or the file's): don't parse the rest
        child.stdout.close()
        child.wait()


def _send(out, kind: bytes, payload) -> None:
    data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL) if payload is not None else b""
    out.write(HEADER.pack(kind, len(data)))
    out.write(data)


def main(fmt: str) -> int:
    # No collection of reference cycles: this short-lived process makes none worth the time (the collector would walk
    # the objects of every batch it builds), and its memory stays flat without it.
    gc.disable()
    from ..fingerprints import fingerprint
    from .detect import load_parser

    out = sys.stdout.buffer
    values = attrgetter(*FIELD_NAMES)
    shared_text = attrgetter(*SHARED_TEXT)
    try:
        batch = []
        size = FIRST_BATCH
        texts: dict[str, str] = {}
        for record in load_parser(fmt)(sys.stdin.buffer):
            record.fingerprint = fingerprint(record)  # here rather than in the busier writing process
            # One string object per distinct text in a batch: pickle then sends it once (a plugin's description
            # repeats on every host it was found on), and the writing process holds one copy.
            for name, text in zip(SHARED_TEXT, shared_text(record), strict=True):
                setattr(record, name, texts.setdefault(text, text))
            batch.append(values(record))
            if len(batch) >= size:
                _send(out, b"R", batch)
                batch, size = [], BATCH
                texts.clear()
        if batch:
            _send(out, b"R", batch)
    except ImportFormatError as exc:
        _send(out, b"E", exc)
    except Exception:  # reported to the parent, which raises it
        _send(out, b"X", traceback.format_exc())
    else:
        _send(out, b"D", None)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
