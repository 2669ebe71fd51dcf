"""Outcomes an admin configures, states an action moves through, and how one becomes the other."""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """What a rule or an action's default says should happen."""

    ALLOW = "ALLOW"
    CHALLENGE = "CHALLENGE"
    REVIEW = "REVIEW"
    BLOCK = "BLOCK"


class ActionState(StrEnum):
    """The wire states of a tracked action (the SDKs' ``UserActionState``)."""

    ALLOW = "ALLOW"
    BLOCK = "BLOCK"
    CHALLENGE_REQUIRED = "CHALLENGE_REQUIRED"
    CHALLENGE_SUCCEEDED = "CHALLENGE_SUCCEEDED"
    CHALLENGE_FAILED = "CHALLENGE_FAILED"
    REVIEW_REQUIRED = "REVIEW_REQUIRED"
    REVIEW_SUCCEEDED = "REVIEW_SUCCEEDED"
    REVIEW_FAILED = "REVIEW_FAILED"


class VerificationMethod(StrEnum):
    PASSKEY = "PASSKEY"
    AUTHENTICATOR_APP = "AUTHENTICATOR_APP"
    EMAIL_OTP = "EMAIL_OTP"
    EMAIL_MAGIC_LINK = "EMAIL_MAGIC_LINK"
    SMS = "SMS"
    WHATSAPP = "WHATSAPP"
    SECURITY_KEY = "SECURITY_KEY"
    RECOVERY_CODE = "RECOVERY_CODE"


class UnenrolledPolicy(StrEnum):
    """What a CHALLENGE outcome does for a user with no usable authenticator."""

    ALLOW = "ALLOW"  # Authsignal's behaviour: ALLOW with isEnrolled false
    REQUIRE_ENROLLMENT = "REQUIRE_ENROLLMENT"  # CHALLENGE_REQUIRED; the hosted page enrols first
    BLOCK = "BLOCK"


OUTCOME_STATE = {
    Outcome.ALLOW: ActionState.ALLOW,
    Outcome.CHALLENGE: ActionState.CHALLENGE_REQUIRED,
    Outcome.REVIEW: ActionState.REVIEW_REQUIRED,
    Outcome.BLOCK: ActionState.BLOCK,
}
