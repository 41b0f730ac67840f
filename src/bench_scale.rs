//! `kokuho bench scale`: the `ledger-50k` workload ([`crate::bench`]) at several sizes, each in
//! its own process on its own fresh SQLite file, so that each size's memory is its own; a table
//! and an SVG chart drawn here (plain SVG text, no plotting crate).
//!
//! Peak memory is sampled inside each bench process by [`RssSampler`]: a task reading
//! `/proc/self/status` (VmRSS) every 50 ms and keeping the highest value of each phase, and
//! VmHWM (the kernel's high-water mark) at the end.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

/// The fields of a bench process's JSON report (`crate::bench::BenchReport`) the scale needs.
#[derive(Debug, Deserialize)]
struct ChildReport {
    persons: usize,
    commands: usize,
    commands_per_s: f64,
    commands_share_of_limit: f64,
    as_of_p99_ms: f64,
    rebuild_events: u64,
    rebuild_events_per_s: f64,
    rebuild_share_of_limit: f64,
    peak_rss_mb: f64,
    peak_rss_mb_by_phase: BTreeMap<String, f64>,
}

/// The highest resident set size of each phase of a run, sampled from `/proc/self/status`.
pub struct RssSampler {
    state: Arc<Mutex<SamplerState>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

#[derive(Default)]
struct SamplerState {
    phase: &'static str,
    /// Phase → highest VmRSS seen, kB.
    peaks: BTreeMap<&'static str, u64>,
}

/// One field of `/proc/self/status` in kB (`VmRSS`, `VmHWM`); `None` where there is no procfs.
pub fn proc_status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_status_kb(&status, field)
}

fn parse_status_kb(status: &str, field: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().strip_suffix("kB")?.trim().parse().ok()
    })
}

impl RssSampler {
    pub fn start(first_phase: &'static str) -> RssSampler {
        let state = Arc::new(Mutex::new(SamplerState { phase: first_phase, ..Default::default() }));
        let sampled = state.clone();
        let task = tokio::spawn(async move {
            loop {
                if let Some(rss) = proc_status_kb("VmRSS") {
                    let mut state = sampled.lock().expect("sampler lock");
                    let phase = state.phase;
                    let peak = state.peaks.entry(phase).or_insert(0);
                    *peak = (*peak).max(rss);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        RssSampler { state, task: Some(task) }
    }

    /// From now on samples count for `phase`.
    pub fn phase(&self, phase: &'static str) {
        let rss = proc_status_kb("VmRSS");
        let mut state = self.state.lock().expect("sampler lock");
        if let Some(rss) = rss {
            // The end of the previous phase counts for it.
            let previous = state.phase;
            let peak = state.peaks.entry(previous).or_insert(0);
            *peak = (*peak).max(rss);
        }
        state.phase = phase;
    }

    /// Stops sampling: (each phase's peak VmRSS in MB, in the order of the phases' names;
    /// VmHWM in MB).
    pub fn finish(mut self) -> (BTreeMap<String, f64>, f64) {
        self.phase("end");
        if let Some(task) = self.task.take() {
            task.abort();
        }
        let state = self.state.lock().expect("sampler lock");
        let peaks = state
            .peaks
            .iter()
            .filter(|(phase, _)| **phase != "end")
            .map(|(phase, kb)| ((*phase).to_owned(), *kb as f64 / 1024.0))
            .collect();
        (peaks, proc_status_kb("VmHWM").unwrap_or(0) as f64 / 1024.0)
    }
}

impl Drop for RssSampler {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

#[derive(Debug, Clone)]
pub struct ScaleOptions {
    pub persons: Vec<usize>,
    pub clients: usize,
    pub as_of_reads: usize,
    /// Where the fresh SQLite files go (removed after each size).
    pub dir: PathBuf,
    pub svg: Option<PathBuf>,
}

/// One size's figures (from its bench process's JSON report).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScalePoint {
    pub persons: usize,
    pub commands: usize,
    pub commands_per_s: f64,
    pub commands_share_of_limit: f64,
    pub as_of_p99_ms: f64,
    pub rebuild_events: u64,
    pub rebuild_s: f64,
    pub rebuild_share_of_limit: f64,
    pub peak_rss_mb: f64,
    pub peak_rss_mb_by_phase: BTreeMap<String, f64>,
}

impl ScalePoint {
    fn from_report(report: &ChildReport) -> ScalePoint {
        ScalePoint {
            persons: report.persons,
            commands: report.commands,
            commands_per_s: report.commands_per_s,
            commands_share_of_limit: report.commands_share_of_limit,
            as_of_p99_ms: report.as_of_p99_ms,
            rebuild_events: report.rebuild_events,
            rebuild_s: report.rebuild_events as f64 / report.rebuild_events_per_s.max(1e-9),
            rebuild_share_of_limit: report.rebuild_share_of_limit,
            peak_rss_mb: report.peak_rss_mb,
            peak_rss_mb_by_phase: report.peak_rss_mb_by_phase.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ScaleReport {
    pub workload: &'static str,
    pub backend: &'static str,
    pub clients: usize,
    pub points: Vec<ScalePoint>,
}

/// Runs `kokuho bench --persons N --json` for each size, in its own process on a fresh SQLite
/// file under `options.dir`; `kokuho` is `exe` (this binary).
pub fn run(exe: &Path, options: &ScaleOptions) -> anyhow::Result<ScaleReport> {
    anyhow::ensure!(!options.persons.is_empty(), "--persons names no size");
    std::fs::create_dir_all(&options.dir).with_context(|| format!("creating {}", options.dir.display()))?;
    let mut points = Vec::new();
    for &persons in &options.persons {
        let file = options.dir.join(format!("kokuho-scale-{persons}-{}.db", uuid::Uuid::now_v7().simple()));
        let output = std::process::Command::new(exe)
            .arg("--database")
            .arg(format!("sqlite://{}", file.display()))
            .args(["bench", "--json", "--persons", &persons.to_string()])
            .args(["--clients", &options.clients.to_string(), "--as-of-reads", &options.as_of_reads.to_string()])
            .env_remove("DATABASE_URL")
            .stderr(std::process::Stdio::inherit())
            .output()
            .context("starting the bench process")?;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
        }
        anyhow::ensure!(output.status.success(), "the bench at {persons} persons failed ({})", output.status);
        let report: ChildReport = serde_json::from_slice(&output.stdout)
            .with_context(|| format!("reading the report of the bench at {persons} persons"))?;
        points.push(ScalePoint::from_report(&report));
    }
    let report =
        ScaleReport { workload: "ledger-50k per 2,000 persons", backend: "sqlite", clients: options.clients, points };
    if let Some(svg) = &options.svg {
        std::fs::write(svg, chart(&report.points)).with_context(|| format!("writing {}", svg.display()))?;
    }
    Ok(report)
}

pub fn table(report: &ScaleReport) -> String {
    let mut out =
        format!("scale on {} ({} clients; each size in its own process and file)\n", report.backend, report.clients);
    out += &format!(
        "  {:>8} {:>10} {:>11} {:>7} {:>11} {:>10} {:>7} {:>12}\n",
        "persons", "commands", "commands/s", "limit", "as-of p99", "rebuild s", "limit", "peak RSS MB"
    );
    for point in &report.points {
        out += &format!(
            "  {:>8} {:>10} {:>11.0} {:>6.0}% {:>8.2} ms {:>10.1} {:>6.0}% {:>12.0}\n",
            point.persons,
            point.commands,
            point.commands_per_s,
            100.0 * point.commands_share_of_limit,
            point.as_of_p99_ms,
            point.rebuild_s,
            100.0 * point.rebuild_share_of_limit,
            point.peak_rss_mb
        );
        let phases: Vec<String> =
            point.peak_rss_mb_by_phase.iter().map(|(phase, mb)| format!("{phase} {mb:.0}")).collect();
        out += &format!("  {:>8} peak RSS MB by phase: {}\n", "", phases.join(", "));
    }
    out
}

/// A panel of the chart: its title, unit and one figure per point.
struct Panel {
    title: &'static str,
    value: fn(&ScalePoint) -> f64,
}

const PANELS: [Panel; 4] = [
    Panel { title: "commands/s", value: |p| p.commands_per_s },
    Panel { title: "as-of p99 (ms)", value: |p| p.as_of_p99_ms },
    Panel { title: "rebuild (s)", value: |p| p.rebuild_s },
    Panel { title: "peak RSS (MB)", value: |p| p.peak_rss_mb },
];

pub const PANEL_WIDTH: f64 = 300.0;
pub const PANEL_HEIGHT: f64 = 180.0;
/// Inside a panel: the plot's left, top, right and bottom margins.
const MARGIN: (f64, f64, f64, f64) = (56.0, 28.0, 16.0, 36.0);

/// Where a point goes in a panel whose top-left corner is (0, 0): x by persons on a log scale
/// between the smallest and largest size, y linear from 0 to `max` (the panel's highest figure
/// with 10% room).
pub fn plot_position(persons: usize, value: f64, sizes: (usize, usize), max: f64) -> (f64, f64) {
    let (left, top, right, bottom) = MARGIN;
    let width = PANEL_WIDTH - left - right;
    let height = PANEL_HEIGHT - top - bottom;
    let (smallest, largest) = (sizes.0.max(1) as f64, sizes.1.max(1) as f64);
    let x = if largest > smallest {
        left + width * ((persons.max(1) as f64).ln() - smallest.ln()) / (largest.ln() - smallest.ln())
    } else {
        left + width / 2.0
    };
    let y = top + height * (1.0 - (value / max.max(1e-9)).clamp(0.0, 1.0));
    (x, y)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The four panels side by side (two by two) as an SVG document.
pub fn chart(points: &[ScalePoint]) -> String {
    let sizes =
        (points.iter().map(|p| p.persons).min().unwrap_or(1), points.iter().map(|p| p.persons).max().unwrap_or(1));
    let (width, height) = (2.0 * PANEL_WIDTH, 2.0 * PANEL_HEIGHT + 24.0);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"11\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"16\" text-anchor=\"middle\" font-size=\"13\">kokuho bench scale (SQLite): the same workload at each size (x: persons, log scale)</text>\n",
        width / 2.0
    );
    let (left, top, right, bottom) = MARGIN;
    for (index, panel) in PANELS.iter().enumerate() {
        let (dx, dy) = ((index % 2) as f64 * PANEL_WIDTH, 24.0 + (index / 2) as f64 * PANEL_HEIGHT);
        let max = points.iter().map(panel.value).fold(0.0f64, f64::max) * 1.1;
        svg +=
            &format!("<g transform=\"translate({dx},{dy})\" class=\"panel\" data-title=\"{}\">\n", escape(panel.title));
        svg += &format!(
            "<text x=\"{}\" y=\"16\" text-anchor=\"middle\" font-size=\"12\">{}</text>\n",
            PANEL_WIDTH / 2.0,
            escape(panel.title)
        );
        // Axes: y from 0 to max, x from the smallest to the largest size.
        let (x0, x1, y0, y1) = (left, PANEL_WIDTH - right, PANEL_HEIGHT - bottom, top);
        svg += &format!("<line x1=\"{x0}\" y1=\"{y0}\" x2=\"{x1}\" y2=\"{y0}\" stroke=\"black\"/>\n");
        svg += &format!("<line x1=\"{x0}\" y1=\"{y0}\" x2=\"{x0}\" y2=\"{y1}\" stroke=\"black\"/>\n");
        svg += &format!("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">0</text>\n", x0 - 4.0, y0 + 4.0);
        svg +=
            &format!("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n", x0 - 4.0, y1 + 4.0, round_label(max));
        let positions: Vec<(f64, f64)> =
            points.iter().map(|p| plot_position(p.persons, (panel.value)(p), sizes, max)).collect();
        let line: Vec<String> = positions.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
        svg +=
            &format!("<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"{}\"/>\n", line.join(" "));
        for (point, (x, y)) in points.iter().zip(&positions) {
            let value = (panel.value)(point);
            svg += &format!("<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3.5\" fill=\"#1f77b4\"><title>{} persons: {value:.2}</title></circle>\n", point.persons);
            svg += &format!(
                "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n",
                y - 7.0,
                round_label(value)
            );
            svg +=
                &format!("<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n", y0 + 14.0, point.persons);
        }
        svg += "</g>\n";
    }
    svg += "</svg>\n";
    svg
}

fn round_label(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// Parses `2000,20000,200000`.
pub fn parse_sizes(text: &str) -> Result<Vec<usize>, String> {
    text.split(',')
        .map(|size| {
            size.trim().replace('_', "").parse::<usize>().map_err(|_| format!("not a number of persons: {size:?}"))
        })
        .filter(|size| !matches!(size, Ok(0)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(persons: usize, commands_per_s: f64, rss: f64) -> ScalePoint {
        ScalePoint {
            persons,
            commands: persons * 25,
            commands_per_s,
            commands_share_of_limit: 0.5,
            as_of_p99_ms: 2.0,
            rebuild_events: persons as u64 * 26,
            rebuild_s: persons as f64 / 1000.0,
            rebuild_share_of_limit: 0.4,
            peak_rss_mb: rss,
            peak_rss_mb_by_phase: BTreeMap::new(),
        }
    }

    #[test]
    fn status_fields_are_read_in_kilobytes() {
        let status = "Name:\tkokuho\nVmHWM:\t  345600 kB\nVmRSS:\t  120000 kB\n";
        assert_eq!(parse_status_kb(status, "VmRSS"), Some(120_000));
        assert_eq!(parse_status_kb(status, "VmHWM"), Some(345_600));
        assert_eq!(parse_status_kb(status, "VmSwap"), None);
        assert!(proc_status_kb("VmRSS").unwrap_or(1) > 0);
    }

    #[test]
    fn points_go_on_a_log_scale_of_persons_and_a_linear_scale_from_zero() {
        let sizes = (2_000, 200_000);
        let (left, top, right, bottom) = MARGIN;
        let (x_first, y_top) = plot_position(2_000, 110.0, sizes, 110.0);
        let (x_last, y_zero) = plot_position(200_000, 0.0, sizes, 110.0);
        let (x_middle, y_half) = plot_position(20_000, 55.0, sizes, 110.0);
        assert_eq!((x_first, y_top), (left, top));
        assert_eq!((x_last, y_zero), (PANEL_WIDTH - right, PANEL_HEIGHT - bottom));
        // 20,000 is half way between 2,000 and 200,000 on a log scale.
        assert!((x_middle - (left + PANEL_WIDTH - right) / 2.0).abs() < 1e-9);
        assert!((y_half - (top + PANEL_HEIGHT - bottom) / 2.0).abs() < 1e-9);
    }

    #[test]
    fn the_chart_draws_one_circle_per_size_in_each_panel_at_its_figure() {
        let points = [point(2_000, 5_000.0, 300.0), point(20_000, 4_000.0, 320.0), point(200_000, 4_500.0, 310.0)];
        let svg = chart(&points);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<circle").count(), 3 * PANELS.len());
        assert_eq!(svg.matches("<polyline").count(), PANELS.len());
        // The commands/s panel (top left): its highest figure at 1/1.1 of the plot's height.
        let max = 5_000.0 * 1.1;
        for p in &points {
            let (x, y) = plot_position(p.persons, p.commands_per_s, (2_000, 200_000), max);
            assert!(svg.contains(&format!("<circle cx=\"{x:.1}\" cy=\"{y:.1}\"")), "no circle at {x:.1},{y:.1}");
            assert!(svg.contains(&format!("<title>{} persons: {:.2}</title>", p.persons, p.commands_per_s)));
        }
        // The memory panel labels its points with their MB.
        assert!(svg.contains(">320<"));
    }

    #[test]
    fn sizes_are_parsed_from_a_comma_separated_list() {
        assert_eq!(parse_sizes("2000, 20_000,200000"), Ok(vec![2_000, 20_000, 200_000]));
        assert!(parse_sizes("2000,lots").is_err());
    }
}
