//! Template families: docs sites repeat one page per framework, language or platform ("Deploy a Bun
//! App", "Deploy a FastAPI App", … ; "Getting started: Pub/Sub in Java", "… in Go", …). A question that
//! names none of them ("how do I deploy my repo from GitHub") matches every variant about equally, and
//! twenty near-identical variants then push the one general page that answers it (a quick start, the
//! domains page) out of the results. A question that names one ("deploy my Django app") wants that
//! variant, not its siblings.
//!
//! [`demote`] finds such families among the fused candidates by their titles — at least
//! [`MIN_FAMILY`] pages whose titles share the same words around one short differing span — and lowers
//! the variants the question does not select: every one when the question names a member of the
//! family, all but the best one when it names none (the best keeps its place: one variant may well
//! answer a general question). Scores of other candidates are untouched. No word list, no corpus
//! tuning: the families come from the knowledge base's own titles.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;

/// Fewest pages that make a family (two similar titles are often two different features).
pub const MIN_FAMILY: usize = 3;

/// Most words in the part of a title that tells the variants apart ("Ruby on Rails", "C# .NET").
const MAX_SPAN: usize = 3;

/// Words of a title or question, lowercased, split at anything not alphanumeric.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// Words that never tell variants apart.
fn filler(w: &str) -> bool {
    w.len() < 2 || matches!(w, "an" | "the" | "in" | "on" | "with" | "for" | "to" | "and" | "of" | "app" | "apps")
}

/// The shared words around the differing spans of two titles, when they make the two variants of one
/// template: (prefix, suffix) as words.
fn template(a: &[String], b: &[String]) -> Option<(Vec<String>, Vec<String>)> {
    if a == b {
        return None;
    }
    let p = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let max_s = a.len().min(b.len()) - p;
    let s = a.iter().rev().zip(b.iter().rev()).take(max_s).take_while(|(x, y)| x == y).count();
    let (span_a, span_b) = (a.len() - p - s, b.len() - p - s);
    if p + s < 2 || span_a == 0 || span_b == 0 || span_a > MAX_SPAN || span_b > MAX_SPAN {
        return None;
    }
    Some((a[..p].to_vec(), a[a.len() - s..].to_vec()))
}

/// Whether the question names the variant whose distinguishing words are `span`: one of its words (or
/// the span written as one word, "next js" → "nextjs") is a question word, or one starts the other
/// ("postgres" / "postgresql").
fn selects(question: &HashSet<String>, span: &[String]) -> bool {
    let joined: String = span.concat();
    let mut names: Vec<&str> = span.iter().map(String::as_str).filter(|w| !filler(w)).collect();
    names.push(&joined);
    names.iter().any(|n| {
        question
            .iter()
            .any(|q| q == n || (q.len() >= 4 && n.len() >= 4 && (q.starts_with(n) || n.starts_with(q.as_str()))))
    })
}

/// Lowers the unselected variants of the template families among `items` (best first, with their
/// scores) by `penalty`, and re-sorts. `title` gives each item's document and title (items of one
/// document share them); items without one are left as they are. Also returns the documents kept as
/// the best variant of a family the question names none of.
pub fn demote<T: Copy, D: Copy + Eq + Hash>(
    question: &str,
    items: &[(T, f32)],
    title: impl Fn(T) -> Option<(D, String)>,
    penalty: f32,
) -> (Vec<(T, f32)>, HashSet<D>) {
    if penalty <= 0.0 {
        return (items.to_vec(), HashSet::new());
    }
    // Documents in order of their best item, with their title words.
    let mut docs: Vec<(D, Vec<String>)> = Vec::new();
    let mut doc_of: Vec<Option<usize>> = Vec::with_capacity(items.len());
    for (item, _) in items {
        let at = title(*item).map(|(d, t)| match docs.iter().position(|(x, _)| *x == d) {
            Some(i) => i,
            None => {
                docs.push((d, words(&t)));
                docs.len() - 1
            }
        });
        doc_of.push(at);
    }
    // Families: documents sharing one template.
    let mut families: HashMap<(Vec<String>, Vec<String>), Vec<usize>> = HashMap::new();
    for i in 0..docs.len() {
        for j in i + 1..docs.len() {
            if let Some(key) = template(&docs[i].1, &docs[j].1) {
                let members = families.entry(key).or_default();
                for k in [i, j] {
                    if !members.contains(&k) {
                        members.push(k);
                    }
                }
            }
        }
    }
    let question: HashSet<String> = words(question).into_iter().filter(|w| !filler(w)).collect();
    let mut demoted: HashSet<usize> = HashSet::new();
    let mut kept: HashSet<D> = HashSet::new();
    for ((prefix, suffix), mut members) in families {
        if members.len() < MIN_FAMILY {
            continue;
        }
        members.sort_unstable();
        let span = |d: usize| {
            let w = &docs[d].1;
            w[prefix.len()..w.len() - suffix.len()].to_vec()
        };
        let selected: Vec<bool> = members.iter().map(|&d| selects(&question, &span(d))).collect();
        let any_selected = selected.iter().any(|s| *s);
        // `members` is in order of each document's best item: the first unselected one is the best.
        let mut kept_best = any_selected;
        for (&d, &sel) in members.iter().zip(&selected) {
            if sel {
                continue;
            }
            if !kept_best {
                kept_best = true;
                kept.insert(docs[d].0);
                continue;
            }
            demoted.insert(d);
        }
    }
    if demoted.is_empty() {
        return (items.to_vec(), kept);
    }
    let mut out: Vec<(T, f32, usize)> = items
        .iter()
        .zip(&doc_of)
        .enumerate()
        .map(|(i, ((item, score), d))| {
            let s = if d.is_some_and(|d| demoted.contains(&d)) { score - penalty } else { *score };
            (*item, s, i)
        })
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)));
    (out.into_iter().map(|(t, s, _)| (t, s)).collect(), kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(question: &str, titles: &[&str]) -> Vec<usize> {
        let items: Vec<(usize, f32)> = (0..titles.len()).map(|i| (i, 1.0 - i as f32 * 0.01)).collect();
        demote(question, &items, |i| Some((i, titles[i].to_string())), 0.5).0.into_iter().map(|x| x.0).collect()
    }

    #[test]
    fn a_general_question_keeps_the_best_variant_and_lets_the_general_page_up() {
        let titles = ["Deploy a Bun App", "Deploy a FastAPI App", "Deploy a Fastify App", "Quick Start", "Services"];
        // Bun keeps its place; FastAPI and Fastify fall below the general pages.
        assert_eq!(run("first time here, how do i deploy my repo from github", &titles), vec![0, 3, 4, 1, 2]);
    }

    #[test]
    fn a_question_naming_a_variant_keeps_that_one_only() {
        let titles = [
            "Getting started: Pub/Sub in C# .NET",
            "Getting started: Pub/Sub in Java",
            "Ably CLI",
            "Getting started: Pub/Sub in Node.js",
        ];
        assert_eq!(run("publishing from my nodejs server", &titles), vec![2, 3, 0, 1]);
        assert_eq!(run("getting started in java", &titles), vec![1, 2, 0, 3]);
    }

    #[test]
    fn two_similar_titles_are_not_a_family() {
        let titles = ["Working with Domains", "Working with Volumes", "Private Networking"];
        assert_eq!(run("how do i make my service public", &titles), vec![0, 1, 2]);
        // Nor are titles that differ in more than a short span, or one title seen through several chunks.
        let titles = ["Deploy a Bun App", "Deploy a Bun App", "Deploy Caddy", "Getting started with the dashboard"];
        assert_eq!(run("deploy", &titles), vec![0, 1, 2, 3]);
    }

    #[test]
    fn templates_need_shared_words_and_short_spans() {
        let w = |t: &str| words(t);
        assert_eq!(template(&w("Deploy a Ruby on Rails App"), &w("Deploy a Gin App")), Some((w("deploy a"), w("app"))));
        assert_eq!(template(&w("Deploy Caddy"), &w("Deploy a Bun App")), None);
        assert_eq!(template(&w("Quick Start"), &w("Quick Start")), None);
        let q: HashSet<String> = ["postgres".to_string(), "nextjs".to_string()].into();
        assert!(selects(&q, &w("PostgreSQL")));
        assert!(selects(&q, &w("Next.js")));
        assert!(!selects(&q, &w("MySQL")));
    }
}
