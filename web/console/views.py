"""Console pages: thin server-rendered shells (who is signed in, the language, translated strings);
each page's ES module fetches its data from the JSON API under /api/v1 with the CSRF header.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask import session as browser_state
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from forms.labels import form_titles
from infra.settings import CITY_TZ
from processes.case_service import case_subject
from processes.labels import CASE_TYPE_NAMES, label
from processes.roles import KNOWN_ROLES
from registry.equipment.classes import CLASSES
from registry.models import District, Role
from web.console.strings import js_strings
from web.http import auth, context
from web.http.redirects import console_path

bp = Blueprint("console", __name__, template_folder="templates", url_prefix="/console")


def _nav(roles: frozenset[str]) -> list[tuple[str, str, str]]:
    """(endpoint, label key, id) of the menu entries this user's roles use."""
    items = [("console.home", "nav_home", "home")]
    if roles - {Role.ANALYST}:
        items += [("console.inbox", "nav_inbox", "inbox"), ("console.cases", "nav_cases", "cases")]
    if roles & {Role.DISPATCHER, Role.REGULATOR, Role.ADMIN, Role.AUDITOR}:
        items += [("console.dispatch_screen", "nav_dispatch", "dispatch"),
                  ("console.equipment_screen", "nav_equipment", "equipment"),
                  ("console.equipment_register", "nav_register", "register")]
    if roles & {Role.MAINTENANCE, Role.MAINTENANCE_MANAGER}:
        items.append(("console.checkin", "nav_checkin", "checkin"))
    if roles & {Role.DISPATCHER, Role.REGULATOR, Role.AUDITOR, Role.ADMIN}:
        items.append(("console.arrivals", "nav_arrivals", "arrivals"))
    if Role.PROPERTY in roles:
        items.append(("console.visits", "nav_visits", "visits"))
    if roles & {Role.REGULATOR, Role.AUDITOR, Role.ADMIN}:
        items.append(("console.reports", "nav_reports", "reports"))
        items.append(("console.register_conflicts", "nav_conflicts", "conflicts"))
    if Role.ADMIN in roles:
        items.append(("console.feed_subscriptions", "nav_feed", "feed"))
    if roles & {Role.ANALYST, Role.ADMIN}:
        items.append(("console.modeler", "nav_modeler", "modeler"))
    items.append(("console.notifications", "nav_notifications", "notifications"))
    return items


def page(template: str, **values: Any) -> str:
    user = auth.current_user()
    scope = context.scope() if user is not None else None
    system = context.system()
    local_now = system.clock.now().astimezone(CITY_TZ)
    locale = get_locale()
    lang = "en" if locale is not None and locale.language == "en" else "zh_CN"  # zh_CN is Babel's zh_Hans_CN
    titles = form_titles(str(system.settings.forms_dir), lang)
    return render_template(
        f"console/{template}",
        me=user,
        scope=scope,
        nav=_nav(scope.roles) if scope else [],
        csrf=auth.csrf_token(),
        lang=lang,
        server_now=local_now.isoformat(),
        city_tz=CITY_TZ.key,  # the scripts show and read times on the city's clock
        utc_offset=local_now.isoformat()[-6:],
        strings={**js_strings(), **{f"form:{name}": title for name, title in titles.items()}},
        city=system.settings.city_profile.public(),  # names, hotline, map centre of the deployment's city
        **values,
    )


@bp.errorhandler(401)
def _sign_in_first(_exc: Exception) -> Response:
    """A page asked without a session: go to sign-in and come back."""
    return redirect(url_for("console.signin", next=request.full_path.rstrip("?")))


@bp.get("/signin")
@auth.public
def signin() -> str:
    """Username and password; and "sign in with the city platform" when single sign-on is
    configured, with why the platform's last sign-in was refused (connectors/sso/views.py)."""
    refusal = browser_state.pop("sso_refusal", None) if "sso_refusal" in browser_state else None
    return page(
        "signin.html", next=console_path(request.args.get("next", "")), sso=context.system().settings.sso,
        sso_refusal=_sso_refusal_text(refusal["reason"], refusal["detail"]) if refusal else "",
    )


def _sso_refusal_text(reason: str, detail: str) -> str:
    """What the person reads when the city platform's sign-in did not let them in."""
    texts = {
        "state": _("The sign-in through the city platform could not be verified (it was altered or had expired). "
                   "Please start again."),
        "provider": _("The city platform did not sign you in. Please try again."),
        "token": _("The city platform's answer could not be verified. Please try again."),
        "unavailable": _("The city platform cannot be reached right now. Try again later, or sign in with "
                         "your username and password."),
        "no_organisation": _("The city platform did not say which organisation you belong to. Ask the platform "
                             "operator."),
        "unknown_organisation": _("Your organisation (%(code)s) is not registered on this platform. Ask the "
                                  "platform operator to add it.", code=detail),
        "no_role": _("Your city platform account has no role on this platform. Ask the platform operator."),
        "not_provisioned": _("There is no account for you on this platform. Ask the platform operator."),
        "deactivated": _("Your account on this platform is deactivated."),
        "linked_elsewhere": _("Your account here is already linked to another city platform account."),
    }
    return texts.get(reason, texts["provider"])


@bp.get("/")
def home() -> str:
    return page("home.html")


@bp.get("/inbox")
def inbox() -> str:
    return page("inbox.html")


@bp.get("/tasks/<int:task_id>")
def task(task_id: int) -> str:
    return page("task.html", task_id=task_id)


@bp.get("/cases")
def cases() -> str:
    return page("cases.html", districts=_districts(), equipment_classes=list(CLASSES))


@bp.get("/cases/new")
@auth.require_roles(Role.REGULATOR)
def new_case() -> str:
    """A regulator opens an expiry or rectification case by hand, for the elevator or equipment of
    `elevator_id`, `equipment_id` or an exact register `code` in their scope."""
    ids = {k: request.args.get(k, type=int) for k in ("elevator_id", "equipment_id")}
    code = request.args.get("code", "")[:32]
    subject = case_subject(context.db(), context.scope(), code=code, **ids)
    class_name = None
    if subject is not None:
        locale = get_locale()
        en = locale is not None and locale.language == "en"
        cls = CLASSES.get(subject["equipment_class"])
        class_name = js_strings()["elevator"] if cls is None else (cls.name_en if en else cls.name_zh)
    looked_up = bool(code or any(ids.values()))
    return page("new_case.html", subject=subject, class_name=class_name, code=code, looked_up=looked_up)


@bp.get("/cases/<int:case_id>")
def case(case_id: int) -> str:
    return page("case.html", case_id=case_id)


@bp.get("/elevators/<int:elevator_id>")
def elevator(elevator_id: int) -> str:
    return page("elevator.html", elevator_id=elevator_id, districts=_districts())


@bp.get("/modeler")
@auth.require_roles(Role.ANALYST, Role.ADMIN)
def modeler() -> str:
    settings = context.system().settings
    forms = sorted(p.name for p in Path(settings.forms_dir).glob("*.json"))
    return page("modeler.html", process_key=request.args.get("key", "rescue"), roles=sorted(KNOWN_ROLES), forms=forms)


@bp.get("/screens/dispatch")
def dispatch_screen() -> str:
    return page("dispatch.html", districts=_districts(), tile_url=context.system().settings.map_tile_url)


@bp.get("/screens/equipment")
def equipment_screen() -> str:
    return page("equipment.html", districts=_districts(), tile_url=context.system().settings.map_tile_url)


@bp.get("/equipment")
def equipment_register() -> str:
    return page("register.html", districts=_districts())


@bp.get("/reports")
@auth.require_roles(Role.REGULATOR, Role.AUDITOR, Role.ADMIN)
def reports() -> str:
    today = context.system().clock.now().astimezone(CITY_TZ).date()
    first = today.replace(day=1)
    last_month = (first - timedelta(days=1)).strftime("%Y-%m")
    return page("reports.html", today=today.isoformat(), month_start=first.isoformat(), last_month=last_month)


@bp.get("/notifications")
def notifications() -> str:
    return page("notifications.html")


@bp.get("/checkin")
@auth.require_roles(Role.MAINTENANCE, Role.MAINTENANCE_MANAGER)
def checkin() -> str:
    """The technician's phone page: check in at the elevator (NFC tag, its QR code, position), then
    the visit's checklist, or back to the rescue task (`?case=`)."""
    return page(
        "checkin.html",
        elevator_id=request.args.get("elevator", type=int),
        case_id=request.args.get("case", type=int),
        task_id=request.args.get("task", type=int),
        code=request.args.get("code", "")[:16],  # the tag's QR code opens the page with its code
    )


@bp.get("/arrivals")
@auth.require_roles(Role.DISPATCHER, Role.REGULATOR, Role.AUDITOR, Role.ADMIN)
def arrivals() -> str:
    return page("arrivals.html")


@bp.get("/visits")
@auth.require_roles(Role.PROPERTY)
def visits() -> str:
    """维保记录签字确认: the property company confirms or disputes the visits to its elevators."""
    return page("visits.html")


@bp.get("/register/conflicts")
@auth.require_roles(Role.REGULATOR, Role.AUDITOR, Role.ADMIN)
def register_conflicts() -> str:
    """数据治理: the sources' disagreements about the register, decided one field at a time."""
    scope = context.scope()
    decides, imports = scope.has(Role.REGULATOR, Role.ADMIN), scope.has(Role.ADMIN)
    return page("conflicts.html", districts=_districts(), decides=decides, imports=imports)


@bp.get("/feed/subscriptions")
@auth.require_roles(Role.ADMIN)
def feed_subscriptions() -> str:
    """The outbound feed's subscribers (other platforms) and how their deliveries stand."""
    kinds = [(k, label(CASE_TYPE_NAMES, k, str(get_locale() or ""))) for k in CASE_TYPE_NAMES]
    return page("feed.html", districts=_districts(), case_types=kinds)


def _districts() -> list[dict[str, Any]]:
    """Reference data (names, seats, urban or not) that every user may see: no scope applies."""
    rows = context.db().scalars(select(District).order_by(District.code))
    return [{"code": d.code, "name": d.name, "urban": d.urban, "lat": d.lat, "lon": d.lon} for d in rows]
