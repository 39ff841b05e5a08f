"""Admin registrations of the requests and needs assessments app."""
