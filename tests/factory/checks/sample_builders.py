"""Tiny builders for check tests: a valid sample with sensible defaults, and a context."""

from factory.checks import CheckContext
from factory.config import ChecksConfig
from factory.sample import Sample, Source

_SOURCE = Source(kind="manual", uri="tests")


def make_sample(**kw) -> Sample:
    fields = {
        "instruction": "What does the LoRA rank control?",
        "output": "The rank sets how many directions the low-rank update can change; higher ranks add capacity and memory.",
        "source": _SOURCE,
    }
    return Sample(**(fields | kw))


def make_context(reference=(), **config) -> CheckContext:
    return CheckContext(ChecksConfig(**config), reference=tuple(reference))


def codes(flags) -> list[str]:
    """The reason codes of a check's flags, in order."""
    return [finding.code for _, finding in flags]
