"""Models of the monitoring and evaluation app (filled in by its issue)."""
