from __future__ import annotations

from shared.errors import BadRequestError


class QueryTooLongError(BadRequestError):
    pass


class PageOutOfRangeError(BadRequestError):
    pass
