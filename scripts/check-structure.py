#!/usr/bin/env python3
"""Structure checks run by CI (scripts/test.sh):

1. No function over MAX_FN_LINES lines in the Rust sources of the crates, native/, wasm/ and
   web/ (test code excluded: `#[cfg(test)]` items and the `tests/` folders; data tables are
   `const`/`static` items, not functions, so they never count).
2. The command line is the top of native/: no file outside `native/src/cli/` uses one inside.
3. No import cycle between the files of one crate: file A depends on file B when A names an
   item that B defines (through `use`, or a path such as `super::b::f()`), with re-exports
   (`pub use`) followed to the file that defines the item. A module root's `mod` and
   `pub use` lines are declarations, not dependencies.

Usage: scripts/check-structure.py [--max-fn-lines N]. Exits 1 and lists what it found.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRATES = sorted(
    [p for p in (ROOT / "crates").iterdir() if (p / "src").is_dir()]
    + [ROOT / "native", ROOT / "wasm", ROOT / "web"]
)
MAX_FN_LINES = 120


def strip(text):
    """The text with comments, string and char literals blanked (newlines kept)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "r" and re.match(r'r#*"', text[i:]) and not (
            i and (text[i - 1].isalnum() or text[i - 1] == "_")
        ):
            m = re.match(r'r(#*)"', text[i:])
            end = '"' + m.group(1)
            j = text.find(end, i + len(m.group(0)))
            j = n if j < 0 else j + len(end)
            out.append('""' + re.sub(r"[^\n]", " ", text[i + 2 : j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append('"' + re.sub(r"[^\n]", " ", text[i + 1 : j]) + '"')
            i = j + 1
        elif c == "'":
            m = re.match(r"'(\\.[^']*|[^\\'])'", text[i:])
            if m:
                out.append(" " * len(m.group(0)))
                i += len(m.group(0))
            else:  # a lifetime
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def matching(text, open_at):
    """Index of the brace closing the one at `open_at`."""
    depth = 0
    for j in range(open_at, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    return len(text) - 1


def without_tests(code):
    """`code` with `#[cfg(test)]` items blanked."""
    for m in reversed(list(re.finditer(r"#\[cfg\(test\)\]", code))):
        brace = code.find("{", m.end())
        semi = code.find(";", m.end())
        if brace < 0 or (0 <= semi < brace):
            continue
        end = matching(code, brace)
        code = code[: m.start()] + re.sub(r"[^\n]", " ", code[m.start() : end + 1]) + code[end + 1 :]
    return code


def long_functions(path, code, limit):
    found = []
    for m in re.finditer(r"\bfn\s+([A-Za-z_][A-Za-z0-9_]*)", code):
        # The body: the first `{` after the signature, unless a `;` (a declaration) comes first.
        depth, j = 0, m.end()
        while j < len(code):
            ch = code[j]
            if ch in "(<[":
                depth += 1
            elif ch in ")>]":
                depth -= 1
            elif ch == ";" and depth <= 0:
                j = -1
                break
            elif ch == "{" and depth <= 0:
                break
            j += 1
        if j < 0 or j >= len(code):
            continue
        end = matching(code, j)
        first = code.count("\n", 0, m.start()) + 1
        last = code.count("\n", 0, end) + 1
        if last - first + 1 > limit:
            found.append(f"{path.relative_to(ROOT)}:{first}: fn {m.group(1)} has {last - first + 1} lines (at most {limit})")
    return found


class Crate:
    def __init__(self, root):
        self.root = root
        self.src = root / "src"
        self.files = {}  # module path tuple -> file
        for f in sorted(self.src.rglob("*.rs")):
            rel = f.relative_to(self.src).with_suffix("")
            parts = list(rel.parts)
            if parts[0] == "bin":
                continue
            if parts[-1] in ("mod", "lib"):
                parts = parts[:-1]
            self.files[tuple(parts)] = f
        self.code = {m: without_tests(strip(f.read_text())) for m, f in self.files.items()}
        self.reexports = {m: self.parse_reexports(m) for m in self.files}

    def is_root(self, module):
        return self.files[module].name in ("mod.rs", "lib.rs")

    def parse_reexports(self, module):
        """name -> the path it is re-exported from, for `pub use` lines of `module`."""
        out = {}
        for m in re.finditer(r"\bpub(?:\([^)]*\))?\s+use\s+([^;]+);", self.code[module]):
            for path, name in expand_use(m.group(1)):
                out[name] = path
        return out

    def absolute(self, module, path):
        """`path` (a list of segments as written in `module`) as a path from the crate root."""
        base = list(module) if self.is_root(module) else list(module[:-1])
        if not path:
            return None
        if path[0] == "crate":
            return path[1:]
        if path[0] == "self":
            return list(module) + path[1:] if self.is_root(module) else list(module) + path[1:]
        if path[0] == "super":
            here = list(module)
            while path and path[0] == "super":
                here = here[:-1]
                path = path[1:]
            return here + path
        # A child module of `module` named without `self::`.
        if tuple(list(module) + path[:1]) in self.files:
            return list(module) + path
        return None
        del base

    def resolve(self, path, seen=0):
        """The module (a key of self.files) that defines the item at `path`, or None."""
        if path is None or seen > 8:
            return None
        # The longest prefix that is a module file.
        for cut in range(len(path), -1, -1):
            module = tuple(path[:cut])
            if module in self.files:
                rest = path[cut:]
                if not rest:
                    return module
                target = self.reexports[module].get(rest[0])
                if target is not None:
                    absolute = self.absolute(module, target + rest[1:])
                    if absolute is not None:
                        found = self.resolve(absolute, seen + 1)
                        if found is not None:
                            return found
                return module
        return None

    def dependencies(self, module):
        code = self.code[module]
        if self.is_root(module):
            # Declarations are not dependencies.
            code = re.sub(r"\bpub(?:\([^)]*\))?\s+use\s+[^;]+;", "", code)
        paths = []
        for m in re.finditer(r"\buse\s+([^;]+);", code):
            paths.extend(p for p, _ in expand_use(m.group(1)))
        for m in re.finditer(r"\b((?:crate|super|self)(?:::[A-Za-z_][A-Za-z0-9_]*)+)", code):
            paths.append(m.group(1).split("::"))
        deps = set()
        for p in paths:
            target = self.resolve(self.absolute(module, p))
            if target is not None and target != module:
                deps.add(target)
        return deps

    def cycles(self):
        graph = {m: self.dependencies(m) for m in self.files}
        # Strongly connected components (Tarjan).
        index, low, stack, on, out = {}, {}, [], set(), []
        counter = [0]

        def visit(v):
            index[v] = low[v] = counter[0]
            counter[0] += 1
            stack.append(v)
            on.add(v)
            for w in graph[v]:
                if w not in index:
                    visit(w)
                    low[v] = min(low[v], low[w])
                elif w in on:
                    low[v] = min(low[v], index[w])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(comp)

        sys.setrecursionlimit(10000)
        for v in graph:
            if v not in index:
                visit(v)
        described = []
        for comp in out:
            names = sorted(str(self.files[m].relative_to(ROOT)) for m in comp)
            edges = sorted(
                f"{self.files[a].relative_to(ROOT)} -> {self.files[b].relative_to(ROOT)}"
                for a in comp
                for b in graph[a]
                if b in comp
            )
            described.append((names, edges))
        return described


def expand_use(tree):
    """`a::{b, c::d as e}` -> [(['a','b'], 'b'), (['a','c','d'], 'e')]."""
    tree = re.sub(r"\s+", "", tree)
    out = []

    def walk(prefix, text):
        parts, depth, cur = [], 0, ""
        for ch in text:
            if ch == "," and depth == 0:
                parts.append(cur)
                cur = ""
                continue
            depth += ch == "{"
            depth -= ch == "}"
            cur += ch
        if cur:
            parts.append(cur)
        for part in parts:
            if "{" in part:
                head = part[: part.index("{")].rstrip(":")
                inner = part[part.index("{") + 1 : part.rindex("}")]
                walk(prefix + [s for s in head.split("::") if s], inner)
            else:
                name = part
                alias = None
                if "as" in part and re.search(r"[^:]as[A-Za-z_]", part):
                    name, alias = re.split(r"(?<=[A-Za-z0-9_])as(?=[A-Za-z_])", part, maxsplit=1)
                segs = [s for s in name.split("::") if s]
                if segs and segs[-1] == "self":
                    segs = segs[:-1]
                if segs and segs[-1] != "*":
                    out.append((prefix + segs, alias or segs[-1]))

    walk([], tree)
    return out


def main():
    limit = MAX_FN_LINES
    if len(sys.argv) == 3 and sys.argv[1] == "--max-fn-lines":
        limit = int(sys.argv[2])
    problems = []
    for root in CRATES:
        crate = Crate(root)
        for module, f in crate.files.items():
            problems.extend(long_functions(f, crate.code[module], limit))
        if root.name == "native":
            for module in crate.files:
                if module[:1] == ("cli",) or not module:
                    continue
                for dep in crate.dependencies(module):
                    if dep[:1] == ("cli",):
                        problems.append(
                            f"{crate.files[module].relative_to(ROOT)} uses "
                            f"{crate.files[dep].relative_to(ROOT)}: the CLI is the top layer"
                        )
        for names, edges in crate.cycles():
            problems.append("import cycle between " + ", ".join(names) + ":\n    " + "\n    ".join(edges))
    for p in problems:
        print(p)
    if problems:
        print(f"\n{len(problems)} structure problem(s)")
        return 1
    print(f"structure: no function over {limit} lines, the CLI on top, no import cycle between files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
