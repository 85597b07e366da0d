//! A small HTTP/1.1 server on 127.0.0.1 for crawl tests: routes are set (and changed) by the test, every
//! request is logged with its conditional headers, pages answer 304 to a matching If-None-Match or
//! If-Modified-Since, and a route can be slow, redirect, fail a number of times, or stream without a
//! Content-Length.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One route's answer.
#[derive(Clone)]
pub struct Route {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Sleep before answering.
    pub delay: Option<Duration>,
    /// Answer 503 (Retry-After: 0) this many times first.
    pub fail_first: u32,
    /// Send no Content-Length (the body ends when the connection closes).
    pub no_length: bool,
    /// Send ETag/Last-Modified and honour conditional requests.
    pub validators: bool,
}

impl Route {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
            delay: None,
            fail_first: 0,
            no_length: false,
            validators: true,
        }
    }

    pub fn html(body: impl Into<String>) -> Self {
        Self::new(200, "text/html; charset=utf-8", body.into().into_bytes())
    }

    pub fn redirect(to: &str) -> Self {
        let mut r = Self::new(301, "text/html", Vec::new());
        r.headers.push(("Location".into(), to.into()));
        r.validators = false;
        r
    }
}

/// A request the server saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<String>,
    pub status: u16,
}

#[derive(Default)]
struct State {
    routes: HashMap<String, Route>,
    log: Vec<Seen>,
    failures: HashMap<String, u32>,
}

/// The running server.
pub struct Site {
    pub base: String,
    pub port: u16,
    state: Arc<Mutex<State>>,
}

impl Site {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().expect("addr").port();
        let state: Arc<Mutex<State>> = Arc::default();
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let st = shared.clone();
                std::thread::spawn(move || serve(stream, st));
            }
        });
        Self { base: format!("http://127.0.0.1:{port}"), port, state }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn set(&self, path: &str, route: Route) {
        self.state.lock().unwrap().routes.insert(path.to_string(), route);
    }

    pub fn remove(&self, path: &str) {
        self.state.lock().unwrap().routes.remove(path);
    }

    pub fn log(&self) -> Vec<Seen> {
        self.state.lock().unwrap().log.clone()
    }

    pub fn clear_log(&self) {
        self.state.lock().unwrap().log.clear();
    }

    /// Paths requested, in order.
    pub fn requested(&self) -> Vec<String> {
        self.log().into_iter().map(|s| s.path).collect()
    }
}

fn etag_of(body: &[u8]) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in body {
        h = (h ^ *b as u64).wrapping_mul(0x100000001b3);
    }
    format!("\"{h:016x}\"")
}

const LAST_MODIFIED: &str = "Tue, 03 Sep 2024 10:00:00 GMT";

fn serve(mut stream: TcpStream, state: Arc<Mutex<State>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if buf.len() > 65_536 {
            return;
        }
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    let mut lines = head.split("\r\n");
    let target = lines.next().and_then(|l| l.split(' ').nth(1)).unwrap_or("/").to_string();
    let mut headers = HashMap::new();
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let path = target.split('?').next().unwrap_or("/").to_string();
    let (route, fail_now) = {
        let mut st = state.lock().unwrap();
        let route = st.routes.get(&path).cloned();
        let fail_now = match &route {
            Some(r) if r.fail_first > 0 => {
                let n = st.failures.entry(path.clone()).or_default();
                *n += 1;
                *n <= r.fail_first
            }
            _ => false,
        };
        (route, fail_now)
    };
    let inm = headers.get("if-none-match").cloned();
    let ims = headers.get("if-modified-since").cloned();
    let (status, extra, body, no_length, delay) = match route {
        None => (
            404,
            vec![("Content-Type".to_string(), "text/html".to_string())],
            b"<h1>Not found</h1>".to_vec(),
            false,
            None,
        ),
        Some(_) if fail_now => (503, vec![("Retry-After".to_string(), "0".to_string())], b"busy".to_vec(), false, None),
        Some(r) => {
            let mut extra = r.headers.clone();
            let mut status = r.status;
            let mut body = r.body.clone();
            if r.validators && r.status == 200 {
                let tag = etag_of(&r.body);
                let fresh =
                    inm.as_deref() == Some(tag.as_str()) || (inm.is_none() && ims.as_deref() == Some(LAST_MODIFIED));
                extra.push(("ETag".into(), tag));
                extra.push(("Last-Modified".into(), LAST_MODIFIED.into()));
                if fresh {
                    status = 304;
                    body.clear();
                }
            }
            (status, extra, body, r.no_length, r.delay)
        }
    };
    state.lock().unwrap().log.push(Seen { path: target.clone(), if_none_match: inm, if_modified_since: ims, status });
    if let Some(d) = delay {
        std::thread::sleep(d);
    }
    let mut out = format!("HTTP/1.1 {status} X\r\nConnection: close\r\n");
    for (k, v) in &extra {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    if !no_length {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    let _ = stream.write_all(out.as_bytes());
    let _ = stream.write_all(&body);
    let _ = stream.flush();
}
