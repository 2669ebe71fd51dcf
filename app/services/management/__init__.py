"""The Management API's use cases (/v1/management): Authsignal's resources mapped onto Tollgate's."""
