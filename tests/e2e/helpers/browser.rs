//! A real browser for the console's tests: Debian's Chromium, headless, driven over the W3C
//! WebDriver protocol by Debian's ChromeDriver (both installed by `scripts/install-deps`). The
//! client is the few WebDriver commands the tests use, over the harness's HTTP client.
//!
//! Browsers are heavy on a 2-core machine, so tests take turns: `Browser::start` waits for the one
//! before to finish.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use tokio::sync::{Mutex, MutexGuard};

use super::s3::ScratchDir;

/// WebDriver's key for an element reference in JSON.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// One browser at a time in this test process.
static TURN: LazyLock<Mutex<()>> = LazyLock::new(|| Mutex::new(()));

/// How long waits wait: long, because CI machines are slow and busy; a passing test waits far less.
pub const PATIENCE: Duration = Duration::from_secs(45);

pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    client: reqwest::Client,
    _profile: ScratchDir,
    _turn: MutexGuard<'static, ()>,
}

#[derive(Debug, Clone)]
pub struct Element(String);

fn chromedriver() -> PathBuf {
    std::env::var_os("BURGERNET_CHROMEDRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/usr/bin/chromedriver".into())
}

fn chromium() -> PathBuf {
    std::env::var_os("BURGERNET_CHROMIUM").map(PathBuf::from).unwrap_or_else(|| "/usr/bin/chromium".into())
}

/// Where the tests put their screenshots: `target/console-screenshots/`.
pub fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join("console-screenshots");
    std::fs::create_dir_all(&dir).expect("create the screenshot directory");
    dir
}

impl Browser {
    /// A fresh headless Chromium with an empty profile, 1366 x 768 (the smallest screen the console
    /// is made for).
    pub async fn start() -> Self {
        let turn = TURN.lock().await;
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new(chromedriver())
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is installed (scripts/install-deps)");
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::builder().timeout(Duration::from_secs(120)).build().unwrap();
        let started = Instant::now();
        loop {
            let ready = client.get(format!("{base}/status")).send().await;
            if let Ok(response) = ready {
                let status: Value = response.json().await.unwrap_or_default();
                if status["value"]["ready"] == true {
                    break;
                }
            }
            assert!(started.elapsed() < PATIENCE, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = ScratchDir::new("chromium-profile");
        // The flags keep a headless Chromium from reaching out (updates, sync, metrics), which this
        // machine's closed network refuses, and make it run as root in a container.
        let args = [
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-extensions".into(),
            "--window-size=1366,768".into(),
            "--lang=nl-NL".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let capabilities = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": { "binary": chromium(), "args": args },
                "goog:loggingPrefs": { "browser": "ALL" },
                "timeouts": { "script": 60_000, "pageLoad": 60_000, "implicit": 0 },
            }}
        });
        let answer: Value = client
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .expect("start a browser session")
            .json()
            .await
            .unwrap();
        let session = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {answer}"))
            .to_string();
        Self { driver, base, session, client, _profile: profile, _turn: turn }
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut request = self.client.request(method, url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request.send().await.expect("chromedriver answers").json().await.unwrap();
        if let Some(error) = answer["value"].get("error") {
            panic!("WebDriver {path}: {error}: {}", answer["value"]["message"]);
        }
        answer["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.command(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Value {
        self.command(reqwest::Method::GET, path, None).await
    }

    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    pub async fn current_url(&self) -> String {
        self.get("/url").await.as_str().unwrap_or_default().to_string()
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page and answers its value.
    pub async fn eval(&self, script: &str, args: Vec<Value>) -> Value {
        self.post("/execute/sync", json!({ "script": script, "args": args })).await
    }

    /// Runs `script` whose last argument is the callback to call with the answer.
    pub async fn eval_async(&self, script: &str, args: Vec<Value>) -> Value {
        self.post("/execute/async", json!({ "script": script, "args": args })).await
    }

    /// The first element matching `css` now, if any.
    pub async fn find_now(&self, css: &str) -> Option<Element> {
        let url = format!("{}/session/{}/element", self.base, self.session);
        let answer: Value = self
            .client
            .post(url)
            .json(&json!({ "using": "css selector", "value": css }))
            .send()
            .await
            .expect("chromedriver answers")
            .json()
            .await
            .unwrap();
        answer["value"][ELEMENT_KEY].as_str().map(|id| Element(id.to_string()))
    }

    /// Waits for an element matching `css`.
    pub async fn find(&self, css: &str) -> Element {
        self.find_within(css, PATIENCE).await
    }

    /// Waits up to `patience` for an element matching `css`.
    pub async fn find_within(&self, css: &str, patience: Duration) -> Element {
        let started = Instant::now();
        loop {
            if let Some(element) = self.find_now(css).await {
                return element;
            }
            if started.elapsed() > patience {
                self.save_screenshot(&format!("missing-{}", sanitize(css))).await;
                let page = self.eval("return document.body.innerHTML.slice(0, 3000);", vec![]).await;
                panic!(
                    "no element {css:?} on {} after {patience:?}; the page: {page}; browser log: {}",
                    self.current_url().await,
                    self.log().await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `condition` (a function body answering a boolean) holds in the page.
    pub async fn wait_until(&self, what: &str, condition: &str, args: Vec<Value>) {
        let started = Instant::now();
        loop {
            if self.eval(condition, args.clone()).await == true {
                return;
            }
            if started.elapsed() > PATIENCE {
                self.save_screenshot(&format!("timeout-{}", sanitize(what))).await;
                panic!("waited {PATIENCE:?} for {what}; browser log: {}", self.log().await);
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Waits until the text of the element matching `css` satisfies `accept`; answers it.
    pub async fn wait_for_text(&self, css: &str, accept: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            // Read in the page, not through an element reference: the console re-renders as the
            // event stream speaks, and a reference to a replaced element is stale.
            let text = self
                .eval("return document.querySelector(arguments[0])?.innerText ?? null;", vec![json!(css)])
                .await;
            if let Some(text) = text.as_str()
                && accept(text)
            {
                return text.to_string();
            }
            if started.elapsed() > PATIENCE {
                self.save_screenshot(&format!("text-{}", sanitize(css))).await;
                panic!("{css:?} says {text}; browser log: {}", self.log().await);
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    pub async fn click(&self, element: &Element) {
        self.post(&format!("/element/{}/click", element.0), json!({})).await;
    }

    pub async fn click_on(&self, css: &str) {
        let element = self.find(css).await;
        self.click(&element).await;
    }

    /// Types `text` into a field after clearing it.
    pub async fn fill(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.post(&format!("/element/{}/clear", element.0), json!({})).await;
        self.post(&format!("/element/{}/value", element.0), json!({ "text": text })).await;
    }

    /// Chooses the option with `value` in a `<select>`.
    pub async fn select(&self, css: &str, value: &str) {
        self.find(css).await;
        let option = format!("{css} option[value=\"{value}\"]");
        self.click_on(&option).await;
    }

    pub async fn text(&self, element: &Element) -> String {
        self.get(&format!("/element/{}/text", element.0)).await.as_str().unwrap_or_default().to_string()
    }

    pub async fn text_of(&self, css: &str) -> String {
        self.wait_for_text(css, |_| true).await
    }

    /// Clicks at `(x, y)` pixels from the top left of the element matching `css`, as a person's
    /// mouse would.
    pub async fn click_at(&self, css: &str, x: i64, y: i64) {
        self.find(css).await;
        let rect = self
            .eval("const r = document.querySelector(arguments[0]).getBoundingClientRect(); return [r.left, r.top];", vec![json!(css)])
            .await;
        let (left, top) = (rect[0].as_f64().unwrap() as i64, rect[1].as_f64().unwrap() as i64);
        let actions = json!({ "actions": [{
            "type": "pointer", "id": "mouse", "parameters": { "pointerType": "mouse" },
            "actions": [
                { "type": "pointerMove", "origin": "viewport", "x": left + x, "y": top + y, "duration": 50 },
                { "type": "pointerDown", "button": 0 },
                { "type": "pause", "duration": 60 },
                { "type": "pointerUp", "button": 0 },
                { "type": "pause", "duration": 250 },
            ],
        }]});
        self.post("/actions", actions).await;
        self.command(reqwest::Method::DELETE, "/actions", None).await;
    }

    /// Drags the element matching `css` by `(dx, dy)` pixels with the mouse, in small steps as a
    /// hand would (map libraries follow the pointer's moves, not only where it ends).
    pub async fn drag(&self, css: &str, dx: i64, dy: i64) {
        self.find(css).await;
        let centre = self
            .eval(
                "const r = document.querySelector(arguments[0]).getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2];",
                vec![json!(css)],
            )
            .await;
        let (x, y) = (centre[0].as_f64().unwrap() as i64, centre[1].as_f64().unwrap() as i64);
        let mut steps = vec![
            json!({ "type": "pointerMove", "origin": "viewport", "x": x, "y": y, "duration": 50 }),
            json!({ "type": "pointerDown", "button": 0 }),
        ];
        for step in 1..=10 {
            steps.push(json!({ "type": "pointerMove", "origin": "viewport", "x": x + dx * step / 10, "y": y + dy * step / 10, "duration": 30 }));
        }
        steps.push(json!({ "type": "pointerUp", "button": 0 }));
        steps.push(json!({ "type": "pause", "duration": 250 }));
        let actions = json!({ "actions": [{ "type": "pointer", "id": "mouse", "parameters": { "pointerType": "mouse" }, "actions": steps }] });
        self.post("/actions", actions).await;
        self.command(reqwest::Method::DELETE, "/actions", None).await;
    }

    /// A PNG of the viewport, saved as `target/console-screenshots/{name}.png`.
    pub async fn save_screenshot(&self, name: &str) -> PathBuf {
        let encoded = self.get("/screenshot").await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().unwrap_or_default())
            .unwrap_or_default();
        let path = screenshot_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write the screenshot");
        path
    }

    /// What the page wrote to the console, for failure messages.
    pub async fn log(&self) -> String {
        let url = format!("{}/session/{}/se/log", self.base, self.session);
        let answer: Value = match self.client.post(url).json(&json!({ "type": "browser" })).send().await {
            Ok(response) => response.json().await.unwrap_or_default(),
            Err(_) => return String::new(),
        };
        answer["value"]
            .as_array()
            .map(|entries| {
                entries
                    .iter()
                    .map(|entry| entry["message"].as_str().unwrap_or_default().to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    }

    /// Runs axe-core (the npm package the console's build installs) on the page; answers the
    /// violations of impact `serious` or `critical`, each as "id: help (n nodes)".
    pub async fn serious_accessibility_violations(&self) -> Vec<String> {
        let axe = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("console/node_modules/axe-core/axe.min.js"),
        )
        .expect("axe-core is installed in console/node_modules (scripts/build-console)");
        self.eval(&format!("{axe}\nreturn true;"), vec![]).await;
        let result = self
            .eval_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] }).then(
                   (r) => done(r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
                     .map((v) => `${v.id}: ${v.help} (${v.nodes.length} nodes: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')})`)),
                   (e) => done([`axe failed: ${e}`]));",
                vec![],
            )
            .await;
        result.as_array().unwrap().iter().map(|v| v.as_str().unwrap_or_default().to_string()).collect()
    }

    /// Entries of the page's Resource Timing whose URL contains `part`, their durations in ms.
    pub async fn request_durations(&self, part: &str) -> Vec<f64> {
        let value = self
            .eval(
                "return performance.getEntriesByType('resource').filter((e) => e.name.includes(arguments[0])).map((e) => e.duration);",
                vec![json!(part)],
            )
            .await;
        value.as_array().unwrap().iter().filter_map(Value::as_f64).collect()
    }
}

fn sanitize(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).take(60).collect()
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ends the session first (ChromeDriver then closes Chromium; killing only the driver would
        // leave the browser running), with a plain blocking request since drop cannot await.
        let address = self.base.trim_start_matches("http://").to_string();
        if let Ok(mut stream) = std::net::TcpStream::connect(&address) {
            use std::io::{Read, Write};
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let request = format!(
                "DELETE /session/{} HTTP/1.1\r\nHost: {address}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                self.session
            );
            let _ = stream.write_all(request.as_bytes());
            let _ = stream.read_to_end(&mut Vec::new());
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
