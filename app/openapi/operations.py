"""Every documented operation, by the Flask endpoint that serves it: what it reads and answers.

The request bodies are the models the views validate with (``parse_body``), so the document and
the validation cannot disagree; paths and methods come from the routes themselves. A route without
an entry here, or an entry without a route, fails ``tests/api/test_openapi.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel

from app.api import schemas
from app.client_api import passkeys, sent_codes, verification
from app.domain.theme import ThemeDocument
from app.openapi import wire
from app.services.challenges import server_codes
from app.services.decisions import tracking
from app.services.end_users import authenticators
from app.services.management import wire as management

SECRET_KEY = "secretKey"  # server API: HTTP Basic, the tenant's secret key as the user name
CLIENT_TOKEN = "clientToken"  # client API: Bearer, a track's client token or a verification's access token
TENANT_ID = "tenantId"  # client API, usernameless passkey sign-in: HTTP Basic, the tenant id
MANAGEMENT_KEY = "managementKey"  # management API: HTTP Basic, a management key as the user name


@dataclass(frozen=True)
class Query:
    name: str
    description: str
    schema: dict = field(default_factory=lambda: {"type": "string"})


@dataclass(frozen=True)
class Operation:
    endpoint: str  # the Flask endpoint, e.g. "api.action_track"
    summary: str
    tag: str
    security: tuple[str, ...]
    response: type[BaseModel] | None  # None: a JSON array of ``items``
    body: type[BaseModel] | None = None
    items: type[BaseModel] | None = None
    query: tuple[Query, ...] = ()
    missing: tuple[int, ...] = ()  # statuses beside 200 that are an answer, not an error (passkey lookup's 404)


SERVER = "Server API"
CLIENT = "Client API"
MANAGEMENT = "Management API"
TOLLGATE = "Management API: Tollgate's own"
# A rule or action write: ?publish=true publishes the draft after it, with ?note= as the change note.
PUBLISHING = (Query("publish", "true: publish the action's draft after this write (a publish key always does).",
                    {"type": "string", "enum": ["true", "false"]}),
              Query("note", "The change note of that publish."))

OPERATIONS: tuple[Operation, ...] = (
    Operation("api.action_track", "Track an action: the rules decide ALLOW, CHALLENGE_REQUIRED, REVIEW_REQUIRED or BLOCK",
              SERVER, (SECRET_KEY,), wire.Track, body=tracking.TrackAttributes),
    Operation("api.action_get", "Get a tracked action and how it was decided", SERVER, (SECRET_KEY,), wire.Action),
    Operation("api.action_update", "Set a tracked action's state (a review decision from your backend)", SERVER,
              (SECRET_KEY,), wire.Action, body=schemas.UpdateActionRequest),
    Operation("api.action_list", "List a user's tracked actions, newest first", SERVER, (SECRET_KEY,), None,
              items=wire.ActionSummary, query=(
                  Query("fromDate", "ISO-8601 date or date-time: only actions since then."),
                  Query("codes", "Comma-separated action codes."),
                  Query("state", "Only actions in this state.", {"type": "string", "enum": [s.value for s in wire.ActionState]}),
              )),
    Operation("api.challenge_validate", "Validate the token a challenge handed back (once per token)", SERVER,
              (SECRET_KEY,), wire.Validation, body=schemas.ValidateRequest),
    Operation("api.code_challenge_start", "Send a one-time code (challenge) from your backend", SERVER, (SECRET_KEY,),
              wire.ChallengeStarted, body=server_codes.ChallengeRequest),
    Operation("api.code_challenge_verify", "Check a one-time code the user typed", SERVER, (SECRET_KEY,),
              wire.CodeVerified, body=schemas.VerifyRequest),
    Operation("api.code_challenge_claim", "Claim a verified challenge for a user: a token for validate", SERVER,
              (SECRET_KEY,), wire.Claimed, body=schemas.ClaimRequest),
    Operation("api.code_challenge_get", "Find an open challenge (getChallenge)", SERVER, (SECRET_KEY,), wire.Challenge,
              query=(Query("challengeId", "The challenge's id."), Query("userId", "The user's id."),
                     Query("action", "The action code."), Query("verificationMethod", "E.g. EMAIL_OTP."))),
    Operation("api.user_get", "Get a user (unknown users answer isEnrolled: false)", SERVER, (SECRET_KEY,), wire.User),
    Operation("api.user_update", "Set a user's email, phone number, username, custom data or locale", SERVER,
              (SECRET_KEY,), wire.User, body=schemas.UpdateUserRequest),
    Operation("api.user_delete", "Delete a user and their authenticators (their actions stay as history)", SERVER,
              (SECRET_KEY,), wire.Success),
    Operation("api.user_erase", "Erase everything held about a user (Tollgate's own)", SERVER, (SECRET_KEY,), wire.Erased),
    Operation("api.user_list", "Find users by email, phone number or username", SERVER, (SECRET_KEY,), wire.UserPage,
              query=(Query("email", "Exact email."), Query("phoneNumber", "Exact phone number."),
                     Query("username", "Exact username."),
                     Query("limit", "Page size, 1-100.", {"type": "integer", "minimum": 1, "maximum": 100}),
                     Query("lastEvaluatedUserId", "From the previous page."))),
    Operation("api.authenticator_list", "List a user's authenticators", SERVER, (SECRET_KEY,), None,
              items=wire.Authenticator),
    Operation("api.authenticator_enroll", "Enrol a verified authenticator for a user from your backend", SERVER,
              (SECRET_KEY,), wire.Enrolled, body=authenticators.EnrollRequest),
    Operation("api.authenticator_delete", "Remove one of a user's authenticators", SERVER, (SECRET_KEY,), wire.Success),
    Operation("api.trusted_device_list", "List a user's remembered devices (Tollgate's own)", SERVER, (SECRET_KEY,),
              wire.TrustedDevices),
    Operation("api.trusted_device_revoke", "Revoke one of a user's remembered devices (Tollgate's own)", SERVER,
              (SECRET_KEY,), wire.Success),
    # The client API, as @authsignal/browser calls it.
    Operation("client_api.user_authenticator_list", "The signed-in user's verified authenticators", CLIENT,
              (CLIENT_TOKEN,), None, items=wire.Authenticator),
    Operation("client_api.passkey_registration_options", "Options to create a passkey", CLIENT, (CLIENT_TOKEN,),
              wire.WebauthnOptions, body=passkeys.RegistrationOptionsRequest),
    Operation("client_api.passkey_register", "Register the passkey the browser created", CLIENT, (CLIENT_TOKEN,),
              wire.PasskeyRegistered, body=passkeys.RegistrationRequest),
    Operation("client_api.sign_in_challenge", "Start a usernameless passkey sign-in", CLIENT, (TENANT_ID,),
              wire.ClientChallenge, body=passkeys.SignInChallengeRequest),
    Operation("client_api.passkey_authentication_options", "Options to sign in with a passkey", CLIENT,
              (CLIENT_TOKEN, TENANT_ID), wire.WebauthnOptions, body=passkeys.AuthenticationOptionsRequest),
    Operation("client_api.passkey_verify", "Verify the passkey assertion the browser made", CLIENT,
              (CLIENT_TOKEN, TENANT_ID), wire.PasskeyVerified, body=passkeys.VerifyRequest),
    Operation("client_api.passkey_exists", "Whether any of these passkeys is still registered (404: none)", CLIENT,
              (TENANT_ID,), wire.PasskeyAvailable, query=(Query("credentialIds", "Comma-separated credential ids."),),
              missing=(404,)),
    Operation("client_api.totp_enroll", "Start enrolling an authenticator app", CLIENT, (CLIENT_TOKEN,),
              wire.TotpEnrolmentStarted),
    Operation("client_api.totp_verify", "Verify an authenticator app's code", CLIENT, (CLIENT_TOKEN,), wire.CodeAnswer,
              body=verification.VerifyCodeRequest),
    Operation("client_api.email_otp_enroll", "Enrol an email address (a code is sent to it)", CLIENT, (CLIENT_TOKEN,),
              wire.EnrolmentStarted, body=sent_codes.EnrollEmailRequest),
    Operation("client_api.email_otp_challenge", "Send a code to the enrolled email address", CLIENT, (CLIENT_TOKEN,),
              wire.ClientChallenge),
    Operation("client_api.email_otp_verify", "Verify an emailed code", CLIENT, (CLIENT_TOKEN,), wire.CodeAnswer,
              body=verification.VerifyCodeRequest),
    Operation("client_api.sms_enroll", "Enrol a phone number for SMS codes (a code is sent to it)", CLIENT,
              (CLIENT_TOKEN,), wire.EnrolmentStarted, body=sent_codes.EnrollPhoneRequest),
    Operation("client_api.sms_challenge", "Send an SMS code to the enrolled phone number", CLIENT, (CLIENT_TOKEN,),
              wire.ClientChallenge),
    Operation("client_api.sms_verify", "Verify an SMS code", CLIENT, (CLIENT_TOKEN,), wire.CodeAnswer,
              body=verification.VerifyCodeRequest),
    Operation("client_api.whatsapp_challenge", "Send a WhatsApp code to the user's WhatsApp number", CLIENT,
              (CLIENT_TOKEN,), wire.ClientChallenge),
    Operation("client_api.whatsapp_verify", "Verify a WhatsApp code", CLIENT, (CLIENT_TOKEN,), wire.CodeAnswer,
              body=verification.VerifyCodeRequest),
    Operation("client_api.email_magic_link_enroll", "Enrol an email address for magic links (a link is sent to it)",
              CLIENT, (CLIENT_TOKEN,), wire.EnrolmentStarted, body=sent_codes.EnrollEmailRequest),
    Operation("client_api.email_magic_link_challenge", "Send a magic link to the enrolled email address", CLIENT,
              (CLIENT_TOKEN,), wire.ClientChallenge),
    Operation("client_api.email_magic_link_finalize",
              "Whether the magic link was confirmed (checkVerificationStatus polls it): then an access token", CLIENT,
              (CLIENT_TOKEN,), wire.CodeAnswer),
    # The management API, as authsignal-management-go and the Terraform provider call it.
    Operation("management_api.action_configuration_list", "List action configurations (drafts)", MANAGEMENT,
              (MANAGEMENT_KEY,), None, items=wire.ActionConfiguration),
    Operation("management_api.action_configuration_create", "Create an action configuration", MANAGEMENT,
              (MANAGEMENT_KEY,), wire.ActionConfiguration, body=management.ActionConfigurationBody),
    Operation("management_api.action_configuration_get", "Get an action configuration (its draft)", MANAGEMENT,
              (MANAGEMENT_KEY,), wire.ActionConfiguration),
    Operation("management_api.action_configuration_update", "Change an action configuration's draft", MANAGEMENT,
              (MANAGEMENT_KEY,), wire.ActionConfiguration, body=management.ActionConfigurationBody, query=PUBLISHING),
    Operation("management_api.action_configuration_delete", "Delete an action configuration", MANAGEMENT,
              (MANAGEMENT_KEY,), wire.Deleted),
    Operation("management_api.action_configuration_publish", "Publish an action's draft as its next version",
              MANAGEMENT, (MANAGEMENT_KEY,), wire.Published, body=management.PublishBody),
    Operation("management_api.rule_list", "List an action's rules (draft)", MANAGEMENT, (MANAGEMENT_KEY,), None,
              items=wire.Rule),
    Operation("management_api.rule_create", "Add a rule to an action's draft", MANAGEMENT, (MANAGEMENT_KEY,), wire.Rule,
              body=management.RuleBody, query=PUBLISHING),
    Operation("management_api.rule_get", "Get a rule", MANAGEMENT, (MANAGEMENT_KEY,), wire.Rule),
    Operation("management_api.rule_update", "Change a rule in the draft", MANAGEMENT, (MANAGEMENT_KEY,), wire.Rule,
              body=management.RuleBody, query=PUBLISHING),
    Operation("management_api.rule_delete", "Remove a rule from the draft", MANAGEMENT, (MANAGEMENT_KEY,), wire.Deleted,
              query=PUBLISHING),
    Operation("management_api.data_point_list", "List custom data points", MANAGEMENT, (MANAGEMENT_KEY,), None,
              items=wire.DataPoint),
    Operation("management_api.data_point_create", "Declare a custom data point", MANAGEMENT, (MANAGEMENT_KEY,),
              wire.DataPoint, body=management.CustomDataPointBody),
    Operation("management_api.data_point_get", "Get a custom data point", MANAGEMENT, (MANAGEMENT_KEY,), wire.DataPoint),
    Operation("management_api.data_point_update", "Change a custom data point", MANAGEMENT, (MANAGEMENT_KEY,),
              wire.DataPoint, body=management.CustomDataPointBody),
    Operation("management_api.data_point_delete", "Delete a custom data point", MANAGEMENT, (MANAGEMENT_KEY,),
              wire.Deleted),
    Operation("management_api.value_list_list", "List value lists", MANAGEMENT, (MANAGEMENT_KEY,), None,
              items=wire.ValueList),
    Operation("management_api.value_list_create", "Create a value list", MANAGEMENT, (MANAGEMENT_KEY,), wire.ValueList,
              body=management.ValueListBody),
    Operation("management_api.value_list_get", "Get a value list by its alias", MANAGEMENT, (MANAGEMENT_KEY,),
              wire.ValueList),
    Operation("management_api.value_list_update", "Change a value list", MANAGEMENT, (MANAGEMENT_KEY,), wire.ValueList,
              body=management.ValueListBody),
    Operation("management_api.value_list_delete", "Delete a value list", MANAGEMENT, (MANAGEMENT_KEY,), wire.Deleted),
    Operation("management_api.webhook_endpoint_list", "List webhook endpoints (no secrets)", TOLLGATE,
              (MANAGEMENT_KEY,), None, items=wire.WebhookEndpoint),
    Operation("management_api.webhook_endpoint_create", "Add a webhook endpoint", TOLLGATE, (MANAGEMENT_KEY,),
              wire.WebhookEndpoint, body=management.WebhookEndpointBody),
    Operation("management_api.webhook_endpoint_get", "Get a webhook endpoint", TOLLGATE, (MANAGEMENT_KEY,),
              wire.WebhookEndpoint),
    Operation("management_api.webhook_endpoint_update", "Change a webhook endpoint", TOLLGATE, (MANAGEMENT_KEY,),
              wire.WebhookEndpoint, body=management.WebhookEndpointBody),
    Operation("management_api.webhook_endpoint_delete", "Delete a webhook endpoint", TOLLGATE, (MANAGEMENT_KEY,),
              wire.Deleted),
    Operation("management_api.review_sla_list", "Every action's review deadline (SLA)", TOLLGATE, (MANAGEMENT_KEY,),
              None, items=wire.ReviewSla),
    Operation("management_api.review_sla_get", "An action's review deadline (SLA)", TOLLGATE, (MANAGEMENT_KEY,),
              wire.ReviewSla),
    Operation("management_api.review_sla_update", "Set an action's review deadline and overdue policy", TOLLGATE,
              (MANAGEMENT_KEY,), wire.ReviewSla, body=management.ReviewSlaBody),
    Operation("management_api.tenant_settings_get", "The tenant's settings (its overrides of the environment)",
              TOLLGATE, (MANAGEMENT_KEY,), wire.TenantSettings),
    Operation("management_api.tenant_settings_update", "Change the tenant's settings", TOLLGATE, (MANAGEMENT_KEY,),
              wire.TenantSettings, body=management.TenantSettingsBody),
    Operation("management_api.theme_get", "The hosted pages' theme (only the fields set)", TOLLGATE,
              (MANAGEMENT_KEY,), ThemeDocument),
    Operation("management_api.theme_replace", "Replace the hosted pages' theme (WCAG AA contrast is checked)",
              TOLLGATE, (MANAGEMENT_KEY,), ThemeDocument, body=ThemeDocument),
)
