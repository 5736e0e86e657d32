"""The words the console's scripts show, translated on the server (one catalog for pages and scripts).
Words other packages' catalogs translate differently (the catalogs are merged) carry the context "console"."""

from __future__ import annotations

from flask_babel import get_locale, pgettext
from flask_babel import gettext as _

from processes.labels import all_labels
from registry.equipment.classes import CLASSES


def js_strings() -> dict[str, str]:
    return {**all_labels(str(get_locale() or "")), **_words(), **_classes()}


def _classes() -> dict[str, str]:
    """The special-equipment classes' names (registry/equipment/classes.py keeps both languages)."""
    locale = get_locale()
    en = locale is not None and locale.language == "en"
    return {f"class_{c.key}": c.name_en if en else c.name_zh for c in CLASSES.values()}


def _words() -> dict[str, str]:
    return {
        "nav_home": _("Home"), "nav_inbox": _("Tasks"), "nav_cases": _("Cases"),
        "nav_dispatch": _("Dispatch screen"), "nav_equipment": _("Equipment screen"),
        "nav_register": _("Equipment register"), "eq_in_use": _("In use"), "eq_stopped": _("Stopped"),
        "eq_retired": _("Retired"),
        "nav_modeler": _("Process modeler"), "nav_reports": _("Reports"), "nav_notifications": _("Notifications"),
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
        "cov_all": _("Boxes per elevator"), "cov_key": _("Boxes per elevator at key places"),
        "not_recorded": _("Not recorded"), "open_case": _("Open a case"),
        "field_lat": _("Latitude"), "field_lon": _("Longitude"), "use_position": _("Use my position"),
        "prop_name": _("Name"), "prop_role": _("Role"), "prop_lane_role": _("Lane (role)"),
        "prop_form": _("Form (forms/*.json)"), "prop_due": _("Due in (dueIn: ISO duration or a variable)"),
        "prop_timer_type": _("Timer type"), "prop_timer": _("Timer expression ('PT5M' or a variable)"),
        "edit_this_version": _("Edit this version"), "assign_to": _("Hand to a colleague…"),
        "assigned": _("Handed over."), "joined": _("joined the open case"),
        "risk_low": _("low"), "risk_medium": _("medium"), "risk_high": _("high"), "risk_critical": _("critical"),
        "type_rescue": _("Rescue"), "type_warning": _("Fault warning"), "type_rectification": _("Rectification"),
        "type_expiry": _("Inspection expiry"), "type_complaint": _("Complaint"),
            "navigate": _("Navigate"), "open_map": _("Amap"), "trapped_for": _("trapped for"), "trapped": _("trapped:"),
        "injured": _("injured"), "no_injury": _("no injury reported"), "eta": _("arriving at"),
        "ctx_where": _("Address"), "ctx_navigate": _("Route"), "ctx_elevator": _("Elevator"),
        "ctx_equipment": _("Equipment"), "ctx_source": _("Reported by"), "ctx_caller": _("Caller"),
        "ctx_trapped": _("Trapped"),
        "ctx_note": _("Dispatcher's note"), "ctx_technician": _("Technician"), "source_unknown": _("unknown source"),
        "search": _("Search address, case number, elevator…"), "all_types": _("All types"),
        "all_priorities": _("All priorities"), "sort_due": _("Soonest due first"), "sort_newest": _("Newest first"),
        "sort_priority": _("Most urgent first"), "new_rescue": _("New rescue"),
        "sound_on": _("Alarm sound on"), "sound_off": _("Alarm sound off"), "mute": _("Mute alarm sound"),
        "unmute": _("Sound alarm for new rescues"), "next_step": _("Your next step on this case"),
        "signin_wrong": _("Wrong username or password."), "signin_wait": _("Too many attempts: wait and try again."),
        "timeline_newest": _("newest first"), "confirm_cancel": _("Cancel this case? The open tasks and timers end."),
        "confirm_escalate": _("Escalate this case to the next level?"), "reason_required": _("Give a reason."),
        "list_view": _("Steps as a list"), "zoom_in": _("Zoom in"), "zoom_out": _("Zoom out"), "fit": _("Fit"),
        "step_done": _("done"), "step_current": _("now"), "step_waiting": _("waiting"),
        "kind_escalated": _("Escalation"), "closed_reason": _("Outcome"),
        "mine_hint": _("Tasks you have claimed or were given."),
        "org_hint": _("Your organisation's tasks nobody has claimed yet."),
        "tab_mine": _("Mine"), "tab_unclaimed": _("To claim"), "tab_all": _("All of my organisation"),
        "unsaved": _("not saved"), "min_ago": _("ago"),
        "http_403": _("You may not do this."), "http_404": _("Not found, or not in your area."),
        "http_409": _("Someone changed this first; the page shows the latest state."),
        "http_413": _("The file is too large."), "http_422": _("Please correct the marked fields."),
        "http_429": _("Too many attempts: wait and try again."),
    }
