"""The only code that writes international queries, by sub-domain: `rounds` (submit, screening holds, round 3, close),
`answers` (the partner's answers, failed messages, the round clock) and `fdns` (referrals to FDNS). Every public name
is importable from here, as before the split."""

from .answers import (flag_overdue_rounds, inbound_reference_errors, query_record_outbound_failure, response_attachments_redraw,
                      round1_record_result, round_record_response, store_attachments)
from .fdns import REFERRAL_MAX_DAYS, referral_create, referral_revoke, referrals_expire
from .rounds import (QueryError, QueryNotPermitted, RoundLimitReached, icd_encounter_ok, query_close, query_referral_resolve,
                     query_request_round3, query_rescreen, query_submit, rescreen_due, round3_refusal)

__all__ = [
    "QueryError", "QueryNotPermitted", "RoundLimitReached", "REFERRAL_MAX_DAYS", "flag_overdue_rounds", "icd_encounter_ok",
    "inbound_reference_errors", "query_close", "query_record_outbound_failure", "query_referral_resolve",
    "query_request_round3", "query_rescreen", "query_submit", "referral_create", "referral_revoke", "referrals_expire",
    "rescreen_due", "response_attachments_redraw", "round1_record_result", "round3_refusal", "round_record_response", "store_attachments",
]
