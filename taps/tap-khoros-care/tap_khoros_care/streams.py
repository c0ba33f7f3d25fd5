"""Khoros Care report streams: one per report type, named as the type.

Khoros does not publish the columns of its exports. Each schema types the columns
known to appear (every exported value is a string; these become integers, numbers,
booleans or UTC date-times where that is safe); every record also keeps all its
fields, as sent, in `fields`, so columns Khoros adds are never lost.
"""

from __future__ import annotations

import typing as t
from collections.abc import Iterable, Iterator
from dataclasses import replace

from singer_sdk import StreamSchema

from support_taps.schemas import schema_directory
from tap_khoros_care.client import KhorosStream
from tap_khoros_care.jobs import ReportJob, ReportRequest

KHOROS_SCHEMAS = schema_directory("khoros", __package__)

#: Report parameters only some report types take (Khoros's OpenAPI says which).
_TEAM_PARAMETERS = ("includeDisabled", "teamIds")


class _FormBodyStream(KhorosStream):
    """An export Khoros documents as a POST whose parameters travel in a form body."""

    http_method = "POST"

    def report_request(self) -> ReportRequest:
        request = super().report_request()
        # The report parameters travel in the form body; companyKey (the authenticator
        # adds it) and the type's query parameters stay in the query string.
        parameters = request.query
        return replace(
            request,
            query={k: v for k, v in parameters.items() if k in self.query_parameters},
            form={k: v for k, v in parameters.items() if k not in self.query_parameters},
        )


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
    """Raw Conversations: for each window, one report per `conversation_report_types` value.

    Keyed by CONVERSATION_ID, the row emitted last is the one a target keeps. With the
    default CREATED then CLOSED, a conversation lands when the window it was created in
    is extracted (as it stood at that window's end) and again when the window it closed
    in is, always later (windows go out in order, CLOSED after CREATED within a window):
    its last row is its latest state, open or closed. OPEN_AT_END alone would drop a
    conversation from the windows after it closed, leaving it "open" for ever.
    """

    name = "conversation"
    id_column = "CONVERSATION_ID"
    #: The one key column Khoros publishes (vendor notes: a known column of the report).
    key_published = True
    schema = StreamSchema(KHOROS_SCHEMAS)
    variant_parameter = "conversationReportType"

    # A class attribute on the other reports; here the settings decide it.
    @property
    def variants(self) -> tuple[str, ...]:  # type: ignore[override]
        one = self.config.get("conversation_report_type")
        return (one,) if one else tuple(self.config["conversation_report_types"])

    def records_of(
        self, job: ReportJob, rows: Iterable[dict[str, t.Any]]
    ) -> Iterator[dict[str, t.Any]]:
        for record in super().records_of(job, rows):
            record["conversation_report_type"] = job.variant
            yield record


class ConversationActionsStream(_FormBodyStream):
    """Conversation Actions Export: each action taken on a conversation.

    The vendor recommends POST with a form-encoded body for this report.
    """

    name = "conversation_actions"
    schema = StreamSchema(KHOROS_SCHEMAS)


class ConversationHistoryActionStream(_FormBodyStream):
    """Conversation History Action Export: every action of the conversations in the window.

    POST with a form body, like conversation_actions; `raiselimit=true` (query string)
    raises Khoros's cap from 500 to 2,000 actions per conversation.
    """

    name = "conversation_history_action"
    extra_parameters = ("raiselimit",)
    query_parameters = ("raiselimit",)
    schema = StreamSchema(KHOROS_SCHEMAS)


class IncomingPostStream(KhorosStream):
    """Raw Incoming Post Export: every post customers sent."""

    name = "incoming_post"
    id_column = "POST_ID"
    schema = StreamSchema(KHOROS_SCHEMAS)


class RawAgentStatesStream(KhorosStream):
    """Agent State Export: each agent availability state and how long it lasted."""

    name = "raw_agent_states"
    identity_columns = ("AGENT_ID", "STATE_STARTED_AT")
    extra_parameters = ("teamIds",)
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


class UserStream(KhorosStream):
    """User Export: the agents (users) of the account, with their time in the window.

    Khoros documents only `agentId`, `teamId` (each repeated per value), `includeDisabled`,
    `locale`, `reportMetrics` and `reportFormat` for it: none of the common filters.
    """

    name = "user"
    identity_columns = ("AGENT_ID",)
    COMMON_PARAMETERS = ("locale",)
    extra_parameters = ("includeDisabled",)
    repeated_parameters: t.ClassVar[dict[str, str]] = {"agentId": "agentIds", "teamId": "teamIds"}
    schema = StreamSchema(KHOROS_SCHEMAS)


#: Every report type, in the vendor's order.
REPORT_STREAMS: dict[str, type[KhorosStream]] = {
    cls.name: cls
    for cls in (
        AuthorStream,
        CombinedStream,
        ConversationStream,
        ConversationActionsStream,
        ConversationHistoryActionStream,
        IncomingPostStream,
        RawAgentStatesStream,
        RawExpertHelpStream,
        ResponseStream,
        ResponseApprovalStream,
        TeamPerformanceStream,
        TeamPerformanceIntervalStream,
        UserStream,
    )
}
REPORT_TYPES = tuple(REPORT_STREAMS)
