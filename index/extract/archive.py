"""Zip containers (OFD, .xlsx): opened with limits, so a zip bomb is refused before it unpacks.

`zipfile` never returns more than a member's declared size, so checking the declared sizes in
the central directory bounds what reading can cost.
"""
from __future__ import annotations

import io
import zipfile
import zlib

from index.extract import LoadError

MAX_PART_BYTES = 64 * 2**20  # one XML part of a fixed-layout page or a worksheet
MAX_TOTAL_BYTES = 512 * 2**20  # everything in the container, unpacked
MAX_PARTS = 50_000


def open_zip(data: bytes, what: str) -> zipfile.ZipFile:
    """The zip archive in `data`; LoadError naming `what` if it is none, or unpacks too large."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise LoadError(f"not a readable {what} file (not a zip archive: {exc})") from None
    if len(infos) > MAX_PARTS:
        raise LoadError(f"{what} file holds {len(infos)} parts, over the limit of {MAX_PARTS}")
    total = sum(info.file_size for info in infos)
    if total > MAX_TOTAL_BYTES:
        raise LoadError(f"{what} file unpacks to {total / 2**20:.0f} MiB, over the limit of "
                        f"{MAX_TOTAL_BYTES // 2**20} MiB")
    return archive


def read_part(archive: zipfile.ZipFile, name: str, what: str) -> bytes:
    """One member's bytes; LoadError if it is missing, too large, encrypted or damaged."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise LoadError(f"{what} file is missing its part {name}") from None
    if info.file_size > MAX_PART_BYTES:
        raise LoadError(f"{what} part {name} unpacks to {info.file_size / 2**20:.0f} MiB, over the "
                        f"limit of {MAX_PART_BYTES // 2**20} MiB")
    if info.flag_bits & 0x1:
        raise LoadError(f"{what} file is password-protected (part {name} is encrypted)")
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, EOFError, OSError) as exc:
        raise LoadError(f"damaged {what} part {name} ({type(exc).__name__}: {exc})") from None
