"""Small OFD, .xlsx and .csv files for the loader tests, written at run time.

OFD files are written as their XML (GB/T 33190 layout: OFD.xml, Doc_0/Document.xml,
Doc_0/Pages/Page_N/Content.xml, a template page); workbooks with openpyxl. Run as a script to
write the samples into a folder: `python tests/index/make_formats.py tests/data/formats`.
"""
from __future__ import annotations

import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

NS = "http://www.ofdspec.org/2016"


@dataclass(frozen=True)
class Text:
    """A line of text at (x, baseline y) in millimetres; `per_char` writes one TextCode a glyph,
    as converters often do; `delta` writes one TextCode with DeltaX."""

    x: float
    y: float
    text: str
    size: float = 4.2
    per_char: bool = False
    delta: bool = False


def _text_object(oid: int, t: Text) -> str:
    box = f'{t.x} {t.y - t.size} {max(len(t.text), 1) * t.size} {t.size * 1.5}'
    if t.per_char:
        codes = "".join(f'<ofd:TextCode X="{i * t.size}" Y="{t.size}">{escape(ch)}</ofd:TextCode>'
                        for i, ch in enumerate(t.text))
    else:
        delta = f' DeltaX="g {len(t.text) - 1} {t.size}"' if t.delta and len(t.text) > 1 else ""
        codes = f'<ofd:TextCode X="0" Y="{t.size}"{delta}>{escape(t.text)}</ofd:TextCode>'
    return (f'<ofd:TextObject ID="{oid}" Boundary="{box}" Font="3" Size="{t.size}">'
            f'{codes}</ofd:TextObject>')


def content_xml(texts: list[Text], template: str | None = None) -> str:
    objects = "".join(_text_object(100 + i, t) for i, t in enumerate(texts))
    tpl = f'<ofd:Template TemplateID="{template}" ZOrder="Background"/>' if template else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page xmlns:ofd="{NS}">{tpl}'
            f'<ofd:Content><ofd:Layer ID="2"><ofd:PageBlock ID="3">{objects}</ofd:PageBlock>'
            f'</ofd:Layer></ofd:Content></ofd:Page>')


def ofd_parts(pages: list[list[Text]], template: list[Text] | None = None,
              template_on: tuple[int, ...] = (0,)) -> dict[str, str]:
    """The XML parts of a one-document OFD; `template` is drawn on the pages `template_on`."""
    ofd = (f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="{NS}" Version="1.0" '
           f'DocType="OFD"><ofd:DocBody><ofd:DocInfo><ofd:DocID>0c1d</ofd:DocID></ofd:DocInfo>'
           f'<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>')
    tpl_ref = '<ofd:TemplatePage ID="9" BaseLoc="Tpls/Tpl_0/Content.xml"/>' if template else ""
    page_refs = "".join(f'<ofd:Page ID="{10 + i}" BaseLoc="Pages/Page_{i}/Content.xml"/>'
                        for i in range(len(pages)))
    document = (f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document xmlns:ofd="{NS}">'
                f'<ofd:CommonData><ofd:MaxUnitID>500</ofd:MaxUnitID><ofd:PageArea>'
                f'<ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox></ofd:PageArea>{tpl_ref}'
                f'</ofd:CommonData><ofd:Pages>{page_refs}</ofd:Pages></ofd:Document>')
    parts = {"OFD.xml": ofd, "Doc_0/Document.xml": document}
    for i, texts in enumerate(pages):
        parts[f"Doc_0/Pages/Page_{i}/Content.xml"] = content_xml(
            texts, "9" if template and i in template_on else None)
    if template:
        parts["Doc_0/Tpls/Tpl_0/Content.xml"] = content_xml(template)
    return parts


def write_zip(path: Path, parts: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in parts.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 3, 15, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, body.encode("utf-8") if isinstance(body, str) else body)
    return path


# A two-page letter, its masthead on a template, its objects not in reading order in the XML.
LETTER_TEMPLATE = [Text(40, 40, "重庆市科学技术局文件", size=10)]
LETTER_PAGES = [
    [
        Text(28.4, 125, "2023年度已登记的科技创新券，兑付总额为1,250万元。", per_char=True),
        Text(75, 60, "渝科局函〔2024〕12号"),
        Text(87.2, 80, "2024年度科技创新券兑付工作的通知", size=5.6),
        Text(20, 80, "重庆市科学技术局关于做好", size=5.6, delta=True),
        Text(20, 95, "各区县（自治县）科技局，有关单位："),
        Text(28.4, 105, "为落实创新驱动发展战略，现将有关事项通知如下。"),
        Text(28.4, 115, "一、兑付范围"),
        Text(120, 135, "联系电话：023-67000000"),
        Text(28.4, 135, "联系人：张三"),
    ],
    [
        Text(132, 90, "2024年3月15日"),
        Text(130, 80, "重庆市科学技术局"),
        Text(28.4, 50, "请于2024年4月30日前提交兑付材料。"),
        Text(28.4, 40, "二、工作要求"),
    ],
]
LETTER_TEXT_PAGES = [
    "重庆市科学技术局文件\n渝科局函〔2024〕12号\n重庆市科学技术局关于做好2024年度科技创新券兑付工作的通知\n"
    "各区县（自治县）科技局，有关单位：\n为落实创新驱动发展战略，现将有关事项通知如下。\n一、兑付范围\n"
    "2023年度已登记的科技创新券，兑付总额为1,250万元。\n联系人：张三 联系电话：023-67000000",
    "二、工作要求\n请于2024年4月30日前提交兑付材料。\n重庆市科学技术局\n2024年3月15日",
]


def make_ofd(path: Path, pages: list[list[Text]] = LETTER_PAGES,
             template: list[Text] | None = LETTER_TEMPLATE) -> Path:
    return write_zip(path, ofd_parts(pages, template))


def make_xlsx(path: Path) -> Path:
    """A workbook of funded projects: a merged title row, a header, a cell merged down two
    rows, a date, a datetime, a percent, float noise, an empty cell, a formula with its cached
    value (patched in, since openpyxl writes none), and a second sheet."""
    import datetime as dt

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "2024年立项项目"
    sheet.append(["2024年度重庆市科技创新项目立项清单"])
    sheet.merge_cells("A1:G1")
    sheet.append(["序号", "区县", "项目名称", "承担单位", "资助金额（万元）", "立项日期", "完成率"])
    sheet.append([1, "渝中区", "智能网联汽车关键技术", "重庆某某科技有限公司", 12.0,
                  dt.datetime(2024, 3, 15), 0.035])
    sheet.append([2, None, "工业软件平台", "某某大学", 0.1 + 0.2, dt.datetime(2024, 3, 15, 9, 30)])
    sheet.merge_cells("B3:B4")
    sheet.append([3, "江北区", "新材料中试基地", None, None, dt.date(2024, 4, 1)])
    sheet.append(["合计", None, None, None, "=SUM(E3:E5)"])
    sheet["G3"].number_format = "0.0%"
    sheet["F5"].number_format = "yyyy-mm-dd"
    notes = book.create_sheet("说明")
    notes.append(["数据来源：重庆市科学技术局"])
    notes.append(["金额单位：万元"])
    book.save(path)
    # openpyxl stores no cached value for a formula; Excel would store 12.300000000000001.
    with zipfile.ZipFile(path) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    name = "xl/worksheets/sheet1.xml"
    sheet_xml = parts[name].decode("utf-8")
    assert "<f>SUM(E3:E5)</f><v></v>" in sheet_xml, sheet_xml
    parts[name] = sheet_xml.replace("<f>SUM(E3:E5)</f><v></v>",
                                    "<f>SUM(E3:E5)</f><v>12.300000000000001</v>").encode("utf-8")
    return write_zip(path, parts)


CSV_TEXT = ("区县,企业数（家）,备注\n"
            "渝中区,4222,\"含高新技术企业，不含分支机构\"\n"
            "江北区,,\n"
            "\"两江\n新区\",1250,新增\n")


def write_samples(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    make_ofd(folder / "letter.ofd")
    make_xlsx(folder / "projects.xlsx")
    (folder / "companies.csv").write_bytes(CSV_TEXT.encode("gb18030"))


if __name__ == "__main__":
    write_samples(Path(sys.argv[1] if len(sys.argv) > 1 else "tests/data/formats"))
