//! Build script: records the git commit of the checkout (if any) as
//! `CLUSTERSIM_GIT_COMMIT` for the manifest. It never fails: outside a git
//! checkout, or without git, the variable is simply not set.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/index");
    println!("cargo:rerun-if-env-changed=CLUSTERSIM_GIT_COMMIT");
    if let Ok(commit) = std::env::var("CLUSTERSIM_GIT_COMMIT") {
        println!("cargo:rustc-env=CLUSTERSIM_GIT_COMMIT={commit}");
        return;
    }
    let out = Command::new("git").args(["rev-parse", "HEAD"]).output();
    if let Ok(out) = out {
        if out.status.success() {
            let commit = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if commit.len() >= 7 && commit.chars().all(|c| c.is_ascii_hexdigit()) {
                println!("cargo:rustc-env=CLUSTERSIM_GIT_COMMIT={commit}");
            }
        }
    }
}
