"""Thena's published example: the "Example Response" of its requests export page, verbatim
(tests/contracts/thena/ holds the page's copy), and the day it was made."""

from __future__ import annotations

import datetime as dt
import json
import typing as t

#: The "Example Response" of https://help.thena.ai/docs/requests-export-api, verbatim.
PUBLISHED_EXAMPLE = b"""[
    {
      "request_id": 3292,
      "created_datetime": "05/12/2023 12:24",
      "workspace_name": "CustomerWorkspaceName",
      "slack_channel": "ext-channel-name",
      "customer_name": "John Doe",
      "requestor_email": "[email\xc2\xa0protected]",
      "request_title": "Issue with Capturing Links in Ticket Notes",
      "request_summary": "A customer has reported an issue where links to different Slack chats are not being captured in HubSpot ticket notes. Our team is investigating the issue and addressing the slight delay.",
      "sentiment": "Neutral",
      "urgency": "Medium",
      "status": "Assigned",
      "assigned_on": "05/22/2023 15:15",
      "owner": "Jane Smith",
      "assigned_to_user_email": "[email\xc2\xa0protected]",
      "first_response_time": "05/22/2023 15:15",
      "number_of_replies": 1,
      "closed_by": "",
      "feedback": "N/A",
      "csat_score": "N/A",
      "closed_datetime": "",
      "resolution_time_hours": "",
      "on_hold_on": "",
      "on_hold_by": "",
      "on_hold_by_user_email": "",
      "ai_tags": ["Missing Link", "Ticket Notes", "Slack Chat"],
      "slack_thread_link": "https://example-slack.com/archives/SLACK_THREAD_ID",
      "internal_thread_slack_link": "https://example-slack.com/archives/INTERNAL_THREAD_ID"
    }
 ]"""  # noqa: E501 - the vendor's example, byte for byte
PUBLISHED_DAY = dt.date(2023, 5, 12)
PUBLISHED_ROW: dict[str, t.Any] = json.loads(PUBLISHED_EXAMPLE)[0]
