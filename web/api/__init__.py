"""REST API blueprints under /api/v1 (flask-smorest)."""
