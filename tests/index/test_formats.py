"""index.extract and the loaders by format: HTML, PDF, DOCX and Markdown, on small real files.

Each test checks the exact extracted text (what citations index into), the declared headings,
the page of PDF chunks, and that every chunk is a slice of the stored text.
"""
from __future__ import annotations


import pytest

from index.chunking import ChunkerParams, chunk_document
from index.clean import merged_marks
from index.extract.text import markdown_headings
from index.loaders import LoadError, load_paths
from loading import chunk_slices, load
from make_files import make_docx, make_pdf

PARAMS = ChunkerParams(chunk_size=40, chunk_overlap=0)

GOV_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>站点标题 - 重庆市科学技术局</title>
<style>p { color: red }</style><script>var nav = "菜单脚本";</script></head>
<body>
<header><div class="logo">重庆市科学技术局门户网站</div></header>
<nav><a href="/">首页</a> <a href="/zwgk">政务公开</a></nav>
<div class="breadcrumb">您当前的位置: 首页&gt;&gt;政务公开</div>
<article>
  <h1>重庆市科学技术局关于开展科技创新券申报工作的<b>通知</b></h1>
  <p>各区县（自治县）科技局：</p>
  <p>为落实创新驱动发展战略，
     现将有关事项通知如下。</p>
  <h2>一、申报对象</h2>
  <p>在渝注册的<a href="#">科技型企业</a>，研发投入不低于3.5%。</p>
  <table><tr><th>类别</th><th>额度</th></tr><tr><td>研发</td><td>10万元</td></tr></table>
  <pre>apt-get  install
  debhelper</pre>
  <p>重庆市科学技术局<br>2023年3月1日</p>
</article>
<aside>相关链接：重庆市人民政府</aside>
<footer>版权所有 重庆市科学技术局</footer>
<script>trackPageView();</script>
</body></html>
"""

GOV_TEXT = (
    "重庆市科学技术局关于开展科技创新券申报工作的通知\n"
    "各区县（自治县）科技局：\n"
    "为落实创新驱动发展战略，现将有关事项通知如下。\n"  # the source's line break is gone
    "\n"
    "一、申报对象\n"
    "在渝注册的科技型企业，研发投入不低于3.5%。\n"
    "类别 额度\n"
    "研发 10万元\n"
    "apt-get  install\n  debhelper\n"  # <pre> keeps its spaces and lines
    "重庆市科学技术局\n"
    "2023年3月1日"
)


# --- HTML ---------------------------------------------------------------------------------------

def test_html_keeps_the_article_and_its_headings_and_drops_navigation(tmp_path):
    path = tmp_path / "notice.html"
    path.write_text(GOV_PAGE, encoding="utf-8")
    doc = load(path)
    assert doc.text == GOV_TEXT
    for dropped in ("菜单脚本", "trackPageView", "color", "首页", "政务公开", "门户网站",
                    "相关链接", "版权所有"):
        assert dropped not in doc.text
    assert doc.meta["heading_marks"] == [
        [0, 1, "重庆市科学技术局关于开展科技创新券申报工作的通知"],
        [GOV_TEXT.index("一、申报对象"), 2, "一、申报对象"]]
    assert doc.meta["format"] == "html"
    assert {k: doc.meta[k] for k in ("title", "addressee", "publisher", "date", "kind")} == {
        "title": "重庆市科学技术局关于开展科技创新券申报工作的通知",
        "addressee": "各区县（自治县）科技局", "publisher": "重庆市科学技术局",
        "date": "2023-03-01", "kind": "通知"}
    chunks = chunk_slices(doc, PARAMS)
    in_section = [c for c in chunks if "科技型企业" in c.text]
    assert in_section and in_section[0].meta["headings"] == ["一、申报对象"]  # title not repeated


def test_html_without_main_element_uses_the_body_minus_banners(tmp_path):
    page = GOV_PAGE.replace("<article>", "<div>").replace("</article>", "</div>")
    path = tmp_path / "plain.html"
    path.write_text(page, encoding="utf-8")
    assert load(path).text == GOV_TEXT


def test_docbook_navigation_and_toc_are_dropped(tmp_path):
    page = """<html><body>
    <div class="navheader"><table><tr><th>第 2 章 第一步</th></tr>
      <tr><td><a href="a.html">上一页</a></td></tr></table></div>
    <div class="chapter"><div class="titlepage"><h1 class="title">第 2 章 第一步</h1></div>
      <div class="toc"><p><strong>目录</strong></p><dl class="toc"><dt>2.1. 打包流程</dt></dl></div>
      <div class="section"><h2 class="title">2.1. 打包流程</h2>
        <p>用 <code>dpkg-buildpackage</code> 构建
        软件包。</p></div></div>
    <div class="navfooter"><table><tr><td>下一页</td></tr></table></div>
    </body></html>"""
    path = tmp_path / "first.zh-cn.html"
    path.write_text(page, encoding="utf-8")
    doc = load(path)
    assert doc.text == "第 2 章 第一步\n\n2.1. 打包流程\n用 dpkg-buildpackage 构建软件包。"
    assert doc.meta["title"] == "第 2 章 第一步"
    last = chunk_slices(doc, PARAMS)[-1]
    assert last.meta["headings"] == ["2.1. 打包流程"]


def test_gbk_html_decodes(tmp_path):
    path = tmp_path / "gbk.htm"
    path.write_bytes(GOV_PAGE.replace('charset="utf-8"', 'charset="gbk"').encode("gbk"))
    assert load(path).text == GOV_TEXT


@pytest.mark.parametrize("page", [
    "<html><head><script>x()</script></head><body><nav>首页</nav></body></html>",
    "<html><body>   </body></html>",
], ids=["only-navigation", "blank-body"])
def test_html_without_content_is_refused(tmp_path, page):
    path = tmp_path / "empty.html"
    path.write_text(page, encoding="utf-8")
    with pytest.raises(LoadError, match=r"^HTML has no text outside navigation and scripts$"):
        load(path)


# --- PDF ----------------------------------------------------------------------------------------

PDF_PAGES = [
    ["重庆市科学技术局文件", "渝科局发〔2023〕15号", "重庆市科学技术局关于开展科技创新券申报工作的通知",
     "各区县（自治县）科技局：", "一、申报对象", "在渝注册的科技型企业，研发投入不低于3.5%。"],
    ["二、支持方式", "每家企业每年最高支持10万元。", "重庆市科学技术局", "2023年3月1日"],
]


def test_pdf_text_pages_and_metadata(tmp_path):
    doc = load(make_pdf(tmp_path / "notice.pdf", PDF_PAGES))
    page1, page2 = ("\n".join(lines) for lines in PDF_PAGES)
    assert doc.text == page1 + "\n\n" + page2
    assert doc.meta["page_starts"] == [0, len(page1) + 2]
    assert doc.meta["format"] == "pdf"
    assert {k: doc.meta[k] for k in ("title", "doc_number", "addressee", "publisher", "date",
                                     "kind")} == {
        "title": "重庆市科学技术局关于开展科技创新券申报工作的通知",
        "doc_number": "渝科局发〔2023〕15号", "addressee": "各区县（自治县）科技局",
        "publisher": "重庆市科学技术局", "date": "2023-03-01", "kind": "通知"}
    assert doc.page_at(0) == 1
    assert doc.page_at(doc.text.index("研发投入")) == 1
    assert doc.page_at(doc.text.index("二、支持方式")) == 2
    assert doc.page_at(len(doc.text) - 1) == 2


def test_pdf_chunks_record_their_page(tmp_path):
    doc = load(make_pdf(tmp_path / "notice.pdf", PDF_PAGES))
    chunks = chunk_slices(doc, PARAMS)
    pages = {c.text: c.meta["page"] for c in chunks}
    assert [p for t, p in pages.items() if "3.5%" in t] == [1]
    assert [p for t, p in pages.items() if "10万元" in t] == [2]
    assert all("page_end" not in c.meta or c.meta["page_end"] > c.meta["page"] for c in chunks)
    assert [c.meta["headings"] for c in chunks if "10万元" in c.text] == [["二、支持方式"]]


def test_chunk_across_a_page_break_records_both_pages(tmp_path):
    doc = load(make_pdf(tmp_path / "two.pdf", [["第一页的句子没有结束"], ["第二页继续。"]]))
    [chunk] = chunk_document(doc, ChunkerParams(chunk_size=100, chunk_overlap=0))
    assert (chunk.meta["page"], chunk.meta["page_end"]) == (1, 2)


def test_text_documents_have_no_pages(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("标题\n正文。\n", encoding="utf-8")
    doc = load(path)
    assert doc.page_at(3) is None
    assert all("page" not in c.meta for c in chunk_document(doc, PARAMS))


@pytest.mark.parametrize("data, reason", [
    (b"just some text, not a PDF", r"^not a PDF file \(no %PDF header\)$"),
    (b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage", r"^unreadable PDF \("),
], ids=["not-a-pdf", "garbage"])
def test_unreadable_pdf_is_refused(tmp_path, data, reason):
    path = tmp_path / "bad.pdf"
    path.write_bytes(data)
    with pytest.raises(LoadError, match=reason):
        load(path)


def test_truncated_pdf_is_refused(tmp_path):
    whole = make_pdf(tmp_path / "whole.pdf", PDF_PAGES).read_bytes()
    path = tmp_path / "cut.pdf"
    path.write_bytes(whole[:len(whole) // 3])
    with pytest.raises(LoadError, match=r"^(unreadable PDF|PDF has no text layer)"):
        load(path)


def test_pdf_without_text_layer_is_refused(tmp_path):
    path = make_pdf(tmp_path / "scan.pdf", [[]])
    with pytest.raises(LoadError, match=r"^PDF has no text layer, and no page holds a scanned"):
        load(path)


def test_password_protected_pdf_is_refused(tmp_path):
    from reportlab.lib.pdfencrypt import StandardEncryption
    from reportlab.pdfgen import canvas

    path = tmp_path / "locked.pdf"
    pdf = canvas.Canvas(str(path), encrypt=StandardEncryption("secret", canPrint=0))
    pdf.drawString(60, 790, "locked")
    pdf.save()
    with pytest.raises(LoadError, match=r"^PDF is encrypted with a password$"):
        load(path)


# --- DOCX ---------------------------------------------------------------------------------------

DOCX_BLOCKS = [
    ("Title", "关于支持区县科技创新发展的指导意见"),
    ("Normal", "各区县（自治县）科技局："),
    ("Heading 1", "一、总体要求"),
    ("Normal", "坚持需求导向，着力优化创新版图。"),
    ("Heading 2", "（一）发展目标"),
    ("Normal", "到2025年，高新技术企业达到8000家。"),
    ("table", "指标;目标|高新技术企业;8000家"),
    ("Heading 1", "二、保障措施"),
    ("Normal", "加强组织领导。"),
]


def test_docx_paragraphs_tables_and_heading_styles(tmp_path):
    doc = load(make_docx(tmp_path / "opinion.docx", DOCX_BLOCKS))
    assert doc.text == ("关于支持区县科技创新发展的指导意见\n各区县（自治县）科技局：\n一、总体要求\n"
                        "坚持需求导向，着力优化创新版图。\n（一）发展目标\n到2025年，高新技术企业达到8000家。\n"
                        "指标\t目标\n高新技术企业\t8000家\n二、保障措施\n加强组织领导。")
    assert [(lv, h) for _, lv, h in doc.meta["heading_marks"]] == [
        (1, "关于支持区县科技创新发展的指导意见"), (2, "一、总体要求"), (3, "（一）发展目标"),
        (2, "二、保障措施")]
    for offset, _, heading in doc.meta["heading_marks"]:
        assert doc.text[offset:].startswith(heading)
    assert (doc.meta["title"], doc.meta["kind"], doc.meta["addressee"]) == (
        "关于支持区县科技创新发展的指导意见", "意见", "各区县（自治县）科技局")
    chunks = chunk_slices(doc, PARAMS)
    [target] = [c for c in chunks if "8000家。" in c.text]
    assert target.meta["headings"] == ["一、总体要求", "（一）发展目标"]


def test_broken_docx_is_refused(tmp_path):
    path = tmp_path / "broken.docx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(LoadError, match=r"^not a readable \.docx file \("):
        load(path)


def test_empty_docx_is_refused(tmp_path):
    with pytest.raises(LoadError, match=r"^the \.docx has no text$"):
        load(make_docx(tmp_path / "blank.docx", []))


# --- Markdown and declared headings -------------------------------------------------------------

MARKDOWN = """# 科技创新券管理办法

## 一、总则
正文一。

```sh
# 这不是标题
```

第二章 支持范围
---------------
正文二。
"""


def test_markdown_headings_skip_code_fences():
    assert markdown_headings(MARKDOWN) == [
        (0, 1, "科技创新券管理办法"), (MARKDOWN.index("## 一"), 2, "一、总则"),
        (MARKDOWN.index("第二章"), 2, "第二章 支持范围")]


def test_markdown_text_is_the_source_and_chunks_carry_its_headings(tmp_path):
    path = tmp_path / "rules.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    doc = load(path)
    assert doc.text == MARKDOWN
    assert (doc.meta["title"], doc.meta["kind"]) == ("科技创新券管理办法", "办法")
    chunks = chunk_slices(doc, PARAMS)
    assert [c.meta["headings"] for c in chunks if "正文二" in c.text] == [["第二章 支持范围"]]


def test_numbered_headings_nest_under_declared_ones():
    text = "标题\n一、总体要求\n正文。\n(一)目标\n正文。\n"
    marks = merged_marks(text, [[0, 1, "标题"]])
    assert marks == [(0, 1, "标题"), (3, 2, "一、总体要求"), (14, 3, "(一)目标")]
    assert merged_marks(text, None) == [(3, 1, "一、总体要求"), (14, 2, "(一)目标")]


def test_a_folder_of_mixed_formats_loads_every_one(tmp_path):
    (tmp_path / "page.html").write_text(GOV_PAGE, encoding="utf-8")
    make_pdf(tmp_path / "notice.pdf", PDF_PAGES)
    make_docx(tmp_path / "opinion.docx", DOCX_BLOCKS)
    (tmp_path / "rules.md").write_text(MARKDOWN, encoding="utf-8")
    (tmp_path / "letter.txt").write_text("关于某事的复函\n正文。\n", encoding="utf-8")
    docs, errors = load_paths([tmp_path])
    assert errors == []
    assert {d.id: d.meta["format"] for d in docs} == {
        "page.html": "html", "notice.pdf": "pdf", "opinion.docx": "docx", "rules.md": "md",
        "letter.txt": "txt"}
