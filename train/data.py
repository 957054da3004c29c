"""A frozen version's splits as token ids and labels, ready for the trainer.

Each sample is encoded with the stored chat template (`template.encode_example`): labels are
-100 on the prompt, and the answer's labels end with the end-of-turn marker. A sample longer than
`max_length` is left out with a warning rather than cut: a cut answer would lose its end-of-turn
and teach the model not to stop (the `too_many_tokens` check catches these before freezing when
`checks.tokenizer` is set).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from factory.errors import BadInput
from train.template import encode_example, record_messages

log = logging.getLogger(__name__)


@dataclass
class EncodedSplit:
    rows: list[dict[str, list[int]]]
    left_out: list[str] = field(default_factory=list)  # ids of samples longer than max_length

    @property
    def tokens(self) -> int:
        return sum(len(r["input_ids"]) for r in self.rows)

    @property
    def answer_tokens(self) -> int:
        return sum(sum(1 for x in r["labels"] if x != -100) for r in self.rows)

    def dataset(self) -> Any:
        from datasets import Dataset

        return Dataset.from_list(self.rows)

    def summary(self) -> dict[str, int]:
        return {"samples": len(self.rows), "left_out_too_long": len(self.left_out), "tokens": self.tokens,
                "answer_tokens": self.answer_tokens}


def encode_records(tokenizer: Any, records: list[dict[str, Any]], max_length: int, system_prompt: str = "",
                   split: str = "train") -> EncodedSplit:
    result = EncodedSplit(rows=[])
    for record in records:
        input_ids, labels = encode_example(tokenizer, record_messages(record, system_prompt))
        if len(input_ids) > max_length:
            result.left_out.append(record.get("id", "?"))
            continue
        result.rows.append({"input_ids": input_ids, "labels": labels})
    if result.left_out:
        shown = ", ".join(result.left_out[:5]) + (" ..." if len(result.left_out) > 5 else "")
        log.warning("%s: %d samples are longer than max_length=%d tokens and are left out (%s)", split,
                    len(result.left_out), max_length, shown)
    if records and not result.rows:
        raise BadInput(f"{split}: every sample is longer than max_length={max_length} tokens; raise max_length")
    return result
