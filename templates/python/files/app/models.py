"""The shapes of the API's requests and answers, shared by the REST routes and the MCP tools."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

# The longest path parameter (an item's or a collection's id) and item text accepted, and the
# most items one collection holds (app.items refuses more).
PARAM_MAX = 200
TEXT_MAX = 1000
MAX_ITEMS = 1000


def _encodable(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:  # a lone surrogate, which JSON can carry
        raise ValueError("text must be valid Unicode") from e
    return value


Text = Annotated[
    str,
    Field(min_length=1, max_length=TEXT_MAX, description="The item's text."),
    AfterValidator(_encodable),
]


class ItemInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Text


class Item(BaseModel):
    id: Annotated[str, Field(max_length=PARAM_MAX, description="The item's id.")]
    text: Annotated[str, Field(max_length=TEXT_MAX, description="The item's text.")]


class ItemList(BaseModel):
    items: Annotated[list[Item], Field(max_length=MAX_ITEMS)]
