"""Admin registrations of the monitoring and evaluation app."""
