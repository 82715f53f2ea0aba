//! Rebuilds the crate when a migration is added: `sqlx::migrate!` embeds `migrations/sqlite` and
//! `migrations/postgres` at compile time; it tracks the files it saw, not new ones.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
