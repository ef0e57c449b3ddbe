use super::*;

/// Monday 2026-01-05 00:00 UTC.
const MONDAY: i64 = 1_767_571_200_000_000;

fn at(day: i64, hour: i64, minute: i64) -> Micros {
    Micros(MONDAY + day * DAY + hour * HOUR + minute * MINUTE)
}

/// `per_hour` occurrences spread over each working hour (9–17) of weekdays, for `days` days.
fn office_hours(days: i64, per_hour: u64) -> Baseline {
    let config = BaselineConfig::default();
    let mut baseline = Baseline::default();
    for day in 0..days {
        if is_weekend(at(day, 0, 0).0.div_euclid(DAY)) {
            continue;
        }
        for hour in 9..17 {
            for minute in 0..per_hour as i64 {
                baseline.add(at(day, hour, minute * 60 / per_hour as i64), 1, &config);
            }
        }
    }
    baseline
}

fn known(expectation: Expectation) -> Expected {
    match expectation {
        Expectation::Known(expected) => expected,
        Expectation::Learning => panic!("still learning"),
    }
}

#[test]
fn the_first_days_are_learning() {
    let baseline = office_hours(2, 10);
    let config = BaselineConfig::default();
    assert_eq!(
        baseline.expected(at(1, 10, 30), at(0, 0, 0), &config),
        Expectation::Learning,
        "one earlier day is not enough"
    );
    assert!(matches!(
        baseline.expected(at(2, 10, 30), at(0, 0, 0), &config),
        Expectation::Known(_)
    ));
}

#[test]
fn working_hours_expect_their_rate_and_nights_expect_none() {
    let baseline = office_hours(4, 12);
    let config = BaselineConfig::default();
    let day = known(baseline.expected(at(4, 11, 0), at(0, 0, 0), &config));
    assert_eq!((day.per_hour, day.mad_per_hour), (12.0, 0.0));
    assert_eq!(day.basis, Basis::SameKindOfDay);
    assert_eq!(day.active_share, 1.0);
    let night = known(baseline.expected(at(4, 3, 0), at(0, 0, 0), &config));
    assert_eq!((night.per_hour, night.active_share), (0.0, 0.0));
}

#[test]
fn weekends_compare_with_weekends_once_two_are_known() {
    let baseline = office_hours(14, 12);
    let config = BaselineConfig::default();
    let first_saturday = known(baseline.expected(at(5, 11, 0), at(0, 0, 0), &config));
    assert_eq!(
        (first_saturday.basis, first_saturday.per_hour),
        (Basis::EveryDay, 12.0),
        "no weekend known yet: weekdays are all there is"
    );
    let second_saturday = known(baseline.expected(at(12, 11, 0), at(0, 0, 0), &config));
    assert_eq!(
        (second_saturday.basis, second_saturday.per_hour),
        (Basis::SameKindOfDay, 0.0)
    );
    let monday = known(baseline.expected(at(14, 11, 0), at(0, 0, 0), &config));
    assert_eq!(
        (monday.basis, monday.per_hour),
        (Basis::SameKindOfDay, 12.0)
    );
}

#[test]
fn one_burst_does_not_move_the_baseline() {
    let config = BaselineConfig::default();
    let mut baseline = office_hours(5, 12);
    baseline.add(at(2, 11, 10), 5000, &config);
    let expected = known(baseline.expected(at(7, 11, 0), at(0, 0, 0), &config));
    assert_eq!((expected.per_hour, expected.mad_per_hour), (12.0, 0.0));
}

#[test]
fn the_current_window_and_the_daily_peak_count_five_minutes() {
    let config = BaselineConfig::default();
    let mut baseline = Baseline::default();
    for minute in 0..10 {
        baseline.add(at(0, 10, minute), 2, &config);
    }
    assert_eq!(baseline.current_window(at(0, 10, 9)), 10);
    assert_eq!(baseline.current_window(at(0, 10, 30)), 0);
    for day in 1..3 {
        baseline.add(at(day, 10, 0), 1, &config);
    }
    let expected = known(baseline.expected(at(3, 10, 0), at(0, 0, 0), &config));
    assert_eq!(expected.peak_window, 10.0, "third quartile of 10, 1 and 1");
}

#[test]
fn memory_stays_within_the_hours_kept() {
    let config = BaselineConfig::default();
    let mut baseline = Baseline::default();
    for hour in 0..(24 * 60) {
        baseline.add(Micros(MONDAY + hour * HOUR), 3, &config);
    }
    assert_eq!(baseline.hours.len(), config.hours_kept);
    assert!(baseline.heap_bytes() < 4096, "{}", baseline.heap_bytes());
}

#[test]
fn merging_adds_the_occurrences_of_both() {
    let config = BaselineConfig::default();
    let mut one = office_hours(3, 6);
    let other = office_hours(3, 6);
    one.merge(&other, &config);
    assert_eq!(one.in_hour(at(1, 10, 0).0.div_euclid(HOUR)), 12);
    assert_eq!(one.first_seen(), other.first_seen());
}
