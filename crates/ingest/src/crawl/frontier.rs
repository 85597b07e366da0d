//! What the crawl visits: URL normalisation (the dedupe key), scope (start host and path prefix),
//! include/exclude patterns, and crawler-trap limits (URL length, query-string explosion, repeating path
//! segments, calendar-like date paths).

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use regex::Regex;
use url::Url;

/// Query parameters that only track campaigns and never change content.
const TRACKING: [&str; 11] =
    ["gclid", "fbclid", "msclkid", "dclid", "yclid", "mc_cid", "mc_eid", "ref", "ref_src", "_hsenc", "_hsmi"];

/// Normalises a URL into its dedupe key: lowercase scheme and host (the `url` crate does that), no
/// fragment, no default port, no tracking parameters (`utm_*`, `gclid`, `fbclid`, `ref`...), remaining
/// query parameters sorted, no trailing slash except for the root. Only http and https URLs have a key.
pub fn normalize(url: &Url) -> Option<Url> {
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return None;
    }
    let mut u = url.clone();
    u.set_fragment(None);
    if u.port() == default_port(u.scheme()) {
        // `Url` drops default ports on parse; this catches ports set otherwise.
        let _ = u.set_port(None);
    }
    let _ = u.set_username("");
    let _ = u.set_password(None);
    let mut pairs: Vec<(String, String)> = u
        .query_pairs()
        .filter(|(k, _)| {
            let k = k.to_ascii_lowercase();
            !k.starts_with("utm_") && !TRACKING.contains(&k.as_str())
        })
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.sort();
    if pairs.is_empty() {
        u.set_query(None);
    } else {
        u.query_pairs_mut().clear().extend_pairs(pairs);
    }
    let path = u.path().to_string();
    if path.len() > 1 && path.ends_with('/') {
        u.set_path(path.trim_end_matches('/'));
        if u.path().is_empty() {
            u.set_path("/");
        }
    }
    Some(u)
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

/// The document path of a crawled page: its URL path without the host (with the query, if any).
pub fn doc_path(url: &Url) -> String {
    match url.query() {
        Some(q) if !q.is_empty() => format!("{}?{q}", url.path()),
        _ => url.path().to_string(),
    }
}

/// The part of the web a crawl stays in: the start URL's host and its path prefix.
#[derive(Debug, Clone)]
pub struct Scope {
    host: String,
    port: Option<u16>,
    prefix: String,
}

impl Scope {
    /// The scope of a start URL: its host, and the folder of its path (`/docs/intro` → `/docs`,
    /// `/docs/` → `/docs`, `/` → everything).
    pub fn of(start: &Url) -> Self {
        let path = start.path();
        let dir = if path.ends_with('/') {
            path.trim_end_matches('/')
        } else {
            let last = path.rsplit('/').next().unwrap_or("");
            if last.contains('.') {
                path.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
            } else {
                path
            }
        };
        Self {
            host: start.host_str().unwrap_or("").to_ascii_lowercase(),
            port: start.port_or_known_default(),
            prefix: dir.to_string(),
        }
    }

    /// The path prefix (empty for the whole host).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Whether `url` is on the start host (http or https).
    pub fn same_host(&self, url: &Url) -> bool {
        let host = url.host_str().unwrap_or("").to_ascii_lowercase();
        // Scheme changes between http and https (and their default ports) stay on the host.
        let port_ok = url.port_or_known_default() == self.port
            || (url.port().is_none() && self.port.is_some_and(|p| p == 80 || p == 443));
        host == self.host && port_ok
    }

    /// Why `url` is out of scope, or `None` when it is in.
    pub fn check(&self, url: &Url) -> Option<String> {
        if !self.same_host(url) {
            return Some(format!("out of scope: other host {}", url.host_str().unwrap_or("")));
        }
        let path = url.path();
        if self.prefix.is_empty() || path == self.prefix || path.starts_with(&format!("{}/", self.prefix)) {
            None
        } else {
            Some(format!("out of scope: outside {}/", self.prefix))
        }
    }
}

/// Include/exclude patterns on the URL path (with its query). A pattern is a glob (`*` matches any run of
/// characters including `/`, `?` one character) anchored at both ends, or a regular expression when it
/// starts with `re:`.
#[derive(Debug, Clone, Default)]
pub struct Patterns {
    include: Vec<(String, Regex)>,
    exclude: Vec<(String, Regex)>,
}

/// Compiles one pattern, naming it in the error.
fn compile(pattern: &str) -> Result<Regex, String> {
    let source = match pattern.strip_prefix("re:") {
        Some(re) => re.to_string(),
        None => {
            let mut re = String::from("^");
            for c in pattern.chars() {
                match c {
                    '*' => re.push_str(".*"),
                    '?' => re.push('.'),
                    c => re.push_str(&regex::escape(&c.to_string())),
                }
            }
            re.push('$');
            re
        }
    };
    Regex::new(&source).map_err(|e| format!("pattern `{pattern}` is not valid: {e}"))
}

impl Patterns {
    /// Compiles the patterns; the error names the bad one.
    pub fn new(include: &[String], exclude: &[String]) -> Result<Self, String> {
        let build = |v: &[String]| -> Result<Vec<(String, Regex)>, String> {
            v.iter().map(|p| Ok((p.clone(), compile(p)?))).collect()
        };
        Ok(Self { include: build(include)?, exclude: build(exclude)? })
    }

    /// Why `url` is filtered out, or `None` when it passes.
    pub fn check(&self, url: &Url) -> Option<String> {
        let target = doc_path(url);
        if let Some((p, _)) = self.exclude.iter().find(|(_, re)| re.is_match(&target)) {
            return Some(format!("excluded by pattern `{p}`"));
        }
        if !self.include.is_empty() && !self.include.iter().any(|(_, re)| re.is_match(&target)) {
            return Some("not matched by any include pattern".into());
        }
        None
    }
}

/// Trap limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrapLimits {
    /// Longest URL accepted, in characters.
    pub max_url_len: usize,
    /// Most distinct query strings accepted for one path.
    pub max_query_variants: usize,
    /// Most times one path segment may appear in a path.
    pub max_segment_repeats: usize,
    /// Most pages accepted per date-shaped path pattern (`/calendar/{date}`).
    pub max_date_variants: usize,
}

impl Default for TrapLimits {
    fn default() -> Self {
        Self { max_url_len: 512, max_query_variants: 25, max_segment_repeats: 2, max_date_variants: 12 }
    }
}

static YEAR: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(19|20)\d\d$").expect("valid regex"));
static MONTH_OR_DAY: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\d{1,2}$").expect("valid regex"));
static DATE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(19|20)\d\d-\d\d(-\d\d)?$").expect("valid regex"));
static DATE_PARAM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)(^|&)(date|month|year|day|week|start|end)=").expect("valid regex"));

/// Counts URLs per path and per date pattern to spot traps as they grow.
#[derive(Debug, Default)]
pub struct TrapDetector {
    limits: TrapLimits,
    queries: HashMap<String, HashSet<String>>,
    dates: HashMap<String, HashSet<String>>,
}

impl TrapDetector {
    /// A detector with these limits.
    pub fn new(limits: TrapLimits) -> Self {
        Self { limits, ..Default::default() }
    }

    /// Why `url` looks like a crawler trap, or `None`. Counts it when accepted.
    pub fn check(&mut self, url: &Url) -> Option<String> {
        let l = self.limits;
        if url.as_str().len() > l.max_url_len {
            return Some(format!("trap: URL longer than {} characters", l.max_url_len));
        }
        let segs: Vec<&str> = url.path().split('/').filter(|s| !s.is_empty()).collect();
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for s in &segs {
            let n = counts.entry(s).or_default();
            *n += 1;
            if *n > l.max_segment_repeats {
                return Some(format!("trap: path segment `{s}` repeats more than {} times", l.max_segment_repeats));
            }
        }
        // Calendar-like: a year followed by month/day segments, an ISO date segment, or a date parameter.
        let mut template = Vec::with_capacity(segs.len());
        let mut dated = false;
        let mut i = 0;
        while i < segs.len() {
            if DATE.is_match(segs[i]) {
                template.push("{date}");
                dated = true;
            } else if YEAR.is_match(segs[i]) && segs.get(i + 1).is_some_and(|s| MONTH_OR_DAY.is_match(s)) {
                template.push("{date}");
                dated = true;
                i += 1;
                while segs.get(i + 1).is_some_and(|s| MONTH_OR_DAY.is_match(s)) {
                    i += 1;
                }
            } else {
                template.push(segs[i]);
            }
            i += 1;
        }
        let query = url.query().unwrap_or("");
        if DATE_PARAM.is_match(query) {
            dated = true;
        }
        if dated {
            let key = format!("/{}", template.join("/"));
            let seen = self.dates.entry(key.clone()).or_default();
            if !seen.contains(url.as_str()) && seen.len() >= l.max_date_variants {
                return Some(format!("trap: calendar-like dates (more than {} pages like {key})", l.max_date_variants));
            }
            seen.insert(url.as_str().to_string());
        }
        if !query.is_empty() {
            let seen = self.queries.entry(url.path().to_string()).or_default();
            if !seen.contains(query) && seen.len() >= l.max_query_variants {
                return Some(format!(
                    "trap: more than {} query-string variants of {}",
                    l.max_query_variants,
                    url.path()
                ));
            }
            seen.insert(query.to_string());
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        normalize(&Url::parse(s).unwrap()).unwrap().to_string()
    }

    #[test]
    fn urls_normalise_to_one_key() {
        assert_eq!(norm("HTTPS://Docs.Example.COM:443/Guide/#install"), "https://docs.example.com/Guide");
        assert_eq!(norm("http://example.com:80/a/b/"), "http://example.com/a/b");
        assert_eq!(norm("http://example.com:8080/"), "http://example.com:8080/");
        assert_eq!(
            norm("https://example.com/p?utm_source=x&b=2&gclid=1&a=1&fbclid=2&ref=hn&UTM_medium=y"),
            "https://example.com/p?a=1&b=2"
        );
        assert_eq!(norm("https://example.com/p?utm_campaign=z"), "https://example.com/p");
        assert_eq!(norm("https://user:pw@example.com/x"), "https://example.com/x");
        assert!(normalize(&Url::parse("mailto:a@example.com").unwrap()).is_none());
        assert!(normalize(&Url::parse("ftp://example.com/f").unwrap()).is_none());
        assert_eq!(doc_path(&Url::parse("https://example.com/help/a?page=2").unwrap()), "/help/a?page=2");
        assert_eq!(doc_path(&Url::parse("https://example.com/help/a").unwrap()), "/help/a");
    }

    #[test]
    fn scope_is_host_and_path_prefix() {
        let u = |s: &str| Url::parse(s).unwrap();
        let root = Scope::of(&u("https://example.com/"));
        assert_eq!(root.check(&u("https://example.com/anything")), None);
        assert_eq!(root.check(&u("http://example.com/x")), None, "http and https are the same site");
        assert_eq!(root.check(&u("https://other.example/x")).unwrap(), "out of scope: other host other.example");
        assert_eq!(root.check(&u("https://sub.example.com/x")).unwrap(), "out of scope: other host sub.example.com");
        let docs = Scope::of(&u("https://example.com/docs/intro"));
        assert_eq!(docs.prefix(), "/docs/intro");
        let docs = Scope::of(&u("https://example.com/docs/"));
        assert_eq!(docs.check(&u("https://example.com/docs")), None);
        assert_eq!(docs.check(&u("https://example.com/docs/a/b")), None);
        assert_eq!(docs.check(&u("https://example.com/docsearch")).unwrap(), "out of scope: outside /docs/");
        assert_eq!(docs.check(&u("https://example.com/blog")).unwrap(), "out of scope: outside /docs/");
        let page = Scope::of(&u("https://example.com/docs/index.html"));
        assert_eq!(page.prefix(), "/docs");
        let port = Scope::of(&u("http://127.0.0.1:8080/"));
        assert!(port.check(&u("http://127.0.0.1:9090/")).is_some());
    }

    #[test]
    fn patterns_are_globs_or_regexes() {
        let u = |s: &str| Url::parse(s).unwrap();
        let p = Patterns::new(&["/help/*".into(), "re:^/docs/v[0-9]+/".into()], &["*/internal/*".into()]).unwrap();
        assert_eq!(p.check(&u("https://e.com/help/a/b")), None);
        assert_eq!(p.check(&u("https://e.com/docs/v2/x")), None);
        assert_eq!(p.check(&u("https://e.com/blog/x")).unwrap(), "not matched by any include pattern");
        assert_eq!(p.check(&u("https://e.com/help/internal/x")).unwrap(), "excluded by pattern `*/internal/*`");
        let err = Patterns::new(&["re:(".into()], &[]).unwrap_err();
        assert!(err.starts_with("pattern `re:(` is not valid"), "{err}");
    }

    #[test]
    fn traps_are_limited() {
        let u = |s: &str| Url::parse(s).unwrap();
        let mut t = TrapDetector::new(TrapLimits { max_date_variants: 3, max_query_variants: 2, ..Default::default() });
        let long = format!("https://e.com/{}", "a".repeat(600));
        assert_eq!(t.check(&u(&long)).unwrap(), "trap: URL longer than 512 characters");
        assert_eq!(
            t.check(&u("https://e.com/a/b/a/b/a/b")).unwrap(),
            "trap: path segment `a` repeats more than 2 times"
        );
        assert_eq!(t.check(&u("https://e.com/docs/a/docs/b")), None);
        for m in 1..=3 {
            assert_eq!(t.check(&u(&format!("https://e.com/calendar/2024/{m:02}"))), None);
        }
        assert_eq!(t.check(&u("https://e.com/calendar/2024/02")), None, "a URL already counted passes again");
        assert_eq!(
            t.check(&u("https://e.com/calendar/2024/04")).unwrap(),
            "trap: calendar-like dates (more than 3 pages like /calendar/{date})"
        );
        // Blog posts under dates have distinct slugs, so distinct patterns.
        for m in 1..=5 {
            assert_eq!(t.check(&u(&format!("https://e.com/blog/2024/{m:02}/post-{m}"))), None);
        }
        assert_eq!(t.check(&u("https://e.com/search?q=a")), None);
        assert_eq!(t.check(&u("https://e.com/search?q=b")), None);
        assert_eq!(t.check(&u("https://e.com/search?q=a")), None);
        assert_eq!(
            t.check(&u("https://e.com/search?q=c")).unwrap(),
            "trap: more than 2 query-string variants of /search"
        );
    }
}
