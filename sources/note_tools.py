"""The tool a short how-to note is about, named from its folder or its title.

Collections of short notes (a today-I-learned log, a personal wiki) file each note under the tool
it is about: `vim/toggle-syntax-highlighting.md`, `postgres/escaping-a-quote.md`. The heading
alone ("Toggle Syntax Highlighting") then makes a question vaguer than its answer: "How do I
toggle syntax highlighting?" is about Vim only in the note's folder. `tool_of_note` reads that
folder (or a title that is only a tool's name) against a closed list of tools, so a folder called
`training/` or `debug/` names nothing, and `with_tool` puts the tool into a question that does
not name it yet: "In Vim, how do I toggle syntax highlighting?", "在 Vim 中，如何切换语法高亮？".
"""

from __future__ import annotations

import re

from sources.note_render import has_cjk

# folder or title (lower case) -> how the tool is written, and other names that count as naming it.
_TOOLS: dict[str, tuple[str, tuple[str, ...]]] = {
    "ack": ("ack", ()), "ansible": ("Ansible", ()), "astro": ("Astro", ()), "aws": ("AWS", ()),
    "bash": ("Bash", ("shell",)), "brew": ("Homebrew", ("brew",)), "homebrew": ("Homebrew", ("brew",)),
    "chrome": ("Chrome", ("devtools", "vimium")), "claude-code": ("Claude Code", ()),
    "clojure": ("Clojure", ("clojurescript", "lein", "leiningen")), "css": ("CSS", ("scss", "sass")),
    "cursor": ("Cursor", ()), "docker": ("Docker", ()), "drizzle": ("Drizzle", ()),
    "elixir": ("Elixir", ("iex", "ecto", "exunit", "mix")), "emacs": ("Emacs", ()), "erlang": ("Erlang", ()),
    "git": ("git", ()), "github": ("GitHub", ("gh",)), "github-actions": ("GitHub Actions", ()),
    "go": ("Go", ("golang",)), "golang": ("Go", ("golang",)), "groq": ("GROQ", ()), "haskell": ("Haskell", ()),
    "heroku": ("Heroku", ()), "html": ("HTML", ()), "http": ("HTTP", ()), "inngest": ("Inngest", ()),
    "java": ("Java", ()), "javascript": ("JavaScript", ("js", "node", "npm", "yarn", "jest", "es6")),
    "jj": ("jj", ("jujutsu",)), "jq": ("jq", ()), "kitty": ("kitty", ()), "kotlin": ("Kotlin", ()),
    "kubernetes": ("Kubernetes", ("k8s", "kubectl")), "langchain": ("LangChain", ()), "linux": ("Linux", ("ubuntu",)),
    "lua": ("Lua", ()), "mac": ("macOS", ("mac", "osx", "finder")), "macos": ("macOS", ("mac", "osx")),
    "mise": ("mise", ()), "mongodb": ("MongoDB", ("mongo",)), "mysql": ("MySQL", ()), "neovim": ("Neovim", ("nvim",)),
    "netlify": ("Netlify", ()), "nextjs": ("Next.js", ("next",)), "nginx": ("nginx", ()), "nix": ("Nix", ()),
    "node": ("Node.js", ("node",)), "nodejs": ("Node.js", ("node",)), "ocaml": ("OCaml", ()),
    "phoenix": ("Phoenix", ()), "planetscale": ("PlanetScale", ()), "pnpm": ("pnpm", ()),
    "postgres": ("PostgreSQL", ("postgres", "psql", "sql")), "postgresql": ("PostgreSQL", ("postgres", "psql", "sql")),
    "prisma": ("Prisma", ()), "python": ("Python", ("pip", "pytest")), "pytorch": ("PyTorch", ("torch",)),
    "rails": ("Rails", ("activerecord", "active record", "rspec")), "react": ("React", ("jsx",)),
    "react-native": ("React Native", ()), "react-testing-library": ("React Testing Library", ()),
    "reason": ("ReasonML", ("reason",)), "redis": ("Redis", ()), "remix": ("Remix", ()),
    "ruby": ("Ruby", ("rspec", "irb", "pry", "gem", "bundler", "rake")), "rust": ("Rust", ("cargo",)),
    "sed": ("sed", ()), "sql": ("SQL", ()), "sqlite": ("SQLite", ()), "svelte": ("Svelte", ()),
    "swift": ("Swift", ()), "tailwind": ("Tailwind CSS", ("tailwind",)), "taskfile": ("Taskfile", ("task",)),
    "terraform": ("Terraform", ()), "tmux": ("tmux", ()), "typescript": ("TypeScript", ("ts", "tsconfig")),
    "unix": ("Unix", ("shell", "terminal", "bash", "zsh", "linux")), "vercel": ("Vercel", ()),
    "vim": ("Vim", ("vimrc", "neovim", "nvim", "netrw")), "vscode": ("VS Code", ("vscode", "visual studio code")),
    "vue": ("Vue", ()), "webpack": ("webpack", ()), "xstate": ("XState", ()), "yaml": ("YAML", ()),
    "zed": ("Zed", ()), "zod": ("Zod", ()), "zsh": ("Zsh", ("zshrc", "shell")),
}
# Names that are also common words ("go", "next", "task", "cursor") name a tool only in its own folder.
_COMMON_WORDS = frozenset("go next task reason mix gem node mac shell terminal ts js rake pry ack cursor remix "
                          "phoenix astro drizzle prisma kitty swift rust vue sed zed mise jj gh task sql".split())
_ANY_TOOL = {n for key, (name, _) in _TOOLS.items() for n in (key, name.lower())} - _COMMON_WORDS
_WORD = re.compile(r"[a-z0-9][a-z0-9.+#-]*[a-z0-9+#]|[a-z0-9]")


def _key(text: str) -> str:
    return re.sub(r"^\d+[.\-_ ]*", "", text.strip().lower()).replace(" ", "-")  # "1.langchain" -> "langchain"


def tool_of_note(uri: str, title: str | None) -> str | None:
    """The tool the note's folder or its title names, written as the tool writes itself."""
    parts = uri.replace("\\", "/").split("/")
    if len(parts) >= 2 and (found := _TOOLS.get(_key(parts[-2]))):
        return found[0]
    if title and (found := _TOOLS.get(_key(title))):
        return found[0]
    return None


def names_a_tool(text: str, tool: str) -> bool:
    """Whether `text` already names `tool` (or one of its other names: "psql" for PostgreSQL), or
    another tool by a name that is no common word ("… with git switch", "… in zsh")."""
    lower = text.lower().replace("`", "")
    words = set(_WORD.findall(lower))
    own = {tool.lower()} | {n for key, (name, aliases) in _TOOLS.items() if name == tool for n in (key, *aliases)}

    def named(name: str) -> bool:
        return name in lower if " " in name else name in words

    return any(named(n) for n in own) or any(named(n) for n in _ANY_TOOL)


def with_tool(question: str, tool: str) -> str:
    """The question with the tool it is about in front, unless it names a tool already."""
    if names_a_tool(question, tool):
        return question
    if has_cjk(question):
        return f"在 {tool} 中，{question}"
    first, _, rest = question.partition(" ")
    keep = first == "I" or first[1:2].isupper() or not first[:1].isupper()  # "I", "GPG", "npm"
    return f"In {tool}, {first if keep else first[0].lower() + first[1:]} {rest}".rstrip()
