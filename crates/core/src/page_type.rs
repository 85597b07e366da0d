//! The kind of page a document is; used as a search filter and by the agent to pick a lifecycle stage.

use std::fmt;
use std::str::FromStr;

use crate::{CoreError, ErrorKind};

/// The kind of page a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PageType {
    /// Product documentation and guides.
    Docs,
    /// Help-center articles: troubleshooting, account, billing.
    Help,
    /// Pricing and plan pages.
    Pricing,
    /// Frequently asked questions.
    Faq,
    /// Blog posts and announcements.
    Blog,
    /// Release notes.
    Changelog,
    /// Terms, privacy, security and other policies.
    Legal,
    /// Anything else.
    Other,
}

impl PageType {
    /// Every page type, in display order.
    pub const ALL: [PageType; 8] = [
        PageType::Docs,
        PageType::Help,
        PageType::Pricing,
        PageType::Faq,
        PageType::Blog,
        PageType::Changelog,
        PageType::Legal,
        PageType::Other,
    ];

    /// The lowercase name used in filters and storage.
    pub fn as_str(self) -> &'static str {
        match self {
            PageType::Docs => "docs",
            PageType::Help => "help",
            PageType::Pricing => "pricing",
            PageType::Faq => "faq",
            PageType::Blog => "blog",
            PageType::Changelog => "changelog",
            PageType::Legal => "legal",
            PageType::Other => "other",
        }
    }
}

impl fmt::Display for PageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PageType {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PageType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                CoreError::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "`{s}` is not a page type (expected one of docs, help, pricing, faq, blog, changelog, legal, other)"
                    ),
                )
            })
    }
}
