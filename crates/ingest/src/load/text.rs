//! Plain text: paragraphs separated by blank lines; a short first line is taken as the title; lines
//! that look like headings (short, followed by a blank line, no final period) start sections.

use throughline_core::{ExtractedDoc, Section};

/// A readable title from a file path: `help/contact-support.txt` → `Contact support`.
pub fn title_from_path(rel: &str) -> String {
    let stem = rel.rsplit('/').next().unwrap_or(rel);
    let stem = stem.rsplit_once('.').map(|(s, _)| s).unwrap_or(stem);
    let words = stem.replace(['-', '_'], " ");
    let mut c = words.trim().chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => rel.to_string(),
    }
}

/// Parses plain text; a short first line becomes the title.
pub fn parse_text(text: &str, rel: &str) -> ExtractedDoc {
    parse_paragraphs(text, rel, true)
}

/// Parses plain text, taking the title from the first line only when `first_line_title`.
pub fn parse_paragraphs(text: &str, rel: &str, first_line_title: bool) -> ExtractedDoc {
    let text = text.replace("\r\n", "\n");
    let paragraphs: Vec<&str> = text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()).collect();
    let mut title = title_from_path(rel);
    let mut start = 0;
    if let Some(first) = paragraphs.first() {
        if first_line_title && paragraphs.len() > 1 && !first.contains('\n') && first.chars().count() <= 80 {
            title = first.trim_start_matches('#').trim().to_string();
            start = 1;
        }
    }
    let mut sections: Vec<Section> = Vec::new();
    let mut current = Section { heading_path: Vec::new(), text: String::new() };
    for p in &paragraphs[start..] {
        let looks_like_heading = !p.contains('\n')
            && p.chars().count() <= 60
            && !p.ends_with(['.', ',', ';', ':', '?', '!'])
            && p.split_whitespace().count() <= 8;
        if looks_like_heading {
            if !current.text.trim().is_empty() {
                sections
                    .push(std::mem::replace(&mut current, Section { heading_path: Vec::new(), text: String::new() }));
            }
            current.heading_path = vec![p.trim_start_matches('#').trim().to_string()];
            continue;
        }
        if !current.text.is_empty() {
            current.text.push_str("\n\n");
        }
        current.text.push_str(p);
    }
    if !current.text.trim().is_empty() {
        sections.push(current);
    }
    ExtractedDoc {
        title,
        description: None,
        sections,
        one_chunk_per_section: false,
        page_type_hint: None,
        links: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_headings_and_paragraphs() {
        let d = parse_text(
            "Contact support\n\nWe answer within a day.\n\nHours\n\nMonday to Friday, 9:00-18:00 CET.",
            "help/contact-support.txt",
        );
        assert_eq!(d.title, "Contact support");
        assert_eq!(d.sections.len(), 2);
        assert_eq!(d.sections[1].heading_path, vec!["Hours".to_string()]);
        assert_eq!(d.sections[1].text, "Monday to Friday, 9:00-18:00 CET.");
        assert_eq!(title_from_path("a/b/reset-your_password.txt"), "Reset your password");
    }
}
