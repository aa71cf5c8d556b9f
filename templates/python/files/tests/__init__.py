"""The project's tests: `pytest`."""
