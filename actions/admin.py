"""Admin registrations of the tailor-made actions app."""
