"""What every action configuration is held to, wherever it is written (console, CLI, management API,
a config file): the shape of its code, the methods a new one offers, the longest review deadline."""

from __future__ import annotations

import re

from app.domain.decision import VerificationMethod

# The code is the action's name in the API path (/v1/users/{userId}/actions/{actionCode}).
ACTION_CODE_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
# What the hosted pages can verify without a sent code: a new action offers these unless narrowed.
DEFAULT_VERIFICATION_METHODS = (VerificationMethod.PASSKEY.value, VerificationMethod.AUTHENTICATOR_APP.value)
# A year: a longer deadline is no deadline.
MAX_REVIEW_DEADLINE_MINUTES = 525_600


def is_action_code(code: object) -> bool:
    return isinstance(code, str) and ACTION_CODE_PATTERN.fullmatch(code) is not None
