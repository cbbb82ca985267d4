"""Question to cited answer: retrieval, fusion and extractive assembly over an index directory."""
