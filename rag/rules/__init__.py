"""The hand-written answer rules: question analysis (`query.py`) and sentence assembly with its
answer checks (`answer.py`), as they stood before the trained reader.

They stay the default (`RAG_READER=off`) only until the reader (`rag/reader.py`, `rag/answer.py`)
earns the gate's floors on the first gold set; `rag eval` sets the two side by side. Nothing
outside `rag/service.py` and `eval/harness.py` imports them, so they go as one folder.
"""
