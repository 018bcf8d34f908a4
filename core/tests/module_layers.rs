//! The modules of `burgernet-core` depend on each other in one direction only (README, Layout):
//!
//! 1. vocabulary: ids, secrets, the environment reader, the closed sets and checked values;
//! 2. the data layer (`db`) and the provider clients (`providers`), which know nothing of each
//!    other's callers;
//! 3. the job mechanism and the metrics;
//! 4. the domain services (`auth`, `participants`, `alerts`, `media`, ...);
//! 5. the assembly of each process's settings (`config`).
//!
//! This test reads the `use` graph of `core/src` (every path through `crate::`, `super::`,
//! `self::`, a child module or a name a `use` brought in; test modules left out) and fails when a
//! module refers to one in a higher layer, or when modules refer to each other in a cycle, naming
//! the modules and the lines. `.ci/run` runs it (scripts/check-layers).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// The layer of each top-level module of `core/src` (a submodule may be listed on its own).
/// A module may refer to modules of its own layer or of lower ones, never of a higher one.
const LAYERS: &[(&str, u8)] = &[
    ("crate", 1),
    ("ids", 1),
    ("markup", 1),
    ("secret", 1),
    ("env", 1),
    ("vocabulary", 1),
    ("backoff", 1),
    ("sealing", 1),
    // The local outbox (the `local` feature): local mode and the tests only.
    ("outbox", 2),
    ("db", 2),
    ("providers", 2),
    ("jobs", 3),
    ("metrics", 3),
    ("auth", 4),
    ("idempotency", 4),
    ("reference_data", 4),
    ("participants", 4),
    ("alerts", 4),
    ("media", 4),
    ("reports", 4),
    ("messages", 4),
    ("target_groups", 4),
    ("scenarios", 4),
    ("partners", 4),
    ("config", 5),
    ("application", 5),
];

const LAYER_NAMES: [&str; 6] =
    ["", "vocabulary", "data and providers", "jobs and metrics", "domain", "settings"];

#[test]
fn core_modules_refer_only_to_their_own_layer_and_those_below() {
    let graph = ModuleGraph::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let mut wrong = Vec::new();
    for (from, references) in &graph.edges {
        for (to, line) in references {
            let (from_layer, to_layer) = (graph.layer_of(from), graph.layer_of(to));
            if to_layer > from_layer {
                wrong.push(format!(
                    "{from} ({}) refers to {to} ({}) at {}:{line}",
                    LAYER_NAMES[from_layer as usize],
                    LAYER_NAMES[to_layer as usize],
                    graph.files[from].display()
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "modules refer to a higher layer:\n{}", wrong.join("\n"));
}

#[test]
fn core_modules_refer_to_each_other_without_cycles() {
    let graph = ModuleGraph::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let cycles: Vec<String> = graph
        .cycles()
        .into_iter()
        .map(|cycle| {
            let members: BTreeSet<&String> = cycle.iter().collect();
            let mut lines = vec![format!("a cycle of {} modules:", cycle.len())];
            for from in &cycle {
                for (to, line) in &graph.edges[from] {
                    if members.contains(to) && to != from {
                        lines.push(format!("  {from} -> {to} ({}:{line})", graph.files[from].display()));
                    }
                }
            }
            lines.join("\n")
        })
        .collect();
    assert!(cycles.is_empty(), "{}", cycles.join("\n"));
}

#[test]
fn the_reader_finds_every_kind_of_reference() {
    let modules: BTreeSet<String> = [
        "crate",
        "db",
        "db::jobs",
        "jobs",
        "alerts",
        "alerts::lifecycle",
        "alerts::delivery",
        "alerts::delivery::lanes",
        "alerts::delivery::plan",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    let source = r#"
        use crate::db;
        use crate::{jobs::{JobId, self}, alerts as a};
        use super::lifecycle::effective_channels;
        pub use self::lanes::DeliverPush;
        // crate::config is only mentioned in a comment
        fn f() { db::jobs::insert(); a::AlertStatus::Open; "crate::metrics"; plan::Lane::Push; }
        #[cfg(test)]
        mod tests { use crate::config::Env; }
    "#;
    let sources = HashMap::from([
        ("alerts::delivery".to_string(), ModuleSource::read(source, "alerts::delivery", &modules)),
        // `alerts` re-exports a name of `alerts::delivery::lanes`.
        (
            "alerts".to_string(),
            ModuleSource::read("pub use self::delivery::lanes::Lane;", "alerts", &modules),
        ),
        (
            "alerts::lifecycle".to_string(),
            ModuleSource::read("use super::Lane;", "alerts::lifecycle", &modules),
        ),
    ]);
    let references_of = |module: &str| -> BTreeSet<String> {
        references(module, &sources, &modules).into_iter().map(|(to, _)| to).collect()
    };
    // The re-export of `lanes::DeliverPush` is not a reference; the child module `plan` is.
    assert_eq!(
        references_of("alerts::delivery"),
        ["db", "db::jobs", "jobs", "alerts", "alerts::lifecycle", "alerts::delivery::plan"]
            .map(String::from)
            .into(),
    );
    // A name used through a re-export is a reference to the module that defines it.
    assert_eq!(references_of("alerts::lifecycle"), ["alerts::delivery::lanes"].map(String::from).into());
    assert!(references_of("alerts").is_empty());
    // The line of the first reference to each module is reported.
    let lines = references("alerts::delivery", &sources, &modules);
    assert!(lines.contains(&("alerts::lifecycle".to_string(), 4)), "{lines:?}");
}

struct ModuleGraph {
    files: BTreeMap<String, PathBuf>,
    /// For each module, the modules it refers to and the line of the first reference.
    edges: BTreeMap<String, Vec<(String, usize)>>,
}

impl ModuleGraph {
    fn read(src: &Path) -> Self {
        let mut files = BTreeMap::new();
        collect_modules(src, src, &mut files);
        let modules: BTreeSet<String> = files.keys().cloned().collect();
        let sources: HashMap<String, ModuleSource> = files
            .iter()
            .map(|(module, path)| {
                let source = std::fs::read_to_string(path).unwrap();
                (module.clone(), ModuleSource::read(&source, module, &modules))
            })
            .collect();
        let edges =
            modules.iter().map(|module| (module.clone(), references(module, &sources, &modules))).collect();
        let files = files
            .into_iter()
            .map(|(module, path)| (module, path.strip_prefix(src.parent().unwrap()).unwrap().to_path_buf()))
            .collect();
        Self { files, edges }
    }

    fn layer_of(&self, module: &str) -> u8 {
        let mut prefix = module;
        loop {
            if let Some((_, layer)) = LAYERS.iter().find(|(name, _)| *name == prefix) {
                return *layer;
            }
            match prefix.rsplit_once("::") {
                Some((parent, _)) => prefix = parent,
                None => panic!("module {module} has no layer: add it to LAYERS in {}", file!()),
            }
        }
    }

    /// The strongly connected components with more than one module (Tarjan's algorithm).
    fn cycles(&self) -> Vec<Vec<String>> {
        struct Search<'a> {
            graph: &'a ModuleGraph,
            index: HashMap<&'a str, usize>,
            low: HashMap<&'a str, usize>,
            stack: Vec<&'a str>,
            on_stack: BTreeSet<&'a str>,
            components: Vec<Vec<String>>,
        }
        impl<'a> Search<'a> {
            fn visit(&mut self, module: &'a str) {
                let next = self.index.len();
                self.index.insert(module, next);
                self.low.insert(module, next);
                self.stack.push(module);
                self.on_stack.insert(module);
                for (to, _) in &self.graph.edges[module] {
                    let to = to.as_str();
                    if !self.index.contains_key(to) {
                        self.visit(to);
                        let low = self.low[module].min(self.low[to]);
                        self.low.insert(module, low);
                    } else if self.on_stack.contains(to) {
                        let low = self.low[module].min(self.index[to]);
                        self.low.insert(module, low);
                    }
                }
                if self.low[module] == self.index[module] {
                    let mut component = Vec::new();
                    loop {
                        let member = self.stack.pop().unwrap();
                        self.on_stack.remove(member);
                        component.push(member.to_string());
                        if member == module {
                            break;
                        }
                    }
                    if component.len() > 1 {
                        component.sort();
                        self.components.push(component);
                    }
                }
            }
        }
        let mut search = Search {
            graph: self,
            index: HashMap::new(),
            low: HashMap::new(),
            stack: Vec::new(),
            on_stack: BTreeSet::new(),
            components: Vec::new(),
        };
        for module in self.edges.keys() {
            if !search.index.contains_key(module.as_str()) {
                search.visit(module);
            }
        }
        search.components
    }
}

/// Every `.rs` file under `dir` by its module path (`crate`, `db`, `db::jobs`, ...).
fn collect_modules(src: &Path, dir: &Path, files: &mut BTreeMap<String, PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_modules(src, &path, files);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            let relative = path.strip_prefix(src).unwrap().with_extension("");
            let mut segments: Vec<String> =
                relative.components().map(|part| part.as_os_str().to_string_lossy().into_owned()).collect();
            if matches!(segments.last().map(String::as_str), Some("mod" | "lib")) {
                segments.pop();
            }
            let module = if segments.is_empty() { "crate".to_string() } else { segments.join("::") };
            files.insert(module, path);
        }
    }
}

/// What one module's text says: the names its `use` declarations bind, and every path into the
/// crate it writes (absolute, with its line).
struct ModuleSource {
    names: HashMap<String, Vec<String>>,
    paths: Vec<(Vec<String>, usize)>,
}

impl ModuleSource {
    fn read(source: &str, module: &str, modules: &BTreeSet<String>) -> Self {
        let tokens = tokens(&without_test_modules(&without_comments_and_strings(source)));
        let mut names: HashMap<String, Vec<String>> = HashMap::new();
        // First the `use` declarations, which bind names; then every path, through those names.
        let mut paths = Vec::new();
        let mut in_use = vec![false; tokens.len()];
        let mut at = 0;
        while at < tokens.len() {
            if tokens[at].text == "use" {
                let line = tokens[at].line;
                let start = at;
                // A re-export (`pub use`, `pub(crate) use`) binds a name for others; it is not a use.
                let re_export = tokens[..at].iter().rev().take(4).any(|token| token.text == "pub")
                    && matches!(tokens[at - 1].text.as_str(), "pub" | ")");
                at += 1;
                let mut used = Vec::new();
                at = use_tree(&tokens, at, Vec::new(), &mut used);
                in_use[start..at.min(tokens.len())].fill(true);
                for (path, bound_as) in used {
                    if let Some(absolute) = absolute(&path, module, modules, &HashMap::new()) {
                        if let Some(bound_as) = bound_as {
                            names.insert(bound_as, absolute.clone());
                        }
                        if !re_export {
                            paths.push((absolute, line));
                        }
                    }
                }
            } else {
                at += 1;
            }
        }
        let mut at = 0;
        while at < tokens.len() {
            let starts_path = tokens[at].is_ident()
                && (at == 0 || tokens[at - 1].text != "::")
                && tokens.get(at + 1).is_some_and(|next| next.text == "::");
            if starts_path && !in_use[at] {
                let line = tokens[at].line;
                let mut path = vec![tokens[at].text.clone()];
                let mut next = at + 1;
                while tokens.get(next).is_some_and(|t| t.text == "::")
                    && tokens.get(next + 1).is_some_and(Token::is_ident)
                {
                    path.push(tokens[next + 1].text.clone());
                    next += 2;
                }
                if let Some(absolute) = absolute(&path, module, modules, &names) {
                    paths.push((absolute, line));
                }
                at = next;
            } else {
                at += 1;
            }
        }
        Self { names, paths }
    }
}

/// The modules `module` refers to, each with the line of its first reference. A path to a name
/// that a module re-exports (`pub use`) leads to the module that defines it, so a re-export is
/// not itself a reference: a parent may re-export its parts and still declare what they share.
fn references(
    module: &str,
    sources: &HashMap<String, ModuleSource>,
    modules: &BTreeSet<String>,
) -> Vec<(String, usize)> {
    let mut paths: Vec<&(Vec<String>, usize)> = sources[module].paths.iter().collect();
    paths.sort_by_key(|(_, line)| *line);
    let mut references: Vec<(String, usize)> = Vec::new();
    for (path, line) in paths {
        let target = defining_module(path, sources, modules);
        if target != module && !references.iter().any(|(known, _)| *known == target) {
            references.push((target, *line));
        }
    }
    references
}

/// The module that defines what `path` names, following re-exports.
fn defining_module(
    path: &[String],
    sources: &HashMap<String, ModuleSource>,
    modules: &BTreeSet<String>,
) -> String {
    let mut path = path.to_vec();
    for _ in 0..16 {
        let module = longest_module(&path, modules);
        let depth = if module == "crate" { 0 } else { module.split("::").count() };
        let next = path.get(depth).and_then(|name| sources.get(&module)?.names.get(name));
        match next {
            Some(target) if target[..] != path[..=depth] => {
                path = target.iter().chain(&path[depth + 1..]).cloned().collect();
            }
            _ => return module,
        }
    }
    longest_module(&path, modules)
}

/// The absolute path (without `crate`) of `path` as written in `module`, or None when it does
/// not lead into the crate.
fn absolute(
    path: &[String],
    module: &str,
    modules: &BTreeSet<String>,
    names: &HashMap<String, Vec<String>>,
) -> Option<Vec<String>> {
    let mut here: Vec<String> =
        if module == "crate" { Vec::new() } else { module.split("::").map(String::from).collect() };
    let first = path.first()?;
    let rest = &path[1..];
    let joined = |base: Vec<String>| base.into_iter().chain(rest.iter().cloned()).collect::<Vec<_>>();
    match first.as_str() {
        "crate" => Some(rest.to_vec()),
        "self" => Some(joined(here)),
        "super" => {
            let mut rest = rest;
            here.pop();
            while rest.first().is_some_and(|segment| segment == "super") {
                here.pop();
                rest = &rest[1..];
            }
            Some(here.into_iter().chain(rest.iter().cloned()).collect())
        }
        name => {
            if let Some(bound) = names.get(name) {
                return Some(joined(bound.clone()));
            }
            here.push(name.to_string());
            modules.contains(&here.join("::")).then(|| joined(here))
        }
    }
}

/// The deepest module `path` lies in.
fn longest_module(path: &[String], modules: &BTreeSet<String>) -> String {
    (1..=path.len())
        .rev()
        .map(|length| path[..length].join("::"))
        .find(|prefix| modules.contains(prefix))
        .unwrap_or_else(|| "crate".to_string())
}

/// Reads one `use` tree from `at`, adding each path it names with the name it binds (None for
/// a glob). Returns the index after the tree.
fn use_tree(
    tokens: &[Token],
    mut at: usize,
    prefix: Vec<String>,
    out: &mut Vec<(Vec<String>, Option<String>)>,
) -> usize {
    let mut path = prefix;
    loop {
        match tokens.get(at).map(|token| token.text.as_str()) {
            Some("{") => {
                at += 1;
                loop {
                    at = use_tree(tokens, at, path.clone(), out);
                    match tokens.get(at).map(|token| token.text.as_str()) {
                        Some(",") => at += 1,
                        Some("}") => return at + 1,
                        _ => return at,
                    }
                    if tokens.get(at).is_some_and(|token| token.text == "}") {
                        return at + 1;
                    }
                }
            }
            Some("*") => {
                out.push((path, None));
                return at + 1;
            }
            Some("::") => at += 1,
            Some(segment) if tokens[at].is_ident() => {
                if segment == "self" && !path.is_empty() {
                    // `use a::{self}` binds `a`.
                } else {
                    path.push(segment.to_string());
                }
                at += 1;
                if tokens.get(at).is_some_and(|token| token.text == "as") {
                    let bound = tokens.get(at + 1).map(|token| token.text.clone());
                    out.push((path, bound));
                    return at + 2;
                }
                if tokens.get(at).is_none_or(|token| token.text != "::") {
                    let bound = path.last().cloned();
                    out.push((path, bound));
                    return at;
                }
            }
            _ => return at,
        }
    }
}

struct Token {
    text: String,
    line: usize,
}

impl Token {
    fn is_ident(&self) -> bool {
        self.text.starts_with(|c: char| c.is_alphabetic() || c == '_')
    }
}

fn tokens(source: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut line = 1;
    let mut chars = source.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if c == '\n' {
            line += 1;
        } else if c.is_alphanumeric() || c == '_' {
            let mut end = start + c.len_utf8();
            while let Some(&(index, next)) = chars.peek() {
                if next.is_alphanumeric() || next == '_' {
                    end = index + next.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            tokens.push(Token { text: source[start..end].to_string(), line });
        } else if c == ':' && chars.peek().is_some_and(|&(_, next)| next == ':') {
            chars.next();
            tokens.push(Token { text: "::".into(), line });
        } else if !c.is_whitespace() {
            tokens.push(Token { text: c.to_string(), line });
        }
    }
    tokens
}

/// `source` with comments and the contents of string and character literals blanked (lines
/// kept), so a path mentioned in a doc comment or a message is not a reference.
fn without_comments_and_strings(source: &str) -> String {
    let bytes: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut at = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while at < bytes.len() {
        let c = bytes[at];
        let next = bytes.get(at + 1).copied();
        if c == '/' && next == Some('/') {
            while at < bytes.len() && bytes[at] != '\n' {
                at += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while at < bytes.len() {
                if bytes[at] == '/' && bytes.get(at + 1) == Some(&'*') {
                    depth += 1;
                    at += 2;
                } else if bytes[at] == '*' && bytes.get(at + 1) == Some(&'/') {
                    depth -= 1;
                    at += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(bytes[at]));
                    at += 1;
                }
            }
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && (at == 0 || !is_ident_char(bytes[at - 1]))
        {
            // A raw string: r"..." or r#"..."#.
            let mut hashes = 0;
            let mut cursor = at + 1;
            while bytes.get(cursor) == Some(&'#') {
                hashes += 1;
                cursor += 1;
            }
            if bytes.get(cursor) != Some(&'"') {
                out.push(c);
                at += 1;
                continue;
            }
            cursor += 1;
            out.push_str("\"\"");
            while cursor < bytes.len() {
                if bytes[cursor] == '"' && (0..hashes).all(|i| bytes.get(cursor + 1 + i) == Some(&'#')) {
                    cursor += 1 + hashes;
                    break;
                }
                out.push(blank(bytes[cursor]));
                cursor += 1;
            }
            at = cursor;
        } else if c == '"' {
            out.push('"');
            at += 1;
            while at < bytes.len() && bytes[at] != '"' {
                if bytes[at] == '\\' {
                    out.push(' ');
                    at += 1;
                }
                if at < bytes.len() {
                    out.push(blank(bytes[at]));
                    at += 1;
                }
            }
            out.push('"');
            at += 1;
        } else if c == '\'' && next.is_some() && bytes.get(at + 2) == Some(&'\'') {
            out.push_str("' '");
            at += 3;
        } else if c == '\'' && next == Some('\\') {
            out.push('\'');
            at += 2;
            while at < bytes.len() && bytes[at] != '\'' {
                at += 1;
            }
            out.push('\'');
            at += 1;
        } else {
            out.push(c);
            at += 1;
        }
    }
    out
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `source` without `#[cfg(test)] mod ... { ... }` blocks (lines kept): tests may reach anywhere.
fn without_test_modules(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(start) = rest.find("#[cfg(test)]") {
        let after = &rest[start + "#[cfg(test)]".len()..];
        let trimmed = after.trim_start();
        let is_module = trimmed.starts_with("mod ")
            || trimmed.starts_with("pub mod ")
            || trimmed.starts_with("pub(crate) mod ");
        let Some(open) = after.find('{').filter(|_| is_module) else {
            out.push_str(&rest[..start + "#[cfg(test)]".len()]);
            rest = after;
            continue;
        };
        out.push_str(&rest[..start]);
        let mut depth = 0;
        let mut end = after.len();
        for (index, c) in after[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + index + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        let skipped = &rest[start..start + "#[cfg(test)]".len() + end];
        out.extend(skipped.chars().filter(|&c| c == '\n'));
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}
