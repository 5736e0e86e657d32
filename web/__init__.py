"""The web layer: Flask app factory, API blueprints, templates and static assets."""
