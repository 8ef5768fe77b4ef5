"""How the app is served: the gunicorn worker class (slow-client timeouts)."""
