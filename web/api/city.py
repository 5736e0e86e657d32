"""The city this deployment runs as (cities/*.toml): names, hotline, province prefix, districts with
their arrival limits, map centre, report header. Any signed-in user; no demo material."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from web.http import context

blp = Blueprint("city", __name__, description="The deployment's city profile")


class CityDistrictSchema(Schema):
    code = fields.String()
    name = fields.String()
    urban = fields.Boolean()
    arrival_within = fields.String(metadata={"description": "ISO 8601 duration: the rescue arrival limit"})


class CitySchema(Schema):
    key = fields.String()
    name_zh = fields.String()
    name_en = fields.String()
    province_prefix = fields.String()
    hotline = fields.String()
    platform_zh = fields.String()
    platform_en = fields.String()
    report_header = fields.String()
    map_centre = fields.List(fields.Float(), metadata={"description": "[lat, lon]"})
    map_zoom = fields.Integer()
    districts = fields.List(fields.Nested(CityDistrictSchema))


@blp.route("/city")
class CityView(MethodView):
    @blp.response(200, CitySchema)
    def get(self) -> dict[str, Any]:
        """The city profile's public part."""
        return context.system().settings.city_profile.public()
