//! Robust statistics: median and median absolute deviation (MAD), which one burst or one quiet
//! day does not drag the way it drags a mean and a standard deviation.

/// Scales a MAD to estimate the standard deviation of normally distributed data.
pub const MAD_TO_SIGMA: f64 = 1.4826;

/// The median of `values` (reordered in place); 0 for none.
pub fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    }
}

/// The median and the MAD of `values` (reordered in place).
pub fn median_and_mad(values: &mut [f64]) -> (f64, f64) {
    let center = median(values);
    let mut deviations: Vec<f64> = values.iter().map(|v| (v - center).abs()).collect();
    (center, median(&mut deviations))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_outlier_moves_neither_median_nor_mad() {
        let mut calm = [10.0, 11.0, 9.0, 10.0, 12.0, 8.0, 10.0];
        let mut burst = [10.0, 11.0, 9.0, 10.0, 12.0, 8.0, 900.0];
        assert_eq!(median_and_mad(&mut calm), (10.0, 1.0));
        assert_eq!(median_and_mad(&mut burst), (10.0, 1.0));
        assert_eq!(median(&mut []), 0.0);
        assert_eq!(median(&mut [1.0, 4.0]), 2.5);
    }
}
