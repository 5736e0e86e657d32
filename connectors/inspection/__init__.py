"""Inspection results (检验检测整改): the signed webhook inspection institutes post their reports to
(`POST /hooks/inspection-results`), the file import of the same reports, and the one path every
report takes (`flows.accept_report`): a pass renews the register, a failure opens a rectification."""
