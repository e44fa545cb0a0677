//! The source layout of the core and the std backend, checked: no import
//! cycle among modules (neither between files nor between the top-level
//! modules of a crate), and no source file over 700 lines. The module
//! graph is printed (`cargo test -p walden-core --test layout --
//! --nocapture`).
//!
//! A module's dependencies are the `crate::…` paths its file names (in
//! `use` items and inline), resolved to the longest module path that has a
//! file, and `super::…` paths resolved from the file's own module. Test
//! modules (`loom_tests`) are left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Most lines of one source file.
const MAX_LINES: usize = 700;

/// Every `.rs` file under `dir`, by module path (`wal::index`, `lib` for
/// the crate root).
fn modules(dir: &Path) -> BTreeMap<String, PathBuf> {
    fn walk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .expect("read_dir")
            .map(|e| e.expect("entry").path())
            .collect();
        entries.sort();
        for p in entries {
            let name = p.file_stem().and_then(|s| s.to_str()).expect("name").to_string();
            if p.is_dir() {
                walk(&p, &format!("{prefix}{name}::"), out);
            } else if p.extension().is_some_and(|e| e == "rs") {
                let m = match name.as_str() {
                    "lib" if prefix.is_empty() => "lib".to_string(),
                    "mod" => prefix.trim_end_matches("::").to_string(),
                    _ => format!("{prefix}{name}"),
                };
                out.insert(m, p);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, "", &mut out);
    out.retain(|m, _| !m.ends_with("loom_tests"));
    out
}

/// The modules `text` (the source of `module`) refers to.
fn references(module: &str, text: &str, known: &BTreeMap<String, PathBuf>) -> BTreeSet<String> {
    let mut refs = BTreeSet::new();
    // Flatten `use` groups crudely: every identifier path after `crate::`
    // or `super::`, including the first segment inside braces.
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    for (anchor, base) in [("crate::", String::new()), ("super::", parent(module))] {
        let mut rest = code.as_str();
        while let Some(i) = rest.find(anchor) {
            rest = &rest[i + anchor.len()..];
            for path in expand(rest) {
                let full = if base.is_empty() { path } else { format!("{base}::{path}") };
                if let Some(m) = resolve(&full, known) {
                    if m != module && m != "lib" {
                        refs.insert(m);
                    }
                }
            }
        }
    }
    refs
}

/// The module paths a `use` tail names: `a::b::{c, d::e}` gives `a::b::c`
/// and `a::b::d::e`; a plain path gives itself.
fn expand(tail: &str) -> Vec<String> {
    let head: String = tail.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
    let head = head.trim_end_matches(':').to_string();
    let after = tail[head.len()..].trim_start_matches(':');
    if after.starts_with('{') {
        let end = after.find('}').unwrap_or(after.len());
        after[1..end]
            .split(',')
            .map(|s| s.trim())
            .filter(|s| !s.is_empty() && *s != "self")
            .map(|s| {
                let s: String = s.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
                if head.is_empty() {
                    s
                } else {
                    format!("{head}::{s}")
                }
            })
            .chain(std::iter::once(head.clone()))
            .collect()
    } else {
        vec![head]
    }
}

fn parent(module: &str) -> String {
    module.rsplit_once("::").map(|(p, _)| p.to_string()).unwrap_or_default()
}

/// The longest prefix of `path` that is a module with a file.
fn resolve(path: &str, known: &BTreeMap<String, PathBuf>) -> Option<String> {
    let segs: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    (1..=segs.len()).rev().map(|n| segs[..n].join("::")).find(|p| known.contains_key(p))
}

/// A cycle in `graph`, if any (as the list of modules around it).
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn dfs(
        n: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(n.to_string(), 1);
        stack.push(n.to_string());
        for m in graph.get(n).into_iter().flatten() {
            match state.get(m.as_str()).copied().unwrap_or(0) {
                1 => {
                    let i = stack.iter().position(|s| s == m).unwrap_or(0);
                    let mut c = stack[i..].to_vec();
                    c.push(m.clone());
                    return Some(c);
                }
                0 => {
                    if let Some(c) = dfs(m, graph, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in graph.keys() {
        if state.get(n.as_str()).copied().unwrap_or(0) == 0 {
            if let Some(c) = dfs(n, graph, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

fn check_crate(name: &str, src: &Path) {
    let known = modules(src);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut long = Vec::new();
    for (m, p) in &known {
        let text = std::fs::read_to_string(p).expect("read source");
        let lines = text.lines().count();
        if lines > MAX_LINES {
            long.push(format!("{} ({lines} lines)", p.display()));
        }
        if m != "lib" {
            graph.insert(m.clone(), references(m, &text, &known));
        }
    }
    let top = |m: &str| m.split("::").next().unwrap_or(m).to_string();
    let mut top_graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (m, deps) in &graph {
        let e = top_graph.entry(top(m)).or_default();
        e.extend(deps.iter().map(|d| top(d)).filter(|d| *d != top(m)));
    }
    println!("{name}: module graph (module -> modules it imports)");
    for (m, deps) in &graph {
        println!("  {m} -> {}", deps.iter().cloned().collect::<Vec<_>>().join(", "));
    }
    assert!(long.is_empty(), "{name}: source files over {MAX_LINES} lines: {long:?}");
    assert_eq!(find_cycle(&graph), None, "{name}: import cycle between files");
    assert_eq!(find_cycle(&top_graph), None, "{name}: import cycle between top-level modules");
}

#[test]
fn core_modules_form_no_cycle_and_no_file_is_too_long() {
    check_crate("walden-core", &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
}

#[test]
fn std_modules_form_no_cycle_and_no_file_is_too_long() {
    check_crate("walden-std", &Path::new(env!("CARGO_MANIFEST_DIR")).join("../std-backend/src"));
}

#[test]
fn the_checker_finds_a_cycle() {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.insert("a".into(), ["b".to_string()].into());
    g.insert("b".into(), ["c".to_string()].into());
    g.insert("c".into(), ["a".to_string()].into());
    assert!(find_cycle(&g).is_some());
    g.insert("c".into(), BTreeSet::new());
    assert_eq!(find_cycle(&g), None);
    let known: BTreeMap<String, PathBuf> = ["wal", "wal::index", "format"]
        .iter()
        .map(|m| (m.to_string(), PathBuf::new()))
        .collect();
    let refs = references(
        "pager",
        "use crate::wal::index::{Index, IndexHeader};\nuse crate::{format, wal::index};",
        &known,
    );
    assert_eq!(refs, ["format".to_string(), "wal::index".to_string()].into());
}
