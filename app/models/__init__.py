"""All models, imported here so Alembic and the app see one complete metadata."""

from app.models.action import ActionConfiguration, Rule
from app.models.tenant import ApiKey, Tenant
from app.models.user import Authenticator, EndUser
from app.models.user_action import ActionStateChange, UserAction

__all__ = [
    "ActionConfiguration",
    "ActionStateChange",
    "ApiKey",
    "Authenticator",
    "EndUser",
    "Rule",
    "Tenant",
    "UserAction",
]
