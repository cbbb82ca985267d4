"""Gold questions to metrics to a quality gate."""
