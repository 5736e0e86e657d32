"""Infrastructure: database, settings, clock, job queues, periodic work, errors. Imports nothing of ours."""
