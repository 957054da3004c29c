"""`factory chat RUN_ID`: talk to a tuned model with the template it was trained with.

The session keeps the conversation as messages and renders it with the stored template every
turn, exactly as training rendered a sample with history, so multi-turn prompts match too.
The CLI does the reading and printing; this module only holds the conversation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from factory.workspace import Workspace
from train.generation import LoadedRun, load_run
from train.runs import resolve_run


@dataclass
class ChatSession:
    loaded: LoadedRun
    system_prompt: str = ""
    history: list[dict[str, str]] = field(default_factory=list)

    def messages(self, text: str) -> list[dict[str, str]]:
        """The conversation so far plus `text`, as the model will see it."""
        system = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        return [*system, *self.history, {"role": "user", "content": text}]

    def reply(self, text: str, *, base: bool = False) -> str:
        answer = self.loaded.generate([self.messages(text)], batch_size=1, base=base)[0]
        self.history += [{"role": "user", "content": text}, {"role": "assistant", "content": answer}]
        return answer

    def reset(self) -> None:
        self.history.clear()


def open_chat(ws: Workspace, run_id: str, system_prompt: str | None = None) -> ChatSession:
    loaded = load_run(resolve_run(ws, run_id))
    return ChatSession(loaded, loaded.template.system_prompt if system_prompt is None else system_prompt)
