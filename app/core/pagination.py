"""Page numbers from query strings, clamped so a huge ?page= cannot overflow OFFSET."""

MAX_PAGE = 1_000_000


def clamp_page(page: int | None) -> int:
    return min(max(page or 1, 1), MAX_PAGE)
