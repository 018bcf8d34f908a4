//! The console's bundle is embedded in the binary (src/console.rs); say how to make it when it is
//! missing, rather than leave a bare "file not found" from `include_bytes!`.
fn main() {
    let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../console/dist");
    for file in ["index.html", "app.js", "app.css"] {
        let path = dist.join(file);
        println!("cargo::rerun-if-changed={}", path.display());
        if !path.exists() {
            panic!("{} is missing: build the console first with scripts/build-console", path.display());
        }
    }
}
