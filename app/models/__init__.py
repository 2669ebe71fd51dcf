"""All models, imported here so Alembic and the app see one complete metadata."""

from app.models import config_stamp, list_history  # noqa: E402,F401,I001  (register their session events)
from app.models.action import ActionConfiguration, ActionVersion, Rule
from app.models.address_failure import AddressFailure
from app.models.backtest import BacktestChange, BacktestRun
from app.models.code_challenge import CodeChallenge
from app.models.console import AuditChainHead, AuditEvent, ConsolePasskey, ConsoleUser
from app.models.custom_data import CustomDataPoint, CustomList, CustomListVersion
from app.models.network import NetworkList, NetworkListEntry
from app.models.outbound_message import OutboundMessage
from app.models.outcome_hour import OutcomeHour
from app.models.shadow import ShadowDecision, ShadowRun
from app.models.review import ReviewClaim, ReviewDecision, ReviewNote, ReviewOverdueFlag
from app.models.tenant import ApiKey, ManagementKey, Tenant
from app.models.trusted_device import TrustedDevice
from app.models.user import Authenticator, EndUser, PasskeyCredential, RecoveryCode, VerificationAttempt
from app.models.user_action import ActionStateChange, UserAction
from app.models.webauthn_challenge import WebAuthnChallenge
from app.models.webhook import WebhookDelivery, WebhookEndpoint, WebhookEvent

__all__ = [
    "ActionConfiguration",
    "ActionStateChange",
    "ActionVersion",
    "AddressFailure",
    "ApiKey",
    "AuditChainHead",
    "AuditEvent",
    "BacktestChange",
    "BacktestRun",
    "Authenticator",
    "CodeChallenge",
    "ConsolePasskey",
    "ConsoleUser",
    "CustomDataPoint",
    "CustomList",
    "CustomListVersion",
    "EndUser",
    "ManagementKey",
    "NetworkList",
    "NetworkListEntry",
    "OutboundMessage",
    "OutcomeHour",
    "PasskeyCredential",
    "RecoveryCode",
    "ReviewClaim",
    "ReviewDecision",
    "ReviewNote",
    "ReviewOverdueFlag",
    "Rule",
    "ShadowDecision",
    "ShadowRun",
    "Tenant",
    "TrustedDevice",
    "UserAction",
    "VerificationAttempt",
    "WebAuthnChallenge",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
]
