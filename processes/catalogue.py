"""The case types this platform runs, in one explicit list: adding a case type means adding its
module here (and its BPMN in bpmn/)."""

from __future__ import annotations

from processes.case_type import CaseType
from processes.complaint import COMPLAINT
from processes.device_offline import DEVICE_OFFLINE
from processes.expiry import EXPIRY
from processes.rectification import RECTIFICATION
from processes.rescue import RESCUE
from processes.supervision import SUPERVISION
from processes.warning import WARNING

CASE_TYPES: dict[str, CaseType] = {
    c.key: c for c in (RESCUE, WARNING, RECTIFICATION, EXPIRY, COMPLAINT, DEVICE_OFFLINE, SUPERVISION)
}
