//! Stage routing as intent classification. The message's embedding is classified against a bank of
//! labelled customer messages (the built-in bank of [`crate::bank`], spread over many kinds of SaaS, plus
//! the phrases a user taught the agent in the builder) by two classifiers whose probabilities are
//! averaged: nearest neighbours (each stage scores the mean similarity of its `K` nearest examples,
//! turned into probabilities by a softmax) and a softmax regression trained on the bank when the agent
//! opens (a fraction of a second; the built-in part is cached per process). Two weaker signals are then
//! added: the contact's lifecycle (a prospect leans to acquisition, an onboarding user to activation, a
//! customer to support) and the page types of the best evidence (a pricing page leans to acquisition for
//! a prospect and to expansion for a customer). The decision keeps every score for the trace.

use std::sync::{Arc, Mutex};

use throughline_core::{CoreError, Lifecycle, PageType, Retriever, SearchHit, Stage};

use crate::bank::{self, BankVectors};

/// Nearest examples averaged per stage.
const K: usize = 10;
/// Softmax temperature over the per-stage similarities (cosines differ by a few hundredths).
const TEMPERATURE: f32 = 0.04;
/// Weight of the nearest-neighbour probabilities in the average (the regression gets the rest).
const KNN_SHARE: f32 = 0.5;
/// Softmax regression: full-batch gradient descent steps, step size and L2 penalty.
const EPOCHS: usize = 200;
const STEP: f32 = 4.0;
const L2: f32 = 1e-3;
/// A taught example weighs this many built-in ones in the regression.
const TAUGHT_WEIGHT: f32 = 3.0;
/// A taught example counts as this much more similar than a built-in one.
const TAUGHT_BONUS: f32 = 0.05;
/// Weight of the lifecycle prior.
const LIFECYCLE_WEIGHT: f32 = 0.10;
/// Weight of the evidence's page types (spread over the top three hits).
const EVIDENCE_WEIGHT: f32 = 0.10;
/// Added to expansion when the answer's evidence says which plans include what was asked ("available on
/// the Pro plan and above"): measured 0.1 / 0.2 / 0.3 / 0.5 on the real-docs sets, stage accuracy railway
/// .852 → .844 / .861 / .861 / .885, ably .798 → .798 / .816 / .816 / .807, sample-kb .810 until 0.5
/// (.794); the middle of the plateau.
pub const PLAN_EVIDENCE_WEIGHT: f32 = 0.25;

/// A decided stage and why.
#[derive(Debug, Clone, PartialEq)]
pub struct StageDecision {
    /// The stage.
    pub stage: Stage,
    /// Final score per stage, in [`Stage::ALL`] order.
    pub scores: [f32; 4],
    /// Intent probability per stage from the example bank alone.
    pub intent: [f32; 4],
    /// What counted, e.g. `support 0.71 (intent 0.82 …); nearest: "my deploy keeps failing" (support)`.
    pub reason: String,
}

/// The labelled example bank of one agent: built-in messages plus the ones its users taught it.
pub struct IntentRouter {
    stages: Vec<Stage>,
    texts: Vec<String>,
    vectors: Vec<Vec<f32>>,
    taught: usize,
    builtin: BankVectors,
    builtin_stages: Vec<(Stage, &'static str)>,
    regression: Arc<Regression>,
}

/// A softmax regression over embeddings: one weight row per stage, bias last.
#[derive(Debug, Clone, PartialEq)]
pub struct Regression {
    dim: usize,
    weights: Vec<[f32; 4]>,
}

impl Regression {
    /// Trains on `(vector, stage, weight)` examples.
    pub fn train(examples: &[(&[f32], Stage, f32)]) -> Self {
        let dim = examples.first().map_or(0, |e| e.0.len());
        let mut w = vec![[0f32; 4]; dim + 1];
        let total: f32 = examples.iter().map(|e| e.2).sum::<f32>().max(1e-6);
        let mut grad = vec![[0f32; 4]; dim + 1];
        for _ in 0..EPOCHS {
            for g in grad.iter_mut() {
                *g = [0.0; 4];
            }
            for (x, stage, weight) in examples {
                let p = Self::probabilities_with(&w, x);
                let mut err = p;
                err[*stage as usize] -= 1.0;
                for e in err.iter_mut() {
                    *e *= weight / total;
                }
                for (g, xi) in grad.iter_mut().zip(x.iter().chain(std::iter::once(&1.0))) {
                    for k in 0..4 {
                        g[k] += xi * err[k];
                    }
                }
            }
            for (wi, gi) in w.iter_mut().zip(&grad) {
                for k in 0..4 {
                    wi[k] -= STEP * (gi[k] + L2 * wi[k]);
                }
            }
        }
        Self { dim, weights: w }
    }

    fn probabilities_with(w: &[[f32; 4]], x: &[f32]) -> [f32; 4] {
        let mut z = w.last().copied().unwrap_or([0.0; 4]);
        for (wi, xi) in w.iter().zip(x) {
            for k in 0..4 {
                z[k] += wi[k] * xi;
            }
        }
        softmax(&z, 1.0)
    }

    /// Stage probabilities of `x`.
    pub fn probabilities(&self, x: &[f32]) -> [f32; 4] {
        if x.len() != self.dim {
            return [0.25; 4];
        }
        Self::probabilities_with(&self.weights, x)
    }
}

/// Regressions trained on the built-in bank alone, per model (keyed by the bank's first vector).
static TRAINED: Mutex<Vec<(Vec<f32>, Arc<Regression>)>> = Mutex::new(Vec::new());

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

impl IntentRouter {
    /// Embeds the built-in bank (once per process and model) and the `taught` examples with `kb`'s model.
    pub fn build(kb: &dyn Retriever, taught: &[(Stage, String)]) -> Result<Self, CoreError> {
        let builtin_stages = bank::intents();
        let texts: Vec<&str> = builtin_stages.iter().map(|(_, t)| *t).collect();
        let builtin = bank::embedded("intents", &texts, kb)?;
        let taught_texts: Vec<&str> = taught.iter().map(|(_, t)| t.as_str()).collect();
        let vectors = if taught_texts.is_empty() { Vec::new() } else { kb.embed(&taught_texts)? };
        let mut examples: Vec<(&[f32], Stage, f32)> =
            builtin.iter().zip(&builtin_stages).map(|(v, (s, _))| (v.as_slice(), *s, 1.0)).collect();
        let regression = if vectors.is_empty() {
            let key = builtin.first().cloned().unwrap_or_default();
            let cached = TRAINED
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, r)| r.clone());
            match cached {
                Some(r) => r,
                None => {
                    let r = Arc::new(Regression::train(&examples));
                    TRAINED.lock().unwrap_or_else(|p| p.into_inner()).push((key, r.clone()));
                    r
                }
            }
        } else {
            examples.extend(vectors.iter().zip(taught).map(|(v, (s, _))| (v.as_slice(), *s, TAUGHT_WEIGHT)));
            Arc::new(Regression::train(&examples))
        };
        Ok(Self {
            regression,
            stages: taught.iter().map(|(s, _)| *s).collect(),
            texts: taught.iter().map(|(_, t)| t.clone()).collect(),
            taught: vectors.len(),
            vectors,
            builtin,
            builtin_stages,
        })
    }

    /// Number of examples (built-in and taught).
    pub fn len(&self) -> usize {
        self.builtin.len() + self.taught
    }

    /// Whether the bank is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Per-stage probabilities for the message vector `qvec`, and its nearest example (text, stage).
    pub fn classify(&self, qvec: &[f32]) -> ([f32; 4], Option<(String, Stage)>) {
        let mut per_stage: [Vec<f32>; 4] = Default::default();
        let mut nearest: Option<(f32, String, Stage)> = None;
        let mut consider = |stage: Stage, sim: f32, text: &str| {
            per_stage[stage as usize].push(sim);
            if nearest.as_ref().is_none_or(|(s, _, _)| sim > *s) {
                nearest = Some((sim, text.to_string(), stage));
            }
        };
        for ((stage, text), v) in self.builtin_stages.iter().zip(self.builtin.iter()) {
            consider(*stage, dot(v, qvec), text);
        }
        for ((stage, text), v) in self.stages.iter().zip(&self.texts).zip(&self.vectors) {
            consider(*stage, dot(v, qvec) + TAUGHT_BONUS, text);
        }
        let mut knn = [0f32; 4];
        for (i, sims) in per_stage.iter_mut().enumerate() {
            sims.sort_by(|a, b| b.total_cmp(a));
            let top = &sims[..sims.len().min(K)];
            knn[i] = if top.is_empty() { -1.0 } else { top.iter().sum::<f32>() / top.len() as f32 };
        }
        let knn = softmax(&knn, TEMPERATURE);
        let reg = self.regression.probabilities(qvec);
        let mut p = [0f32; 4];
        for k in 0..4 {
            p[k] = KNN_SHARE * knn[k] + (1.0 - KNN_SHARE) * reg[k];
        }
        (p, nearest.map(|(_, t, s)| (t, s)))
    }
}

fn softmax(x: &[f32; 4], t: f32) -> [f32; 4] {
    let max = x.iter().copied().fold(f32::MIN, f32::max);
    let e: Vec<f32> = x.iter().map(|v| ((v - max) / t).exp()).collect();
    let sum: f32 = e.iter().sum();
    let mut out = [0f32; 4];
    for (o, v) in out.iter_mut().zip(e) {
        *o = v / sum.max(f32::MIN_POSITIVE);
    }
    out
}

fn evidence_stage(page_type: PageType, lifecycle: Lifecycle) -> Option<Stage> {
    match page_type {
        PageType::Pricing => Some(if lifecycle == Lifecycle::Prospect { Stage::Acquisition } else { Stage::Expansion }),
        PageType::Help => Some(Stage::Support),
        PageType::Faq | PageType::Docs | PageType::Legal | PageType::Blog | PageType::Changelog | PageType::Other => {
            None
        }
    }
}

/// The stage a contact at `lifecycle` leans to before anything is said.
pub fn lifecycle_prior(lifecycle: Lifecycle) -> Stage {
    match lifecycle {
        Lifecycle::Prospect => Stage::Acquisition,
        Lifecycle::Onboarding => Stage::Activation,
        Lifecycle::Customer => Stage::Support,
    }
}

/// Decides the stage of a message from its intent probabilities (`intent`, from
/// [`IntentRouter::classify`]; uniform when there is no bank), the contact's `lifecycle` and the
/// retrieved hits (best first).
pub fn decide(
    intent: [f32; 4],
    nearest: Option<(String, Stage)>,
    lifecycle: Lifecycle,
    hits: &[SearchHit],
) -> StageDecision {
    let mut scores = intent;
    let prior = lifecycle_prior(lifecycle);
    scores[prior as usize] += LIFECYCLE_WEIGHT;
    let mut evidence_note = String::new();
    for (rank, h) in hits.iter().take(3).enumerate() {
        if let Some(s) = evidence_stage(h.page_type, lifecycle) {
            scores[s as usize] += EVIDENCE_WEIGHT * [0.5, 0.3, 0.2][rank];
            if evidence_note.is_empty() {
                evidence_note = format!("; evidence {} ({}) → {s}", h.path, h.page_type);
            }
        }
    }
    let stage = top_stage(&scores).unwrap_or(prior);
    let fmt =
        |x: &[f32; 4]| Stage::ALL.iter().map(|s| format!("{s} {:.2}", x[*s as usize])).collect::<Vec<_>>().join(", ");
    StageDecision {
        stage,
        scores,
        intent,
        reason: format!(
            "{stage} (scores: {}; intent: {}){}; contact is a {} → {prior}{evidence_note}",
            fmt(&scores),
            fmt(&intent),
            nearest.map(|(t, s)| format!("; nearest example \"{t}\" ({s})")).unwrap_or_default(),
            lifecycle.as_str(),
        ),
    }
}

/// The stage with the highest score (the earlier stage of [`Stage::ALL`] on a tie).
fn top_stage(scores: &[f32; 4]) -> Option<Stage> {
    Stage::ALL.into_iter().max_by(|a, b| scores[*a as usize].total_cmp(&scores[*b as usize]).then(b.cmp(a)))
}

/// Added to expansion when the message names one of the agent's plans as a plan ("on hobby", "whats the
/// concurrency on pro", "from standard to pro"): a customer speaking of their plan, or of the next one.
/// Measured 0.1 / 0.15 / 0.2 / 0.25 on the real-docs sets: stage accuracy railway .869 → .869 / .885 / .885 /
/// .885, ably .825 → .833 (all four), sample-kb .810 → .810 / .825 / .825 / .825; the middle of the plateau.
pub const PLAN_MENTION_WEIGHT: f32 = 0.2;

impl StageDecision {
    /// Counts a message naming one of the plans as a plan: expansion leans up by [`PLAN_MENTION_WEIGHT`].
    pub fn with_plan_mention(&mut self) {
        self.scores[Stage::Expansion as usize] += PLAN_MENTION_WEIGHT;
        self.stage = top_stage(&self.scores).unwrap_or(self.stage);
        self.reason =
            format!("{} (the message names a plan: expansion +{PLAN_MENTION_WEIGHT:.2}); {}", self.stage, self.reason);
    }

    /// Counts the answer's evidence: when it says which plans include what was asked, the question is
    /// about what a plan unlocks, which is expansion's business (a customer asking for a feature their
    /// plan lacks, a prospect comparing what the plans include).
    pub fn with_plan_evidence(&mut self) {
        self.scores[Stage::Expansion as usize] += PLAN_EVIDENCE_WEIGHT;
        self.stage = top_stage(&self.scores).unwrap_or(self.stage);
        self.reason = format!(
            "{} (the answer says which plans include it: expansion +{PLAN_EVIDENCE_WEIGHT:.2}); {}",
            self.stage, self.reason
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_sums_to_one_and_keeps_order() {
        let p = softmax(&[0.5, 0.6, 0.4, 0.45], TEMPERATURE);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert!(p[1] > p[0] && p[0] > p[3] && p[3] > p[2]);
    }

    #[test]
    fn the_regression_learns_separable_stages() {
        // Four clusters along four axes: each point must be classified as its own stage.
        let pts: Vec<(Vec<f32>, Stage)> = Stage::ALL
            .iter()
            .enumerate()
            .flat_map(|(i, s)| {
                (0..5).map(move |j| {
                    let mut v = vec![0.05 * j as f32; 6];
                    v[i] = 1.0;
                    (v, *s)
                })
            })
            .collect();
        let examples: Vec<(&[f32], Stage, f32)> = pts.iter().map(|(v, s)| (v.as_slice(), *s, 1.0)).collect();
        let r = Regression::train(&examples);
        for (v, s) in &pts {
            let p = r.probabilities(v);
            let best = (0..4).max_by(|a, b| p[*a].total_cmp(&p[*b])).unwrap();
            assert_eq!(best, *s as usize, "{p:?}");
        }
        assert_eq!(r.probabilities(&[1.0]), [0.25; 4], "a vector of another size is uniform");
    }

    #[test]
    fn plan_evidence_tips_a_close_call_to_expansion_but_not_a_clear_intent() {
        let mut d = decide([0.45, 0.05, 0.10, 0.40], None, Lifecycle::Prospect, &[]);
        assert_eq!(d.stage, Stage::Acquisition);
        d.with_plan_evidence();
        assert_eq!(d.stage, Stage::Expansion, "{}", d.reason);
        assert!(d.reason.contains("which plans include it"), "{}", d.reason);
        let mut d = decide([0.05, 0.05, 0.85, 0.05], None, Lifecycle::Customer, &[]);
        d.with_plan_evidence();
        assert_eq!(d.stage, Stage::Support, "{}", d.reason);
    }

    #[test]
    fn a_plan_named_in_the_message_leans_to_expansion() {
        let mut d = decide([0.35, 0.05, 0.30, 0.30], None, Lifecycle::Prospect, &[]);
        assert_eq!(d.stage, Stage::Acquisition);
        d.with_plan_mention();
        assert_eq!(d.stage, Stage::Expansion, "{}", d.reason);
        assert!(d.reason.contains("names a plan"), "{}", d.reason);
        let mut d = decide([0.05, 0.80, 0.10, 0.05], None, Lifecycle::Onboarding, &[]);
        d.with_plan_mention();
        assert_eq!(d.stage, Stage::Activation, "a clear intent stays: {}", d.reason);
    }

    #[test]
    fn lifecycle_breaks_a_tie_and_is_in_the_reason() {
        let d = decide([0.25; 4], None, Lifecycle::Onboarding, &[]);
        assert_eq!(d.stage, Stage::Activation);
        assert!(d.reason.contains("onboarding"), "{}", d.reason);
        let d = decide([0.1, 0.1, 0.7, 0.1], None, Lifecycle::Prospect, &[]);
        assert_eq!(d.stage, Stage::Support, "a clear intent beats the lifecycle prior");
    }
}
