"""One typed settings object, read once at start from the environment, and the city's time zone."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from zoneinfo import ZoneInfo

from infra.city import CityProfile, city_file, load_city
from infra.sso import SsoConfig, load_sso

ROOT = Path(__file__).resolve().parent.parent
# One city profile, one time zone: times are stored in UTC and shown, numbered and scheduled on
# this clock (case numbers, report periods, cron fields, the console).
CITY_TZ = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Settings:
    database_url: str = f"sqlite:///{ROOT / 'var' / 'liftcase.sqlite3'}"
    # The city profile this deployment runs as: a name in cities_dir (cities/dazhou.toml) or a path.
    city: str = "dazhou"
    cities_dir: Path = ROOT / "cities"
    # None means embedded: jobs run in-process instead of on rq workers.
    redis_url: str | None = None
    bpmn_dir: Path = ROOT / "bpmn"
    forms_dir: Path = ROOT / "forms"
    sla_file: Path = ROOT / "processes" / "sla.toml"
    # Telemetry rule thresholds with per-elevator overrides, and the ingest limits (heartbeat timeout).
    detector_thresholds: Path = ROOT / "detectors" / "rules" / "thresholds.toml"
    timezone: str = CITY_TZ.key
    timer_poll_seconds: float = 0.25
    # The scheduler steps cases this far ahead of their timers and commits them at their time.
    timer_lookahead_seconds: float = 60.0
    script_time_limit_seconds: float = 1.0
    # Workflows kept in each process after their step, by case (engine.workflow_cache); 0: none.
    workflow_cache_cases: int = 256
    # Keys the CSRF tokens (derived from the session's). Deployed: the same value on every API machine.
    secret_key: str = "dev-only-change-me"
    # A console session ends after this long without a request, and this long after sign-in anyway.
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    # Reverse proxies in front of the app that set X-Forwarded-For/-Proto (0: none, the headers are
    # ignored; a client could forge them). Decides the client's address and whether cookies are Secure.
    proxy_hops: int = 0
    upload_dir: Path = ROOT / "var" / "uploads"
    max_upload_bytes: int = 10 * 1024 * 1024
    # Sign-in throttle (registry/accounts/throttle.py): after this many failures from one address,
    # or of one account from addresses it does not use, each further attempt waits 2, 4, 8 ...
    # seconds after the latest failure, at most signin_max_delay_seconds; failures older than
    # signin_memory_hours are forgotten. Never a lock.
    signin_free_failures: int = 5
    signin_max_delay_seconds: int = 900
    signin_memory_hours: int = 24
    # Absolute URL the QR codes encode (`{public_base_url}/r/{code}`): the address passengers reach.
    public_base_url: str = "http://127.0.0.1:8000"
    # The car-camera vision model (ONNX) and its sidecar TOML (class names, input size, layout).
    vision_model: Path = ROOT / "detectors" / "vision" / "models" / "car_v1.onnx"
    # Map tiles for the console's big screen ({z}/{x}/{y} template); empty: offline district outlines.
    map_tile_url: str = ""
    # Notification channels; a channel without its address (host, URL) is off. SMS and IM go through
    # an HTTP gateway that checks our HMAC-SHA256 signature (gateway_secret).
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "liftcase@localhost"
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    sms_gateway_url: str | None = None
    im_webhook_url: str | None = None
    im_flavour: str = "wecom"  # wecom | dingtalk
    gateway_secret: str = ""
    notify_timeout_seconds: float = 10.0
    # Attempts per notice; the wait doubles from notify_backoff_seconds after each failure.
    notify_max_attempts: int = 5
    notify_backoff_seconds: float = 30.0
    # The MQTT broker lets in only known clients (connectors/mqtt/mosquitto.conf): the ingest signs
    # in as mqtt_username; each box as its device id with its own secret. No username: anonymous
    # (a development broker). The password file and ACL are the broker's, written by
    # `liftcase broker credentials|files` on the broker's machine.
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    mqtt_password_file: Path = Path("/etc/mosquitto/liftcase/passwd")
    mqtt_acl_file: Path = Path("/etc/mosquitto/liftcase/acl")
    # MQTT dead letters older than this are deleted by a daily job (connectors/mqtt/dead_letters.py).
    dead_letter_retention_days: int = 30
    # Single sign-on with the city platform (infra/sso.py): the TOML file, and the client secret the
    # provider issued (kept out of the file). No file: local accounts only.
    sso_file: Path | None = None
    sso_client_secret: str = field(default="", repr=False)
    # On-site check-in (processes/checkin): a phone's position farther than this from the
    # elevator's coordinates is flagged; 0 turns the position check off (position then proves nothing).
    checkin_max_distance_m: float = 300.0
    # Level-2 dispatch: a unit's distance is stretched by (1 + weight * (1 - on-time maintenance
    # rate)), so a unit that is late on maintenance ranks behind a punctual one a little farther off.
    dispatch_on_time_weight: float = 1.0
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def embedded(self) -> bool:
        return self.redis_url is None

    @property
    def city_profile(self) -> CityProfile:
        """The city's profile (infra/city.py), read once per file."""
        return load_city(city_file(self.city, self.cities_dir))

    @property
    def sso(self) -> SsoConfig | None:
        """The single sign-on settings (infra/sso.py), read once per file; None: local accounts only."""
        return None if self.sso_file is None else load_sso(self.sso_file, self.sso_client_secret)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        base = cls()
        return replace(
            base,
            database_url=env.get("LIFTCASE_DATABASE_URL", base.database_url),
            city=env.get("LIFTCASE_CITY") or base.city,
            cities_dir=Path(env.get("LIFTCASE_CITIES_DIR", base.cities_dir)),
            redis_url=env.get("LIFTCASE_REDIS_URL") or None,
            bpmn_dir=Path(env.get("LIFTCASE_BPMN_DIR", base.bpmn_dir)),
            forms_dir=Path(env.get("LIFTCASE_FORMS_DIR", base.forms_dir)),
            sla_file=Path(env.get("LIFTCASE_SLA_FILE", base.sla_file)),
            detector_thresholds=Path(env.get("LIFTCASE_DETECTOR_THRESHOLDS", base.detector_thresholds)),
            timer_poll_seconds=float(env.get("LIFTCASE_TIMER_POLL_SECONDS", base.timer_poll_seconds)),
            timer_lookahead_seconds=float(env.get("LIFTCASE_TIMER_LOOKAHEAD_SECONDS", base.timer_lookahead_seconds)),
            script_time_limit_seconds=float(env.get("LIFTCASE_SCRIPT_TIME_LIMIT", base.script_time_limit_seconds)),
            workflow_cache_cases=int(env.get("LIFTCASE_WORKFLOW_CACHE_CASES", base.workflow_cache_cases)),
            secret_key=env.get("LIFTCASE_SECRET_KEY", base.secret_key),
            session_idle_minutes=int(env.get("LIFTCASE_SESSION_IDLE_MINUTES", base.session_idle_minutes)),
            session_max_hours=int(env.get("LIFTCASE_SESSION_MAX_HOURS", base.session_max_hours)),
            proxy_hops=int(env.get("LIFTCASE_PROXY_HOPS", base.proxy_hops)),
            signin_free_failures=int(env.get("LIFTCASE_SIGNIN_FREE_FAILURES", base.signin_free_failures)),
            signin_max_delay_seconds=int(env.get("LIFTCASE_SIGNIN_MAX_DELAY", base.signin_max_delay_seconds)),
            signin_memory_hours=int(env.get("LIFTCASE_SIGNIN_MEMORY_HOURS", base.signin_memory_hours)),
            upload_dir=Path(env.get("LIFTCASE_UPLOAD_DIR", base.upload_dir)),
            max_upload_bytes=int(env.get("LIFTCASE_MAX_UPLOAD_BYTES", base.max_upload_bytes)),
            smtp_host=env.get("LIFTCASE_SMTP_HOST") or None,
            smtp_port=int(env.get("LIFTCASE_SMTP_PORT", base.smtp_port)),
            smtp_from=env.get("LIFTCASE_SMTP_FROM", base.smtp_from),
            smtp_user=env.get("LIFTCASE_SMTP_USER") or None,
            smtp_password=env.get("LIFTCASE_SMTP_PASSWORD") or None,
            smtp_starttls=env.get("LIFTCASE_SMTP_STARTTLS", "").lower() in ("1", "true", "yes"),
            sms_gateway_url=env.get("LIFTCASE_SMS_GATEWAY_URL") or None,
            im_webhook_url=env.get("LIFTCASE_IM_WEBHOOK_URL") or None,
            im_flavour=env.get("LIFTCASE_IM_FLAVOUR", base.im_flavour),
            gateway_secret=env.get("LIFTCASE_GATEWAY_SECRET", base.gateway_secret),
            notify_timeout_seconds=float(env.get("LIFTCASE_NOTIFY_TIMEOUT", base.notify_timeout_seconds)),
            notify_max_attempts=int(env.get("LIFTCASE_NOTIFY_MAX_ATTEMPTS", base.notify_max_attempts)),
            notify_backoff_seconds=float(env.get("LIFTCASE_NOTIFY_BACKOFF", base.notify_backoff_seconds)),
            checkin_max_distance_m=float(env.get("LIFTCASE_CHECKIN_MAX_DISTANCE_M", base.checkin_max_distance_m)),
            dispatch_on_time_weight=float(env.get("LIFTCASE_DISPATCH_ON_TIME_WEIGHT", base.dispatch_on_time_weight)),
            public_base_url=env.get("LIFTCASE_PUBLIC_BASE_URL", base.public_base_url).rstrip("/"),
            vision_model=Path(env.get("LIFTCASE_VISION_MODEL", base.vision_model)),
            map_tile_url=env.get("LIFTCASE_MAP_TILE_URL", base.map_tile_url),
            mqtt_username=env.get("LIFTCASE_MQTT_USERNAME") or None,
            mqtt_password=env.get("LIFTCASE_MQTT_PASSWORD") or None,
            mqtt_password_file=Path(env.get("LIFTCASE_MQTT_PASSWORD_FILE", base.mqtt_password_file)),
            mqtt_acl_file=Path(env.get("LIFTCASE_MQTT_ACL_FILE", base.mqtt_acl_file)),
            dead_letter_retention_days=int(
                env.get("LIFTCASE_DEAD_LETTER_RETENTION_DAYS", base.dead_letter_retention_days)
            ),
            sso_file=Path(env["LIFTCASE_SSO_FILE"]) if env.get("LIFTCASE_SSO_FILE") else None,
            sso_client_secret=env.get("LIFTCASE_SSO_CLIENT_SECRET", ""),
        )
