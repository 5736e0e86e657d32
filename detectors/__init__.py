"""Telemetry fault rules, the ONNX models (elevator risk, car-camera vision) and their training scripts."""
