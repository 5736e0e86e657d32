"""The HTTP layer every web-facing package uses: sign-in and permissions, per-request context,
one error body, languages."""
