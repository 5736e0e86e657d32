"""The case engine over SpiffWorkflow. Knows nothing of Flask, MQTT or elevators' registry."""

import logging

# SpiffWorkflow adds every task's data to its log records, and a walk of the whole task tree to a
# workflow's, whenever its loggers' *own* level is below INFO — the default (NOTSET) included —
# and builds them before the logger looks at any level. Set to WARNING, its per-state-change INFO
# chatter is neither built nor emitted (about 2 % of a step's CPU); lower it to see that chatter.
for _name in ("spiff.task", "spiff.workflow"):
    logging.getLogger(_name).setLevel(logging.WARNING)
