"""Page numbers from query strings, clamped so a huge ?page= cannot overflow OFFSET; and a
small Page for lists paged by hand (what templates/macros/pagination.html needs)."""

from __future__ import annotations

from dataclasses import dataclass

MAX_PAGE = 1_000_000


def clamp_page(page: int | None) -> int:
    return min(max(page or 1, 1), MAX_PAGE)


@dataclass(frozen=True)
class Page:
    items: list
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1
