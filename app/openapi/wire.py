"""What the APIs answer, as models for the OpenAPI document only: the serializers build plain dicts
(speed, and Authsignal's habit of leaving absent fields out), so these say what those dicts hold.
They cannot drift unnoticed: CI validates every response schemathesis provokes, and the SDK-shaped
flows in tests/api/test_openapi.py, against them.

Fields a serializer leaves out when empty are optional here (``None`` default, never sent as null).
Extra keys are allowed, as a client must tolerate fields added later.

Past our usual size because it is a catalogue of response shapes, one small model each, read as a
reference next to the serializers, not as logic.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.domain.decision import ActionState, VerificationMethod


class Wire(BaseModel):
    model_config = ConfigDict(extra="allow")


class Error(Wire):
    """Every 4xx and 5xx of the server, client and management APIs."""

    error: str = Field(description="A short code; the Node and browser SDKs read this one.")
    errorCode: str = Field(description="The same code; the Python SDK reads this one.")
    errorDescription: str = Field(description="What went wrong, for a person.")


class Success(Wire):
    success: bool


class Track(Wire):
    state: ActionState
    idempotencyKey: str
    url: str | None = Field(None, description="The hosted challenge page, when the state asks for one.")
    token: str | None = Field(None, description="A client token for the browser SDK and the hosted pages.")
    isEnrolled: bool
    enrolledVerificationMethods: list[VerificationMethod]
    allowedVerificationMethods: list[VerificationMethod]
    defaultVerificationMethod: VerificationMethod | None = None
    ruleIds: list[str]


class RuleRef(Wire):
    ruleId: str
    name: str


class Action(Wire):
    userId: str
    actionCode: str
    idempotencyKey: str
    state: ActionState
    stateUpdatedAt: str
    createdAt: str
    verificationMethod: VerificationMethod | None = None
    rules: list[RuleRef]
    ruleIds: list[str]
    priorityRuleId: str | None = None
    output: dict[str, Any] = Field(description="The decision explained: each rule, its conditions and their values.")


class ActionSummary(Wire):
    actionCode: str
    idempotencyKey: str
    createdAt: str
    updatedAt: str
    state: ActionState
    stateUpdatedAt: str
    verificationMethod: VerificationMethod | None = None
    verifiedByAuthenticatorId: str | None = None
    userAgent: str | None = None
    ipAddress: str | None = None


class Validation(Wire):
    isValid: bool
    state: ActionState | None = None
    stateUpdatedAt: str | None = None
    userId: str | None = None
    action: str | None = None
    actionCode: str | None = None
    idempotencyKey: str | None = None
    verificationMethod: VerificationMethod | None = None
    error: str | None = Field(None, description="Why the token is not valid.")


class User(Wire):
    userId: str
    isEnrolled: bool
    email: str | None = None
    emailVerified: bool
    phoneNumber: str | None = None
    phoneNumberVerified: bool
    username: str | None = None
    displayName: str | None = None
    custom: dict[str, Any] | None = None
    locale: str | None = None
    enrolledVerificationMethods: list[VerificationMethod]
    allowedVerificationMethods: list[VerificationMethod]


class UserSummary(Wire):
    userId: str
    email: str | None = None
    emailVerified: bool
    phoneNumber: str | None = None
    phoneNumberVerified: bool
    username: str | None = None


class UserPage(Wire):
    users: list[UserSummary]
    lastEvaluatedUserId: str | None = Field(None, description="Pass it back as lastEvaluatedUserId for the next page.")


class Erased(Success):
    erased: dict[str, int] = Field(description="How many records of each kind were deleted or anonymised.")


class TrustedDevice(Wire):
    """A browser the user asked not to be challenged on again (README, "Remembered devices")."""

    trustedDeviceId: str
    deviceId: str = Field(description="The track request's deviceId that device.isTrusted matches.")
    userAgent: str | None = Field(description='A summary, e.g. "Chrome on Windows".')
    createdAt: str
    lastUsedAt: str | None = Field(description="The last track that found it trusted.")
    expiresAt: str


class TrustedDevices(Wire):
    trustedDevices: list[TrustedDevice]


class WebauthnCredential(Wire):
    credentialId: str
    name: str | None = None
    aaguid: str | None = None
    credentialBackedUp: bool | None = None
    credentialDeviceType: str
    authenticatorAttachment: str | None = None


class Authenticator(Wire):
    userId: str
    userAuthenticatorId: str
    verificationMethod: VerificationMethod
    createdAt: str
    verifiedAt: str | None = None
    lastVerifiedAt: str | None = None
    email: str | None = None
    phoneNumber: str | None = None
    isDefault: bool
    name: str | None = None
    webauthnCredential: WebauthnCredential | None = None


class Enrolled(Wire):
    authenticator: Authenticator


class ChallengeStarted(Wire):
    challengeId: str
    idempotencyKey: str
    expiresAt: int = Field(description="Unix seconds.")


class CodeVerified(Wire):
    isVerified: bool
    verificationMethod: VerificationMethod
    email: str | None = None
    phoneNumber: str | None = None
    smsChannel: str | None = Field(default=None, description="DEFAULT or WHATSAPP, for SMS and WHATSAPP codes.")
    failureReason: str | None = None


class Claimed(Wire):
    token: str
    verificationMethod: VerificationMethod


class Challenge(Wire):
    """``getChallenge``: the open challenge, or ``{}`` when there is none."""

    challengeId: str | None = None
    expiresAt: int | None = None
    verificationMethod: VerificationMethod | None = None
    action: str | None = None
    email: str | None = None
    phoneNumber: str | None = None
    smsChannel: str | None = Field(default=None, description="DEFAULT or WHATSAPP, for SMS and WHATSAPP codes.")


class ClientChallenge(Wire):
    challengeId: str


class WebauthnOptions(Wire):
    challengeId: str
    options: dict[str, Any] = Field(description="PublicKeyCredentialCreationOptions or RequestOptions, as JSON.")


class PasskeyRegistered(Wire):
    isVerified: bool
    accessToken: str
    userAuthenticatorId: str
    userId: str
    userAuthenticator: Authenticator


class PasskeyVerified(Wire):
    isVerified: bool
    accessToken: str
    userId: str
    userAuthenticatorId: str
    username: str | None = None
    userDisplayName: str | None = None


class PasskeyAvailable(Wire):
    isAvailable: bool


class EnrolmentStarted(Wire):
    userAuthenticatorId: str
    userId: str


class TotpEnrolmentStarted(EnrolmentStarted):
    uri: str = Field(description="The otpauth:// URI for the authenticator app's QR code.")
    secret: str


class CodeAnswer(Wire):
    isVerified: bool
    accessToken: str | None = None
    failureReason: str | None = None
    userAuthenticator: Authenticator | None = Field(None, description="Only when this code enrolled it.")


# --- the Management API (authsignal-management-go's *Response types, and Tollgate's own) ----------


class ActionDraftState(Wire):
    """Tollgate's own beside Authsignal's fields: reads show the draft; is it live?"""

    name: str | None = None
    unenrolledPolicy: str
    liveVersion: int | None = None
    draftPending: bool


class ActionConfiguration(Wire):
    actionCode: str
    tenantId: str
    defaultUserActionResult: str
    verificationMethods: list[str]
    promptToEnrollVerificationMethods: list[str] | None
    defaultVerificationMethod: str | None
    messagingTemplates: Any
    lastActionCreatedAt: str | None
    tollgate: ActionDraftState


class Rule(Wire):
    ruleId: str
    tenantId: str
    actionCode: str
    name: str
    description: str | None
    isActive: bool
    priority: int
    type: str
    verificationMethods: list[str] | None
    promptToEnrollVerificationMethods: list[str] | None
    defaultVerificationMethod: str | None
    conditions: Any = Field(description="JsonLogic.")


class Published(Wire):
    actionCode: str
    version: int
    note: str | None
    publishedBy: str | None
    publishedAt: str | None


class DataPoint(Wire):
    id: str
    name: str
    dataType: str
    modelType: str
    description: str | None
    isPublic: bool


class ValueList(Wire):
    alias: str
    name: str
    itemType: str
    valueListItems: list[Any]
    isActive: bool


class WebhookEndpoint(Wire):
    id: str
    url: str
    description: str | None
    eventTypes: list[str]
    isActive: bool
    createdAt: str | None
    updatedAt: str | None


class Deleted(Wire):
    """The Go client's HttpStatusResponse."""

    success: bool
    statusCode: int
    message: str


class ReviewSla(Wire):
    actionCode: str
    reviewDeadlineMinutes: int | None
    reviewOverduePolicy: str


class TenantSettings(Wire):
    """The tenant's overrides; null: the environment's default applies."""

    name: str
    logoUrl: str | None = None
    webauthnRpId: str | None = None
    webauthnRpName: str | None = None
    webauthnOrigins: list[str] | None = None
    redirectAllowlist: list[str] | None = None
    clientTokenTtl: int | None = None
    rememberDeviceDays: int = 0
