"""Models of the tailor-made actions app (filled in by its issue)."""
