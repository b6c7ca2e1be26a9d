"""Natural-language understanding: intents, sentiment, entities and FAQ matching.

The server builds one :class:`Pipeline` at start-up and calls :meth:`Pipeline.analyze` per
message; :class:`ModelStore` loads and (re)trains the intent model behind it.
"""

from nlp.entities import InvalidPatternError
from nlp.intent import IntentConfig
from nlp.intent_model import IntentModel
from nlp.models import ModelStore, ModelStoreError
from nlp.pipeline import Pipeline
from nlp.training import TrainingError, train, training_hash
from nlp.types import (
    Analysis,
    AnalysisContext,
    Analyzer,
    Entity,
    EntityPattern,
    FaqCandidate,
    FaqEntry,
    GazetteerEntry,
    IntentScore,
    Sentiment,
    TrainingExample,
)

__all__ = [
    "Analysis",
    "AnalysisContext",
    "Analyzer",
    "Entity",
    "EntityPattern",
    "FaqCandidate",
    "FaqEntry",
    "GazetteerEntry",
    "IntentConfig",
    "IntentModel",
    "IntentScore",
    "InvalidPatternError",
    "ModelStore",
    "ModelStoreError",
    "Pipeline",
    "Sentiment",
    "TrainingError",
    "TrainingExample",
    "train",
    "training_hash",
]
