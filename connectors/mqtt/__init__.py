"""MQTT telemetry ingest: topics, payload parsing and checks, the ingest loop and the simulator."""
