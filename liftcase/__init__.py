"""liftcase: the application shell (settings, database, registry, CLI) around the case engine."""
