//! The store contract: every rule of the `Store` trait, written once as a backend-agnostic
//! story and run on every backend — embedded SQLite in a temp directory and PostgreSQL in a
//! freshly created database — in the same `cargo test --test store`.
//!
//! A story is an `async fn` taking `&dyn Store` (or `Arc<dyn Store>` when it spawns concurrent
//! writers) that panics when the rule is broken. Each module ends with one `stories!` list;
//! adding a rule is one function and one line there. Stories reach the store only through
//! `calls`, so a change of the trait's signatures is absorbed in that one file. A rule for a
//! new aggregate (groups, …) gets a module of its own here first.

/// Generates one `#[tokio::test]` per backend for each named story of the enclosing module:
/// `<module>::sqlite::<story>` and `<module>::postgres::<story>`. Attributes written before a
/// story's name (`#[ignore = "bug: …"]`) go on both.
macro_rules! stories {
    ($($(#[$attr:meta])* $story:ident),+ $(,)?) => {
        stories!(@on sqlite, Sqlite, $($(#[$attr])* $story),+);
        stories!(@on postgres, Postgres, $($(#[$attr])* $story),+);
    };
    (@on $module:ident, $backend:ident, $($(#[$attr:meta])* $story:ident),+) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                $(#[$attr])*
                async fn $story() {
                    let fixture =
                        $crate::fixture::Fixture::open($crate::backend::Backend::$backend).await;
                    super::$story($crate::fixture::Given::given(&fixture)).await;
                    fixture.close().await;
                }
            )+
        }
    };
}

// The per-test storage of the HTTP suites (a temp directory; a PostgreSQL database created
// and dropped), shared as the same file; this binary uses only the storage, not the server's
// configuration helpers.
#[allow(dead_code)]
#[path = "../api/backend.rs"]
mod backend;
mod calls;
mod fixture;
mod observe;

mod accounts;
mod conversations;
mod events;
mod groups;
mod history;
mod lifecycle;
mod ordering;
mod presence;
mod receipts;
mod recount;
mod replay;
mod safety;
mod sends;
mod sessions;
mod uploads;
mod watermarks;
// Accounts, reports and operators (v2 safety).
mod standing;
