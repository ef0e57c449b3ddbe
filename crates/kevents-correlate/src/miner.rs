//! Learned patterns: an online template miner in the manner of Drain (He et al., ICWS 2017, the
//! algorithm of Loki's pattern ingester and the OpenTelemetry collector), run on the masked
//! template (see [`crate::template()`]) so that variable tokens the masking rules do not foresee
//! become [`WILDCARD`]: `Failed (1a3f2-7)` and `Failed (9b1-4)` share `Failed <*>`.
//!
//! Templates are split into tokens at spaces. A message is routed through a fixed-depth prefix
//! tree: its reason, its token count, then its first [`MinerConfig::depth`] tokens (tokens that
//! may vary take the [`WILDCARD`] branch). The leaf holds patterns (by skeleton: the words and
//! where identifiers are, so it compares a message with the few that could take it); the
//! message joins the one
//! most similar to it (share of positions that are equal or a wildcard) when that share reaches
//! [`MinerConfig::similarity_percent`], and the positions where they differ become wildcards.
//!
//! One difference from Drain: only tokens that look like identifiers ([`is_variable`]: a
//! placeholder or digit, no run of three letters) may differ within a pattern. Drain would merge
//! `Created container web` with `Created container db`; here different words never share a
//! pattern, so the series the masking rules keep apart stay apart.
//!
//! A pattern's template only ever gains wildcards, at most one per token, and is a function of
//! the set of messages seen, not of their order (as long as no leaf offers two candidates, which
//! the similarity threshold makes rare): hubs and restarts that saw the same messages hold the
//! same templates, and ids derived from the template text agree.

#[cfg(test)]
pub(crate) mod tests;
mod token;

use crate::key::KeyBuffer;
use std::collections::HashMap;
pub use token::{is_variable, WILDCARD};

/// The template of every message of a reason that already has
/// [`MinerConfig::max_patterns_per_reason`] patterns (or when the miner holds
/// [`MinerConfig::max_patterns`], or [`MinerConfig::max_bytes`] of text) and matches none of
/// them.
pub const OTHER: &str = "<other>";

/// The miner's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MinerConfig {
    /// Tokens used as prefix-tree levels after the token count. Default 3.
    pub depth: usize,
    /// Least share, in percent, of equal (or wildcard) positions for a message to join a
    /// pattern. Default 50.
    pub similarity_percent: u32,
    /// Children per tree node; further tokens share the wildcard branch. Default 64.
    pub max_children: usize,
    /// Patterns per reason; further messages of the reason go to [`OTHER`]. Default 1,000.
    pub max_patterns_per_reason: usize,
    /// Patterns in all; further new messages go to [`OTHER`]. Default 100,000.
    pub max_patterns: usize,
    /// Text the patterns may hold (see [`MinerStats::bytes`]); further new messages go to
    /// [`OTHER`]. Default [`DEFAULT_MAX_BYTES`].
    pub max_bytes: usize,
}

/// Default bound of [`MinerConfig::max_bytes`]: 100,000 patterns of about 330 bytes of text.
pub const DEFAULT_MAX_BYTES: usize = 32 << 20;

impl Default for MinerConfig {
    fn default() -> MinerConfig {
        MinerConfig {
            depth: 3,
            similarity_percent: 50,
            max_children: 64,
            max_patterns_per_reason: 1_000,
            max_patterns: 100_000,
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

/// Counters of the miner's work, for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MinerStats {
    /// Patterns held.
    pub patterns: usize,
    /// Times a pattern gained a wildcard.
    pub generalized: u64,
    /// Text the patterns hold: each pattern's template twice (as text and as tokens), its
    /// reason and its prefix-tree keys (an upper bound of the text shared between patterns).
    pub bytes: usize,
    /// Messages counted in the [`OTHER`] bucket because a cap was reached.
    pub other: u64,
}

#[derive(Debug)]
struct Pattern {
    tokens: Vec<Box<str>>,
    template: String,
}

#[derive(Debug, Default)]
struct Node {
    children: HashMap<Box<str>, Node>,
    /// A leaf's patterns by skeleton: only patterns with the message's words at the same
    /// places (and identifiers at the others) can take it, so the leaf compares those alone.
    patterns: HashMap<u64, Vec<u32>>,
}

#[derive(Debug, Default)]
struct ReasonTree {
    by_length: HashMap<usize, Node>,
    patterns: usize,
}

/// Where a message goes.
enum Placement {
    /// Into this pattern as it is.
    Joins(u32),
    /// Into this pattern, which gains wildcards.
    Generalizes(u32),
    /// Nowhere yet: it starts a pattern.
    New,
}

/// The online template miner. One writer: wrap it in a lock to share it.
#[derive(Debug, Default)]
pub struct Miner {
    config: MinerConfig,
    reasons: HashMap<Box<str>, ReasonTree>,
    patterns: Vec<Pattern>,
    stats: MinerStats,
    spans: Vec<(u32, u32)>,
    variable: Vec<bool>,
    skeleton: u64,
    buffer: KeyBuffer,
}

impl Miner {
    /// An empty miner.
    pub fn new(config: MinerConfig) -> Miner {
        Miner {
            config,
            ..Miner::default()
        }
    }

    /// Learns `masked` (a message's masked template) of `reason` and writes the template of its
    /// pattern into `out`. Returns the pattern's previous template when this message gave it a
    /// wildcard: messages stored under that template now belong to the new one.
    pub fn learn(&mut self, reason: &str, masked: &str, out: &mut String) -> Option<String> {
        out.clear();
        self.tokenize(masked);
        let placement = self.place(reason, masked);
        match placement {
            Placement::Joins(index) => {
                out.push_str(&self.patterns[index as usize].template);
                None
            }
            Placement::Generalizes(index) => {
                let pattern = &mut self.patterns[index as usize];
                for (at, &(start, end)) in self.spans.iter().enumerate() {
                    if *pattern.tokens[at] != masked[start as usize..end as usize] {
                        pattern.tokens[at] = WILDCARD.into();
                    }
                }
                let previous = std::mem::replace(&mut pattern.template, pattern.tokens.join(" "));
                self.stats.bytes = (self.stats.bytes + 2 * pattern.template.len())
                    .saturating_sub(2 * previous.len());
                out.push_str(&pattern.template);
                self.stats.generalized += 1;
                Some(previous)
            }
            Placement::New => {
                let full = self.patterns.len() >= self.config.max_patterns
                    || self.stats.bytes + self.cost(reason, masked) > self.config.max_bytes
                    || self
                        .reasons
                        .get(reason)
                        .is_some_and(|t| t.patterns >= self.config.max_patterns_per_reason);
                if full {
                    self.stats.other += 1;
                    out.push_str(OTHER);
                    return None;
                }
                self.insert(reason, masked);
                out.push_str(masked);
                None
            }
        }
    }

    /// The template `masked` of `reason` has now, without learning it: the template of the
    /// pattern it would join (before any wildcard it would add), else `masked` itself.
    pub fn lookup(&mut self, reason: &str, masked: &str, out: &mut String) {
        out.clear();
        self.tokenize(masked);
        match self.place(reason, masked) {
            Placement::Joins(index) | Placement::Generalizes(index) => {
                out.push_str(&self.patterns[index as usize].template);
            }
            Placement::New => out.push_str(masked),
        }
    }

    fn tokenize(&mut self, masked: &str) {
        token::split(masked, &mut self.spans);
        self.variable.clear();
        self.variable.extend(
            self.spans
                .iter()
                .map(|&(s, e)| is_variable(&masked[s as usize..e as usize])),
        );
        let buffer = self.buffer.start();
        for (at, &(start, end)) in self.spans.iter().enumerate() {
            let word = &masked[start as usize..end as usize];
            buffer.field(if self.variable[at] { WILDCARD } else { word });
        }
        self.skeleton = buffer.hash64();
    }

    /// The branch key of token `at` of the message being placed.
    fn branch<'a>(&self, masked: &'a str, at: usize) -> &'a str {
        if self.variable[at] {
            return WILDCARD;
        }
        let (start, end) = self.spans[at];
        &masked[start as usize..end as usize]
    }

    fn place(&self, reason: &str, masked: &str) -> Placement {
        let Some(mut node) = self
            .reasons
            .get(reason)
            .and_then(|tree| tree.by_length.get(&self.spans.len()))
        else {
            return Placement::New;
        };
        for at in 0..self.spans.len().min(self.config.depth) {
            let key = self.branch(masked, at);
            match node
                .children
                .get(key)
                .or_else(|| node.children.get(WILDCARD))
            {
                Some(child) => node = child,
                None => return Placement::New,
            }
        }
        self.best_in(node, masked)
    }

    /// The most similar pattern of a leaf that the message may join; the first on ties.
    fn best_in(&self, leaf: &Node, masked: &str) -> Placement {
        let length = self.spans.len();
        let mut best: Option<(usize, u32, bool)> = None;
        let candidates = leaf
            .patterns
            .get(&self.skeleton)
            .map_or(&[][..], Vec::as_slice);
        'patterns: for &index in candidates {
            let pattern = &self.patterns[index as usize];
            let mut similar = 0;
            let mut differs = false;
            for (at, &(start, end)) in self.spans.iter().enumerate() {
                let token = &masked[start as usize..end as usize];
                let known = &*pattern.tokens[at];
                if known == token {
                    similar += 1;
                } else if !self.variable[at] {
                    continue 'patterns;
                } else if known == WILDCARD {
                    similar += 1;
                } else if is_variable(known) {
                    differs = true;
                } else {
                    continue 'patterns;
                }
            }
            if similar * 100 < self.config.similarity_percent as usize * length {
                continue;
            }
            if best.is_none_or(|(most, _, _)| similar > most) {
                best = Some((similar, index, differs));
            }
        }
        match best {
            Some((_, index, false)) => Placement::Joins(index),
            Some((_, index, true)) => Placement::Generalizes(index),
            None => Placement::New,
        }
    }

    /// What a new pattern of `masked` adds to [`MinerStats::bytes`].
    fn cost(&self, reason: &str, masked: &str) -> usize {
        let keys: usize = (0..self.spans.len().min(self.config.depth))
            .map(|at| self.branch(masked, at).len().max(WILDCARD.len()))
            .sum();
        2 * masked.len() + reason.len() + keys
    }

    fn insert(&mut self, reason: &str, masked: &str) {
        self.stats.bytes += self.cost(reason, masked);
        let index = u32::try_from(self.patterns.len()).expect("max_patterns is below 2^32");
        let depth = self.spans.len().min(self.config.depth);
        let keys: Vec<Box<str>> = (0..depth)
            .map(|at| self.branch(masked, at).into())
            .collect();
        let tree = match self.reasons.get_mut(reason) {
            Some(tree) => tree,
            None => self.reasons.entry(reason.into()).or_default(),
        };
        tree.patterns += 1;
        let mut node = tree.by_length.entry(self.spans.len()).or_default();
        for key in keys {
            let key = if node.children.contains_key(&key)
                || node.children.len() < self.config.max_children
            {
                key
            } else {
                WILDCARD.into()
            };
            node = node.children.entry(key).or_default();
        }
        node.patterns.entry(self.skeleton).or_default().push(index);
        let tokens = self
            .spans
            .iter()
            .map(|&(s, e)| masked[s as usize..e as usize].into())
            .collect();
        self.patterns.push(Pattern {
            tokens,
            template: masked.to_string(),
        });
        self.stats.patterns = self.patterns.len();
    }

    /// Counters of the miner's work.
    pub fn stats(&self) -> MinerStats {
        self.stats
    }

    /// Every pattern's template, in the order they were learned.
    pub fn templates(&self) -> impl Iterator<Item = &str> + '_ {
        self.patterns.iter().map(|p| p.template.as_str())
    }
}
