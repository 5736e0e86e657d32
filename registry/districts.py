"""The districts table kept as the city profile (cities/*.toml) describes them: `liftcase init` adds
the profile's districts and counties and brings names, urban flags and seats up to date, so a real
deployment can import its register without seeding. Districts the profile no longer lists stay:
elevators and cases point at them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from infra.city import CityProfile
from registry.models import District


def apply_profile(session: Session, profile: CityProfile) -> tuple[int, int]:
    """(added, updated) districts."""
    held = {d.code: d for d in session.scalars(select(District))}
    added = updated = 0
    for d in profile.districts:
        values = {"name": d.name, "urban": d.urban, "lat": d.lat, "lon": d.lon}
        row = held.get(d.code)
        if row is None:
            session.add(District(code=d.code, **values))
            added += 1
        elif any(getattr(row, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(row, key, value)
            updated += 1
    session.flush()
    return added, updated
