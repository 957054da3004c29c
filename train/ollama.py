"""An Ollama `Modelfile` whose TEMPLATE renders exactly what the stored Jinja template renders.

Ollama templates are Go templates, so the Jinja text cannot be copied. Instead the stored template
is rendered on conversations whose contents are unique markers, and cut at the markers into the
literal pieces around each role (`TemplateParts`): what comes before and after a system prompt,
a user turn, an assistant turn, and the generation prompt, plus what a conversation without a
system prompt starts with (templates such as Qwen's add a default system prompt there). The Go
template is these pieces around `.System` and `.Content`, with no whitespace trimming. Before
anything is written, the pieces are put back together in Python for several conversations (with
and without a system prompt, one and three turns) and compared with the Jinja rendering; a
template that cannot be expressed this way is refused with a clear error, never approximated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from factory.errors import FactoryError

_S, _U1, _A1, _U2, _A2, _U3 = "\x01SYS\x01", "\x01U1\x01", "\x01A1\x01", "\x01U2\x01", "\x01A2\x01", "\x01U3\x01"


class TemplateNotPortable(FactoryError):
    pass


@dataclass(frozen=True)
class TemplateParts:
    no_system: str  # start of a conversation without a system prompt
    system_before: str
    system_after: str
    user_before: str
    user_after: str
    assistant_before: str
    assistant_after: str
    generation: str  # after the last user turn, where the model starts answering


def _render(tokenizer: Any, messages: list[dict[str, str]], generation: bool) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation)


def _cut(text: str, marker: str) -> tuple[str, str]:
    if text.count(marker) != 1:
        raise TemplateNotPortable("the chat template does not show each message's text exactly once")
    before, after = text.split(marker)
    return before, after


def template_parts(tokenizer: Any) -> TemplateParts:
    user1 = [{"role": "user", "content": _U1}]
    turn = [*user1, {"role": "assistant", "content": _A1}]
    alone = _render(tokenizer, user1, False)
    with_prompt = _render(tokenizer, user1, True)
    no_system, user_after = _cut(alone, _U1)
    if not with_prompt.startswith(alone):
        raise TemplateNotPortable("the chat template renders a question differently when a generation prompt follows")
    generation = with_prompt[len(alone):]
    between, assistant_after = _cut(_render(tokenizer, turn, False).split(_U1, 1)[1], _A1)
    if not between.startswith(user_after):
        raise TemplateNotPortable("the chat template changes a question when an answer follows it")
    assistant_before = between[len(user_after):]
    gap = _cut(_render(tokenizer, [*turn, {"role": "user", "content": _U2}], False), _A1)[1].split(_U2)[0]
    if not gap.startswith(assistant_after):
        raise TemplateNotPortable("the chat template changes an answer when another question follows it")
    user_before = gap[len(assistant_after):]
    if not no_system.endswith(user_before):
        raise TemplateNotPortable("the chat template starts the first question differently from later ones")
    system_before, rest = _cut(_render(tokenizer, [{"role": "system", "content": _S}, *user1], False), _S)
    system_after = rest.split(_U1)[0]
    if not system_after.endswith(user_before):
        raise TemplateNotPortable("the chat template starts the first question differently after a system prompt")
    parts = TemplateParts(no_system=no_system[:len(no_system) - len(user_before)], system_before=system_before,
                          system_after=system_after[:len(system_after) - len(user_before)],
                          user_before=user_before, user_after=user_after, assistant_before=assistant_before,
                          assistant_after=assistant_after, generation=generation)
    _check(tokenizer, parts)
    return parts


def render_parts(parts: TemplateParts, messages: list[dict[str, str]], generation: bool) -> str:
    """What the Go template renders for `messages`, computed in Python (it is the same pieces)."""
    system = next((m["content"] for m in messages if m["role"] == "system"), "")
    text = parts.system_before + system + parts.system_after if system else parts.no_system
    for m in messages:
        if m["role"] == "user":
            text += parts.user_before + m["content"] + parts.user_after
        elif m["role"] == "assistant":
            text += parts.assistant_before + m["content"] + parts.assistant_after
    return text + (parts.generation if generation else "")


def _check(tokenizer: Any, parts: TemplateParts) -> None:
    turns = [{"role": "user", "content": "What is NF4?"}, {"role": "assistant", "content": "A 4-bit type."},
             {"role": "user", "content": "什么是量化？"}, {"role": "assistant", "content": "低比特。"},
             {"role": "user", "content": "And LoRA?"}]
    for messages in (turns[:1], turns, [{"role": "system", "content": "Be brief."}, *turns]):
        for generation in (True, False):
            if render_parts(parts, messages, generation) != _render(tokenizer, messages, generation):
                raise TemplateNotPortable("the chat template is not a plain sequence of role wrappers, so no "
                                          "Ollama TEMPLATE renders it exactly")


def _go_literal(text: str) -> str:
    return text.replace("{{", '{{ "{{" }}')


def go_template(parts: TemplateParts) -> str:
    g = _go_literal
    return (f"{{{{ if .System }}}}{g(parts.system_before)}{{{{ .System }}}}{g(parts.system_after)}"
            f"{{{{ else }}}}{g(parts.no_system)}{{{{ end }}}}"
            f"{{{{ range .Messages }}}}{{{{ if eq .Role \"user\" }}}}{g(parts.user_before)}{{{{ .Content }}}}"
            f"{g(parts.user_after)}{{{{ else if eq .Role \"assistant\" }}}}{g(parts.assistant_before)}"
            f"{{{{ .Content }}}}{g(parts.assistant_after)}{{{{ end }}}}{{{{ end }}}}{g(parts.generation)}")


def modelfile(source: str, parts: TemplateParts, stop: list[str], system_prompt: str = "",
              adapter: str | None = None, header: str = "") -> str:
    template = go_template(parts)
    if '"""' in template or '"""' in system_prompt:
        raise TemplateNotPortable('the template or system prompt contains """, which a Modelfile cannot quote')
    lines = [f"# {line}" for line in header.splitlines()] + [f"FROM {source}"]
    if adapter:
        lines.append(f"ADAPTER {adapter}")
    lines.append(f'TEMPLATE """{template}"""')
    if system_prompt:
        lines.append(f'SYSTEM """{system_prompt}"""')
    lines += [f'PARAMETER stop "{s}"' for s in stop if s]
    return "\n".join(lines) + "\n"
