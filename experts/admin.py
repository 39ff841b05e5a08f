"""Admin registrations of the experts and deployments app."""
