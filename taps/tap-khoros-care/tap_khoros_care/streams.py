"""Khoros Care report streams: one per report type, named as the type.

Khoros does not publish the columns of its exports. Each schema types the columns
known to appear (every exported value is a string; these become integers, numbers,
booleans or UTC date-times where that is safe); every record also keeps all its
fields, as sent, in `fields`, so columns Khoros adds are never lost.
"""

from __future__ import annotations

from singer_sdk import StreamSchema

from support_taps.schemas import schema_directory
from tap_khoros_care.client import KhorosStream

KHOROS_SCHEMAS = schema_directory("khoros", __package__)

#: Report parameters only some report types take (the vendor page says which).
_TEAM_PARAMETERS = ("includeDisabled", "teamIds")


class AuthorStream(KhorosStream):
    """Raw Author Export: the authors active in the window, one row each."""

    name = "author"
    identity_columns = ("AUTHOR_ID",)
    schema = StreamSchema(KHOROS_SCHEMAS)


class CombinedStream(KhorosStream):
    """Raw Combined Export: incoming posts and responses together."""

    name = "combined"
    id_column = "POST_ID"
    schema = StreamSchema(KHOROS_SCHEMAS)


class ConversationStream(KhorosStream):
    """Raw Conversations, chosen by `conversationReportType` (default OPEN_AT_END).

    With OPEN_AT_END a conversation open for several days is in several windows;
    keyed by CONVERSATION_ID, the latest window's row is the one a target keeps.
    """

    name = "conversation"
    id_column = "CONVERSATION_ID"
    schema = StreamSchema(KHOROS_SCHEMAS)

    def get_url_params(self, context, next_page_token):  # type: ignore[override]
        params = super().get_url_params(context, next_page_token)
        kind = self.config.get("conversation_report_type")
        if kind:
            params["conversationReportType"] = kind
        return params


class ConversationActionsStream(KhorosStream):
    """Conversation Actions Export: each action taken on a conversation.

    The vendor recommends POST with a form-encoded body for this report.
    """

    name = "conversation_actions"
    http_method = "POST"
    payload_as_json = False
    schema = StreamSchema(KHOROS_SCHEMAS)

    def get_http_request(self, *, page):  # type: ignore[override]
        request = super().get_http_request(page=page)
        # The report parameters travel in the form body; companyKey stays in the
        # query string like on every call (the authenticator adds it).
        request.data, request.params = request.params, {}
        return request


class IncomingPostStream(KhorosStream):
    """Raw Incoming Post Export: every post customers sent."""

    name = "incoming_post"
    id_column = "POST_ID"
    schema = StreamSchema(KHOROS_SCHEMAS)


class RawAgentStatesStream(KhorosStream):
    """Agent State Export: each agent availability state and how long it lasted."""

    name = "raw_agent_states"
    identity_columns = ("AGENT_ID", "STATE_STARTED_AT")
    schema = StreamSchema(KHOROS_SCHEMAS)


class RawExpertHelpStream(KhorosStream):
    """Raw Help Request Export: agents asking experts for help on a conversation."""

    name = "raw_expert_help"
    id_column = "HELP_REQUEST_ID"
    schema = StreamSchema(KHOROS_SCHEMAS)


class ResponseStream(KhorosStream):
    """Raw Response Export: every response agents sent."""

    name = "response"
    id_column = "POST_ID"
    schema = StreamSchema(KHOROS_SCHEMAS)


class ResponseApprovalStream(KhorosStream):
    """Raw Response Approval: responses submitted for approval and the decisions."""

    name = "response_approval"
    identity_columns = ("CONVERSATION_ID", "AUTHORING_AGENT_ID", "SUBMITTED_AT")
    extra_parameters = _TEAM_PARAMETERS
    schema = StreamSchema(KHOROS_SCHEMAS)


class TeamPerformanceStream(KhorosStream):
    """Raw Team Performance: per team and agent, the window's totals."""

    name = "team_performance"
    identity_columns = ("TEAM_ID", "AGENT_ID")
    extra_parameters = _TEAM_PARAMETERS
    schema = StreamSchema(KHOROS_SCHEMAS)


class TeamPerformanceIntervalStream(KhorosStream):
    """Team Performance Interval: per team, agent and interval (`timeInterval`)."""

    name = "team_performance_interval"
    identity_columns = ("TEAM_ID", "AGENT_ID", "INTERVAL_START")
    extra_parameters = (*_TEAM_PARAMETERS, "timeInterval")
    schema = StreamSchema(KHOROS_SCHEMAS)


#: Every report type, in the vendor's order.
REPORT_STREAMS: dict[str, type[KhorosStream]] = {
    cls.name: cls
    for cls in (
        AuthorStream, CombinedStream, ConversationStream, ConversationActionsStream, IncomingPostStream,
        RawAgentStatesStream, RawExpertHelpStream, ResponseStream, ResponseApprovalStream,
        TeamPerformanceStream, TeamPerformanceIntervalStream,
    )
}
REPORT_TYPES = tuple(REPORT_STREAMS)
