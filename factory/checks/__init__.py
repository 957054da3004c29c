"""Checks: pure functions of a batch of samples that return findings.

A check does no I/O, no counting and no store access, so the same function runs in a test, in
the CLI runner, and under `datasets.map(num_proc=...)` or Ray Data. The runner that calls
`run_checks` records the findings, rejects on severity "reject" and keeps the stats.

    findings = run_checks(batch, CheckContext(config.checks, reference=live_samples))

For samples from notes the caller passes `source_texts` (sample id -> the note section's text,
read once per note by `factory.checking.source_texts`), so `formulas` can compare the answer's
math with the note's and `junk`/`answers` can look at what the answer left out.

With `checks.tokenizer` set, the caller also passes
`count_tokens=factory.tokens.load_token_counter(config.checks.tokenizer)` (loaded once, outside
the checks), and `length` then checks tokens too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from factory.config import ChecksConfig
from factory.errors import BadInput
from factory.sample import Finding, Sample, Severity

Flag = tuple[str, Finding]  # (sample_id, finding)


@dataclass(frozen=True)
class CheckContext:
    config: ChecksConfig
    # Other live samples (approved or already checked). Batch samples are compared against
    # them for duplicates; they are never flagged themselves.
    reference: Sequence[Sample] = ()
    # Token counts of a batch of texts with the training tokenizer (`factory.tokens.
    # load_token_counter(config.tokenizer)`); None when `checks.tokenizer` is empty, and then
    # lengths are only checked in characters.
    count_tokens: Callable[[Sequence[str]], list[int]] | None = None
    # The text each note sample was made from, by sample id: its note's lines at the sample's
    # locator (and an LLM pair's evidence quote). The runner reads them (`factory.checking.
    # source_texts`); a sample without an entry is not compared with its source.
    source_texts: Mapping[str, str] = field(default_factory=dict)


Check = Callable[[Sequence[Sample], CheckContext], list[Flag]]

# Imported after the types above: the modules refer to them (only for annotations).
from factory.checks import (  # noqa: E402
    answers,
    context,
    duplicates,
    fields,
    formulas,
    junk,
    language,
    length,
    markdown,
    near_duplicates,
    questions,
)

_MODULES = (fields, questions, junk, answers, context, formulas, markdown, length, language, duplicates, near_duplicates)

CHECKS: dict[str, Check] = {
    fields.NAME: fields.check_fields,
    questions.NAME: questions.check_questions,
    junk.NAME: junk.check_junk,
    answers.NAME: answers.check_answers,
    context.NAME: context.check_context,
    formulas.NAME: formulas.check_formulas,
    markdown.NAME: markdown.check_markdown,
    length.NAME: length.check_length,
    language.NAME: language.check_language,
    duplicates.NAME: duplicates.check_exact_duplicates,
    near_duplicates.NAME: near_duplicates.check_near_duplicates,
}

REASON_CODES: dict[str, tuple[Severity, str]] = {code: v for m in _MODULES for code, v in m.REASON_CODES.items()}


def run_checks(
    batch: Sequence[Sample], ctx: CheckContext, names: Iterable[str] | None = None
) -> dict[str, list[Finding]]:
    """Findings per batch sample id (an empty list when clean), checks in `CHECKS` order.

    `ctx.config.severity` overrides the default severity of a reason code.
    """
    selected = set(CHECKS) if names is None else set(names)
    unknown = selected - set(CHECKS)
    if unknown:
        raise BadInput(f"unknown check(s) {', '.join(sorted(unknown))}; choose from {', '.join(CHECKS)}")
    overrides = ctx.config.severity
    result: dict[str, list[Finding]] = {s.id: [] for s in batch}
    for name, check in CHECKS.items():
        if name not in selected:
            continue
        for sample_id, finding in check(batch, ctx):
            severity = overrides.get(finding.code, finding.severity)
            if severity != finding.severity:
                finding = finding.model_copy(update={"severity": severity})
            result[sample_id].append(finding)
    return result
