"""The dashboard: FastAPI pages and JSON for people looking at rooms, built by `create_app`."""
