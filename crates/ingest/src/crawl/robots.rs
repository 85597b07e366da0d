//! robots.txt through `texting_robots` (a maintained parser tested against Google's reference suite):
//! which paths our user agent may fetch, the crawl delay, and the `Sitemap:` lines. Following RFC 9309,
//! a missing robots.txt (4xx) allows everything and an unreachable one (5xx, network error) allows
//! nothing.

use texting_robots::Robot;

/// The rules that apply to this crawl.
pub enum Robots {
    /// No robots.txt (or an unparsable one): everything allowed.
    AllowAll,
    /// robots.txt could not be fetched: nothing allowed, with the reason.
    Unreachable(String),
    /// Parsed rules.
    Rules(Box<Robot>),
}

impl Robots {
    /// Parses a robots.txt body for `agent`.
    pub fn parse(agent: &str, body: &[u8]) -> Self {
        match Robot::new(robot_token(agent), body) {
            Ok(r) => Robots::Rules(Box::new(r)),
            Err(e) => {
                tracing::warn!("robots.txt unparsable ({e}); treating as allow-all");
                Robots::AllowAll
            }
        }
    }

    /// Why `url` may not be fetched, or `None` when it may.
    pub fn check(&self, url: &str) -> Option<String> {
        match self {
            Robots::AllowAll => None,
            Robots::Unreachable(why) => Some(format!("robots.txt unreachable ({why})")),
            Robots::Rules(r) => (!r.allowed(url)).then(|| "robots.txt disallows".to_string()),
        }
    }

    /// The Crawl-delay for our agent, in seconds.
    pub fn delay_secs(&self) -> Option<f32> {
        match self {
            Robots::Rules(r) => r.delay,
            _ => None,
        }
    }

    /// The `Sitemap:` URLs listed.
    pub fn sitemaps(&self) -> Vec<String> {
        match self {
            Robots::Rules(r) => r.sitemaps.clone(),
            _ => Vec::new(),
        }
    }
}

/// The product token of a User-Agent (`ThroughlineBot/0.1 (+https://...)` → `ThroughlineBot`), which is
/// what robots.txt groups name.
fn robot_token(agent: &str) -> &str {
    agent.split(['/', ' ']).next().filter(|t| !t.is_empty()).unwrap_or(agent)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TXT: &str = "User-agent: *\nDisallow: /private/\nCrawl-delay: 2\n\nUser-agent: ThroughlineBot\nDisallow: /private/\nDisallow: /drafts\nAllow: /private/public-note\n\nSitemap: https://example.com/sitemap.xml\n";

    #[test]
    fn our_group_applies_with_allow_overrides() {
        let r = Robots::parse("ThroughlineBot/0.1 (+https://example.com/bot)", TXT.as_bytes());
        assert_eq!(r.check("https://example.com/help/a"), None);
        assert_eq!(r.check("https://example.com/private/x").unwrap(), "robots.txt disallows");
        assert_eq!(r.check("https://example.com/drafts/1").unwrap(), "robots.txt disallows");
        assert_eq!(r.check("https://example.com/private/public-note"), None);
        assert_eq!(r.sitemaps(), vec!["https://example.com/sitemap.xml".to_string()]);
        let other = Robots::parse("OtherBot", TXT.as_bytes());
        assert_eq!(other.check("https://example.com/drafts/1"), None);
        assert_eq!(other.delay_secs(), Some(2.0));
    }

    #[test]
    fn unreachable_robots_allow_nothing() {
        let r = Robots::Unreachable("HTTP 503".into());
        assert_eq!(r.check("https://example.com/").unwrap(), "robots.txt unreachable (HTTP 503)");
        assert_eq!(Robots::AllowAll.check("https://example.com/"), None);
    }
}
