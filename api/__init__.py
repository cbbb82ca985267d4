"""HTTP over `RagService` (issue 4: chat endpoint, OpenAI-compatible API, web page). Not built yet."""
