"""Every exception class of ours derives from ``FrontdeskError``, so one ``except`` catches ours
and nothing of a library's, and the CLI can tell the operator's faults from bugs."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from core.errors import FrontdeskError, OperatorError

PACKAGES = ("core", "bot", "nlp", "ticketing", "rules", "connectors")


def exception_classes() -> list[type[BaseException]]:
    found: list[type[BaseException]] = []
    for package in PACKAGES:
        path = importlib.import_module(package).__path__
        for info in pkgutil.walk_packages(path, f"{package}."):
            if ".migrations" in info.name:  # Alembic's scripts, loaded by Alembic only
                continue
            module = importlib.import_module(info.name)
            found += [
                obj
                for obj in vars(module).values()
                if inspect.isclass(obj)
                and issubclass(obj, BaseException)
                and obj.__module__ == module.__name__
            ]
    return found


def test_every_exception_class_has_the_one_root() -> None:
    classes = exception_classes()
    assert len(classes) >= 30, classes  # the walk found them
    assert [c.__qualname__ for c in classes if not issubclass(c, FrontdeskError)] == []


def test_an_operator_error_is_one_line_with_its_fix() -> None:
    error = OperatorError("the port is in use", fix="choose another with --port")
    assert str(error) == "the port is in use — choose another with --port"
    assert (error.what, error.fix) == ("the port is in use", "choose another with --port")
    assert str(OperatorError("no fix known")) == "no fix known"
