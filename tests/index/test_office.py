"""index.extract.office: .doc, .wps and .rtf through LibreOffice, and the files it must refuse.

The files in tests/data/formats/ were written by its make_office.py from one .docx (BLOCKS there):
a .doc, a .wps and a .rtf must load to exactly the .docx's text, heading styles and official
metadata. Tests that run LibreOffice skip where it is missing (`make test` installs it as root);
the refusals decided from the file's bytes, and a missing or hung LibreOffice, run everywhere.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest

from index.extract import LoadError, office
from index.loaders import load_paths
from loading import load

DATA = Path(__file__).resolve().parents[1] / "data" / "formats"
if str(DATA) not in sys.path:  # make_office.py writes the files from a .docx it makes
    sys.path.insert(0, str(DATA))
from make_office import make_docx  # noqa: E402

needs_office = pytest.mark.skipif(
    office.find_soffice() is None,
    reason=f"LibreOffice is not installed (apt-get install {office.DEBIAN_PACKAGE}; "
           "`make test` does so as root)")

TITLE = "重庆市科学技术局关于开展科技创新券申报工作的通知"
TEXT = ("重庆市科学技术局文件\n渝科局发〔2023〕12号\n" + TITLE + "\n"
        "各区县（自治县）科技局，有关单位：\n"
        "为落实创新驱动发展战略，现将有关事项通知如下。\n一、申报对象\n"
        "在渝注册的科技型企业，研发投入不低于3.5%。\n（一）支持额度\n"
        "每家企业每年不超过10万元，合计211.62亿元。\n"
        "类别\t额度\n研发\t10万元\n二、申报时间\n2023年3月10日至4月10日。\n"
        "重庆市科学技术局\n2023年3月1日")
OFFICIAL = {"title": TITLE, "doc_number": "渝科局发〔2023〕12号",
            "addressee": "各区县（自治县）科技局，有关单位", "date": "2023-03-01",
            "publisher": "重庆市科学技术局", "kind": "通知", "signed": "2023-03-01"}
PER_FILE = ("format", "source_path", "content_hash")


def _copy(tmp_path: Path, name: str, as_name: str | None = None) -> Path:
    target = tmp_path / (as_name or name)
    target.write_bytes((DATA / name).read_bytes())
    return target


@pytest.fixture
def no_office(monkeypatch, tmp_path):
    """A PATH without LibreOffice."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setattr(office, "_MACOS_SOFFICE", str(empty / "soffice"))


@pytest.fixture
def private_tmp(monkeypatch, tmp_path):
    """Temporary folders under a folder of the test's own, to see that none is left."""
    import tempfile

    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


# --- the formats, against the .docx they came from ------------------------------------------------

@needs_office
@pytest.mark.parametrize("name", ["notice.doc", "notice.wps", "notice.rtf"])
def test_doc_wps_and_rtf_load_as_their_docx(tmp_path, name, private_tmp):
    docx = load(make_docx(tmp_path / "notice.docx"))
    doc = load(_copy(tmp_path, name))
    assert docx.text == TEXT
    assert doc.text == docx.text
    assert doc.meta["heading_marks"] == docx.meta["heading_marks"] == [
        [25, 1, TITLE], [92, 2, "一、申报对象"], [123, 3, "（一）支持额度"],
        [171, 2, "二、申报时间"]]
    assert {k: v for k, v in doc.meta.items() if k not in PER_FILE} == {
        k: v for k, v in docx.meta.items() if k not in PER_FILE}
    assert doc.meta["format"] == name.rsplit(".", 1)[1]
    assert not list(private_tmp.iterdir())  # the conversion's folder and profile are gone


@needs_office
def test_gbk_rtf_as_chinese_word_writes_it(tmp_path):
    doc = load(_copy(tmp_path, "notice-gbk.rtf"))
    assert doc.text == TEXT.replace("\t", " ")  # written without a table
    assert {k: doc.meta[k] for k in OFFICIAL} == OFFICIAL
    assert "heading_marks" not in doc.meta  # no styles: 一、 and （一） are found in the text


def test_official_metadata_of_the_docx_itself(tmp_path):
    """The reference the .doc is compared with, checked where LibreOffice is missing too."""
    docx = load(make_docx(tmp_path / "notice.docx"))
    assert {k: docx.meta[k] for k in OFFICIAL} == OFFICIAL


@needs_office
def test_conversions_at_the_same_time_do_not_collide(tmp_path):
    paths = [_copy(tmp_path, "notice.doc", f"copy{i}.doc") for i in range(2)]
    results: dict[int, object] = {}

    def convert(i: int) -> None:
        try:
            results[i] = load(paths[i]).text
        except Exception as exc:  # reported below, with the others
            results[i] = exc

    threads = [threading.Thread(target=convert, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert results == {0: TEXT, 1: TEXT}


def test_docx_under_a_doc_name_needs_no_libreoffice(tmp_path, no_office):
    path = make_docx(tmp_path / "notice.docx").rename(tmp_path / "notice.doc")
    assert load(path).text == TEXT


# --- bad input ----------------------------------------------------------------------------------

def test_password_protected_doc_is_refused_before_libreoffice(tmp_path, no_office):
    with pytest.raises(LoadError, match=r"^this \.doc is password-protected; save a copy"):
        load(_copy(tmp_path, "locked.doc"))


@pytest.mark.parametrize("name", ["empty.doc", "empty.wps", "empty.rtf"])
def test_empty_file_is_refused(tmp_path, name):
    (tmp_path / name).write_bytes(b"")
    with pytest.raises(LoadError, match=r"^file is empty$"):
        load(tmp_path / name)


@pytest.mark.parametrize(("name", "data", "reason"), [
    ("random.doc", bytes(range(7, 256)) * 20, r"^not a Word \.doc file \(no Word or RTF header\)$"),
    ("random.wps", b"\x00\x01garbage" * 50, r"^not a WPS or Word file"),
    ("plain.rtf", "重庆市科学技术局".encode() * 10, r"^not an RTF file"),
    ("page.doc", b"<html><body>\xe9\x80\x9a\xe7\x9f\xa5</body></html>",
     r"^this \.doc is a web page \(HTML or MHT\) saved under a \.doc name; rename it to \.html"),
    ("cut.doc", None, r"^this \.doc is damaged \(its OLE directory cannot be read\)$"),
    ("header-only.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600,
     r"^this \.doc is damaged"),
])
def test_what_is_no_word_file_is_refused_before_libreoffice(tmp_path, no_office, name, data,
                                                            reason):
    if data is None:  # notice.doc cut after 6000 of its 19456 bytes
        data = (DATA / "notice.doc").read_bytes()[:6000]
    (tmp_path / name).write_bytes(data)
    with pytest.raises(LoadError, match=reason):
        load(tmp_path / name)


@needs_office
def test_damaged_rtf_is_refused_by_libreoffice(tmp_path, private_tmp):
    (tmp_path / "broken.rtf").write_bytes(b"{\\rtf1 broken")
    with pytest.raises(LoadError, match=r"^LibreOffice could not read this \.rtf: the file is "
                                        r"damaged or not an RTF document$"):
        load(tmp_path / "broken.rtf")
    assert not list(private_tmp.iterdir())


def test_without_libreoffice_the_reason_names_the_package(tmp_path, no_office):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("notice.doc", "notice.wps", "notice.rtf"):
        _copy(folder, name)
    (folder / "keep.txt").write_text(TITLE + "\n正文。", "utf-8")
    docs, errors = load_paths([folder])
    assert [d.id for d in docs] == ["keep.txt"]
    assert sorted(Path(e.path).name for e in errors) == ["notice.doc", "notice.rtf", "notice.wps"]
    for error in errors:
        suffix = Path(error.path).suffix
        assert error.reason == (f"reading {suffix} files needs LibreOffice, which is not "
                                "installed: apt-get install libreoffice-writer-nogui (Debian, "
                                "Ubuntu), or put LibreOffice's soffice on PATH")


HUNG_SOFFICE = """#!/bin/sh
# Stands in for a LibreOffice that never finishes: a child in the same process group, then wait.
"{python}" -c "import time; time.sleep(300)" &
echo $! > "$HUNG_PIDFILE"
wait
"""


def test_hung_libreoffice_is_stopped_with_its_children(tmp_path, monkeypatch, private_tmp):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "soffice"
    fake.write_text(HUNG_SOFFICE.format(python=sys.executable))
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("HUNG_PIDFILE", str(tmp_path / "child.pid"))
    monkeypatch.setattr(office, "TIMEOUT_S", 1.5)
    started = time.monotonic()
    with pytest.raises(LoadError, match=r"^LibreOffice did not finish converting this \.doc "
                                        r"within 1\.5 s and was stopped$"):
        load(_copy(tmp_path, "notice.doc"))
    assert time.monotonic() - started < 15
    child = int((tmp_path / "child.pid").read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child), "the converter's child survived the timeout"
    assert not list(private_tmp.iterdir())


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for a parent to reap it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


@needs_office
def test_a_folder_of_word_files_good_and_bad(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("notice.doc", "locked.doc"):
        _copy(folder, name)
    make_docx(folder / "notice.docx")
    (folder / "empty.doc").write_bytes(b"")
    (folder / "notes.txt").write_text("一、说明\n正文。", "utf-8")
    docs, errors = load_paths([folder])
    assert sorted(d.id for d in docs) == ["notes.txt", "notice.doc", "notice.docx"]
    assert {Path(e.path).name: e.reason.split(";")[0] for e in errors} == {
        "empty.doc": "file is empty", "locked.doc": "this .doc is password-protected"}
