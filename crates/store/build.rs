//! Rebuilds the store when a migration is added or changed: `sqlx::migrate!` embeds the
//! migrations at compile time, and cargo does not see those files by itself.

// Cargo reads a build script's instructions from its standard output.
#![allow(clippy::print_stdout)]

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
