#![cfg(not(target_arch = "wasm32"))]
//! The core's layering, read from its source: it names nothing of the browser layer (`src/web`), and
//! no two of its modules import each other, directly or through others. A module kept in a folder
//! (`src/machine/`) is one module here.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// Which modules each module of `dir` names: every `crate::<module>` path in its code (comments left
/// out, test modules included), grouped `crate::{a, b::c}` paths too. A name that is not a module of
/// `dir` is one the crate root re-exports, so it counts as the root (`lib`), whose own edges are its
/// `pub use`s; `web` stands for the browser layer.
fn imports(dir: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let files: BTreeMap<String, String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter_map(|path| {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            if path.extension().is_some_and(|e| e == "rs") {
                Some((name, fs::read_to_string(&path).unwrap()))
            } else if path.join("mod.rs").is_file() && name != "web" {
                Some((name, folder_text(&path)))
            } else {
                None
            }
        })
        .collect();
    let module = |name: &str| match name {
        "web" => "web".to_string(),
        name if files.contains_key(name) => name.to_string(),
        _ => "lib".to_string(),
    };
    files
        .iter()
        .map(|(name, text)| {
            let code: String = text.lines().map(|line| line.split("//").next().unwrap()).collect::<Vec<_>>().join("\n");
            let mut named = BTreeSet::new();
            let prefixes: &[&str] = if name == "lib" { &["crate::", "pub use "] } else { &["crate::"] };
            for prefix in prefixes {
                for (at, _) in code.match_indices(prefix) {
                    for first in leading_names(&code[at + prefix.len()..]) {
                        named.insert(module(&first));
                    }
                }
            }
            named.remove(name);
            (name.clone(), named)
        })
        .collect()
}

/// A core module kept in a folder (`machine/mod.rs` and its files; `web` is the browser layer, not the
/// core) counts as one module: the text of all
/// its files, its own submodules included.
fn folder_text(dir: &Path) -> String {
    let mut paths: Vec<_> = fs::read_dir(dir).unwrap().map(|entry| entry.unwrap().path()).collect();
    paths.sort();
    paths.iter().filter(|p| p.extension().is_some_and(|e| e == "rs")).map(|p| fs::read_to_string(p).unwrap()).collect::<Vec<_>>().join("\n")
}

/// The first path segment of each path at the start of `rest`: `a::b` gives `a`, `{a::b, c}` gives
/// `a` and `c`.
fn leading_names(rest: &str) -> Vec<String> {
    let ident = |s: &str| s.trim_start().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>();
    let Some(group) = rest.strip_prefix('{') else { return vec![ident(rest)] };
    let (mut depth, mut names, mut item_start) = (0, Vec::new(), 0);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                names.push(ident(&group[item_start..i]));
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                names.push(ident(&group[item_start..i]));
                item_start = i + 1;
            }
            _ => {}
        }
    }
    names.into_iter().filter(|n| !n.is_empty() && n != "self").collect()
}

/// The groups of modules that reach each other through their imports (each a circle or several).
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    let reaches = |from: &String| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<&String> = graph[from].iter().collect();
        while let Some(next) = todo.pop() {
            if seen.insert(next.clone()) {
                todo.extend(graph.get(next).into_iter().flatten());
            }
        }
        seen
    };
    let reach: BTreeMap<&String, BTreeSet<String>> = graph.keys().map(|m| (m, reaches(m))).collect();
    let mut groups: BTreeSet<BTreeSet<String>> = BTreeSet::new();
    for (m, reached) in &reach {
        if reached.contains(*m) {
            groups.insert(reached.iter().filter(|other| reach.get(other).is_some_and(|r| r.contains(*m))).cloned().collect());
        }
    }
    groups.into_iter().collect()
}

fn core() -> BTreeMap<String, BTreeSet<String>> {
    imports(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
}

#[test]
fn the_core_names_nothing_of_the_browser_layer() {
    let graph = core();
    assert!(graph.len() > 10, "the core's modules are read: {:?}", graph.keys());
    let upward: Vec<&String> = graph.iter().filter(|(_, named)| named.contains("web")).map(|(m, _)| m).collect();
    assert!(upward.is_empty(), "core modules that name crate::web: {upward:?}");
}

#[test]
fn no_import_circles_in_the_core() {
    let graph = core();
    assert!(graph["machine"].contains("retry") && graph["driver"].contains("machine"), "imports are read: {graph:?}");
    assert_eq!(circles(&graph), Vec::<BTreeSet<String>>::new(), "{graph:#?}");
}

#[test]
fn circles_are_found_through_groups_and_the_root() {
    let graph: BTreeMap<String, BTreeSet<String>> = [("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")]
        .iter()
        .map(|(from, to)| (from.to_string(), BTreeSet::from([to.to_string()])))
        .collect();
    let found = circles(&graph);
    assert_eq!(found, vec![BTreeSet::from(["a".to_string(), "b".to_string(), "c".to_string()])]);
    assert_eq!(leading_names("{a::b, c, d::{e, f}, self};"), ["a", "c", "d"]);
    assert_eq!(leading_names("machine::Machine;"), ["machine"]);
}
