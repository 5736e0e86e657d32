"""Sign-in, lockout and personal tokens."""
