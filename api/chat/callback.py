"""A web-chat customer asks to be called back instead of waiting in the chat:
{"type": "callback", "number"?, "at"?} -> {"type": "callback", "callback": {...},
"estimated_wait"} or an error ``callback_refused``. Leaving the chat afterwards keeps the
contact queued (router/callbacks.py). The same for one node and several (the router runs
it: api/cluster/chat.py hands it over as ``chat.callback``)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from router.callbacks import CallbackRefused, check_number, check_zone
from router.dispatch import Dispatcher
from router.store.errors import StoreError


class AskCallback(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["callback"]
    number: str | None = Field(None, max_length=40, description="default: the one given")
    at: dt.datetime | None = Field(None, description="ISO time with its zone; default: soon")

    _zone = field_validator("at")(check_zone)
    _number = field_validator("number")(check_number)

    def args(self) -> dict[str, Any]:
        return {"number": self.number, "at": self.at.timestamp() if self.at else None}


async def ask_callback(
    dispatcher: Dispatcher, contact_id: str, number: str | None, at: float | None
) -> dict[str, Any]:
    """The frame for the customer: the callback taken, or why not."""
    intake = dispatcher.intake
    try:
        callback = await intake.callbacks.request(contact_id, number, at)
    except CallbackRefused as exc:
        return {"type": "error", "code": "callback_refused", "message": str(exc)}
    except StoreError as exc:  # not stored: ask again
        return {
            "type": "error",
            "code": "unavailable",
            "message": f"the callback could not be booked now, ask again: {exc}",
        }
    return {
        "type": "callback",
        "callback": callback.as_dict(),
        "estimated_wait": intake.estimated_wait(contact_id),
    }
