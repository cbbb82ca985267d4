"""Writes the .doc, .wps and .rtf test files beside this script (run by hand, not by the tests).

    .venv/bin/python tests/data/formats/make_office.py          # needs soffice on PATH
    /usr/bin/python3 tests/data/formats/make_office.py --locked  # needs Debian's python3-uno too

A .docx of a short fictional notice (BLOCKS) is written with python-docx and converted by
LibreOffice to Word 97 (notice.doc) and RTF (notice.rtf). notice.wps is the same Word 97 bytes
under a .wps name: Kingsoft WPS writes Word's binary format (an OLE file with a WordDocument
stream) plus extensions of its own, and LibreOffice can write no other .wps. notice-gbk.rtf is
the notice's text as Chinese Word and WPS write RTF (\\ansicpg936, GBK bytes as \\'xx escapes).
locked.doc is notice.doc saved with the password "secret", through LibreOffice's UNO API.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

BLOCKS = [
    ("Normal", "重庆市科学技术局文件"),
    ("Normal", "渝科局发〔2023〕12号"),
    ("Title", "重庆市科学技术局关于开展科技创新券申报工作的通知"),
    ("Normal", "各区县（自治县）科技局，有关单位："),
    ("Normal", "为落实创新驱动发展战略，现将有关事项通知如下。"),
    ("Heading 1", "一、申报对象"),
    ("Normal", "在渝注册的科技型企业，研发投入不低于3.5%。"),
    ("Heading 2", "（一）支持额度"),
    ("Normal", "每家企业每年不超过10万元，合计211.62亿元。"),
    ("table", "类别;额度|研发;10万元"),
    ("Heading 1", "二、申报时间"),
    ("Normal", "2023年3月10日至4月10日。"),
    ("Normal", "重庆市科学技术局"),
    ("Normal", "2023年3月1日"),
]


def make_docx(path: Path) -> Path:
    """The reference .docx of BLOCKS, written by the tests' own .docx maker."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "index"))
    from make_files import make_docx as write_docx

    return write_docx(path, BLOCKS)


def convert(source: Path, target: str, work: Path) -> Path:
    """`soffice --convert-to target` (e.g. `doc:MS Word 97`) into `work`."""
    subprocess.run(["soffice", f"-env:UserInstallation={(work / 'profile').as_uri()}",
                    "--headless", "--convert-to", target, "--outdir", str(work), str(source)],
                   check=True, capture_output=True, timeout=120)
    return work / f"{source.stem}.{target.split(':')[0]}"


def gbk_rtf(lines: list[str]) -> str:
    def escape(text: str) -> str:
        return "".join(("\\" + ch if ch in "\\{}" else ch) if ord(ch) < 128 else
                       "".join(f"\\'{b:02x}" for b in ch.encode("gbk")) for ch in text)

    body = "\n".join(f"\\pard\\plain\\f0\\fs24 {escape(line)}\\par" for line in lines)
    return ("{\\rtf1\\ansi\\ansicpg936\\deff0\\deflang1033\\deflangfe2052"
            f"{{\\fonttbl{{\\f0\\fnil\\fcharset134 {escape('宋体')};}}}}\n{body}\n}}\n")


def lock(source: Path, target: Path, work: Path, password: str = "secret") -> None:
    import uno  # Debian's python3-uno, in the system Python
    from com.sun.star.beans import PropertyValue

    def prop(name, value):
        p = PropertyValue()
        p.Name, p.Value = name, value
        return p

    pipe = f"make_office_{time.time_ns()}"
    office = subprocess.Popen(["soffice", "--headless", "--norestore",
                               f"-env:UserInstallation={(work / 'uno').as_uri()}",
                               f"--accept=pipe,name={pipe};urp;"])
    try:
        ctx = uno.getComponentContext()
        resolver = ctx.ServiceManager.createInstanceWithContext(
            "com.sun.star.bridge.UnoUrlResolver", ctx)
        for _ in range(120):
            try:
                remote = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
                break
            except Exception:
                time.sleep(0.5)
        desktop = remote.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop",
                                                                  remote)
        doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(str(source)), "_blank", 0,
                                           (prop("Hidden", True),))
        doc.storeToURL(uno.systemPathToFileUrl(str(target)),
                       (prop("FilterName", "MS Word 97"), prop("Password", password)))
        doc.close(True)
        try:
            desktop.terminate()
        except Exception:
            pass
        office.wait(timeout=60)
    finally:
        if office.poll() is None:
            office.kill()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if "--locked" in sys.argv:
            lock(HERE / "notice.doc", HERE / "locked.doc", work)
            return
        source = make_docx(work / "notice.docx")
        shutil.copy(convert(source, "doc:MS Word 97", work), HERE / "notice.doc")
        shutil.copy(HERE / "notice.doc", HERE / "notice.wps")
        shutil.copy(convert(source, "rtf:Rich Text Format", work), HERE / "notice.rtf")
    lines = [text.replace(";", " ").replace("|", "\n") for _, text in BLOCKS]
    (HERE / "notice-gbk.rtf").write_text(gbk_rtf("\n".join(lines).split("\n")), "ascii")


if __name__ == "__main__":
    main()
