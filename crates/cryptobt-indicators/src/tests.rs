//! Every indicator against TA-Lib's output on real bars (`tests/fixtures/talib/indicators.json`,
//! made by `tests/reference/talib_fixtures.py` with the `ta-lib` package).

use serde::Deserialize;

use super::*;

#[derive(Deserialize)]
struct Fixture {
    high: Vec<f64>,
    low: Vec<f64>,
    close: Vec<f64>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    #[serde(rename = "fn")]
    name: String,
    args: Vec<f64>,
    out: Vec<Vec<Option<f64>>>,
}

fn fixture() -> Fixture {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/talib/indicators.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Equal to TA-Lib up to float summation order: 1e-9 relative (or absolute near zero).
#[track_caller]
fn close_enough(case: &str, i: usize, got: Option<f64>, want: Option<f64>) {
    match (got, want) {
        (None, None) => {}
        (Some(g), Some(w)) => {
            let tolerance = 1e-9 * w.abs().max(1.0);
            assert!((g - w).abs() <= tolerance, "{case} bar {i}: got {g}, TA-Lib {w}");
        }
        _ => panic!("{case} bar {i}: got {got:?}, TA-Lib {want:?}"),
    }
}

#[test]
fn every_indicator_equals_talib_on_real_bars() {
    let f = fixture();
    let mut checked = 0;
    for case in &f.cases {
        let n = case.args[0] as usize;
        let label = format!("{}{:?}", case.name, case.args);
        let outputs: Vec<Vec<Option<f64>>> = match case.name.as_str() {
            "sma" => {
                let mut s = Sma::new(n);
                vec![f.close.iter().map(|x| s.update(*x)).collect()]
            }
            "ema" => {
                let mut s = Ema::new(n);
                vec![f.close.iter().map(|x| s.update(*x)).collect()]
            }
            "rsi" => {
                let mut s = Rsi::new(n);
                vec![f.close.iter().map(|x| s.update(*x)).collect()]
            }
            "stddev" => {
                let mut s = StdDev::new(n);
                vec![f.close.iter().map(|x| s.update(*x)).collect()]
            }
            "highest" => {
                let mut s = Extreme::highest(n);
                vec![f.close.iter().map(|x| s.update(*x)).collect()]
            }
            "lowest" => {
                let mut s = Extreme::lowest(n);
                vec![f.close.iter().map(|x| s.update(*x)).collect()]
            }
            "atr" => {
                let mut s = Atr::new(n);
                vec![(0..f.close.len())
                    .map(|i| s.update(f.high[i], f.low[i], f.close[i]))
                    .collect()]
            }
            "bbands" => {
                let mut s = Bbands::new(n, case.args[1]);
                let v: Vec<_> = f.close.iter().map(|x| s.update(*x)).collect();
                vec![
                    v.iter().map(|o| o.map(|t| t.0)).collect(),
                    v.iter().map(|o| o.map(|t| t.1)).collect(),
                    v.iter().map(|o| o.map(|t| t.2)).collect(),
                ]
            }
            "macd" => {
                let mut s = Macd::new(n, case.args[1] as usize, case.args[2] as usize);
                let v: Vec<_> = f.close.iter().map(|x| s.update(*x)).collect();
                vec![
                    v.iter().map(|o| o.map(|t| t.0)).collect(),
                    v.iter().map(|o| o.map(|t| t.1)).collect(),
                    v.iter().map(|o| o.map(|t| t.2)).collect(),
                ]
            }
            other => panic!("unknown fixture function {other}"),
        };
        assert_eq!(outputs.len(), case.out.len(), "{label}");
        for (got, want) in outputs.iter().zip(&case.out) {
            assert_eq!(got.len(), want.len());
            for (i, (g, w)) in got.iter().zip(want).enumerate() {
                close_enough(&label, i, *g, *w);
                checked += usize::from(w.is_some());
            }
        }
    }
    assert!(checked > 20_000, "only {checked} values compared");
}

#[test]
fn flat_series_give_talib_edge_values() {
    // No movement: RSI 0 (TA-Lib's convention), deviation 0, bands collapse on the mean.
    let mut rsi = Rsi::new(3);
    let mut sd = StdDev::new(3);
    let mut bb = Bbands::new(3, 2.0);
    let mut last = (None, None, None);
    for _ in 0..6 {
        last = (rsi.update(5.0), sd.update(5.0), bb.update(5.0));
    }
    assert_eq!(last, (Some(0.0), Some(0.0), Some((5.0, 5.0, 5.0))));
}
