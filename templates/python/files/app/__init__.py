"""The plugin's server: a FastAPI application (see main.py)."""
