//! The README's code is the code the project runs: its Rust example is
//! `examples/quickstart.rs` verbatim (and runs as a doctest of this crate),
//! its C example is `examples/c/hello.c` verbatim (compiled and run by
//! `scripts/readme.sh` with the README's own commands, in CI).

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("read README.md")
}

/// The body of the first code block opened by `fence` after `heading`.
fn block(text: &str, heading: &str, fence: &str) -> String {
    let at = text.find(heading).unwrap_or_else(|| panic!("README has no {heading:?}"));
    let start = text[at..]
        .find(fence)
        .unwrap_or_else(|| panic!("no {fence:?} block after {heading:?}"))
        + at
        + fence.len();
    let end = text[start..].find("```").expect("the block ends") + start;
    text[start..end].to_string()
}

#[test]
fn the_rust_example_is_examples_quickstart_rs() {
    let code = block(&readme(), "## Rust API", "```rust\n");
    let file = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/quickstart.rs")).expect("read the example");
    assert_eq!(
        code, file,
        "README.md's Rust example and examples/quickstart.rs differ: make them the same"
    );
    assert!(code.contains("fn main()"), "the example is a whole program");
}

#[test]
fn the_c_example_is_examples_c_hello_c() {
    let code = block(&readme(), "`examples/c/hello.c`:", "```c\n");
    let file = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/c/hello.c")).expect("read hello.c");
    assert_eq!(
        code, file,
        "README.md's C example and examples/c/hello.c differ: make them the same"
    );
}

/// `use walden::*` leaves the standard `core` crate reachable: the engine is
/// re-exported as `walden::engine`, not as `walden::core`.
mod glob_import {
    #[allow(unused_imports)]
    use walden::*;

    #[test]
    fn core_still_means_the_standard_core() {
        let (mut a, mut b) = (1, 2);
        core::mem::swap(&mut a, &mut b);
        assert_eq!((a, b), (2, 1));
        assert_eq!(engine::max_key_len(4096), 1347);
    }
}
