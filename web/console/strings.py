"""The words the console's scripts show, translated on the server (one catalog for pages and scripts).
Words other packages' catalogs translate differently (the catalogs are merged) carry the context "console"."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import pgettext


def js_strings() -> dict[str, str]:
    return {
        "nav_home": _("Home"), "nav_inbox": _("Tasks"), "nav_cases": _("Cases"),
        "nav_dispatch": _("Dispatch screen"), "nav_equipment": _("Equipment screen"),
        "nav_modeler": _("Process modeler"), "nav_notifications": _("Notifications"),
        "loading": _("Loading…"), "error": _("Something went wrong"), "saved": _("Saved"),
        "due_in": _("due in"), "overdue_by": _("overdue by"), "no_due": _("no due time"),
        "min": _("min"), "h": _("h"), "d": _("d"), "s": _("s"),
        "claim": _("Claim"), "release": _("Release"), "open": _("Open"), "submit": _("Submit"),
        "claimed_by_me": _("Mine"), "unclaimed": _("Unclaimed"), "claimed_other": _("Claimed by a colleague"),
        "no_tasks": _("No open tasks."), "form_errors": _("Please correct the marked fields."),
        "completed": _("Task completed."), "task_done_already": _("This task is no longer open."),
        "choose": _("— choose —"), "yes": _("Yes"), "no": _("No"),
        "take_photo": _("Take or choose a photo"), "uploading": _("Uploading…"), "uploaded": _("Uploaded"),
        "one_per_line": _("one per line"), "case": pgettext("console", "Case"), "elevator": _("Elevator"),
        "status_open": _("Open"), "status_closed": pgettext("console", "Closed"), "status_cancelled": _("Cancelled"),
        "status_failed": _("Failed"), "status_completed": _("Completed"),
        "ms_met": _("met"), "ms_missed": _("missed"), "ms_pending": _("pending"), "ms_overdue": _("overdue"),
        "ms_waiting": _("not started"), "ms_cancelled": _("cancelled"),
        "chain_intact": _("Hash chain intact"), "chain_broken": _("Hash chain BROKEN"),
        "comment_added": _("Comment added."), "escalated": _("Escalated."), "cancelled": _("Case cancelled."),
        "reason": _("Reason"), "no_items": _("None."), "level": _("level"),
        "valid": _("Valid: no problems found."), "invalid": _("Refused: the diagram has problems"),
        "deployed": _("Deployed as version"), "unchanged": _("Unchanged: same as version"),
        "cases_on_version": _("cases"), "version": _("Version"), "select_element": _("Select an element."),
        "unread": _("unread"), "mark_read": _("Mark read"), "mark_all_read": _("Mark all read"),
        "no_notifications": _("No notifications."), "live": _("live"), "offline": _("offline"),
        "page": _("Page"), "prev": _("Previous"), "next": _("Next"), "total": _("total"),
        "filter_name": _("Name for these filters"), "export_pdf": _("PDF"),
        "Register code": _("Register code"), "Address": _("Address"), "District": _("District"), "Kind": _("Kind"),
        "Floors": _("Floors"), "Installed on": _("Installed on"), "Use unit": _("Use unit"),
        "Maintenance unit": _("Maintenance unit"), "Last maintenance": _("Last maintenance"),
        "Next inspection due": _("Next inspection due"), "IoT device": _("IoT device"), "Position": _("Position"),
        "Cases (open / total)": _("Cases (open / total)"), "Maintenance": _("Maintenance"),
        "Manufacturer": _("Manufacturer"), "Model": _("Model"), "Factory number": _("Factory number"),
        "Installer": _("Installer"), "Use certificate": _("Use certificate"), "Place category": _("Place category"),
        "Key place": _("Key place"), "Rated load": _("Rated load"), "Rated speed": _("Rated speed"),
        "place_residential": _("Residential"), "place_school": _("School"), "place_hospital": _("Hospital"),
        "place_station": _("Station"), "place_mall": _("Mall"), "place_elderly_home": _("Elderly home"),
        "place_hotel": _("Hotel"), "place_office": _("Office building"), "place_public": _("Public place"),
        "place_industrial": _("Industrial site"), "place_other": _("Other place"),
        "Inspections": _("Inspections"), "stop_use": _("Stop use"), "Response": _("Response"),
        "Arrival": _("Arrival"), "Rescue": _("Rescue"), "30-min arrival rate": _("30-min arrival rate"),
        "expired": _("expired"), "due in 7 days": _("due in 7 days"), "due in 30 days": _("due in 30 days"),
        "due in 60 days": _("due in 60 days"),
        "field_lat": _("Latitude"), "field_lon": _("Longitude"), "use_position": _("Use my position"),
        "prop_name": _("Name"), "prop_role": _("Role"), "prop_lane_role": _("Lane (role)"),
        "prop_form": _("Form (forms/*.json)"), "prop_due": _("Due in (dueIn: ISO duration or a variable)"),
        "prop_timer_type": _("Timer type"), "prop_timer": _("Timer expression ('PT5M' or a variable)"),
        "edit_this_version": _("Edit this version"), "assign_to": _("Hand to a colleague…"),
        "assigned": _("Handed over."), "joined": _("joined the open case"),
        "risk_low": _("low"), "risk_medium": _("medium"), "risk_high": _("high"), "risk_critical": _("critical"),
        "type_rescue": _("Rescue"), "type_warning": _("Fault warning"), "type_rectification": _("Rectification"),
        "type_expiry": _("Inspection expiry"), "type_complaint": _("Complaint"),
    }
