"""Helpers shared by the tests: services, a seeded system, API and browser clients, BPMN samples."""
