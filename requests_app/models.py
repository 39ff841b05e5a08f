"""Models of the requests and needs assessments app (filled in by its issue)."""
