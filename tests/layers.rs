//! The layers point one way: no import circle among src/'s top-level
//! modules (the files and folders directly under src/, lib.rs and main.rs
//! aside), and no rule module names another rule module (what rules share
//! is in src/rules/shared*).
//!
//! The sources are read with a Rust parser (syn), the way the compiler
//! finds them: from lib.rs and main.rs down every `mod x;`. Every path
//! counts — `use` trees grouped, nested and over several lines, paths in
//! expressions, types, patterns and visibilities, and paths inside macro
//! calls — resolved from `crate::`, `super::` and `self::`, and through
//! lib.rs's re-exports. Only test code (`#[cfg(test)]` items and modules)
//! may reach anywhere.
//!
//! The same reading finds printing: the library returns values and
//! warnings, and only the command line (src/cli/, the binary) prints them.
// A test: a failed unwrap is a failed run, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use syn::visit::{self, Visit};

/// The library's name, as the binary's modules (src/cli/) name it.
const LIBRARY: &str = "maillint";

/// One path naming a module or an item of the crate.
#[derive(Debug, Clone)]
struct Reference {
    /// The module the path is written in, from the crate root.
    from: Vec<String>,
    /// What it names, from the crate root (of the library, for the binary's
    /// `maillint::` paths).
    to: Vec<String>,
    /// A glob import (`use x::*`): it may bring in anything `to` holds.
    glob: bool,
    file: PathBuf,
    line: usize,
    written: String,
}

/// What one crate's sources name.
#[derive(Default)]
struct Crate {
    references: Vec<Reference>,
    /// Every module compiled outside tests.
    modules: BTreeSet<Vec<String>>,
    /// The crate root's `use` items: name → what it stands for.
    reexports: BTreeMap<String, Vec<String>>,
    /// Calls of the macros that write to stdout or stderr, outside tests:
    /// `file:line: name!`.
    prints: Vec<String>,
}

/// The macros that write to the terminal.
const PRINTING: &[&str] = &["print", "println", "eprint", "eprintln", "dbg"];

/// Whether a `#[cfg(...)]` predicate holds only in tests: `test`, or an
/// `all(...)` with `test` among its parts.
fn only_in_tests(tokens: &TokenStream) -> bool {
    let trees: Vec<TokenTree> = tokens.clone().into_iter().collect();
    match trees.as_slice() {
        [TokenTree::Ident(i)] => i == "test",
        [TokenTree::Ident(i), TokenTree::Group(g)] if i == "all" => g
            .stream()
            .into_iter()
            .collect::<Vec<_>>()
            .split(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == ','))
            .any(|part| only_in_tests(&part.iter().cloned().collect())),
        _ => false,
    }
}

fn test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| match &a.meta {
        syn::Meta::List(list) if list.path.is_ident("cfg") => only_in_tests(&list.tokens),
        _ => false,
    })
}

fn item_attrs(item: &syn::Item) -> &[syn::Attribute] {
    use syn::Item::*;
    match item {
        Const(i) => &i.attrs,
        Enum(i) => &i.attrs,
        ExternCrate(i) => &i.attrs,
        Fn(i) => &i.attrs,
        ForeignMod(i) => &i.attrs,
        Impl(i) => &i.attrs,
        Macro(i) => &i.attrs,
        Mod(i) => &i.attrs,
        Static(i) => &i.attrs,
        Struct(i) => &i.attrs,
        Trait(i) => &i.attrs,
        TraitAlias(i) => &i.attrs,
        Type(i) => &i.attrs,
        Union(i) => &i.attrs,
        Use(i) => &i.attrs,
        _ => &[],
    }
}

/// Reads one file's paths; `mod x;` items are followed by [`read_module`].
struct Reader<'a> {
    krate: &'a mut Crate,
    /// Whether this is the binary, whose `maillint::` paths name the library.
    binary: bool,
    file: PathBuf,
    /// `file` as messages show it: from the directory above src/.
    shown: PathBuf,
    /// The module being read, from the crate root (inline `mod` included).
    module: Vec<String>,
    /// Where the current module's `mod x;` files are.
    dir: PathBuf,
    /// Out-of-line modules to read next: (file, module, its directory).
    children: Vec<(PathBuf, Vec<String>, PathBuf)>,
}

impl Reader<'_> {
    /// Resolves a path's segments from the crate root; `None` for paths
    /// that start elsewhere (locals, other crates, items in scope).
    fn resolve(&self, segments: &[String]) -> Option<Vec<String>> {
        let first = segments.first()?;
        let mut at = match first.as_str() {
            "crate" if !self.binary => Vec::new(),
            LIBRARY if self.binary => vec![LIBRARY.to_string()],
            "self" | "super" => self.module.clone(),
            // In the crate root, a path may start with a top-level module.
            _ if self.module.is_empty() && !self.binary => Vec::new(),
            _ => return None,
        };
        let mut rest = segments;
        if matches!(first.as_str(), "crate" | LIBRARY) {
            rest = &rest[1..];
        }
        while let Some(step) = rest.first() {
            match step.as_str() {
                "self" => {}
                "super" => {
                    // `super` beyond the root does not compile.
                    at.pop()?;
                }
                _ => break,
            }
            rest = &rest[1..];
        }
        at.extend(rest.iter().cloned());
        Some(at)
    }

    fn record(&mut self, segments: &[String], glob: bool, line: usize) {
        let Some(to) = self.resolve(segments) else {
            return;
        };
        // `use crate::x::{self}` names `crate::x`.
        let written = match segments {
            [head @ .., last] if last == "self" => head,
            _ => segments,
        };
        self.krate.references.push(Reference {
            from: self.module.clone(),
            to: to.into_iter().filter(|s| s != "self").collect(),
            glob,
            file: self.shown.clone(),
            line,
            written: written.join("::") + if glob { "::*" } else { "" },
        });
    }

    fn use_tree(&mut self, tree: &syn::UseTree, prefix: &mut Vec<String>) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(&p.tree, prefix);
                prefix.pop();
            }
            syn::UseTree::Group(g) => {
                for tree in &g.items {
                    self.use_tree(tree, prefix);
                }
            }
            syn::UseTree::Name(n) => self.use_leaf(prefix, &n.ident, &n.ident),
            syn::UseTree::Rename(r) => self.use_leaf(prefix, &r.ident, &r.rename),
            syn::UseTree::Glob(g) => {
                let line = g.star_token.spans[0].start().line;
                self.record(prefix, true, line);
            }
        }
    }

    fn use_leaf(&mut self, prefix: &[String], name: &syn::Ident, alias: &syn::Ident) {
        let mut full = prefix.to_vec();
        full.push(name.to_string());
        self.record(&full, false, name.span().start().line);
        if self.module.is_empty()
            && !self.binary
            && let Some(to) = self.resolve(&full)
        {
            let to = to.into_iter().filter(|s| s != "self").collect();
            self.krate.reexports.insert(alias.to_string(), to);
        }
    }

    /// Paths inside a macro call's tokens, which syn leaves unparsed.
    fn tokens(&mut self, tokens: TokenStream) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        let mut i = 0;
        while i < trees.len() {
            match &trees[i] {
                TokenTree::Group(g) => self.tokens(g.stream()),
                TokenTree::Ident(ident) => {
                    let line = ident.span().start().line;
                    let mut segments = vec![ident.to_string()];
                    let mut j = i;
                    while let (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b))) =
                        (trees.get(j + 1), trees.get(j + 2))
                    {
                        if a.as_char() != ':' || b.as_char() != ':' {
                            break;
                        }
                        match trees.get(j + 3) {
                            Some(TokenTree::Ident(next)) => segments.push(next.to_string()),
                            // `x::{a, b}` inside a macro: read as a use tree.
                            Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => {
                                let text = format!("{}::{}", segments.join("::"), g);
                                if let Ok(tree) = syn::parse_str::<syn::UseTree>(&text) {
                                    self.use_tree(&tree, &mut Vec::new());
                                }
                                j += 3;
                                break;
                            }
                            _ => break,
                        }
                        j += 3;
                    }
                    if segments.len() > 1 {
                        self.record(&segments, false, line);
                    }
                    i = j;
                }
                _ => {}
            }
            i += 1;
        }
    }
}

impl<'ast> Visit<'ast> for Reader<'_> {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        if !test_only(item_attrs(item)) {
            visit::visit_item(self, item);
        }
    }

    fn visit_impl_item(&mut self, item: &'ast syn::ImplItem) {
        let attrs = match item {
            syn::ImplItem::Const(i) => &i.attrs,
            syn::ImplItem::Fn(i) => &i.attrs,
            syn::ImplItem::Type(i) => &i.attrs,
            syn::ImplItem::Macro(i) => &i.attrs,
            _ => return visit::visit_impl_item(self, item),
        };
        if !test_only(attrs) {
            visit::visit_impl_item(self, item);
        }
    }

    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        let name = item.ident.to_string();
        assert!(
            !item.attrs.iter().any(|a| a.path().is_ident("path")),
            "{}: #[path] on mod {name}: the layering test finds modules by their names",
            self.file.display()
        );
        let mut module = self.module.clone();
        module.push(name.clone());
        match &item.content {
            Some((_, items)) => {
                let outer = std::mem::replace(&mut self.module, module);
                let dir = self.dir.join(&name);
                let outer_dir = std::mem::replace(&mut self.dir, dir);
                for item in items {
                    self.visit_item(item);
                }
                self.module = outer;
                self.dir = outer_dir;
            }
            None => {
                let flat = self.dir.join(format!("{name}.rs"));
                let file = if flat.is_file() {
                    flat
                } else {
                    self.dir.join(&name).join("mod.rs")
                };
                self.children.push((file, module, self.dir.join(&name)));
            }
        }
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.use_tree(&item.tree, &mut Vec::new());
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let mut segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        if path.leading_colon.is_some() && segments.first().map(String::as_str) != Some(LIBRARY) {
            segments.clear();
        }
        if segments.len() > 1 || matches!(segments.first().map(String::as_str), Some("super")) {
            let line = path.segments[0].ident.span().start().line;
            self.record(&segments, false, line);
        }
        visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        if let Some(name) = mac.path.get_ident().map(ToString::to_string)
            && PRINTING.contains(&name.as_str())
        {
            let line = mac.path.segments[0].ident.span().start().line;
            let at = format!("{}:{line}: {name}!", self.shown.display());
            self.krate.prints.push(at);
        }
        self.tokens(mac.tokens.clone());
        visit::visit_macro(self, mac);
    }
}

/// Reads a crate from its root file, down every `mod x;` compiled outside
/// tests.
fn read_crate(root: &Path, binary: bool) -> Crate {
    let mut krate = Crate::default();
    let dir = root.parent().unwrap_or(Path::new(".")).to_path_buf();
    let base = dir.parent().unwrap_or(&dir).to_path_buf();
    let mut queue = vec![(root.to_path_buf(), Vec::new(), dir)];
    while let Some((file, module, dir)) = queue.pop() {
        let text = fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("{}: {e} (a `mod` without its file?)", file.display()));
        let ast = syn::parse_file(&text).unwrap_or_else(|e| {
            let at = e.span().start();
            panic!("{}:{}:{}: {e}", file.display(), at.line, at.column)
        });
        if test_only(&ast.attrs) {
            continue;
        }
        krate.modules.insert(module.clone());
        let shown = file.strip_prefix(&base).unwrap_or(&file).to_path_buf();
        let mut reader = Reader {
            krate: &mut krate,
            binary,
            file,
            shown,
            module,
            dir,
            children: Vec::new(),
        };
        for item in &ast.items {
            reader.visit_item(item);
        }
        queue.extend(reader.children);
    }
    krate
}

/// One edge between two top-level modules, with the first place that makes it.
type Edges = BTreeMap<(String, String), Reference>;

/// What the sources under `src` break: circles among the top-level
/// modules, and rule modules naming other rule modules. Empty when the
/// layers point one way.
fn violations(src: &Path) -> Vec<String> {
    let mut library = read_crate(&src.join("lib.rs"), false);
    let binary = src.join("main.rs");
    let binary = if binary.is_file() {
        read_crate(&binary, true)
    } else {
        Crate::default()
    };
    let tops: BTreeSet<String> = library
        .modules
        .iter()
        .filter(|m| m.len() == 1)
        .map(|m| m[0].clone())
        .collect();
    // A name lib.rs imports stands, for every module below it, for what it
    // imports.
    let reexports = std::mem::take(&mut library.reexports);
    for reference in &mut library.references {
        let name = reference.to.first().filter(|n| !tops.contains(*n));
        if let Some(target) = name.and_then(|n| reexports.get(n)) {
            reference.to.splice(0..1, target.iter().cloned());
        }
    }
    let mut problems = Vec::new();
    let mut edges = Edges::new();
    for reference in &library.references {
        let (Some(from), Some(to)) = (reference.from.first(), reference.to.first()) else {
            // lib.rs itself, or a glob of the crate root, below.
            if !reference.from.is_empty() && reference.glob && reference.to.is_empty() {
                problems.push(format!(
                    "{}:{}: `{}` brings in every top-level module; name the ones used",
                    reference.file.display(),
                    reference.line,
                    reference.written
                ));
            }
            continue;
        };
        if from != to && tops.contains(to) {
            edges
                .entry((from.clone(), to.clone()))
                .or_insert_with(|| reference.clone());
        }
    }
    for reference in &binary.references {
        if let (Some(from), [lib, to, ..]) = (reference.from.first(), reference.to.as_slice())
            && lib == LIBRARY
        {
            edges
                .entry((from.clone(), to.clone()))
                .or_insert_with(|| reference.clone());
        }
    }
    for circle in circles(&edges) {
        let mut text = format!(
            "import circle among src/'s top-level modules: {}",
            circle.join(", ")
        );
        for ((from, to), at) in &edges {
            if circle.contains(from) && circle.contains(to) {
                let _ = write!(
                    text,
                    "\n    {from} -> {to}: {}:{} `{}`",
                    at.file.display(),
                    at.line,
                    at.written
                );
            }
        }
        problems.push(text);
    }
    problems.extend(rule_violations(&library));
    problems
}

/// Rule modules are src/rules/'s modules but shared*.
fn rule_violations(library: &Crate) -> Vec<String> {
    let rules: BTreeSet<&str> = library
        .modules
        .iter()
        .filter(|m| m.len() == 2 && m[0] == "rules" && !m[1].starts_with("shared"))
        .map(|m| m[1].as_str())
        .collect();
    let mut problems = Vec::new();
    for r in &library.references {
        let Some(rule) = (r.from.len() >= 2 && r.from[0] == "rules")
            .then(|| r.from[1].as_str())
            .filter(|rule| rules.contains(rule))
        else {
            continue;
        };
        let names_other = r.to.len() >= 2
            && r.to[0] == "rules"
            && r.to[1] != rule
            && rules.contains(r.to[1].as_str());
        // `use super::*` in a rule would bring in its sibling rules.
        let globs_rules = r.glob && r.to.len() <= 1 && r.to.first().is_none_or(|t| t == "rules");
        if names_other || globs_rules {
            problems.push(format!(
                "{}:{}: rule module {rule} names `{}`: rules share code only through src/rules/shared*",
                r.file.display(),
                r.line,
                r.written
            ));
        }
    }
    problems
}

/// The strongly connected components of more than one module (Tarjan).
fn circles(edges: &Edges) -> Vec<Vec<String>> {
    let mut graph: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (from, to) in edges.keys() {
        graph.entry(from).or_default().push(to);
        graph.entry(to).or_default();
    }
    struct State<'a> {
        graph: &'a BTreeMap<&'a str, Vec<&'a str>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        for &w in &s.graph[v] {
            if !s.index.contains_key(w) {
                visit(s, w);
                s.low.insert(v, s.low[v].min(s.low[w]));
            } else if s.stack.contains(&w) {
                s.low.insert(v, s.low[v].min(s.index[w]));
            }
        }
        if s.low[v] == s.index[v] {
            let at = s.stack.iter().rposition(|&x| x == v).unwrap_or(0);
            let mut component: Vec<String> = s.stack.drain(at..).map(String::from).collect();
            if component.len() > 1 {
                component.sort();
                s.found.push(component);
            }
        }
    }
    let mut state = State {
        graph: &graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for &v in graph.keys() {
        if !state.index.contains_key(v) {
            visit(&mut state, v);
        }
    }
    state.found
}

#[test]
fn layers_point_one_way() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let problems = violations(&src);
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

/// Only the command line prints: the library (lib.rs and every module
/// under it, tests aside) calls no printing macro.
#[test]
fn only_the_command_line_prints() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let prints = read_crate(&src.join("lib.rs"), false).prints;
    assert!(
        prints.is_empty(),
        "\nthe library prints:\n{}\n",
        prints.join("\n")
    );
}

/// The checker itself, on small trees that hide their imports in every way
/// it reads.
mod checker {
    use super::violations;
    use std::fs;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = dir.path().join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        dir
    }

    fn problems(files: &[(&str, &str)]) -> String {
        let dir = tree(files);
        violations(&dir.path().join("src")).join("\n")
    }

    const LIB: &str = "pub mod a;\npub mod b;\n#[cfg(test)]\nmod testing;\n";

    #[test]
    fn one_way_passes() {
        let found = problems(&[
            ("src/lib.rs", LIB),
            ("src/a.rs", "pub fn f() {}\n"),
            ("src/b.rs", "use crate::a::f;\npub fn g() { f() }\n"),
            ("src/testing.rs", "use crate::{a, b};\n"),
        ]);
        assert_eq!(found, "");
    }

    /// Each way of naming `b` from `a`, while `b` names `a`.
    #[test]
    fn every_way_of_naming_a_module_counts() {
        for a in [
            "use crate::{\n    b::{\n        self,\n        g,\n    },\n};\n",
            "use crate::{x::y, b};\n",
            "use super::b::g;\n",
            "pub fn f() { crate::b::g() }\n",
            "pub fn f() -> Option<crate::b::T> { None }\n",
            "pub fn f() { println!(\"{}\", crate::b::g()) }\n",
            "pub fn f() { vec![crate::b::{g}] ; }\n",
            "mod inner { use super::super::b; }\n",
            "#[cfg(any(test, unix))]\nuse crate::b::g;\n",
            "use crate::G;\n",
            "impl S { fn f() { crate::b::g(); } }\n",
        ] {
            let found = problems(&[
                ("src/lib.rs", &format!("{LIB}pub use b::g as G;\n")),
                ("src/a.rs", a),
                ("src/b/mod.rs", "mod inner;\n"),
                ("src/b/inner.rs", "use crate::a;\n"),
            ]);
            assert!(
                found.starts_with("import circle among src/'s top-level modules: a, b"),
                "not caught:\n{a}\n{found}"
            );
            assert!(found.contains("b -> a: "), "{found}");
            assert!(found.contains("src/b/inner.rs:1 `crate::a`"), "{found}");
        }
    }

    #[test]
    fn test_code_may_reach_anywhere() {
        let found = problems(&[
            ("src/lib.rs", LIB),
            (
                "src/a.rs",
                "#[cfg(test)]\nmod tests { use crate::b; }\n#[cfg(all(test, unix))]\nfn t() { crate::b::g() }\n",
            ),
            ("src/b.rs", "use crate::a;\n"),
            ("src/testing.rs", "use crate::a;\n"),
        ]);
        assert_eq!(found, "");
    }

    #[test]
    fn printing_is_found_outside_tests_only() {
        let dir = tree(&[
            ("src/lib.rs", "mod a;\n"),
            (
                "src/a.rs",
                "pub fn f() {\n    if true { eprintln!(\"x\") }\n}\n#[cfg(test)]\nmod tests { fn t() { println!(\"y\") } }\n",
            ),
        ]);
        let prints = super::read_crate(&dir.path().join("src/lib.rs"), false).prints;
        assert_eq!(prints, ["src/a.rs:2: eprintln!"]);
    }

    #[test]
    fn a_glob_of_the_crate_root_is_refused() {
        let found = problems(&[
            ("src/lib.rs", LIB),
            ("src/a.rs", "use super::*;\n"),
            ("src/b.rs", ""),
        ]);
        assert!(
            found.contains("src/a.rs:1: `super::*` brings in every top-level module"),
            "{found}"
        );
    }

    #[test]
    fn a_rule_naming_another_rule_is_refused() {
        let lib = "pub mod rules;\n";
        let rules = "mod one;\nmod two;\nmod shared;\npub fn plural() {}\n";
        for one in [
            "use super::{plural,\n    two::X};\n",
            "fn f() { super::two::X; }\n",
            "use crate::rules::two;\n",
            "use super::*;\n",
        ] {
            let found = problems(&[
                ("src/lib.rs", lib),
                ("src/rules/mod.rs", rules),
                ("src/rules/one.rs", one),
                (
                    "src/rules/two.rs",
                    "use super::shared::S;\nuse super::plural;\n",
                ),
                ("src/rules/shared.rs", "pub struct S;\n"),
            ]);
            assert!(
                found.starts_with("src/rules/one.rs:") && found.contains("rule module one names"),
                "not caught:\n{one}\n{found}"
            );
        }
    }

    #[test]
    fn the_binary_sits_above_the_library() {
        let found = problems(&[
            ("src/lib.rs", LIB),
            ("src/main.rs", "mod cli;\n"),
            ("src/cli.rs", "use maillint::{a, b};\n"),
            ("src/a.rs", ""),
            ("src/b.rs", ""),
        ]);
        assert_eq!(found, "");
    }
}
