//! The crate graph points one way: abi ← loader ← libos ← host (DESIGN.md).

use std::path::Path;

fn our_dependencies(crate_dir: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(crate_dir)
        .join("Cargo.toml");
    let manifest: toml::Table = std::fs::read_to_string(&path).unwrap().parse().unwrap();
    let mut deps = Vec::new();
    for section in ["dependencies", "build-dependencies"] {
        if let Some(table) = manifest.get(section).and_then(|t| t.as_table()) {
            deps.extend(table.keys().filter(|k| k.starts_with("picobox")).cloned());
        }
    }
    deps.sort();
    deps
}

#[test]
fn dependencies_point_one_way() {
    assert_eq!(our_dependencies("abi"), Vec::<String>::new());
    assert_eq!(our_dependencies("loader"), ["picobox-abi"]);
    assert_eq!(our_dependencies("libos"), ["picobox-abi", "picobox-loader"]);
    assert_eq!(
        our_dependencies("host"),
        ["picobox-abi", "picobox-libos", "picobox-loader"]
    );
}
