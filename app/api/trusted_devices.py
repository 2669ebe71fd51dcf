"""Tollgate's own, beside the contract's user routes: a user's remembered devices (README,
"Remembered devices"), listed and revoked by the integrator's backend."""

from __future__ import annotations

from flask import g, jsonify

from app.api import bp
from app.api.responses import iso
from app.models import TrustedDevice
from app.models.base import utcnow
from app.services.end_users import trusted_devices


def trusted_device_response(device: TrustedDevice) -> dict:
    return {"trustedDeviceId": device.id, "deviceId": device.device_id, "userAgent": device.user_agent,
            "createdAt": iso(device.created_at), "lastUsedAt": iso(device.last_used_at),
            "expiresAt": iso(device.expires_at)}


@bp.get("/users/<user_id>/trusted-devices")
def trusted_device_list(user_id: str):
    found = trusted_devices.list_trusted_devices(g.caller.tenant_id, user_id, now=utcnow())
    return jsonify({"trustedDevices": [trusted_device_response(device) for device in found]})


@bp.delete("/users/<user_id>/trusted-devices/<trusted_device_id>")
def trusted_device_revoke(user_id: str, trusted_device_id: str):
    trusted_devices.revoke_trusted_device(g.caller.tenant_id, user_id, trusted_device_id, actor=None, now=utcnow())
    return jsonify({"success": True})
