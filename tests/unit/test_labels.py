"""Pages name states, outcomes and methods in words; the API keeps the contract's spelling."""

from __future__ import annotations

import pytest

from app.domain.decision import ActionState, Outcome, UnenrolledPolicy, VerificationMethod
from app.domain.labels import label


@pytest.mark.parametrize(("value", "shown"), [
    (ActionState.CHALLENGE_REQUIRED, "Challenge required"),
    ("REVIEW_SUCCEEDED", "Review succeeded"),
    (Outcome.BLOCK, "Block"),
    (VerificationMethod.AUTHENTICATOR_APP, "Authenticator app"),
    (VerificationMethod.EMAIL_OTP, "Email code"),
    (UnenrolledPolicy.REQUIRE_ENROLLMENT, "Require enrolment"),
    (None, ""),
])
def test_each_value_reads_as_words(value, shown):
    assert label(value) == shown
