"""Case types: the glue between analysts' BPMN files and the code (starts, dedupe, roles, SLAs)."""
