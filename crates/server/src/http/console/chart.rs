//! Horizontal (stacked) bar charts, drawn as SVG on the server, and their numbers as CSV.
//!
//! Drawn by hand rather than with a plotting crate: the labels are Chinese, and
//! plotters' SVG backend measures text with font files it would have to load at run
//! time (or estimates CJK widths wrongly without them); here the browser lays out the
//! text with its own fonts, and the bars are a few rectangles.

use maud::{Markup, html};

use super::error::ConsoleError;
use super::i18n::Msg;

const WIDTH: f64 = 760.0;
const LABEL: f64 = 190.0;
const BARS: f64 = 480.0;
const ROW: f64 = 24.0;
const LEGEND_ITEM: f64 = 190.0;
const LEGEND_PER_LINE: usize = 4;
const COLORS: [&str; 10] = [
    "#1f5f8b", "#e07b39", "#3a9d5d", "#c0392b", "#8e6bbf", "#8c6d46", "#d35d9c", "#6b7b8c",
    "#b5a22c", "#2bb0b5",
];

/// Where each value's bar starts and how wide it is, stacked from the labels' edge.
fn segments(values: &[f64], scale: f64) -> Vec<(f64, f64, f64)> {
    let mut x = LABEL;
    values
        .iter()
        .map(|&value| {
            let start = x;
            x += value * scale;
            (start, value * scale, value)
        })
        .collect()
}

/// A chart's numbers: one row per label, one value per series.
pub(crate) struct Chart {
    /// Its name in URLs and file names.
    pub key: &'static str,
    pub title: Msg,
    /// What the rows are (month, dealer, …), for the CSV header.
    pub rows_are: Msg,
    pub series: Vec<String>,
    pub rows: Vec<(String, Vec<f64>)>,
    /// Values are fractions, shown as percentages.
    pub percent: bool,
}

impl Chart {
    fn value_text(&self, value: f64) -> String {
        if self.percent {
            format!("{:.1}%", value * 100.0)
        } else if value.fract() == 0.0 {
            format!("{value:.0}")
        } else {
            format!("{value:.2}")
        }
    }

    pub(crate) fn svg(&self) -> Markup {
        let max = self
            .rows
            .iter()
            .map(|(_, values)| values.iter().sum::<f64>())
            .fold(0.0_f64, f64::max);
        let legend_lines = if self.series.len() > 1 {
            self.series.len().div_ceil(LEGEND_PER_LINE)
        } else {
            0
        };
        let top = legend_lines as f64 * ROW + 4.0;
        let height = top + self.rows.len().max(1) as f64 * ROW + 4.0;
        let scale = if max > 0.0 { BARS / max } else { 0.0 };
        html! {
            svg xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (WIDTH) " " (height) } role="img" data-chart=(self.key) {
                @if legend_lines > 0 {
                    @for (i, name) in self.series.iter().enumerate() {
                        @let x = (i % LEGEND_PER_LINE) as f64 * LEGEND_ITEM;
                        @let y = (i / LEGEND_PER_LINE) as f64 * ROW;
                        rect x=(x) y=(y + 6.0) width="12" height="12" fill=(COLORS[i % COLORS.len()]) {}
                        text x=(x + 16.0) y=(y + 16.0) { (name) }
                    }
                }
                @for (row, (label, values)) in self.rows.iter().enumerate() {
                    @let y = top + row as f64 * ROW;
                    text.label x=(LABEL - 6.0) y=(y + 16.0) text-anchor="end" { (label) }
                    @for (i, (x, w, value)) in segments(values, scale).into_iter().enumerate() {
                        rect x=(x) y=(y + 4.0) width=(w) height=(ROW - 8.0) fill=(COLORS[i % COLORS.len()]) {
                            title { (label) " · " (self.series.get(i).map_or("", String::as_str)) ": " (self.value_text(value)) }
                        }
                    }
                    @let total: f64 = values.iter().sum();
                    text.value x=(LABEL + total * scale + 6.0) y=(y + 16.0) { (self.value_text(total)) }
                }
            }
        }
    }

    /// The chart's numbers: a header (what the rows are, then the series), one line a row.
    pub(crate) fn csv(&self, rows_are: &str) -> Result<Vec<u8>, ConsoleError> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let mut header = vec![rows_are.to_owned()];
        header.extend(self.series.iter().cloned());
        writer.write_record(&header)?;
        for (label, values) in &self.rows {
            let mut record = vec![label.clone()];
            record.extend(values.iter().map(|v| {
                if self.percent || v.fract() != 0.0 {
                    format!("{v:.4}")
                } else {
                    format!("{v:.0}")
                }
            }));
            writer.write_record(&record)?;
        }
        writer
            .into_inner()
            .map_err(|e| ConsoleError::CsvFinish(e.into_error()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart() -> Chart {
        Chart {
            key: "k",
            title: Msg::PerMonthByCategory,
            rows_are: Msg::Month,
            series: vec!["met".to_owned(), "missed, late".to_owned()],
            rows: vec![("2026-01".to_owned(), vec![3.0, 1.0])],
            percent: false,
        }
    }

    #[test]
    fn csv_quotes_what_needs_it() {
        let text = String::from_utf8(chart().csv("月份").unwrap()).unwrap();
        assert_eq!(text, "月份,met,\"missed, late\"\n2026-01,3,1\n");
    }

    #[test]
    fn svg_has_a_bar_per_value_and_the_total() {
        let svg = chart().svg().into_string();
        assert_eq!(svg.matches("<rect").count(), 4, "{svg}");
        assert!(svg.contains(">4</text>"), "{svg}");
    }
}
