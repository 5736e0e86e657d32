"""Sign-in (with its throttle), sessions and personal tokens."""
