//! The shape the architecture promises, checked on the source: handlers never decide, re-decide
//! or write projections, and the file list of "how to add an area" names files that exist.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn no_route_decides_re_decides_or_catches_projections_up() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("crates/api/src"), &mut files);
    assert!(files.len() > 10, "{files:?}");
    // A decision goes through `Ledger::execute::<A>`; a re-decision is a policy's; projections
    // are written by the follower task only.
    let forbidden = ["::decide(", "decide_inquiry(", "decide_elderly_share(", ".catch_up(", "decide_on_stream("];
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for call in forbidden {
                assert!(!code.contains(call), "{}:{}: a handler calls {call}", file.display(), number + 1);
            }
        }
    }
}

#[test]
fn every_file_named_in_how_to_add_an_area_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let guide = std::fs::read_to_string(root.join("docs/adding-an-area.md")).unwrap();
    let mut named = 0;
    for (index, quoted) in guide.split('`').enumerate() {
        // Odd pieces are inside backticks; keep those that look like paths in the repository.
        let is_path = index % 2 == 1
            && (quoted.ends_with(".rs") || quoted.ends_with(".md") || quoted.ends_with('/'))
            && quoted.contains('/')
            && !quoted.contains('<')
            && !quoted.contains(' ');
        if is_path {
            named += 1;
            assert!(root.join(quoted).exists(), "docs/adding-an-area.md names {quoted}, which does not exist");
        }
    }
    assert!(named >= 10, "the guide names {named} files");
}
