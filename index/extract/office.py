"""Old Word `.doc`, Kingsoft `.wps` and `.rtf` to text, through LibreOffice (the only module that
runs it).

LibreOffice converts the file to .docx, which `index.extract.docx` then reads, so text, tables
and heading styles come out exactly as from a .docx. Kingsoft's .wps is Word's binary format
(an OLE compound file with a `WordDocument` stream) with extensions LibreOffice ignores, so it
takes the same path; so does a Microsoft Works .wps, which LibreOffice reads with libwps.

Each conversion runs `soffice --headless` in a temporary folder of its own, with a user profile
of its own (conversions running at the same time never share one, nor join a LibreOffice the
user has open), is stopped with its whole process group after `TIMEOUT_S`, and leaves nothing
behind. What LibreOffice cannot report clearly is checked first, from the file's bytes: a
password (it would only say "could not be loaded"), and data that is no Word or RTF file at all
(which it would import as plain text, garbage included).
"""
from __future__ import annotations

import os
import shutil
import signal
import struct
import subprocess
import tempfile
from pathlib import Path

from index.extract import Extracted, LoadError

__all__ = ["DEBIAN_PACKAGE", "TIMEOUT_S", "extract_office", "find_soffice"]

DEBIAN_PACKAGE = "libreoffice-writer-nogui"
# A normal document converts in 2 to 4 s on two cores, nearly all of it LibreOffice starting.
TIMEOUT_S = 120.0

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_MACOS_SOFFICE = "/Applications/LibreOffice.app/Contents/MacOS/soffice"
_END_OF_CHAIN = 0xFFFFFFFE


def find_soffice() -> str | None:
    """The LibreOffice program on PATH (`soffice`, or `libreoffice`), or None."""
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    return _MACOS_SOFFICE if os.access(_MACOS_SOFFICE, os.X_OK) else None


_NAMES = {".doc": "a Word .doc", ".wps": "a WPS or Word", ".rtf": "an RTF"}


def extract_office(data: bytes, suffix: str) -> Extracted:
    """The text and heading styles of a .doc, .wps or .rtf file (`suffix` names which)."""
    kind = suffix.lower()
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{\\rtf"):
        pass  # RTF, also when saved under a .doc name, as Word and WPS both allow
    elif kind == ".rtf":
        raise LoadError("not an RTF file (it does not start with {\\rtf)")
    elif data.startswith(b"PK\x03\x04"):
        return _docx(data, kind)  # a .docx renamed to .doc: no LibreOffice needed
    elif data.startswith(_OLE_MAGIC):
        _check_word_ole(data, kind)
    elif head.startswith(b"<?xml") and b"<w:wordDocument" in data[:4096]:
        pass  # Word 2003 XML under a .doc name
    elif head[:1] == b"<" or head.lower().startswith(b"mime-version"):
        raise LoadError(f"this {kind} is a web page (HTML or MHT) saved under a {kind} name; "
                        "rename it to .html to load it")
    else:
        raise LoadError(f"not {_NAMES[kind]} file (no Word or RTF header)")
    return _docx(_convert_to_docx(data, kind), kind)


def _docx(data: bytes, kind: str) -> Extracted:
    from index.extract.docx import extract_docx

    try:
        return extract_docx(data)
    except LoadError as exc:  # its messages name .docx, which the user never gave us
        raise LoadError(str(exc).replace(".docx", kind)) from None


# --- LibreOffice -----------------------------------------------------------------------

def _convert_to_docx(data: bytes, kind: str) -> bytes:
    soffice = find_soffice()
    if soffice is None:
        raise LoadError(f"reading {kind} files needs LibreOffice, which is not installed: "
                        f"apt-get install {DEBIAN_PACKAGE} (Debian, Ubuntu), or put LibreOffice's "
                        "soffice on PATH")
    with tempfile.TemporaryDirectory(prefix="rag-office-", ignore_cleanup_errors=True) as tmp:
        work = Path(tmp)
        source = work / f"document{kind}"
        source.write_bytes(data)
        out = work / "out"
        command = [soffice, f"-env:UserInstallation={(work / 'profile').as_uri()}", "--headless",
                   "--norestore", "--nologo", "--nodefault", "--nolockcheck",
                   "--convert-to", "docx:MS Word 2007 XML", "--outdir", str(out), str(source)]
        output = _run(command, cwd=work, kind=kind)
        converted = out / "document.docx"
        if converted.is_file():
            return converted.read_bytes()
    if "could not be loaded" in output:
        raise LoadError(f"LibreOffice could not read this {kind}: the file is damaged or not "
                        f"{_NAMES[kind]} document")
    last = next((line for line in reversed(output.splitlines())
                 if line.strip() and "javaldx" not in line), "no message")
    raise LoadError(f"LibreOffice did not convert this {kind} ({last.strip()})")


def _run(command: list[str], cwd: Path, kind: str) -> str:
    """Run LibreOffice in a process group of its own; its output, or LoadError past TIMEOUT_S."""
    # soffice is a script that starts oosplash, which starts soffice.bin: killing the first
    # alone would leave the converter running, so the whole group goes.
    proc = subprocess.Popen(command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise LoadError(f"LibreOffice did not finish converting this {kind} within "
                        f"{TIMEOUT_S:g} s and was stopped") from None
    except BaseException:  # KeyboardInterrupt included: never leave a converter behind
        _kill_group(proc)
        raise
    return output.decode("utf-8", "replace")


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, AttributeError):  # gone; or no killpg (Windows)
        proc.kill()
    proc.wait()


# --- what the OLE container holds ------------------------------------------------------

def _check_word_ole(data: bytes, kind: str) -> None:
    """Refuse an OLE file that is password-protected or holds no word-processing document."""
    try:
        streams = _ole_streams(data)
    except (struct.error, IndexError, ValueError):
        raise LoadError(f"this {kind} is damaged (its OLE directory cannot be read)") from None
    if "EncryptionInfo" in streams or "EncryptedPackage" in streams:
        raise _password(kind)  # an encrypted .docx (every Office 2007+ password) under this name
    if "WordDocument" in streams:
        if _fib_encrypted(data, *streams["WordDocument"]):
            raise _password(kind)
        return
    if "CONTENTS" in streams:  # Microsoft Works' word processor, the other .wps
        return
    found = ", ".join(sorted(streams)[:6]) or "nothing"
    hint = " (a spreadsheet?)" if "Workbook" in streams or "Book" in streams else ""
    raise LoadError(f"this {kind} holds no Word document{hint}: an OLE file with {found}")


def _password(kind: str) -> LoadError:
    return LoadError(f"this {kind} is password-protected; save a copy without a password to "
                     "load it")


def _ole_streams(data: bytes) -> dict[str, tuple[int, int]]:
    """Name to (first sector, size) of every stream in an OLE compound file ([MS-CFB])."""
    shift = struct.unpack_from("<H", data, 0x1E)[0]
    if shift not in (9, 12):
        raise ValueError(f"sector shift {shift}")
    size = 1 << shift
    sectors = max(0, -(-(len(data) - size) // size))  # a last sector may be cut short

    def sector(n: int) -> bytes:
        if n >= sectors:
            raise ValueError(f"sector {n} past the end")
        return data[(n + 1) * size:(n + 2) * size]

    fat_sectors = [n for n in struct.unpack_from("<109I", data, 0x4C) if n < sectors]
    difat, count = struct.unpack_from("<2I", data, 0x44)
    for _ in range(min(count, sectors)):
        if difat >= sectors:
            break
        entries = struct.unpack(f"<{size // 4}I", sector(difat))
        fat_sectors += [n for n in entries[:-1] if n < sectors]
        difat = entries[-1]
    fat: list[int] = []
    for n in fat_sectors:
        fat += struct.unpack(f"<{size // 4}I", sector(n))

    streams: dict[str, tuple[int, int]] = {}
    n, seen = struct.unpack_from("<I", data, 0x30)[0], 0
    while n != _END_OF_CHAIN and seen <= sectors:
        block = sector(n)
        for at in range(0, size, 128):
            name_len, kind = struct.unpack_from("<HB", block, at + 64)
            if kind == 2 and 2 <= name_len <= 64:  # a stream
                name = block[at:at + name_len - 2].decode("utf-16-le", "replace")
                start, length = struct.unpack_from("<II", block, at + 116)
                streams.setdefault(name, (start, length))
        n, seen = fat[n] if n < len(fat) else _END_OF_CHAIN, seen + 1
    return streams


def _fib_encrypted(data: bytes, start: int, length: int) -> bool:
    """Whether Word's File Information Block sets fEncrypted ([MS-DOC] 2.5.2), for a stream in
    regular sectors (a WordDocument stream always is in a real file: it is over 4096 bytes)."""
    if length < 4096:
        return False
    size = 1 << struct.unpack_from("<H", data, 0x1E)[0]
    offset = (start + 1) * size
    if offset + 12 > len(data):
        return False
    ident, flags = struct.unpack_from("<H8xH", data, offset)
    return ident in (0xA5EC, 0xA5DC) and bool(flags & 0x0100)
