"""Natural-language understanding: intents, sentiment, entities and FAQ matching."""

from nlp.pipeline import Pipeline
from nlp.types import Analysis, AnalysisContext, Analyzer, FaqEntry, TrainingExample

__all__ = ["Analysis", "AnalysisContext", "Analyzer", "FaqEntry", "Pipeline", "TrainingExample"]
