"""Custom data points and value lists (they apply at once: no draft)."""

from __future__ import annotations

from app.management_api import bp, serializers
from app.management_api.collections import Collection, serve
from app.services.management import data
from app.services.management.wire import CustomDataPointBody, ValueListBody
from app.services.rulesets import data_points

serve(bp, Collection(
    name="data_point", path="/custom-data-points", key="data_point_id", label="Custom data point",
    body=CustomDataPointBody, serialize=serializers.data_point,
    list=data_points.list_data_points, get=data_points.get_data_point,
    create=data.create_data_point, update=data.update_data_point, delete=data.delete_data_point,
))

serve(bp, Collection(
    name="value_list", path="/value-lists", key="alias", label="Value list",
    body=ValueListBody, serialize=serializers.value_list,
    list=data.list_value_lists, get=data.get_value_list,
    create=data.create_value_list, update=data.update_value_list, delete=data.delete_value_list,
))
