"""Telemetry fault rules: per-device state machines over the status stream (DESIGN's warning types),
the box's own event codes, configurable thresholds. Pure logic: no I/O, no clock but the messages'."""
