"""Models of the experts and deployments app (filled in by its issue)."""
