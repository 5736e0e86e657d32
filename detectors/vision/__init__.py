"""Car-camera vision: find people and e-bikes in car snapshots with an ONNX detector (YOLO-style output).

`adapter` runs any such model described by a sidecar TOML; `synth` draws the generated car interiors
the shipped model is trained on (`train.py`); `events` turns detections into AI events."""
