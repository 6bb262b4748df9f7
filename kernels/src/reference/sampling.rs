//! Reference of the batched sampler: greedy, temperature, top-k, top-p and the draw, with the
//! kernel's semantics (see `kernels/cuda/sampling.cu`), over one row of logits.

/// The sampling parameters of one row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplingRow {
    /// `<= 0` (or NaN) means greedy.
    pub temperature: f32,
    /// `0` or `>= vocab` means no top-k.
    pub top_k: usize,
    /// `>= 1` means no top-p.
    pub top_p: f32,
    /// The uniform draw in `[0, 1)`.
    pub uniform: f32,
}

/// The lowest index of the largest logit.
fn argmax(logits: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in logits.iter().enumerate() {
        if v > logits[best] {
            best = i;
        }
    }
    best
}

/// The tokens the draw chooses among, in index order.
pub fn kept_tokens(logits: &[f32], row: SamplingRow) -> Vec<usize> {
    if logits.is_empty() {
        return Vec::new();
    }
    let max = logits[argmax(logits)];
    // `!(t > 0)` is greedy, NaN included, as in the kernel.
    if row.temperature.is_nan() || row.temperature <= 0.0 {
        return vec![argmax(logits)];
    }
    let weight = |v: f32| f64::from(((v - max) / row.temperature).exp());
    let mut sorted: Vec<f32> = logits.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let mut cutoff = f32::NEG_INFINITY;
    if row.top_k > 0 && row.top_k < logits.len() {
        cutoff = sorted[row.top_k - 1];
    }
    if row.top_p < 1.0 {
        let kept_mass: f64 = sorted
            .iter()
            .filter(|&&v| v >= cutoff)
            .map(|&v| weight(v))
            .sum();
        let goal = f64::from(row.top_p) * kept_mass;
        let mut mass = 0.0;
        let mut index = 0;
        while index < sorted.len() && sorted[index] >= cutoff {
            // Every logit equal to this one is in or out together.
            let value = sorted[index];
            while index < sorted.len() && sorted[index] == value {
                mass += weight(value);
                index += 1;
            }
            if mass >= goal {
                cutoff = value;
                break;
            }
        }
    }
    (0..logits.len()).filter(|&i| logits[i] >= cutoff).collect()
}

/// The token the kernel draws for this row: greedy, or the first kept token in index order
/// where the running sum of `exp((l - max) / temperature)` exceeds `uniform` times the kept mass.
pub fn sample_row(logits: &[f32], row: SamplingRow) -> usize {
    let kept = kept_tokens(logits, row);
    if kept.len() == 1 || row.temperature.is_nan() || row.temperature <= 0.0 {
        return kept.first().copied().unwrap_or(0);
    }
    let max = logits[argmax(logits)];
    let weight = |i: usize| f64::from(((logits[i] - max) / row.temperature).exp());
    let total: f64 = kept.iter().map(|&i| weight(i)).sum();
    let target = f64::from(row.uniform) * total;
    let mut running = 0.0;
    for &i in &kept {
        running += weight(i);
        if running > target {
            return i;
        }
    }
    kept.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(temperature: f32, top_k: usize, top_p: f32, uniform: f32) -> SamplingRow {
        SamplingRow {
            temperature,
            top_k,
            top_p,
            uniform,
        }
    }

    #[test]
    fn greedy_is_the_first_argmax() {
        let logits = [0.5, 3.0, -1.0, 3.0];
        assert_eq!(sample_row(&logits, row(0.0, 0, 1.0, 0.9)), 1);
        assert_eq!(sample_row(&logits, row(f32::NAN, 0, 1.0, 0.9)), 1);
        assert_eq!(kept_tokens(&logits, row(-1.0, 0, 1.0, 0.0)), vec![1]);
    }

    #[test]
    fn top_k_keeps_the_k_largest_and_ties_at_the_boundary() {
        let logits = [1.0, 4.0, 2.0, 3.0, 2.0];
        assert_eq!(kept_tokens(&logits, row(1.0, 2, 1.0, 0.0)), vec![1, 3]);
        assert_eq!(
            kept_tokens(&logits, row(1.0, 3, 1.0, 0.0)),
            vec![1, 2, 3, 4]
        );
        assert_eq!(
            kept_tokens(&logits, row(1.0, 0, 1.0, 0.0)),
            vec![0, 1, 2, 3, 4]
        );
        assert_eq!(kept_tokens(&logits, row(1.0, 9, 1.0, 0.0)).len(), 5);
    }

    #[test]
    fn top_p_keeps_the_smallest_prefix_with_enough_mass() {
        // Probabilities 0.5, 0.25, 0.125, 0.125 (logits are log2-spaced at temperature 1).
        let ln2 = std::f32::consts::LN_2;
        let logits = [3.0 * ln2, 2.0 * ln2, ln2, ln2];
        assert_eq!(kept_tokens(&logits, row(1.0, 0, 0.5, 0.0)), vec![0]);
        assert_eq!(kept_tokens(&logits, row(1.0, 0, 0.6, 0.0)), vec![0, 1]);
        assert_eq!(
            kept_tokens(&logits, row(1.0, 0, 0.8, 0.0)),
            vec![0, 1, 2, 3]
        );
        // Within top-k 2 the mass is renormalised: 2/3 and 1/3.
        assert_eq!(kept_tokens(&logits, row(1.0, 2, 0.6, 0.0)), vec![0]);
        assert_eq!(kept_tokens(&logits, row(1.0, 2, 0.7, 0.0)), vec![0, 1]);
        assert_eq!(kept_tokens(&logits, row(1.0, 0, 0.0, 0.0)), vec![0]);
    }

    #[test]
    fn draws_follow_the_softmax_of_the_kept_tokens() {
        let logits = [0.3f32, 1.7, -0.4, 1.1, 0.9, -2.0];
        let temperature = 0.8f32;
        let draws = 20_000;
        let mut counts = [0usize; 6];
        for i in 0..draws {
            let u = (i as f32 + 0.5) / draws as f32;
            counts[sample_row(&logits, row(temperature, 0, 1.0, u))] += 1;
        }
        let weights: Vec<f64> = logits
            .iter()
            .map(|&l| (f64::from(l) / f64::from(temperature)).exp())
            .collect();
        let total: f64 = weights.iter().sum();
        for (count, w) in counts.iter().zip(&weights) {
            let frequency = *count as f64 / draws as f64;
            assert!(
                (frequency - w / total).abs() < 1e-3,
                "{frequency} vs {}",
                w / total
            );
        }
    }

    #[test]
    fn a_draw_never_leaves_the_kept_set() {
        let logits: Vec<f32> = (0..50).map(|i| ((i * 37) % 11) as f32 * 0.3).collect();
        for step in 0..100 {
            let r = row(1.3, 7, 0.8, step as f32 / 100.0);
            let kept = kept_tokens(&logits, r);
            assert!(kept.contains(&sample_row(&logits, r)));
        }
        let r = row(1.0, 0, 1.0, 0.999_999_9);
        assert_eq!(sample_row(&[0.0, 0.0], r), 1);
    }
}
