//! One browser tab in its own browser context (its own cookies: one person), and what a test
//! does with it as a person would: navigate, click, type, press keys, look, take screenshots.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

use crate::cdp::{Browser, Cdp, PageLog};

/// How long a test waits for something a person would see happen.
pub const WAIT: Duration = Duration::from_secs(10);

/// A desktop window and a phone screen.
#[derive(Debug, Clone, Copy)]
pub enum Screen {
    Desktop,
    Phone,
}

pub struct Page {
    cdp: Cdp,
    session: String,
    pub log: Arc<Mutex<PageLog>>,
    /// Whose page this is, for failure messages and screenshot names.
    pub name: String,
}

/// Where screenshots go: `target/screenshots/`.
pub fn screenshot_dir() -> PathBuf {
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    target
        .parent()
        .map_or_else(|| target.clone(), PathBuf::from)
        .join("screenshots")
}

impl Page {
    /// A new tab in a new browser context, sized for `screen`, that believes it has focus.
    pub async fn open(browser: &Browser, name: &str, screen: Screen) -> Page {
        let cdp = browser.cdp.clone();
        let context = cdp
            .call(None, "Target.createBrowserContext", json!({}))
            .await;
        let target = cdp
            .call(
                None,
                "Target.createTarget",
                json!({"url": "about:blank", "browserContextId": context["browserContextId"]}),
            )
            .await;
        let attached = cdp
            .call(
                None,
                "Target.attachToTarget",
                json!({"targetId": target["targetId"], "flatten": true}),
            )
            .await;
        let session = attached["sessionId"]
            .as_str()
            .expect("session id")
            .to_owned();
        let page = Page {
            log: cdp.log(&session),
            cdp,
            session,
            name: name.to_owned(),
        };
        for domain in [
            "Page.enable",
            "Runtime.enable",
            "Log.enable",
            "Network.enable",
        ] {
            page.call(domain, json!({})).await;
        }
        page.call(
            "Emulation.setFocusEmulationEnabled",
            json!({"enabled": true}),
        )
        .await;
        page.resize(screen).await;
        page
    }

    pub async fn call(&self, method: &str, params: Value) -> Value {
        self.cdp.call(Some(&self.session), method, params).await
    }

    /// Sizes the viewport as a desktop window (1280×800) or a phone (375×740, mobile).
    pub async fn resize(&self, screen: Screen) {
        let (width, height, mobile) = match screen {
            Screen::Desktop => (1280, 800, false),
            Screen::Phone => (375, 740, true),
        };
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
        )
        .await;
    }

    /// Navigates to `url` and waits for the page (after any redirects) to load.
    pub async fn goto(&self, url: &str) {
        let loads = self.log.lock().unwrap().loads;
        let answer = self.call("Page.navigate", json!({"url": url})).await;
        assert!(
            answer.get("errorText").is_none(),
            "{}: navigating to {url} failed: {answer}",
            self.name
        );
        self.wait_until(&format!("loading {url}"), || async {
            self.log.lock().unwrap().loads > loads
        })
        .await;
    }

    /// Evaluates `expression` (awaiting a promise) and returns its JSON value.
    pub async fn try_eval(&self, expression: &str) -> Result<Value, String> {
        let answer = self
            .cdp
            .try_call(
                Some(&self.session),
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
            )
            .await?;
        if let Some(details) = answer.get("exceptionDetails") {
            return Err(details["exception"]["description"]
                .as_str()
                .unwrap_or("exception")
                .to_owned());
        }
        Ok(answer["result"]["value"].clone())
    }

    pub async fn eval(&self, expression: &str) -> Value {
        self.try_eval(expression)
            .await
            .unwrap_or_else(|e| panic!("{}: evaluating {expression}: {e}", self.name))
    }

    /// Waits until `condition` (a JavaScript expression) is true; fails with a screenshot.
    pub async fn wait_for(&self, condition: &str) {
        self.wait_for_within(condition, WAIT).await;
    }

    pub async fn wait_for_within(&self, condition: &str, within: Duration) {
        let started = Instant::now();
        loop {
            if self.try_eval(condition).await == Ok(Value::Bool(true)) {
                return;
            }
            if started.elapsed() > within {
                let shot = self.screenshot(&format!("failed-{}", self.name)).await;
                panic!(
                    "{}: waited {within:?} for `{condition}`; see {}",
                    self.name,
                    shot.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn wait_until<F, Fut>(&self, what: &str, check: F)
    where
        F: Fn() -> Fut,
        Fut: Future<Output = bool>,
    {
        let started = Instant::now();
        while !check().await {
            assert!(started.elapsed() < WAIT, "{}: timed out {what}", self.name);
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Clicks the middle of the element `selector` with the mouse.
    pub async fn click(&self, selector: &str) {
        self.wait_for(&format!("!!document.querySelector({selector:?})"))
            .await;
        let center = self
            .eval(&format!(
                "(() => {{ const e = document.querySelector({selector:?}); e.scrollIntoView({{block: 'center'}}); \
                 const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()"
            ))
            .await;
        let (x, y) = (center[0].as_f64().unwrap(), center[1].as_f64().unwrap());
        for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
            )
            .await;
        }
    }

    /// Clicks into `selector` and types `text` as keyboard input.
    pub async fn type_into(&self, selector: &str, text: &str) {
        self.click(selector).await;
        self.call("Input.insertText", json!({"text": text})).await;
    }

    /// Presses Enter, with Shift when `shift`.
    pub async fn press_enter(&self, shift: bool) {
        let modifiers = if shift { 8 } else { 0 };
        for kind in ["keyDown", "keyUp"] {
            let mut params = json!({"type": kind, "key": "Enter", "code": "Enter",
                "windowsVirtualKeyCode": 13, "nativeVirtualKeyCode": 13, "modifiers": modifiers});
            if kind == "keyDown" {
                params["text"] = json!("\r");
            }
            self.call("Input.dispatchKeyEvent", params).await;
        }
    }

    /// Presses Escape (closes a dialog).
    pub async fn press_escape(&self) {
        for kind in ["keyDown", "keyUp"] {
            let params = json!({"type": kind, "key": "Escape", "code": "Escape",
                "windowsVirtualKeyCode": 27, "nativeVirtualKeyCode": 27});
            self.call("Input.dispatchKeyEvent", params).await;
        }
    }

    /// Types `text` where the focus is (replacing the selection, if any), as keyboard input.
    pub async fn insert_text(&self, text: &str) {
        self.call("Input.insertText", json!({"text": text})).await;
    }

    /// Presses a key without text, e.g. `("ArrowDown", 40)`.
    pub async fn press_key(&self, key: &str, key_code: u32) {
        for kind in ["keyDown", "keyUp"] {
            let params = json!({"type": kind, "key": key, "code": key,
                "windowsVirtualKeyCode": key_code, "nativeVirtualKeyCode": key_code});
            self.call("Input.dispatchKeyEvent", params).await;
        }
    }

    /// Presses Tab (with Shift when `shift`), moving the keyboard focus.
    pub async fn press_tab(&self, shift: bool) {
        let modifiers = if shift { 8 } else { 0 };
        for kind in ["keyDown", "keyUp"] {
            let params = json!({"type": kind, "key": "Tab", "code": "Tab",
                "windowsVirtualKeyCode": 9, "nativeVirtualKeyCode": 9, "modifiers": modifiers});
            self.call("Input.dispatchKeyEvent", params).await;
        }
    }

    /// Keeps a list of the WebSockets the pages of this tab open (from the next navigation
    /// on), so that `set_offline` can drop them: the browser's offline emulation refuses new
    /// connections but leaves open sockets alone. Installed by the debugger, not the page, so
    /// the pages' CSP does not apply.
    pub async fn track_sockets(&self) {
        let source = "(() => { const Native = window.WebSocket; window.__sockets = []; \
            window.WebSocket = class extends Native { constructor(...args) { super(...args); \
            window.__sockets.push(this); } }; })()";
        self.call(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({"source": source}),
        )
        .await;
    }

    /// Takes the tab off the network (`true`) or puts it back: as a person whose connection
    /// drops, its open sockets (tracked by `track_sockets`) close and nothing reaches the
    /// server until it is back.
    pub async fn set_offline(&self, offline: bool) {
        self.call(
            "Network.emulateNetworkConditions",
            json!({"offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}),
        )
        .await;
        if offline {
            self.eval("(window.__sockets ?? []).forEach((s) => s.close(4000, 'offline')); true")
                .await;
        }
    }

    /// Slows the tab's uploads to `bytes_per_second` (`None`: full speed again), as on a slow
    /// connection, so that an upload stays in progress for a while.
    pub async fn throttle_uploads(&self, bytes_per_second: Option<u32>) {
        let upload = bytes_per_second.map_or(-1.0, f64::from);
        self.call(
            "Network.emulateNetworkConditions",
            json!({"offline": false, "latency": 0, "downloadThroughput": -1, "uploadThroughput": upload}),
        )
        .await;
    }

    /// Makes a file picker that the page opens (`<input type=file>` clicked) open nothing, as
    /// a person's choice is then given by `choose_files`.
    pub async fn intercept_file_pickers(&self) {
        self.call(
            "Page.setInterceptFileChooserDialog",
            json!({"enabled": true}),
        )
        .await;
    }

    /// Chooses `paths` in the file input `selector`, as the file picker would (the input's
    /// `input` and `change` events fire).
    pub async fn choose_files(&self, selector: &str, paths: &[&std::path::Path]) {
        let document = self.call("DOM.getDocument", json!({"depth": 0})).await;
        let node = self
            .call(
                "DOM.querySelector",
                json!({"nodeId": document["root"]["nodeId"], "selector": selector}),
            )
            .await;
        assert!(
            node["nodeId"].as_i64().unwrap_or(0) > 0,
            "{}: no {selector} to choose files in",
            self.name
        );
        let files: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        self.call(
            "DOM.setFileInputFiles",
            json!({"files": files, "nodeId": node["nodeId"]}),
        )
        .await;
    }

    /// Saves a PNG of the viewport as `target/screenshots/{name}.png`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let shot = self
            .call("Page.captureScreenshot", json!({"format": "png"}))
            .await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap_or(""))
            .expect("base64 screenshot");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, bytes).expect("write screenshot");
        path
    }

    /// The URLs the page requested so far.
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().requests.clone()
    }

    /// The errors the page logged so far.
    pub fn errors(&self) -> Vec<String> {
        self.log.lock().unwrap().errors.clone()
    }

    /// Asserts the page threw nothing uncaught, logged no error and opened no dialog.
    pub fn assert_clean(&self) {
        self.assert_no_uncaught();
        let errors = self.errors();
        assert!(
            errors.is_empty(),
            "{}: console errors: {errors:?}",
            self.name
        );
    }

    /// Asserts only that nothing was thrown uncaught and no dialog opened (for tests where the
    /// browser rightly logs failed connections, e.g. while the server is down).
    pub fn assert_no_uncaught(&self) {
        let log = self.log.lock().unwrap();
        assert!(
            log.exceptions.is_empty(),
            "{}: uncaught errors: {:?}",
            self.name,
            log.exceptions
        );
        assert!(
            log.dialogs.is_empty(),
            "{}: dialogs: {:?}",
            self.name,
            log.dialogs
        );
    }
}
