//! sitemap.xml: `<urlset>` page lists and `<sitemapindex>` lists of further sitemaps (roxmltree).

/// What a sitemap file lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SitemapEntries {
    /// Page URLs (`<urlset><url><loc>`).
    pub pages: Vec<String>,
    /// Further sitemaps (`<sitemapindex><sitemap><loc>`).
    pub sitemaps: Vec<String>,
}

/// Parses a sitemap or sitemap index. The error names what is wrong.
pub fn parse_sitemap(xml: &str) -> Result<SitemapEntries, String> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| format!("not valid XML: {e}"))?;
    let root = doc.root_element();
    let (item, is_index) = match root.tag_name().name() {
        "urlset" => ("url", false),
        "sitemapindex" => ("sitemap", true),
        other => return Err(format!("root element is <{other}>, not <urlset> or <sitemapindex>")),
    };
    let mut out = SitemapEntries::default();
    for node in root.children().filter(|n| n.is_element() && n.tag_name().name() == item) {
        let loc = node
            .children()
            .find(|c| c.is_element() && c.tag_name().name() == "loc")
            .and_then(|c| c.text())
            .map(str::trim)
            .filter(|t| !t.is_empty());
        if let Some(loc) = loc {
            if is_index {
                out.sitemaps.push(loc.to_string());
            } else {
                out.pages.push(loc.to_string());
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urlsets_and_indexes_parse() {
        let set = r#"<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc> https://example.com/help/a </loc><lastmod>2024-01-01</lastmod></url>
  <url><loc>https://example.com/help/b?x=1&amp;y=2</loc></url>
  <url><priority>0.5</priority></url>
</urlset>"#;
        assert_eq!(
            parse_sitemap(set).unwrap(),
            SitemapEntries {
                pages: vec!["https://example.com/help/a".into(), "https://example.com/help/b?x=1&y=2".into()],
                sitemaps: vec![]
            }
        );
        let index = r#"<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>https://example.com/sitemap-help.xml</loc></sitemap>
</sitemapindex>"#;
        assert_eq!(parse_sitemap(index).unwrap().sitemaps, vec!["https://example.com/sitemap-help.xml".to_string()]);
        assert!(parse_sitemap("<html><body>404</body></html>").unwrap_err().contains("not <urlset>"));
        assert!(parse_sitemap("<urlset><url>").unwrap_err().starts_with("not valid XML"));
    }
}
