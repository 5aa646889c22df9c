"""Response shapes, for the OpenAPI document (bodies are built directly for speed)."""

from apiflask import Schema
from apiflask.fields import List, Nested, String


class Story(Schema):
    id = String(required=True, metadata={"description": "The Algolia objectID of the story."})
    title = String(required=True)
    url = String(required=True)


class Contents(Schema):
    outcome = List(Nested(Story), required=True,
                   metadata={"description": "Stories with a title and a url, in upstream order."})


class Status(Schema):
    status = String(required=True)
