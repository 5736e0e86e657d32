"""Console pages: thin server-rendered shells (who is signed in, the language, translated strings);
each page's ES module fetches its data from the JSON API under /api/v1 with the CSRF header.
"""

from __future__ import annotations

import unicodedata
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import get_locale
from sqlalchemy import select
from werkzeug.wrappers import Response

from forms.labels import form_titles
from infra.settings import CITY_TZ
from processes.labels import CASE_TYPE_NAMES, label
from processes.roles import KNOWN_ROLES
from registry.models import District, Role
from web.console.strings import js_strings
from web.http import auth, context

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
    return page("signin.html", next=console_path(request.args.get("next", "")))


def console_path(value: str) -> str:
    """`value` if it is a console page's path, else "": where sign-in may send the browser back to.

    Browsers drop tabs and newlines from a URL and read a backslash as a slash, so such characters
    turn "/ /host" into "//host", another site: they are refused anywhere, and "//", "." and ".."
    in the path, as sent and percent-decoded (what a server along the way may decode)."""
    if any(_unsafe(c) for c in value):
        return ""
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return ""
    for path in (parts.path, unquote(parts.path)):
        if any(_unsafe(c) for c in path) or "//" in path or not (path + "/").startswith("/console/"):
            return ""
        if any(segment in (".", "..") for segment in path.split("/")):
            return ""
    return value


def _unsafe(char: str) -> bool:
    return char == "\\" or char.isspace() or unicodedata.category(char) in ("Cc", "Cf")


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
    return page("cases.html", districts=_districts())


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
