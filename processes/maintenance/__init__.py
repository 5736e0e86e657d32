"""Maintenance supervision (维保监管): plans on the 15-day cycle, visits with the TSG T5002
checklist, on-time rates per maintenance unit, imports from paperless maintenance systems."""
