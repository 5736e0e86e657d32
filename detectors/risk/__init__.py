"""风险研判: the elevator risk model (synthetic history, training, ONNX scoring, nightly run).

Layout: `features.py` the input columns, `synthetic.py` the generating process behind the
training data, `train.py` scikit-learn -> ONNX with a model card, `model.py` onnxruntime scoring
and factors, `extract.py` the features from the live database, `service.py` the ElevatorRisk
writes and reads, `flows.py` `score_all(system)` and the nightly job. See README.md here.
"""
