"""The NLP entry point: text in, :class:`~nlp.types.Analysis` out."""

from __future__ import annotations

from collections.abc import Iterable

from nlp.faq import FaqMatcher
from nlp.types import Analysis, AnalysisContext, FaqEntry

__all__ = ["Pipeline"]


class Pipeline:
    """Walking-skeleton pipeline: FAQ candidates only; intents, sentiment and entities follow."""

    def __init__(self, *, faqs: Iterable[FaqEntry] = ()) -> None:
        self._faq = FaqMatcher(faqs)

    def analyze(self, text: str, context: AnalysisContext) -> Analysis:
        return Analysis(
            text=text,
            language=context.language or "en",
            faq=self._faq.match(text),
        )
