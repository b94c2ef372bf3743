//! axe-core in the browser tests: `check` runs it on the page as it is now, in light and dark,
//! and fails listing every serious or critical violation (rule id, help, the nodes' selectors).
//!
//! axe's source comes from the file `LINKUP_AXE` names (`scripts/test` installs the version
//! pinned in `tests/tools/package-lock.json` and sets it). It is injected with the DevTools
//! protocol's `Runtime.evaluate`, which the pages' CSP (`script-src 'self'`) does not govern: it
//! is the debugger evaluating, not a script of the page, so no CSP exception is needed. Without
//! `LINKUP_AXE` the check is skipped with a note, unless `LINKUP_REQUIRE_TOOLS=1` makes that a
//! failure.

use std::sync::Once;

use serde_json::{Value, json};

use crate::page::Page;

const INSTALL: &str = "run ./scripts/test, or `npm ci --prefix target/test-tools/node` after \
    copying tests/tools/package*.json there, and set \
    LINKUP_AXE=$PWD/target/test-tools/node/node_modules/axe-core/axe.min.js";

/// Runs axe on the whole document and returns its serious and critical violations, each with
/// the CSS selectors of the nodes it found (and, for contrast, the colours and ratio).
const RUN: &str = r#"(async () => {
  const results = await axe.run(document, { resultTypes: ['violations'] });
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => {
        const data = (n.any[0] || n.all[0] || n.none[0] || {}).data;
        const contrast = data && data.contrastRatio
          ? ` (${data.fgColor} on ${data.bgColor}: ${data.contrastRatio}, needs ${data.expectedContrastRatio})`
          : '';
        return n.target.join(' ') + contrast;
      }),
    }));
})()"#;

/// The axe source, or `None` (having said why) when the check is to be skipped.
fn source() -> Option<String> {
    let Ok(path) = std::env::var("LINKUP_AXE") else {
        assert!(
            std::env::var("LINKUP_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "LINKUP_AXE is not set and LINKUP_REQUIRE_TOOLS=1: {INSTALL}"
        );
        static SKIPPED: Once = Once::new();
        SKIPPED.call_once(|| eprintln!("skipped axe: LINKUP_AXE is not set ({INSTALL})"));
        return None;
    };
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("LINKUP_AXE={path} cannot be read ({e}): {INSTALL}"));
    Some(text)
}

/// Checks the page as it is now with axe, in the light and then the dark colour scheme (left
/// light afterwards). `what` names the page in the failure, e.g. "phone /login".
pub async fn check(page: &Page, what: &str) {
    let Some(source) = source() else { return };
    // A navigation drops what was injected: inject again when `axe` is missing.
    if page.eval("typeof window.axe === 'undefined'").await == json!(true) {
        // Not `eval`, whose failure would quote the whole source.
        let loaded = page.try_eval(&format!("{source}\n;typeof axe.run")).await;
        assert_eq!(
            loaded,
            Ok(json!("function")),
            "{}: axe-core does not load",
            page.name
        );
    }
    let mut found = Vec::new();
    for scheme in ["light", "dark"] {
        set_color_scheme(page, scheme).await;
        let violations = page.eval(RUN).await;
        for violation in violations.as_array().into_iter().flatten() {
            found.push(describe(violation, scheme));
        }
    }
    set_color_scheme(page, "light").await;
    assert!(
        found.is_empty(),
        "{}: axe finds {} serious or critical violation(s) on {what}:\n{}",
        page.name,
        found.len(),
        found.join("\n")
    );
}

/// Emulates `prefers-color-scheme: scheme`.
pub async fn set_color_scheme(page: &Page, scheme: &str) {
    page.call(
        "Emulation.setEmulatedMedia",
        json!({"features": [{"name": "prefers-color-scheme", "value": scheme}]}),
    )
    .await;
}

fn describe(violation: &Value, scheme: &str) -> String {
    let nodes: Vec<String> = violation["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| format!("    {}", n.as_str().unwrap_or("?")))
        .collect();
    format!(
        "  [{scheme}] {} ({}): {}\n{}",
        violation["id"].as_str().unwrap_or("?"),
        violation["impact"].as_str().unwrap_or("?"),
        violation["help"].as_str().unwrap_or("?"),
        nodes.join("\n")
    )
}
