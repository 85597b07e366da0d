//! "I don't know", calibrated per knowledge base. A constant threshold on a similarity means different
//! things on different docs (a knowledge base about deployments is "close" to any technical question;
//! a small help center is close to nothing), so the agent measures its own knowledge base: the built-in
//! off-topic questions of [`crate::bank`] (questions no product's docs answer) are retrieved exactly as
//! a customer's question would be, and the distribution of their best match says how similar an
//! unanswerable question looks *here*. A question whose best match is no better than what most
//! off-topic questions reach is not answered from the docs.
//!
//! Runs when an agent is opened (a new configuration version, or a server start), in well under a
//! second: the bank's vectors are cached per process, so only the searches run.

/// The distributions of the two banks' best-match similarities on one knowledge base.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Calibration {
    /// Sorted best-match cosines of the off-topic questions.
    pub offtopic: Vec<f32>,
    /// Sorted best-match cosines of generic customer questions (the intent bank): what questions a
    /// SaaS's docs usually answer reach here.
    pub customer: Vec<f32>,
    /// [`Calibration::domain_threshold`], computed once from the two distributions.
    threshold: f32,
    /// The two banks' vectors (off-topic, customer), for [`Calibration::offtopic_lean`].
    pub banks: Option<(crate::bank::BankVectors, crate::bank::BankVectors)>,
}

/// How much closer to the off-topic bank than to the customer bank a question may come and still be
/// answered (cosine difference of the nearest neighbours; measured on the real-docs question sets: no
/// customer question there leans above 0.04).
pub const OFFTOPIC_LEAN_LIMIT: f32 = 0.08;

/// Neighbours averaged by [`Calibration::offtopic_lean`].
const NEAREST: usize = 3;

/// Most off-topic questions the domain threshold refuses.
pub const OFFTOPIC_QUANTILE: f32 = 0.95;
/// Fewest off-topic questions the domain threshold refuses.
pub const OFFTOPIC_FLOOR_QUANTILE: f32 = 0.90;

impl Calibration {
    /// From the best-match cosines of the off-topic and the customer questions (any order).
    pub fn from_scores(offtopic: Vec<f32>, customer: Vec<f32>) -> Self {
        let sorted = |mut v: Vec<f32>| {
            v.retain(|s| s.is_finite());
            v.sort_by(f32::total_cmp);
            v
        };
        let mut c = Self { offtopic: sorted(offtopic), customer: sorted(customer), threshold: 0.0, banks: None };
        c.threshold = c.separating_cut();
        c
    }

    /// The `q`-quantile of the off-topic scores (0 when there are none).
    pub fn quantile(&self, q: f32) -> f32 {
        if self.offtopic.is_empty() {
            return 0.0;
        }
        let i = ((self.offtopic.len() - 1) as f32 * q.clamp(0.0, 1.0)).round() as usize;
        self.offtopic[i.min(self.offtopic.len() - 1)]
    }

    /// The best-match similarity a question must reach to be answered from the docs: the cut that best
    /// separates the two banks on this knowledge base (most off-topic questions below, most customer
    /// questions above: the largest difference of the two shares), kept between the points where
    /// [`OFFTOPIC_FLOOR_QUANTILE`] and [`OFFTOPIC_QUANTILE`] of the off-topic questions are refused.
    pub fn domain_threshold(&self) -> f32 {
        self.threshold
    }

    fn separating_cut(&self) -> f32 {
        let ceiling = self.quantile(OFFTOPIC_QUANTILE);
        let floor = self.quantile(OFFTOPIC_FLOOR_QUANTILE);
        if self.customer.is_empty() {
            return ceiling;
        }
        let share_below = |v: &[f32], t: f32| v.partition_point(|s| *s < t) as f32 / v.len().max(1) as f32;
        let mut best = (f32::MIN, ceiling);
        for &t in self.offtopic.iter().chain(&self.customer).filter(|t| **t <= ceiling) {
            let j = share_below(&self.offtopic, t) - share_below(&self.customer, t);
            if j > best.0 {
                best = (j, t);
            }
        }
        best.1.max(floor)
    }

    /// How much more `qvec` resembles the off-topic bank than the customer bank: the mean cosine of its
    /// nearest off-topic questions minus that of its nearest customer messages (0 without banks).
    pub fn offtopic_lean(&self, qvec: &[f32]) -> f32 {
        let Some((off, cust)) = &self.banks else { return 0.0 };
        let near = |bank: &[Vec<f32>]| {
            let mut sims: Vec<f32> = bank.iter().map(|v| v.iter().zip(qvec).map(|(a, b)| a * b).sum()).collect();
            sims.sort_by(|a, b| b.total_cmp(a));
            let k = sims.len().min(NEAREST);
            sims[..k].iter().sum::<f32>() / k.max(1) as f32
        };
        near(off) - near(cust)
    }

    /// Share of off-topic questions whose best match is at least `score`: how off-topic-like a question
    /// with that best match looks (1 = below every off-topic question, 0 = above all of them).
    pub fn offtopic_share_at_least(&self, score: f32) -> f32 {
        if self.offtopic.is_empty() {
            return 0.0;
        }
        let below = self.offtopic.partition_point(|s| *s < score);
        (self.offtopic.len() - below) as f32 / self.offtopic.len() as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_and_shares_follow_the_distribution() {
        let c = Calibration::from_scores((0..100).map(|i| i as f32 / 100.0).rev().collect(), Vec::new());
        assert!((c.quantile(0.95) - 0.94).abs() < 0.011, "{}", c.quantile(0.95));
        assert_eq!(c.offtopic_share_at_least(2.0), 0.0);
        assert_eq!(c.offtopic_share_at_least(-1.0), 1.0);
        assert!((c.offtopic_share_at_least(0.5) - 0.5).abs() < 0.011);
        assert_eq!(Calibration::default().domain_threshold(), 0.0);
        assert!((c.domain_threshold() - 0.94).abs() < 0.011, "no customer bank: the off-topic quantile");
    }

    #[test]
    fn the_threshold_separates_the_two_banks() {
        // Off-topic questions reach 0.10..0.40, customer questions 0.30..0.80: the cut falls between.
        let off: Vec<f32> = (0..50).map(|i| 0.10 + i as f32 * 0.006).collect();
        let on: Vec<f32> = (0..50).map(|i| 0.30 + i as f32 * 0.01).collect();
        let t = Calibration::from_scores(off, on).domain_threshold();
        assert!((0.30..=0.40).contains(&t), "{t}");
        assert!(
            t >= Calibration::from_scores((0..50).map(|i| 0.10 + i as f32 * 0.006).collect(), vec![]).quantile(0.9)
        );
    }
}
