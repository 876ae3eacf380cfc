//! Numbers for the class-tracker report's readers: durations (`12.3 ms`, `1.50 s`,
//! `1:02:05`, as `classtracker_stats._duration` writes them) and chart axes whose ticks
//! fall on round values (1, 2 or 5 times a power of ten of the unit shown).

use crate::units::UNITS;

/// Ticks on an axis of at most this many labels.
pub const MAX_TICKS: usize = 8;

/// Ticks on a time axis, whose labels (`0:10:00`, `1000 ms`) are wider than a size
/// axis's: at most this many side by side along a chart's width.
pub const MAX_TIME_TICKS: usize = 6;

/// A duration for people: `12.3 ms` under a second, `4.56 s` under a minute, then
/// `H:MM:SS`, the same text as `classtracker_stats._duration`. The unit is chosen after
/// rounding, so `0.99996` reads `1.00 s` and `59.996` reads `0:01:00`. Negative and
/// undefined durations read as 0.
pub fn duration_text(seconds: f64) -> String {
    let value = if seconds.is_nan() { 0.0 } else { seconds.max(0.0) };
    let ms = format!("{:.1}", value * 1000.0);
    if ms.parse::<f64>().is_ok_and(|v| v < 1000.0) {
        return format!("{ms} ms");
    }
    let secs = format!("{value:.2}");
    if secs.parse::<f64>().is_ok_and(|v| v < 60.0) {
        return format!("{secs} s");
    }
    // Python's `round()`: ties to even. The cast saturates for the absurdly large.
    let whole = value.round_ties_even() as u64;
    format!("{}:{:02}:{:02}", whole / 3600, whole / 60 % 60, whole % 60)
}

/// Round ticks: the values `(first + i) * step` for `i` in `0..count`, in the unit an
/// axis is labelled in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ticks {
    pub first: i64,
    pub step: f64,
    pub count: usize,
}

impl Ticks {
    pub fn value(&self, i: usize) -> f64 {
        (self.first as f64 + i as f64) * self.step
    }

    pub fn low(&self) -> f64 {
        self.value(0)
    }

    pub fn high(&self) -> f64 {
        self.value(self.count.saturating_sub(1))
    }

    /// Decimals that show every tick exactly (steps of 0.5 need one, of 0.02 two).
    pub fn decimals(&self) -> usize {
        if self.step >= 1.0 {
            0
        } else {
            (-(self.step.log10() + 1e-9).floor()).clamp(0.0, 12.0) as usize
        }
    }

    /// Tick `i` with [`Ticks::decimals`] digits.
    pub fn label(&self, i: usize) -> String {
        format!("{:.*}", self.decimals(), self.value(i))
    }
}

/// Round ticks covering `low..=high`: the smallest step of 1, 2 or 5 times a power of ten,
/// and at least `min_step`, that needs at most `max_ticks` ticks, the first at or just
/// below `low` and the last at or just above `high`. At least two ticks; a single point
/// or an empty range gets ticks around it. Values that are not finite count as 0.
pub fn nice_ticks(low: f64, high: f64, max_ticks: usize, min_step: f64) -> Ticks {
    let finite = |v: f64| if v.is_finite() { v } else { 0.0 };
    let (mut low, mut high) = (finite(low), finite(high));
    if low > high {
        std::mem::swap(&mut low, &mut high);
    }
    let max_ticks = max_ticks.max(2);
    let min_step = if min_step.is_finite() && min_step > 0.0 { min_step } else { f64::MIN_POSITIVE };
    let span = high - low;
    let rough =
        if span > 0.0 { span / (max_ticks - 1) as f64 } else { (high.abs() / (max_ticks - 1) as f64).max(min_step) };
    let rough = rough.max(min_step);
    // Quotients that rounding left a hair off a whole number: 0.3 / 0.1 is 2.9999999999999996.
    let slack = 1e-9;
    let mut exponent = rough.log10().floor() as i32;
    loop {
        let power = 10f64.powi(exponent);
        let last_power = !(power * 10.0).is_finite();
        for m in [1.0, 2.0, 5.0] {
            let step = m * power;
            if step < min_step * (1.0 - slack) || step < rough * (1.0 - slack) {
                continue;
            }
            let first = (low / step + slack).floor();
            let last = (high / step - slack).ceil().max(first + 1.0);
            let count = last - first + 1.0;
            if count <= max_ticks as f64 || (last_power && m == 5.0) {
                return Ticks { first: first as i64, step, count: count.min(max_ticks as f64) as usize };
            }
        }
        exponent += 1;
    }
}

/// Ticks of a size axis from 0 to `max` bytes, in the binary unit of `max` (B, KiB,
/// MiB, ...): round in that unit (0, 5, 10, 15 MiB), whole bytes at least. Returns the
/// ticks (in the unit) and the unit in bytes.
pub fn size_ticks(max: f64) -> (Ticks, f64) {
    let max = if max.is_finite() { max.max(0.0) } else { 0.0 };
    let mut unit = 1.0;
    let mut index = 0;
    while max / unit >= 1024.0 && index < UNITS.len() - 1 {
        unit *= 1024.0;
        index += 1;
    }
    (nice_ticks(0.0, max / unit, MAX_TICKS, 1.0 / unit), unit)
}

/// A size tick's label: `5 MiB`, `0.5 KiB`, `512 B`.
pub fn size_label(ticks: &Ticks, i: usize, unit: f64) -> String {
    let index = (unit.log(1024.0).round().max(0.0) as usize).min(UNITS.len() - 1);
    format!("{} {}", ticks.label(i), UNITS[index])
}

/// Ticks of a count axis from 0 to `max`: whole numbers.
pub fn count_ticks(max: f64) -> Ticks {
    nice_ticks(0.0, max.max(0.0), MAX_TICKS, 1.0)
}

/// How a time axis is labelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeUnit {
    Milliseconds,
    Seconds,
    /// `H:MM:SS`, ticks on round minutes.
    Minutes,
    /// `H:MM:SS`, ticks on round hours.
    Hours,
}

impl TimeUnit {
    pub fn seconds(self) -> f64 {
        match self {
            TimeUnit::Milliseconds => 0.001,
            TimeUnit::Seconds => 1.0,
            TimeUnit::Minutes => 60.0,
            TimeUnit::Hours => 3600.0,
        }
    }
}

/// The shortest step a time axis takes: 10 µs.
const MIN_TIME_STEP: f64 = 1e-5;

/// Ticks of a time axis covering `low..=high` seconds: in milliseconds when it ends
/// under a second, in seconds when it ends under a minute or spans under two, then on
/// round minutes, or hours for spans of two hours or more (labelled `H:MM:SS`). A single
/// instant gets ticks around it.
pub fn time_ticks(low: f64, high: f64) -> (Ticks, TimeUnit) {
    let finite = |v: f64| if v.is_finite() { v.max(0.0) } else { 0.0 };
    let (mut low, mut high) = (finite(low), finite(high));
    if low > high {
        std::mem::swap(&mut low, &mut high);
    }
    if high - low < MIN_TIME_STEP {
        // A single instant: a few milliseconds (or a tenth of its time) either side.
        let half = (high * 0.05).max(0.005);
        low = (low - half).max(0.0);
        high += half;
    }
    let span = high - low;
    let unit = if high < 1.0 {
        TimeUnit::Milliseconds
    } else if high < 60.0 || span < 120.0 {
        TimeUnit::Seconds
    } else if span < 7200.0 {
        TimeUnit::Minutes
    } else {
        TimeUnit::Hours
    };
    let scale = unit.seconds();
    let min_step = match unit {
        TimeUnit::Milliseconds | TimeUnit::Seconds => MIN_TIME_STEP / scale,
        // Never between whole seconds: the labels show none.
        TimeUnit::Minutes | TimeUnit::Hours => 1.0 / scale,
    };
    (nice_ticks(low / scale, high / scale, MAX_TIME_TICKS, min_step), unit)
}

/// A time tick's label: `250 ms`, `1.5 s`, `0:05:00`.
pub fn time_label(ticks: &Ticks, i: usize, unit: TimeUnit) -> String {
    match unit {
        TimeUnit::Milliseconds => format!("{} ms", ticks.label(i)),
        TimeUnit::Seconds => format!("{} s", ticks.label(i)),
        TimeUnit::Minutes | TimeUnit::Hours => {
            let whole = (ticks.value(i) * unit.seconds()).round().max(0.0) as u64;
            format!("{}:{:02}:{:02}", whole / 3600, whole / 60 % 60, whole % 60)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: f64 = 1024.0 * 1024.0;

    fn labels(ticks: &Ticks) -> Vec<String> {
        (0..ticks.count).map(|i| ticks.label(i)).collect()
    }

    /// Every tick is 1, 2 or 5 times a power of ten times a whole number.
    fn is_round(ticks: &Ticks) {
        let power = 10f64.powi(ticks.step.log10().floor() as i32);
        let m = ticks.step / power;
        assert!([1.0, 2.0, 5.0].iter().any(|r| (m - r).abs() < 1e-9), "{ticks:?}");
        assert!((2..=MAX_TICKS).contains(&ticks.count), "{ticks:?}");
    }

    #[test]
    fn durations_read_like_the_python_helper() {
        assert_eq!(duration_text(0.0), "0.0 ms");
        assert_eq!(duration_text(0.0123), "12.3 ms");
        assert_eq!(duration_text(0.9994), "999.4 ms");
        assert_eq!(duration_text(0.99996), "1.00 s");
        assert_eq!(duration_text(1.0), "1.00 s");
        assert_eq!(duration_text(1.234), "1.23 s");
        assert_eq!(duration_text(1.5), "1.50 s");
        assert_eq!(duration_text(59.994), "59.99 s");
        assert_eq!(duration_text(59.996), "0:01:00");
        assert_eq!(duration_text(60.0), "0:01:00");
        assert_eq!(duration_text(3725.4), "1:02:05");
        assert_eq!(duration_text(36000.5), "10:00:00"); // ties to even, as round()
        assert_eq!(duration_text(-1.0), "0.0 ms");
        assert_eq!(duration_text(f64::NAN), "0.0 ms");
        assert!(duration_text(f64::INFINITY).ends_with(":15"));
    }

    #[test]
    fn ticks_step_by_one_two_or_five() {
        let t = nice_ticks(0.0, 15.0, 8, 1.0);
        assert_eq!(labels(&t), ["0", "5", "10", "15"]);
        let t = nice_ticks(0.0, 97.0, 8, 1.0);
        assert_eq!(labels(&t), ["0", "20", "40", "60", "80", "100"]);
        let t = nice_ticks(0.0, 7.0, 8, 1.0);
        assert_eq!(t.count, 8);
        assert_eq!(t.high(), 7.0);
        let t = nice_ticks(0.0, 0.3, 8, 1e-9);
        assert_eq!(labels(&t), ["0.00", "0.05", "0.10", "0.15", "0.20", "0.25", "0.30"]);
        for max in [1.0, 3.0, 9.9, 10.1, 42.0, 999.0, 1023.0, 12345.0, 0.007, 1e-7] {
            let t = nice_ticks(0.0, max, 8, 1e-12);
            is_round(&t);
            assert_eq!(t.low(), 0.0);
            // The top tick at or just above the maximum: less than a step above.
            assert!(t.high() >= max - 1e-9 * t.step && t.high() - max < t.step, "{max}: {t:?}");
        }
    }

    #[test]
    fn ticks_of_edge_cases() {
        // Nothing to show: one step of the smallest size.
        assert_eq!(labels(&nice_ticks(0.0, 0.0, 8, 1.0)), ["0", "1"]);
        // A single point: ticks around it.
        let t = nice_ticks(5.0, 5.0, 8, 1.0);
        assert!(t.low() <= 5.0 && t.high() >= 5.0 && t.count >= 2, "{t:?}");
        is_round(&t);
        // Huge values stay finite and round.
        let t = nice_ticks(0.0, 1e300, 8, 1.0);
        is_round(&t);
        assert!(t.high().is_finite() && t.high() >= 1e300 * (1.0 - 1e-9));
        let t = nice_ticks(0.0, f64::MAX, 8, 1.0);
        assert!(t.count >= 2 && t.step.is_finite());
        assert_eq!(nice_ticks(f64::NAN, f64::INFINITY, 8, 1.0), nice_ticks(0.0, 0.0, 8, 1.0));
        // A range off zero starts at a round value below it.
        let t = nice_ticks(301.0, 348.0, 8, 1.0);
        assert_eq!(labels(&t), ["300", "310", "320", "330", "340", "350"]);
    }

    #[test]
    fn size_ticks_are_round_in_the_unit_shown() {
        let (t, unit) = size_ticks(15.0 * MIB);
        assert_eq!(unit, MIB);
        assert_eq!(
            (0..t.count).map(|i| size_label(&t, i, unit)).collect::<Vec<_>>(),
            ["0 MiB", "5 MiB", "10 MiB", "15 MiB"]
        );
        let (t, unit) = size_ticks(1.6 * MIB);
        assert_eq!(
            (0..t.count).map(|i| size_label(&t, i, unit)).collect::<Vec<_>>(),
            ["0.0 MiB", "0.5 MiB", "1.0 MiB", "1.5 MiB", "2.0 MiB"]
        );
        let (t, unit) = size_ticks(10.0 * 1024.0);
        assert_eq!((unit, t.step, t.high()), (1024.0, 2.0, 10.0));
        // Bytes: whole numbers.
        let (t, unit) = size_ticks(3.0);
        assert_eq!((unit, labels(&t)), (1.0, vec!["0".to_owned(), "1".into(), "2".into(), "3".into()]));
        let (t, unit) = size_ticks(0.0);
        assert_eq!((unit, size_label(&t, 1, unit)), (1.0, "1 B".to_owned()));
        // The largest sizes: EiB, the last unit.
        let (t, unit) = size_ticks(u64::MAX as f64);
        assert_eq!(size_label(&t, t.count - 1, unit), "20 EiB");
        is_round(&t);
        let (t, unit) = size_ticks(1e30);
        assert!(size_label(&t, t.count - 1, unit).ends_with(" EiB"));
        is_round(&t);
        for max in [1023.0, 1024.0, 5000.0, 3.0 * MIB, 700.0 * MIB, 5e9] {
            let (t, unit) = size_ticks(max);
            is_round(&t);
            assert!((t.high() + 1e-9 * t.step) * unit >= max && (t.high() - t.step) * unit < max, "{max}: {t:?}");
        }
    }

    #[test]
    fn time_ticks_use_milliseconds_seconds_or_minutes() {
        let label = |low, high| {
            let (t, unit) = time_ticks(low, high);
            (0..t.count).map(|i| time_label(&t, i, unit)).collect::<Vec<_>>()
        };
        assert_eq!(label(0.0, 0.0123), ["0 ms", "5 ms", "10 ms", "15 ms"]);
        assert_eq!(label(0.0, 0.0098), ["0 ms", "2 ms", "4 ms", "6 ms", "8 ms", "10 ms"]);
        assert_eq!(label(0.301, 0.348), ["300 ms", "310 ms", "320 ms", "330 ms", "340 ms", "350 ms"]);
        assert_eq!(label(0.2, 1.5), ["0.0 s", "0.5 s", "1.0 s", "1.5 s"]);
        assert_eq!(label(0.2, 1.1), ["0.2 s", "0.4 s", "0.6 s", "0.8 s", "1.0 s", "1.2 s"]);
        assert_eq!(label(0.0, 42.0), ["0 s", "10 s", "20 s", "30 s", "40 s", "50 s"]);
        assert_eq!(label(0.0, 1800.0), ["0:00:00", "0:10:00", "0:20:00", "0:30:00"]);
        assert_eq!(label(59.996, 3725.4), ["0:00:00", "0:20:00", "0:40:00", "1:00:00", "1:20:00"]);
        assert_eq!(label(0.0, 36000.0), ["0:00:00", "2:00:00", "4:00:00", "6:00:00", "8:00:00", "10:00:00"]);
        // A short run long after the start: seconds with decimals, not H:MM:SS.
        assert_eq!(label(75.01, 75.05), ["75.01 s", "75.02 s", "75.03 s", "75.04 s", "75.05 s"]);
        // A single instant, and tiny spans.
        let (t, unit) = time_ticks(0.0123, 0.0123);
        assert_eq!(unit, TimeUnit::Milliseconds);
        assert!(t.low() <= 12.3 && t.high() >= 12.3 && t.count >= 2);
        let (t, unit) = time_ticks(0.5, 0.5 + 1e-9);
        assert_eq!(unit, TimeUnit::Milliseconds);
        assert!(t.low() <= 500.0 && t.high() >= 500.0, "{t:?}");
        let (t, _) = time_ticks(2.0, 2.00002);
        is_round(&t);
        assert!(t.step >= 1e-5 * (1.0 - 1e-9) && t.count <= MAX_TIME_TICKS);
        let (t, _) = time_ticks(0.0, 0.0);
        assert_eq!(t.low(), 0.0);
        for (low, high) in [(0.0, 0.9), (0.1, 0.99), (0.0, 59.0), (3.0, 600.0), (100.0, 100.5), (0.0, 1e7)] {
            let (t, unit) = time_ticks(low, high);
            is_round(&t);
            let scale = unit.seconds();
            assert!(t.low() * scale <= low + 1e-9 && t.high() * scale >= high - 1e-9, "{low}..{high}: {t:?}");
        }
    }
}
