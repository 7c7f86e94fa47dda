"""API pagination without COUNT(*): a list a supervisor may read can hold a million rows, and counting them
on every page would cost more than the page. Pages are numbered; `next` is given when there is more."""

from __future__ import annotations

from rest_framework.exceptions import NotFound
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param


class PageNumberNoCount(BasePagination):
    page_size = 50
    max_page = 10_000  # deeper than anyone pages by hand; filters are the way to narrow a list

    def _number(self, request) -> int:
        raw = request.query_params.get("page", "1")
        if not raw.isascii() or not raw.isdigit():  # digits only, as the schema's integer ("+1", " 1" and "1.0" are not)
            raise NotFound(f"'{raw}' is not a page number: use page=1, 2, ...")
        number = int(raw)
        if not 1 <= number <= self.max_page:
            raise NotFound(f"Page {number} does not exist: pages run from 1 to {self.max_page}.")
        self.number, self.request = number, request
        return number

    def paginate_queryset(self, queryset, request, view=None):
        start = (self._number(request) - 1) * self.page_size
        rows = list(queryset[start: start + self.page_size + 1])
        self.has_next = len(rows) > self.page_size
        return rows[: self.page_size]

    def paginate_grant_page(self, request, fetch) -> list:
        """A page built by a grant-ordered selector (`fetch(number=, per_page=)` returning a GrantPage)."""
        page = fetch(number=self._number(request), per_page=self.page_size)
        self.has_next = page.has_next()
        return page.object_list

    def _link(self, number: int | None) -> str | None:
        if number is None:
            return None
        url = self.request.build_absolute_uri()
        return remove_query_param(url, "page") if number == 1 else replace_query_param(url, "page", number)

    def get_paginated_response(self, data):
        return Response({
            "next": self._link(self.number + 1 if self.has_next else None),
            "previous": self._link(self.number - 1 if self.number > 1 else None),
            "results": data,
        })

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri", "example": "https://cpms.example.gov/api/v1/cases/?page=2"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [{"name": "page", "required": False, "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                                               "maximum": self.max_page},
                 "description": "Page number (50 results a page). No total is counted; follow `next`."}]
