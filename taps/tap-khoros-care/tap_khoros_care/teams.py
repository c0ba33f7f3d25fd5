"""Khoros's teams (`GET /teams`): the dimension the team reports' TEAM_ID joins to.

Khoros's OpenAPI publishes the call and an example answer, the report envelope with a list of
teams in `result`, each with `uuid`, `teamId`, `name`, `description` and `numberOfMembers`.
A full-table stream: every run lists every team, so a team Khoros removes is gone from the
next run's rows (with `emit_activate_version_messages`, from the target's table too).
"""

from __future__ import annotations

import typing as t

import requests
from singer_sdk import StreamSchema

from support_taps.errors import response_place
from support_taps.normalize import to_integer
from support_taps.schemas import schema_directory
from tap_khoros_care.client import KhorosAPIStream

KHOROS_SCHEMAS = schema_directory("khoros", __package__)


def _as_sent(value: object) -> str | None:
    """Text as Khoros sent it (no placeholder is taken for null: a team may be called "NA")."""
    return value if value is None or isinstance(value, str) else str(value)


class TeamsStream(KhorosAPIStream):
    """Every team of the account, one row each, keyed by the published `teamId`."""

    name = "teams"
    path = "/teams"
    primary_keys = ("teamId",)
    replication_key = None
    schema = StreamSchema(KHOROS_SCHEMAS)

    def parse_response(self, response: requests.Response) -> t.Iterable[dict]:
        payload = self.decode_json(response)
        if not isinstance(payload, dict) or not isinstance(payload.get("result"), list):
            raise self.unexpected_shape(
                response,
                "the report envelope with a list of teams in `result`",
                payload,
                "Khoros's example: {status, request, message, result: [{uuid, teamId, ...}]}.",
            )
        for index, team in enumerate(payload["result"]):
            if not isinstance(team, dict):
                raise self.unexpected_shape(
                    response_place(response, f", result item {index}"), "a team object", team
                )
            team_id = to_integer(team.get("teamId"))
            if team_id is None:
                self.missing_key(
                    f"{response_place(response, f', result item {index}')}",
                    ("teamId",),
                    team,
                    published=True,
                    keyed_by="`teamId`",
                )
            yield {
                "teamId": team_id,
                "uuid": _as_sent(team.get("uuid")),
                "name": _as_sent(team.get("name")),
                "description": _as_sent(team.get("description")),
                "numberOfMembers": to_integer(team.get("numberOfMembers")),
                "raw": team,
            }
