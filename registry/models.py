"""Organisations, users, districts, elevators and IoT devices."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, Date, Float, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from infra.db import Base, UTCDateTime


class OrgKind(StrEnum):
    CITY_REGULATOR = "city_regulator"
    DISTRICT_REGULATOR = "district_regulator"
    RESCUE_CENTRE = "rescue_centre"
    MAINTENANCE_UNIT = "maintenance_unit"
    USE_UNIT = "use_unit"
    INSPECTION_AGENCY = "inspection_agency"
    PLATFORM = "platform"
    MANUFACTURER = "manufacturer"  # 制造单位: named on the equipment record, no users needed
    INSTALLER = "installer"  # 安装单位


class Role(StrEnum):
    DISPATCHER = "dispatcher"
    MAINTENANCE = "maintenance"
    MAINTENANCE_MANAGER = "maintenance_manager"
    PROPERTY = "property"
    REGULATOR = "regulator"
    ANALYST = "analyst"
    AUDITOR = "auditor"
    ADMIN = "admin"


class District(Base):
    __tablename__ = "districts"
    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    # Urban districts get the 30-minute arrival SLA, the others 60 (DESIGN's catalogue).
    urban: Mapped[bool] = mapped_column(Boolean, default=False)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)


class Organisation(Base):
    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(30), index=True)
    district_code: Mapped[str | None] = mapped_column(ForeignKey("districts.code"), index=True)
    phone: Mapped[str | None] = mapped_column(String(30))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    display_name: Mapped[str] = mapped_column(String(60))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    roles: Mapped[list[Any]] = mapped_column(default=list)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    phone: Mapped[str | None] = mapped_column(String(30))
    email: Mapped[str | None] = mapped_column(String(120))
    on_call: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Elevator(Base):
    __tablename__ = "elevators"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    register_code: Mapped[str] = mapped_column(String(20), unique=True)
    qr_code: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="traction")
    address: Mapped[str] = mapped_column(String(200))
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"), index=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    floors: Mapped[int] = mapped_column(Integer, default=6)
    installed_on: Mapped[date | None] = mapped_column(Date)
    use_unit_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    maintenance_unit_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    next_inspection_due: Mapped[date | None] = mapped_column(Date, index=True)
    last_maintenance_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    device_id: Mapped[str | None] = mapped_column(String(40), unique=True)
    stop_use: Mapped[bool] = mapped_column(Boolean, default=False)
    # The record the register keeps beyond the portrait (migration 0014); all optional, imports fill them.
    manufacturer_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    model: Mapped[str | None] = mapped_column(String(60))
    factory_number: Mapped[str | None] = mapped_column(String(40))  # 出厂编号
    installer_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    use_certificate_no: Mapped[str | None] = mapped_column(String(40))  # 使用登记证编号
    place_category: Mapped[str | None] = mapped_column(String(20), index=True)  # registry/places.py
    key_place: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # 重点场所
    rated_load_kg: Mapped[int | None] = mapped_column(Integer)
    rated_speed: Mapped[float | None] = mapped_column(Float)  # m/s; the overspeed rule's reference


class Device(Base):
    __tablename__ = "devices"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    elevator_id: Mapped[int | None] = mapped_column(ForeignKey("elevators.id"), index=True)
    model: Mapped[str] = mapped_column(String(60), default="")
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seq: Mapped[int | None] = mapped_column(Integer)


class DeviceCredential(Base):
    """A box's MQTT secret as the broker's password file holds it: a salted hash, never the secret.
    The register keeps it so the file can be written again on any broker machine."""

    __tablename__ = "device_credentials"
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(200))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
