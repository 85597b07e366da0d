//! Batch planning: sort sequences by length and cut them into batches so that padding stays small.

/// Groups of input positions, each group padded to its longest member.
pub(crate) fn plan_batches(lengths: &[usize], max_batch: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    // Longest first: the first batch fails fast on memory, and similar lengths sit together.
    order.sort_by(|&a, &b| lengths[b].cmp(&lengths[a]).then(a.cmp(&b)));
    let max_batch = max_batch.max(1);
    let mut out = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    for i in order {
        if let Some(&first) = current.first() {
            // Start a new batch when full, or when padding this one to its longest member would waste more
            // than a quarter of the compute.
            let longest = lengths[first];
            let wasted = longest.saturating_sub(lengths[i]) * (current.len() + 1);
            let total = longest * (current.len() + 1);
            if current.len() >= max_batch || (wasted * 4 > total && current.len() >= 4) {
                out.push(std::mem::take(&mut current));
            }
        }
        current.push(i);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_input_lands_in_exactly_one_batch_sorted_by_length() {
        let lengths = [5, 200, 7, 199, 3, 180, 12, 12, 250];
        let batches = plan_batches(&lengths, 3);
        let mut seen: Vec<usize> = batches.iter().flatten().copied().collect();
        seen.sort();
        assert_eq!(seen, (0..lengths.len()).collect::<Vec<_>>());
        assert!(batches.iter().all(|b| b.len() <= 3));
        assert_eq!(batches[0][0], 8, "longest first");
        for b in &batches {
            for w in b.windows(2) {
                assert!(lengths[w[0]] >= lengths[w[1]]);
            }
        }
    }

    #[test]
    fn empty_input_gives_no_batches() {
        assert!(plan_batches(&[], 8).is_empty());
    }
}
