"""Public QR pages (no sign-in): `/r/{code}` facts + 一键救援 + complaint, `/r/t/{token}` progress,
`/r/{code}/qr.svg|png`; and the signed-in download of printable signs `/r/sheets.pdf`."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from connectors.qr import flows, formtoken, images, service, sheets
from connectors.qr.limits import RateLimiter, Verdict, qr_limiter
from infra.settings import CITY_TZ
from registry.models import Elevator
from registry.scope import elevators_visible
from web.http import context
from web.http.auth import public, require_roles
from web.http.headers import policy, secure

bp = Blueprint("qr", __name__, template_folder="templates")
LIMITER_KEY = "liftcase.qr.limiter"
# inline CSS only; nothing loaded from elsewhere; forms post only here; never framed
QR_POLICY = policy(
    {
        "default-src": "'none'",
        "style-src": "'unsafe-inline'",
        "img-src": "'self' data:",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
        "base-uri": "'none'",
    }
)


def _limiter() -> RateLimiter:
    """Built on first use, so app.config (QR_RATE_LIMITS, QR_RATE_LIMIT_REDIS_URL) can be set after create_app."""
    app = current_app
    limiter = app.extensions.get(LIMITER_KEY)
    if limiter is None:
        system = context.system()
        url = app.config.get("QR_RATE_LIMIT_REDIS_URL") or system.settings.redis_url
        limiter = qr_limiter(str(url) if url else None, system.clock, app.config.get("QR_RATE_LIMITS"))
        limiter = app.extensions.setdefault(LIMITER_KEY, limiter)
    return limiter


def _labels() -> dict[str, dict[str, str]]:
    # literal gettext calls so the catalog extractor sees every label
    return {
        "milestone": {
            "reported": _("Reported"),
            "dispatched": _("Rescuers dispatched"),
            "accepted": _("Maintenance unit accepted"),
            "on_site": _("Rescuers on site"),
            "released": _("Passengers released"),
            "cause_reported": _("Cause reported"),
            "assigned": _("Assigned"),
            "answered": _("Answered"),
            "reviewed": _("Reviewed"),
            "closed": _("Closed"),
        },
        "category": {
            "out_of_service": _("Out of service"),
            "trapped_before": _("Someone was trapped before"),
            "noise_or_shaking": _("Noise or shaking"),
            "door": _("Door problem"),
            "dirty": _("Dirty or damaged car"),
            "maintenance": _("Maintenance not done"),
            "other": _("Other"),
        },
        "status": {
            "open": _("In progress"),
            "closed": _("Closed"),
            "cancelled": _("Cancelled"),
            "failed": _("In progress"),  # an operator is on it; the passenger needs no engine detail
            "false_alarm": _("Closed: false alarm"),
            "self_escaped": _("Closed: passengers left by themselves"),
        },
    }


@bp.context_processor
def _template_helpers() -> dict[str, object]:
    labels = _labels()

    def status_label(status: str, reason: str | None) -> str:
        if status == "closed" and reason in labels["status"]:
            return labels["status"][reason]
        return labels["status"].get(status, status)

    return {
        # the city profile's rescue number (96933 in Dazhou, 96333 in Lianyungang) on every page
        "hotline": context.system().settings.city_profile.hotline,
        # str(Locale("zh_CN")) is "zh_Hans_CN"; the templates only need zh or not
        "locale": "zh_CN" if getattr(get_locale(), "language", "zh") == "zh" else "en",
        "milestone_label": lambda name: labels["milestone"].get(name, name),
        "category_label": lambda name: labels["category"].get(name, name),
        "status_label": status_label,
    }


@bp.after_request
def _headers(response: Response) -> Response:
    # a tracking link must not leak through the Referer header
    return secure(response, csp=QR_POLICY, referrer="no-referrer")


def _limited(checks: list[tuple[str, str]]) -> Response | None:
    verdict: Verdict | None = _limiter().check_all(checks)
    if verdict is None:
        return None
    response = Response(
        render_template("qr/limited.html", retry_after=verdict.retry_after, minutes=-(-verdict.retry_after // 60)),
        status=429,
    )
    response.headers["Retry-After"] = str(verdict.retry_after)
    return response


def _client() -> str:
    # Behind a proxy, deployers wrap the app in werkzeug's ProxyFix so remote_addr is the client.
    return request.remote_addr or "unknown"


class UnknownCode(LookupError):
    pass


@bp.errorhandler(UnknownCode)
def _unknown(_exc: UnknownCode) -> Response:
    # an HTML page for passengers, not the API's JSON error body
    return Response(render_template("qr/unknown.html"), status=404)


def _facts(code: str) -> service.ElevatorFacts:
    system = context.system()
    today = system.clock.now().astimezone(CITY_TZ).date()
    facts = service.elevator_facts(context.db(), code, today) if len(code) <= 32 else None
    if facts is None:
        raise UnknownCode(code)
    return facts


def _page(
    facts: service.ElevatorFacts,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    open_form: str | None = None,
) -> Response:
    system = context.system()
    token = formtoken.issue(system.settings.secret_key, facts.qr_code, system.clock.now())
    html = render_template(
        "qr/elevator.html",
        e=facts,
        form_token=token,
        errors=errors or {},
        form=form or {},
        open_form=open_form,
        categories=flows.COMPLAINT_CATEGORIES,
    )
    return Response(html, status=status)


@bp.get("/r/<code>")
@public
def elevator_page(code: str) -> Response:
    refused = _limited([("view-ip", _client())])
    return refused or _page(_facts(code))


def _post(code: str, kind: str) -> Response:
    facts = _facts(code)
    refused = _limited([("post-ip", _client()), ("post-elevator", str(facts.id))])
    if refused:
        return refused
    system = context.system()
    form = request.form.to_dict()
    try:
        nonce = formtoken.verify(
            system.settings.secret_key, form.get("form_token", ""), facts.qr_code, system.clock.now()
        )
    except formtoken.FormTokenError:
        # stale or forged: show the page again with a fresh token; nothing was filed
        return _page(facts, status=400, errors={"form": "stale"}, form=form, open_form=kind)
    fields, errors = (flows.rescue_fields if kind == "rescue" else flows.complaint_fields)(form)
    if errors:
        return _page(facts, status=422, errors=errors, form=form, open_form=kind)
    submit = flows.call_rescue if kind == "rescue" else flows.file_complaint
    done = submit(system, facts.id, fields, nonce)
    return redirect(url_for("qr.tracking", token=done.token, new=1), code=303)


@bp.post("/r/<code>/rescue")
@public
def rescue_call(code: str) -> Response:
    return _post(code, "rescue")


@bp.post("/r/<code>/complaint")
@public
def complaint(code: str) -> Response:
    return _post(code, "complaint")


@bp.get("/r/t/<token>")
@public
def tracking(token: str) -> Response:
    refused = _limited([("view-ip", _client())])
    if refused:
        return refused
    found = service.progress(context.db(), token)
    if found is None:
        return Response(render_template("qr/unknown.html", tracking=True), status=404)
    response = Response(render_template("qr/tracking.html", p=found, new=request.args.get("new") == "1"))
    response.headers["Cache-Control"] = "no-store"
    return response


def _qr_url(code: str) -> str:
    exists = context.db().query(Elevator.id).filter(Elevator.qr_code == code).first() if len(code) <= 32 else None
    if exists is None:
        abort(404)
    return images.page_url(context.system().settings.public_base_url, code)


@bp.get("/r/<code>/qr.svg")
@public
def qr_svg(code: str) -> Response:
    response = Response(images.qr_svg(_qr_url(code)), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@bp.get("/r/<code>/qr.png")
@public
def qr_png(code: str) -> Response:
    response = Response(images.qr_png(_qr_url(code)), mimetype="image/png")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


SHEET_LIMIT = 500  # elevators per download; the CLI (`liftcase qr-sheets`) has no cap


@bp.get("/r/sheets.pdf")
@require_roles("admin", "regulator", "property", "maintenance_manager", "maintenance")
def sheets_pdf() -> Response:
    """Signs for the elevators of a district that the user may see (scope), as one PDF."""
    from web.http.errors import body

    district = request.args.get("district", "").strip()
    if not district:
        return body(422, "district is required", {"district": ["give a district code, e.g. 511702"]})
    try:
        variants = sheets.parse_variants(request.args.get("variant"))
        offset = int(request.args.get("offset", "0"))
    except ValueError as err:
        return body(422, str(err))
    items = sheets.signs(
        context.db(),
        context.system().settings.public_base_url,
        district=district,
        variants=variants,
        visible=elevators_visible(context.scope()),
        limit=SHEET_LIMIT,
        offset=max(0, offset),
    )
    if not items:
        return body(404, f"no elevators you may see in district {district}")
    response = Response(
        sheets.render_pdf(items, hotline=context.system().settings.city_profile.hotline), mimetype="application/pdf"
    )
    response.headers["Content-Disposition"] = f'attachment; filename="qr-signs-{district}.pdf"'
    return response
