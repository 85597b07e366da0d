//! sitemap.xml: `<urlset>` page lists and `<sitemapindex>` lists of further sitemaps (roxmltree), plain or
//! gzip-compressed (`sitemap.xml.gz`, served as a file rather than with a content encoding).

use std::io::Read;

/// Largest uncompressed sitemap read, as the sitemaps protocol allows (50 MiB).
pub const MAX_SITEMAP_BYTES: u64 = 50 << 20;

/// What a sitemap file lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SitemapEntries {
    /// Page URLs (`<urlset><url><loc>`).
    pub pages: Vec<String>,
    /// Further sitemaps (`<sitemapindex><sitemap><loc>`).
    pub sitemaps: Vec<String>,
}

/// The text of a sitemap body: gunzipped when it is a gzip file (by its magic bytes, whatever the URL or
/// content type say), refusing to inflate past `limit` bytes (a decompression bomb).
pub fn sitemap_text(body: &[u8], limit: u64) -> Result<String, String> {
    if !body.starts_with(&[0x1f, 0x8b]) {
        return Ok(String::from_utf8_lossy(body).into_owned());
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(body)
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("not a valid gzip file: {e}"))?;
    if out.len() as u64 > limit {
        return Err(format!("inflates past {limit} bytes"));
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
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

    #[test]
    fn gzip_sitemaps_are_inflated_within_a_limit() {
        use std::io::Write;
        let xml = r#"<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://a.example/x</loc></url></urlset>"#;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(xml.as_bytes()).unwrap();
        let body = gz.finish().unwrap();
        let text = sitemap_text(&body, MAX_SITEMAP_BYTES).unwrap();
        assert_eq!(parse_sitemap(&text).unwrap().pages, vec!["https://a.example/x"]);
        assert_eq!(sitemap_text(xml.as_bytes(), 10).unwrap(), xml, "plain bodies pass through");
        // A small file that inflates past the limit is refused, not read whole.
        let mut bomb = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        bomb.write_all(&vec![b' '; 1 << 20]).unwrap();
        let bomb = bomb.finish().unwrap();
        assert!(bomb.len() < 5_000);
        assert_eq!(sitemap_text(&bomb, 64 << 10).unwrap_err(), "inflates past 65536 bytes");
        assert!(sitemap_text(&[0x1f, 0x8b, 1, 2, 3], 100).unwrap_err().starts_with("not a valid gzip file"));
    }
}
