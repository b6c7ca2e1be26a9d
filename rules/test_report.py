"""The summary of a ``frontdesk rules test --all`` run: pass rate, known failures, rule coverage.

A rulebook's tests are only as good as what they exercise, so the run also names every rule no
test or story fired: an admin sees at once which rule could change without a test noticing.
Known failures (``known_failures:``, :class:`~rules.testcases.KnownFailure`) are counted apart
from the passing cases and from the real failures: they document what the bot gets wrong today
without turning CI red, and one that starts passing is reported as such (and fails the run, so
the list cannot go stale).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rules.testcases import CaseResult, KnownFailure

__all__ = ["TestReport", "outcome", "report_of"]


@dataclass(frozen=True, slots=True)
class TestReport:
    __test__ = False  # not a pytest class

    total: int
    passed: int  # tests and stories expected to pass that passed
    failed: tuple[CaseResult, ...]  # expected to pass, failed: the run fails
    known: tuple[CaseResult, ...]  # known failures that still fail: reported, the run passes
    fixed: tuple[CaseResult, ...]  # known failures that now pass: move them to stories
    uncovered: tuple[str, ...]  # rules of the rulebook no test or story fired

    @property
    def pass_rate(self) -> float:
        """Share of all cases, known failures included, that behave as the customer needs."""
        return (self.passed + len(self.fixed)) / self.total if self.total else 0.0

    @property
    def ok(self) -> bool:
        return not self.failed and not self.fixed

    def summary(self) -> str:
        return (
            f"{self.passed + len(self.fixed)} of {self.total} pass ({self.pass_rate:.1%}); "
            f"{len(self.failed)} failed, {len(self.known)} known failures, "
            f"{len(self.fixed)} known failures now pass"
        )


def outcome(result: CaseResult) -> str:
    """PASS, FAIL, KNOWN (a known failure, still failing) or FIXED (a known failure that passes)."""
    if isinstance(result.case, KnownFailure):
        return "FIXED" if result.passed else "KNOWN"
    return "PASS" if result.passed else "FAIL"


def report_of(results: Sequence[CaseResult], rules: Iterable[str]) -> TestReport:
    by: dict[str, list[CaseResult]] = {"PASS": [], "FAIL": [], "KNOWN": [], "FIXED": []}
    for r in results:
        by[outcome(r)].append(r)
    fired = set().union(*(r.fired for r in results)) if results else set()
    return TestReport(
        total=len(results),
        passed=len(by["PASS"]),
        failed=tuple(by["FAIL"]),
        known=tuple(by["KNOWN"]),
        fixed=tuple(by["FIXED"]),
        uncovered=tuple(name for name in rules if name not in fired),
    )
