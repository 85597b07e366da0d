//! PDFs are extracted in an isolated child process: a good PDF is indexed, malformed and encrypted
//! ones fail alone with a reason.

use crate::harness::{hit_paths, Env};

/// A minimal valid one-page PDF showing `text` in Helvetica, with a correct cross-reference table.
fn pdf_with_text(text: &str) -> Vec<u8> {
    let stream = format!("BT /F1 12 Tf 72 720 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_string(),
        format!("<< /Length {} >>\nstream\n{stream}\nendstream", stream.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_string(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
    );
    out
}

#[test]
fn good_pdf_is_indexed_and_hostile_ones_fail_alone() {
    let env = Env::new();
    let src = env.src();
    std::fs::write(src.join("refunds.pdf"), pdf_with_text("Refunds for annual plans are issued within fourteen days."))
        .unwrap();
    std::fs::write(
        src.join("garbage.pdf"),
        b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >>\ntrailer << /Root 1 0 R >>\n%%EOF",
    )
    .unwrap();
    std::fs::write(src.join("locked.pdf"), b"%PDF-1.4\ntrailer\n<< /Root 1 0 R /Encrypt 2 0 R >>\n%%EOF\n").unwrap();
    std::fs::write(src.join("notreally.pdf"), b"<html>hello</html>").unwrap();
    let s = env.json(&["ingest", "--kb", "kb", src.to_str().unwrap(), "--json"]);
    assert_eq!(s["added"], 1, "{s}");
    let failed: Vec<(String, String)> = s["failed_items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["item"].as_str().unwrap().to_string(), p["reason"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(failed.len(), 3, "{failed:?}");
    let reason = |f: &str| failed.iter().find(|x| x.0 == f).map(|x| x.1.clone()).unwrap();
    assert!(reason("locked.pdf").contains("encrypted"), "{failed:?}");
    assert!(reason("notreally.pdf").contains("not a PDF file"), "{failed:?}");
    assert!(reason("garbage.pdf").starts_with("PDF extraction failed"), "{failed:?}");
    let v = env.json(&["search", "--kb", "kb", "refund annual plan", "--json"]);
    assert_eq!(hit_paths(&v), vec!["refunds.pdf".to_string()]);
}
