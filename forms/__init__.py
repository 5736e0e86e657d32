"""Task forms: JSON Schema files (one per user-task form) and their validation."""
