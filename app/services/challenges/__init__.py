"""End users proving it is them: challenge sessions, passkeys, authenticator-app and recovery codes."""
