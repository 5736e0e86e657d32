"""Sign-in, sessions, personal API tokens and the sign-in audit trail."""
