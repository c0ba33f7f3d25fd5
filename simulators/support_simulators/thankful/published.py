"""The "Response:" examples of Thankful's Analytics API page, verbatim, which the simulator
serves for the day they answer (see the package's docstring)."""

from __future__ import annotations

import datetime as dt

#: The "Response:" examples of Thankful's Analytics API page, verbatim ("..." elisions
#: removed with the comma before them); served for the day 2019-05-22 when no filter is set.
PUBLISHED_DAY = dt.date(2019, 5, 22)
#: The period the published `/tickets` example answers (its `Period.Start` and `.End`).
PUBLISHED_PERIOD = ("2019-05-22T00:00:00Z", "2019-06-21T23:59:59Z")
PUBLISHED: dict[str, bytes] = {
    "tickets": b"""{
    "Period": {
        "Start": "2019-05-22T00:00:00Z",
        "End": "2019-06-21T23:59:59Z",
        "Min": "2018-05-22T00:00:00Z"
    },
    "TicketsOverTime": {
        "Received": [
            {
                "Val": 1456,
                "CreatedAt": "2019-05-22T00:00:00Z"
            }
        ],
        "Captured": [
            {
                "Val": 2800,
                "CreatedAt": "2019-05-22T00:00:00Z"
            }
        ],
\t"Transferred": [
            {
                "Val": 500,
                "CreatedAt": "2019-05-22T00:00:00Z"
            }
        ],
        "Resolved": [
            {
                "Val": 621,
                "CreatedAt": "2019-05-22T00:00:00Z"
            }
        ],
        "ReceivedTotal": 60000,
        "CapturedTotal": 50000,
        "TransferredTotal": 10000,
        "ResolvedTotal": 30000,
        "ReceivedChange": -33.78378378378378,
        "CapturedChange": -32.86713286713287,
        "TransferredChange": 54.12308,
        "ResolvedChange": -39.285714285714285
    },
    "TopActions": [
        {
            "ID": 3759,
            "Name": "Return Order",
            "Capture": 94,
            "Resolve": 17,
            "Pending": 2,
            "Transfer": 30,
            "Handoff": 77,
            "Skip": 0,
            "Enabled": true
        }
    ],
    "Recommendations": [
        {
            "ActionID": 3257,
            "Impact": "Increase automation by 4%"
        },
        {
            "ActionID": 3210,
            "Impact": "Increase automation by 1%"
        }
    ]
}""",
    "handoffs": b"""[
    {
        "ActionID": 3623,
        "Types": null
    },
    {
        "ActionID": 3759,
        "Types": [
            {
                "ID": 1,
                "Cause": "SLA breached",
                "ActionHandoffCount": 1
            },
            {
                "ID": 3,
                "Cause": "Failed to evaluate JS for step 95863: eval js code: TypeError: Cannot access member 'SG' of undefined",
                "ActionHandoffCount": 1
            }
        ]
    }
]""",  # noqa: E501 - the vendor's example, byte for byte
    "savings": b"""{
\t"Hours": 100.5
}""",
    "actions": b"""{
\t"3000": "Return Order",
\t"3016": "Track Order"
}""",
}
