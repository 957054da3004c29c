"""Word lists the question templates read headings with: English verbs and their forms.

A heading that starts with a verb names a task ("Get The Size Of A Database", "Installing CUDA")
or gives advice ("Don't buy what you don't really need"); one whose verb comes later states a fact
("Postgres Does Not Support Unsigned Integers"). These lists tell the verbs apart from nouns.
"""

from __future__ import annotations

import re

# Verbs that start how-to headings; in a heading's first place they are verbs, not nouns.
TASK_VERBS = frozenset("""
access add adjust aggregate alias allow alter amend animate annotate append apply archive assert assign
attach authenticate auto-format autoload avoid backup bind block boot break build bump bundle bypass cache
calculate call cancel capture cast catch change checkout check cherry-pick choose clean clear clone close
coerce collapse collect colorize combine comment commit compare compile compose compress compute concat
concatenate configure confirm connect construct contain control convert copy count create curl customize
cut deal debounce debug decode decompose decrypt deduplicate default define delete deploy deprecate
describe destructure detect determine diagnose diff disable disassemble discard dispatch display do download
drop dump duplicate echo edit embed emit emulate enable encode encrypt enforce ensure enter escape evaluate
exclude execute exit expand explore export expose extend extract fetch figure filter find fix flatten flip
focus fold force format forward freeze generate get go grab grep group guard handle hide highlight hook
identify ignore implement import improve include increase indent initialize inject insert inspect install
interpolate interrupt invert invoke isolate iterate join jump keep kill label launch lazy-load let limit
link lint list load lock log look lower make manage map mark mask match measure memoize merge migrate
minify mock modify monitor mount move mute name navigate negate normalize obtain offset omit open optimize
order output overwrite override pack paginate parameterize parse pass paste patch pause perform persist
pin pipe plan play plot point populate prefer preload prepare prepend preserve pretend prettify prevent
preview print process profile prompt protect provide prune publish pull purge push put query queue quit
quote raise read rebase rebuild recover redact redirect reduce refactor reference refresh regenerate
register reload remap remove rename render reorder repair repeat replace replay reproduce request require
rerun rescue reset resize resolve respond restart restore resume retrieve retry return reuse reveal
reverse revert review rewrite rotate run sanitize save scale schedule scroll search seed select send
separate serve set setup share shift shorten show shuffle sign silence simplify skip sleep slice sort
source spawn specify speed split spy squash stage start stash step stop store stream strip stub style
submit subscribe substitute sum suppress swap switch sync synchronize tag tail take tell test toggle
track train transform transpose traverse trigger trim truncate try tune turn tweak type undo uninstall
unlock unpack unset unstage untrack unwrap update upgrade upload use validate verify view visualize wait
watch whitelist wipe wrap write yank zip zoom see loop page pattern-match squash reclassify classify
rent buy pay hire budget benchmark measure estimate
""".split())

# Words that lead noun phrases as often as tasks ("Default Schema", "Type of Anything"): a verb
# only before an object ("Set The Title Of A Window", "Training the model").
NOUN_FIRST = frozenset("""
block cache comment control default group label limit loop map match name note order output page pattern point
process profile query queue range sample source stage step stream string style table type word
""".split())
# Verbs as often as nouns, but in a Title Case heading of three words or more a task ("List Available
# File Types", "Log SQL Queries Executed By ActiveRecord").
TITLE_VERBS = frozenset("count display filter format link list log mark reference search see set show sort tag test track view"
                        .split())
# Two-word verbs: "Cherry Pick Multiple Commits", "Pretty Print The Last Thing".
PHRASAL_VERBS = {"cherry pick": "cherry-pick", "pretty print": "pretty-print", "fast forward": "fast-forward",
                 "dry run": "dry-run", "double click": "double-click", "force push": "force-push",
                 "hard reset": "hard-reset", "soft reset": "soft-reset", "live reload": "live-reload",
                 "pattern match": "pattern-match"}
# Gerunds that name a field rather than a task on their own ("Batching", "Sampling", "Logging").
FIELD_GERUNDS = frozenset("""
batching benchmarking caching computing debugging decoding embedding encoding engineering fine-tuning
learning logging masking monitoring networking padding planning pooling pricing processing profiling
programming prompting reasoning sampling scheduling serving testing tracing training tuning understanding
""".split())
OBJECT_STARTS = frozenset("""
the a an your our my this that these those it them all any each every some multiple specific only just
up out off down over into onto from with without for to in on by via across between if whether how which
what when where who one two three several more less many certain another other both either
""".split())

# Advice: "Always plan…", "Beware of…", "Don't…": asked as "Why should you…?".
ADVICE_STARTS = ("always", "beware", "ensure", "make sure", "prefer", "remember", "consider", "never", "avoid",
                 "know", "ask", "say", "be ", "don't", "do not", "dont", "stop", "keep", "plan", "think",
                 "expect", "trust", "learn")

AUXILIARIES = {
    "is": "is", "are": "are", "was": "was", "were": "were", "can": "can", "can't": "can", "cannot": "can",
    "will": "will", "won't": "will", "should": "should", "must": "must", "could": "could", "would": "would",
    "may": "may", "might": "might", "isn't": "is", "aren't": "are", "wasn't": "was", "weren't": "were",
}
_DO_FORMS = {"does": "does", "do": "do", "did": "did", "doesn't": "does", "don't": "do", "didn't": "did"}
_VOWELS = "aeiou"


def gerund(verb: str) -> str:
    """'choose' -> 'choosing', 'get' -> 'getting', 'install' -> 'installing'."""
    if verb.endswith("ie"):
        return verb[:-2] + "ying"
    if verb.endswith("e") and not verb.endswith(("ee", "ye", "oe")) and len(verb) > 2:
        return verb[:-1] + "ing"
    groups = re.findall(f"[{_VOWELS}]+", verb)
    if len(groups) == 1 and re.search(f"[^{_VOWELS}][{_VOWELS}][^{_VOWELS}wxy]$", verb):
        return verb + verb[-1] + "ing"
    return verb + "ing"


def base_of_gerund(word: str) -> str | None:
    """'installing' -> 'install', 'making' -> 'make', 'running' -> 'run'; None when no known verb."""
    lower = word.lower()
    if not lower.endswith("ing") or len(lower) < 5:
        return None
    stem = lower[:-3]
    candidates = [stem, stem + "e", stem[:-1] if len(stem) > 2 and stem[-1] == stem[-2] else None,
                  stem[:-1] + "ie" if stem.endswith("y") else None]
    return next((c for c in candidates if c and c in TASK_VERBS), None)


def base_of_third_person(word: str) -> str | None:
    """'requires' -> 'require', 'matters' -> 'matter', 'has' -> 'have'; None when no verb."""
    lower = word.lower()
    if lower == "has":
        return "have"
    if not lower.endswith("s") or lower.endswith("ss") or len(lower) < 4:
        return None
    for base in (lower[:-1], lower[:-2] if lower.endswith("es") else None,
                 lower[:-3] + "y" if lower.endswith("ies") else None):
        if base and base in _STATE_VERBS:
            return base
    return None


def base_of_third_person_task(word: str) -> str | None:
    """'tracks' -> 'track', 'applies' -> 'apply' for a task verb that is no common noun ('lists',
    'hooks' and 'tables' stay nouns); None otherwise."""
    lower = word.lower()
    if not lower.endswith("s") or lower.endswith("ss") or len(lower) < 5:
        return None
    for base in (lower[:-3] + "y" if lower.endswith("ies") else None, lower[:-2] if lower.endswith("es") else None,
                 lower[:-1]):
        if base and base in TASK_VERBS and base not in NOUN_FIRST and base not in TITLE_VERBS - {"track"}:
            return base
    return None


# Verbs that state a fact about their subject: "Order Matters For…", "Filter Blur Requires…".
_STATE_VERBS = frozenset("""
matter work need support accept happen mean belong depend exist differ behave break fail require take
give have contain appear act look seem affect expect treat outperform beat win lose cost return allow
ignore include respect preserve prefer override apply run use
""".split())


def inverted_question(words: list[str]) -> str | None:
    """A statement heading as the yes/no question it answers: 'Postgres Does Not Support Unsigned
    Integers' -> 'Does Postgres support unsigned integers?'. Words are already in sentence case."""
    for i, word in enumerate(words[1:6], start=1):
        lower = word.lower()
        rest = words[i + 1:]
        if rest and rest[0].lower() == "not":
            rest = rest[1:]
        subject = " ".join(words[:i])
        if lower in AUXILIARIES:
            return f"{AUXILIARIES[lower].capitalize()} {subject} {' '.join(rest)}?".replace("  ", " ")
        if lower in _DO_FORMS:
            return f"{_DO_FORMS[lower].capitalize()} {subject} {' '.join(rest)}?".replace("  ", " ")
        base = base_of_third_person(word)
        if base and rest:
            return f"Does {subject} {base} {' '.join(rest)}?"
        if lower in ("have",) and rest:
            return f"Do {subject} have {' '.join(rest)}?"
        if not re.fullmatch(r"[\w`'.:!*/@#-]+", word):
            return None
    return None
