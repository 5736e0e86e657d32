"""The case engine over SpiffWorkflow. Knows nothing of Flask, MQTT or elevators' registry."""
