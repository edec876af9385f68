"""Answering a drawn knowledge check as a trainee would: by the positions shown."""

from __future__ import annotations

from app.training import services


def positions(draw, question, chosen) -> list[str]:
    """The shown positions (form values) of the bank's choice indexes `chosen`."""
    order = draw.order_of(question.id)
    return [str(order.index(i)) for i in sorted(chosen)]


def answer_form(draw, right=True, wrong_ids=()) -> dict:
    """Form data answering every question of `draw`: rightly, except the questions in
    `wrong_ids` (or all of them when `right` is False)."""
    module = services.curriculum().get(draw.module_slug)
    data: dict = {"attempt": str(draw.id)}
    for qid in draw.question_ids:
        question = module.check.question(qid)
        if right and qid not in wrong_ids:
            chosen = question.answers
        else:
            chosen = {next(i for i in range(len(question.choices)) if i not in question.answers)}
        data[f"q-{qid}"] = positions(draw, question, chosen)
    return data
