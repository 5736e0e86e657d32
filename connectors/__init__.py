"""Inbound (MQTT telemetry, QR rescue calls, AI events) and outbound (notification channels) connectors.

Connectors parse and check what arrives and hand events to `processes/`; they do not write cases."""
