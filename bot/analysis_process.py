"""What runs inside an analysis worker process, and the wire format both sides speak.

``python -m bot.analysis_process PARENT_PID`` is started by :class:`bot.analysis_workers.AnalysisWorkers`.
Frames are a 4-byte length and a pickle, over the worker's stdin (requests) and stdout (answers).
The module imports nothing of ours at the top: a worker first makes sure it dies with the service,
then imports the NLP modules, then says it is ready.

- service → worker: ``("pipeline", key, pickled Pipeline)``, ``("forget", key)``,
  ``("analyze", batch id, key, [(text, channel, language), ...])``
- worker → service: ``("ready",)``, ``("done", batch id, [encoded Analysis, ...])``,
  ``("failed", batch id, error text)``
"""

from __future__ import annotations

import os
import pickle
import struct
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nlp.types import Analysis

__all__ = ["HEADER", "decode", "encode"]

HEADER = struct.Struct("!I")


def _worker_main(parent: int) -> None:
    """The worker process: read a request, answer it, until the service closes our stdin."""
    import signal

    _die_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the service, which stops us
    import nlp  # noqa: F401 - the pipeline's modules, loaded before we say we are ready
    from bot.gc_tuning import settle_heap

    requests = os.fdopen(os.dup(0), "rb")
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print() must not corrupt the answers
    pipelines: dict[int, Any] = {}

    def send(message: object) -> None:
        body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        answers.write(HEADER.pack(len(body)) + body)
        answers.flush()

    send(("ready",))
    while True:
        header = requests.read(HEADER.size)
        if len(header) < HEADER.size:
            return
        (size,) = HEADER.unpack(header)
        message = pickle.loads(requests.read(size))  # noqa: S301 - our parent's pipe
        kind = message[0]
        if kind == "pipeline":
            pipeline = pipelines[message[1]] = pickle.loads(message[2])  # noqa: S301 - as above
            warm = getattr(pipeline, "warm", None)  # the language models: before a message waits
            if warm is not None:
                warm()
            settle_heap()  # the pipeline lives until replaced; see bot.gc_tuning
        elif kind == "forget":
            pipelines.pop(message[1], None)
        elif kind == "analyze":
            _, batch_id, key, items = message
            try:
                send(("done", batch_id, _analyze_all(pipelines[key], items)))
            except Exception as exc:
                send(("failed", batch_id, f"{type(exc).__name__}: {exc}"))


def _die_with(parent: int) -> None:
    """On Linux the kernel kills us when the service dies: a killed service cannot close our
    stdin in time to stop a worker that is still importing, and restarts would pile up workers."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # it died before we asked
        raise SystemExit(0)


def _analyze_all(pipeline: Any, items: list[tuple[str, str, str | None]]) -> list[tuple[Any, ...]]:
    from nlp.types import AnalysisContext

    batch = [(text, AnalysisContext(channel, language)) for text, channel, language in items]
    many = getattr(pipeline, "analyze_many", None)
    results = many(batch) if many is not None else [pipeline.analyze(t, c) for t, c in batch]
    return [encode(a) for a in results]


# Analyses travel as plain tuples: unpickling frozen dataclasses goes through a Python-level
# __setstate__ per object (ten or more per analysis), which cost the event loop more than the
# rest of the exchange. tests/webchat/test_workers.py pins the round trip to equality.


def encode(a: Analysis) -> tuple[Any, ...]:
    return (
        a.text,
        a.language,
        tuple((i.name, i.confidence) for i in a.intents),
        a.out_of_scope,
        a.sentiment.score,
        a.sentiment.label,
        tuple((e.type, e.text, e.value, e.start, e.end) for e in a.entities),
        tuple((f.faq_id, f.question, f.answer, f.score) for f in a.faq),
        a.model_version,
        a.complaint,
        a.complaint_confidence,
        a.detected_language,
    )


def decode(fields: tuple[Any, ...]) -> Analysis:
    from nlp.types import Analysis, Entity, FaqCandidate, IntentScore, Sentiment

    text, language, intents, out_of_scope, score, label, entities, faq, model_version, complaint, *rest = (
        fields
    )
    sure, detected = rest
    return Analysis(
        text=text,
        language=language,
        intents=tuple(IntentScore(name, confidence) for name, confidence in intents),
        out_of_scope=out_of_scope,
        sentiment=Sentiment(score, label),
        entities=tuple(Entity(*entity) for entity in entities),
        faq=tuple(FaqCandidate(*candidate) for candidate in faq),
        model_version=model_version,
        complaint=complaint,
        complaint_confidence=sure,
        detected_language=detected,
    )


if __name__ == "__main__":
    _worker_main(int(sys.argv[1]))
