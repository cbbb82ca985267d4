"""index.clean: header-block metadata, boilerplate/body spans and heading paths, on bundled docs."""
from __future__ import annotations

import pytest

from idx_helpers import CORPUS_FILES, DOC_000, DOC_001, DOC_002, DOC_003, DOC_004, read
from index.clean import (body_spans, boilerplate_spans, extract_metadata, heading_level,
                         heading_marks, heading_path_at, iso_date)
from index.types import Span

HEADER_003 = (
    "您当前的位置: 首页>>政务公开>>政府信息公开目录>>政协提案办理情况公开\n"
    "[ 索引号 ] 11500000MB15895317/2024-00099 [ 发文字号 ] 渝科局函〔2024〕300号\n"
    "[ 主题分类 ] 科技 [ 体裁分类 ] 政协提案办理\n"
    "[ 发布机构 ] 市科技局\n"
    "[ 成文日期 ] 2024-10-12 [ 发布日期 ] 2024-10-12\n"
    "[ 索引号 ] 11500000MB15895317/2024-00099\n"
    "[ 发文字号 ] 渝科局函〔2024〕300号\n"
    "[ 主题分类 ] 科技\n"
    "[ 体裁分类 ] 政协提案办理\n"
    "[ 发布机构 ] 市科技局\n"
    "[ 成文日期 ] 2024-10-12\n"
    "[ 发布日期 ] 2024-10-12"
)


# --- metadata: exact values for every bundled document, written by reading each one -----------

# 000, 001, 003 carry the `[ 标签 ]` header block: it decides publisher, date and published; the
# signature's date differs from 成文日期 in all three and is kept apart as `signed`.
EXPECTED_META = {
    DOC_000: {
        "title": "重庆市科学技术局关于市五届人大二次会议第0099号建议的复函",
        "index_no": "11500000MB15895317/2019-00611",
        "topic": "其他",
        "genre": "其他",
        "publisher": "市科技局",
        "date": "2019-10-23",
        "published": "2019-10-23",
        "signed": "2019-04-23",
        "addressee": "杨贵林代表",
        "kind": "复函",
    },
    DOC_001: {  # `[ 发文字号 ]` is empty in both copies; the topic contains `、`
        "title": "重庆市科学技术局关于市政协五届四次会议第0426号提案的复函",
        "index_no": "11500000MB15895317/2021-00319",
        "topic": "科技、教育",
        "genre": "公文",
        "publisher": "市科技局",
        "date": "2021-12-06",
        "published": "2021-12-06",
        "signed": "2021-11-16",  # written after a run of U+2002 spaces
        "addressee": "易小光委员",
        "kind": "复函",
    },
    DOC_002: {  # no header block, no `日期:` line: a cover notice signed mid-document; the first
        # line is the web page's `重庆:关于…`, the official title line comes after the notice
        "title": "重庆市科学技术局关于支持区县科技创新发展的指导意见",
        "publisher": "重庆市科学技术局",
        "date": "2022-11-04",
        "signed": "2022-11-04",
        "addressee": "各区县(自治县)科技局,两江新区科创局,重庆高新区科技创新局,万盛经开区科技局",
        "kind": "意见",
    },
    DOC_003: {
        "title": "重庆市科学技术局关于市政协六届二次会议第0798号提案答复的函",
        "index_no": "11500000MB15895317/2024-00099",
        "doc_number": "渝科局函〔2024〕300号",
        "topic": "科技",
        "genre": "政协提案办理",
        "publisher": "市科技局",
        "date": "2024-10-12",
        "published": "2024-10-12",
        "signed": "2024-05-23",
        "addressee": "王晓颖委员",
        "kind": "函",  # 答复的函, not 复函
    },
    DOC_004: {  # no header block, no signature: `日期:… 来源:…`, publisher from the title
        "title": "市科技局2020年工作情况报告",
        "publisher": "市科技局",
        "published": "2021-06-11",
        "source": "重庆人大",
        "kind": "报告",
    },
}


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_metadata_of_each_bundled_document_exactly(path):
    assert extract_metadata(read(path)) == EXPECTED_META[path]


def test_fields_that_the_answer_side_reads_keep_their_names():
    # rag/answer.py reads title, date, published and doc_number for its year and number checks.
    meta = extract_metadata(read(DOC_003))
    assert {k: meta[k] for k in ("title", "date", "published", "doc_number")} == {
        "title": "重庆市科学技术局关于市政协六届二次会议第0798号提案答复的函",
        "date": "2024-10-12", "published": "2024-10-12", "doc_number": "渝科局函〔2024〕300号"}


PDF_LIKE = (  # a letter as a PDF or Word file reads once extracted: no header block at all
    "重庆市科学技术局文件\n"
    "渝科局发〔2023〕15号\n"
    "重庆市科学技术局关于开展2023年度科技创新券申报工作的通知\n"
    "各区县（自治县）科技局：\n"
    "为落实……，现将有关事项通知如下：\n"
    "一、申报对象\n"
    "在渝注册的科技型企业。\n"
    "\u3000\u3000重庆市科学技术局\n"
    "\u3000\u30002023年3月1日\n"
)


def test_metadata_without_header_block_from_title_number_addressee_and_signature():
    assert extract_metadata(PDF_LIKE) == {
        "title": "重庆市科学技术局关于开展2023年度科技创新券申报工作的通知",  # not the masthead
        "doc_number": "渝科局发〔2023〕15号",
        "publisher": "重庆市科学技术局",
        "date": "2023-03-01",
        "signed": "2023-03-01",
        "addressee": "各区县（自治县）科技局",
        "kind": "通知",
    }


def test_colon_form_header_of_a_web_page():
    text = ("索引号：000014349/2022-00077\u3000主题分类：科技、教育\n"
            "发文机关：国务院办公厅 成文日期：2022年01月13日\n"
            "发文字号：国办发〔2022〕3号 发布日期：2022年01月17日\n"
            "国务院办公厅关于进一步做好科技成果转化工作的通知\n"
            "各省、自治区、直辖市人民政府：\n正文。\n")
    assert extract_metadata(text) == {
        "title": "国务院办公厅关于进一步做好科技成果转化工作的通知",
        "index_no": "000014349/2022-00077",
        "topic": "科技、教育",
        "publisher": "国务院办公厅",
        "date": "2022-01-13",
        "doc_number": "国办发〔2022〕3号",
        "published": "2022-01-17",
        "addressee": "各省、自治区、直辖市人民政府",
        "kind": "通知",
    }
    # The header lines are boilerplate: excluded from chunks like the `[ 标签 ]` block.
    assert text[body_spans(text)[0].start:].lstrip().startswith("国务院办公厅关于")


@pytest.mark.parametrize("title, kind", [
    ("关于某建议的复函", "复函"), ("关于某提案答复的函", "函"), ("关于支持区县的指导意见", "意见"),
    ("关于开展申报工作的通知", "通知"), ("市科技局2020年工作情况报告", "报告"),
    ("重庆市科技创新券管理办法（试行）", "办法"), ("科技创新大会召开", ""),
])
def test_kind_is_read_off_the_title(title, kind):
    assert extract_metadata(f"{title}\n正文。\n").get("kind", "") == kind


def test_markdown_title_loses_its_hashes():
    assert extract_metadata("# 关于开展申报工作的通知\n\n正文。\n")["title"] == "关于开展申报工作的通知"


@pytest.mark.parametrize("value, expected", [
    ("2019-10-23", "2019-10-23"),
    ("2021年06月11日", "2021-06-11"),
    ("2022/11/4", "2022-11-04"),
    ("2022.1.5", "2022-01-05"),
    ("2024年 5月 23日", "2024-05-23"),
    ("2019-13-01", None),
    ("2019-00-10", None),
    ("无日期", None),
    ("", None),
])
def test_iso_date(value, expected):
    assert iso_date(value) == expected


def test_empty_last_header_field_does_not_take_the_next_line():
    text = "[ 索引号 ] 123\n[ 发文字号 ]\n\n关于开展科技创新的通知\n\n正文。\n"
    meta = extract_metadata(text)
    assert meta["title"] == "关于开展科技创新的通知"
    assert "doc_number" not in meta


# --- boilerplate and body spans --------------------------------------------------------------

def test_boilerplate_of_doc_003_is_nav_both_header_copies_and_footer():
    text = read(DOC_003)
    spans = boilerplate_spans(text)
    assert spans == [Span(0, 326), Span(2745, 2756)]
    assert text[0:326] == HEADER_003
    assert text[2745:2756] == "扫一扫在手机打开当前页"
    # Both copies of the header block lie inside boilerplate.
    starts = [i for i in range(len(text)) if text.startswith("[ 索引号 ]", i)]
    assert starts == [39, 183]
    assert all(any(s.start <= i < s.end for s in spans) for i in starts)


def test_boilerplate_of_doc_000():
    text = read(DOC_000)
    spans = boilerplate_spans(text)
    assert spans == [Span(0, 290), Span(5008, 5019)]
    assert text[0:290].startswith("您当前的位置: 首页>>政务公开")
    assert text[0:290].endswith("[ 成文日期 ] 2019-10-23\n[ 发布日期 ] 2019-10-23")
    assert text[0:290].count("[ 发布机构 ] 市科技局") == 2
    assert text[5008:5019] == "扫一扫在手机打开当前页"


def test_doc_without_boilerplate_has_one_body_span():
    text = read(DOC_002)
    assert boilerplate_spans(text) == []
    assert body_spans(text) == [Span(0, len(text))]


def test_footer_variant_of_doc_004_is_boilerplate():
    text = read(DOC_004)
    footer = text.rindex("扫一扫,分享到手机")
    assert any(s.start <= footer < s.end for s in boilerplate_spans(text))


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_body_and_boilerplate_partition_the_text(path):
    text = read(path)
    bp, body = boilerplate_spans(text), body_spans(text)
    spans = sorted(bp + body, key=lambda s: s.start)
    for a, b in zip(spans, spans[1:]):
        assert a.end <= b.start, f"{a} overlaps {b}"
        assert text[a.end:b.start].strip() == "", "only whitespace may lie between spans"
    assert text[:spans[0].start].strip() == ""
    assert text[spans[-1].end:].strip() == ""
    for s in body:
        assert not any(s.start < b.end and b.start < s.end for b in bp)
        segment = text[s.start:s.end]
        assert "您当前的位置" not in segment
        assert "[ 索引号 ]" not in segment
        assert "扫一扫在手机打开当前页" not in segment


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_cleaning_never_changes_the_text(path):
    """Boilerplate is reported as spans, not removed: the loaded text is the file, verbatim,
    and the metadata stored with it is read off that same text."""
    from index.loaders import SourceFile, load_file

    raw = path.read_bytes().decode("utf-8")
    doc = load_file(SourceFile(path, path.name))
    assert doc.text == raw
    assert {k: v for k, v in doc.meta.items()
            if k not in ("source_path", "content_hash", "format")} == extract_metadata(raw)
    spans = boilerplate_spans(raw)
    for span in spans:  # excluded by span, still there in the text
        assert doc.text[span.start:span.end].strip().startswith(("您当前的位置", "[", "扫一扫")) \
            or doc.text[span.start:span.end].strip() == ""


# --- headings ---------------------------------------------------------------------------------

@pytest.mark.parametrize("line, level", [
    ("一、总体要求", 1),
    ("十二、保障措施", 1),
    ("  一、指导支持区县科技创新能力建设情况", 1),
    ("(一)指导思想。坚持以习近平新时代中国特色社会主义思想为指导", 2),
    ("（一）指导思想", 2),
    ("\u3000\u3000（二十三）强化组织领导", 2),
    ("(十)加快产业技术攻关", 2),
    ("1.加强组织领导", 3),
    ("12、完善考核", 3),
    ("2．推进改革", 3),
    ("1.5亿元用于支持", None),
    ("2020年,市科技局在市委", None),
    ("一是探索推进区县创新发展", None),
    ("中央财经委员会第六次会议召开以来", None),
    ("", None),
])
def test_heading_level(line, level):
    assert heading_level(line) == level


SAMPLE = (
    "关于支持区县科技创新发展的指导意见\n"  # 0, 18 chars
    "一、总体要求\n"  # 18
    "(一)指导思想。坚持以习近平新时代中国特色社会主义思想为指导。\n"  # 25
    "正文一。\n"  # 57
    "（二）基本原则\n"  # 62
    "1.坚持需求导向\n"  # 70
    "正文二。\n"  # 79
    "二、突出区域发展优势\n"  # 84
    "正文三。\n"  # 95
)


def test_heading_marks_offsets_levels_and_text():
    marks = heading_marks(SAMPLE)
    assert marks == [
        (18, 1, "一、总体要求"),
        (25, 2, "(一)指导思想"),  # cut at the first 。 when the heading runs on into text
        (62, 2, "（二）基本原则"),
        (70, 3, "1.坚持需求导向"),
        (84, 1, "二、突出区域发展优势"),
    ]
    for offset, _, heading in marks:
        assert SAMPLE[offset:].startswith(heading)


def test_heading_path_at():
    marks = heading_marks(SAMPLE)
    assert heading_path_at(marks, 0) == []
    assert heading_path_at(marks, 18) == ["一、总体要求"]
    assert heading_path_at(marks, SAMPLE.index("正文一")) == ["一、总体要求", "(一)指导思想"]
    assert heading_path_at(marks, SAMPLE.index("正文二")) == [
        "一、总体要求", "（二）基本原则", "1.坚持需求导向"]
    # A new level-1 heading drops every deeper one.
    assert heading_path_at(marks, SAMPLE.index("正文三")) == ["二、突出区域发展优势"]


def test_heading_text_is_capped():
    line = "(一)" + "很长的标题" * 20
    [(offset, level, heading)] = heading_marks(line + "\n")
    assert (offset, level) == (0, 2)
    assert heading == line[:40]


def test_heading_path_in_doc_004():
    text = read(DOC_004)
    marks = heading_marks(text)
    at = text.index("加快建设两江协同创新区")
    assert heading_path_at(marks, at) == ["一、2020年工作情况", "(一)打造创新高地,夯实科创中心核心载体"]
    at = text.index("(三)缺高水平的科研机构")
    assert heading_path_at(marks, at) == ["二、存在的问题", "(三)缺高水平的科研机构"]
    assert [m[2] for m in marks if m[1] == 1] == ["一、2020年工作情况", "二、存在的问题",
                                                  "三、下一步工作打算"]
    assert len([m for m in marks if m[1] == 2]) == 15


@pytest.mark.parametrize("first_line", ["重庆:关于加强公交管理的通知", "关于加强公交管理的通知 - 重庆市交通局",
                                        "关于加强公交管理的通知_重庆市人民政府网"])
def test_the_official_title_line_replaces_a_web_pages_title(first_line):
    text = (f"{first_line}\n各区县交通局:\n《关于加强公交管理的通知》现印发给你们。\n"
            "重庆市交通局关于加强公交管理的通知\n一、总体要求\n")
    assert extract_metadata(text)["title"] == "重庆市交通局关于加强公交管理的通知"


def test_a_title_without_a_later_official_line_stays():
    text = "重庆:关于加强公交管理的通知\n各区县交通局:\n《关于加强公交管理的通知》现印发给你们，请遵照执行。\n"
    assert extract_metadata(text)["title"] == "重庆:关于加强公交管理的通知"
