"""The HTTP API (FastAPI, OpenAPI 3.1). ``app.create_app`` builds it from a bootstrapped canasta."""
