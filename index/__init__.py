"""Documents to a searchable, versioned index directory, and searching it.

This package imports neither `rag` nor `api`.
"""
